"""`deliverability analyze A.eml B.eml --compare` end to end."""

from __future__ import annotations

import json

from tests.conftest import run_cli
from tests.practices.test_streams import marketing, message


def write(tmp_path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def test_compare_reports_what_two_streams_share(tmp_path):
    offer = write(tmp_path, "offer.eml", marketing(ip="81.2.69.160", dkim=("mail.example.com",)))
    receipt = write(tmp_path, "receipt.eml", message())
    proc = run_cli("analyze", offer, receipt, "--compare")
    assert proc.returncode == 1, proc.stderr
    assert "share the sending IP 81.2.69.160" in proc.stdout
    assert "share the DKIM signing domain d=mail.example.com" in proc.stdout
    assert "offer.eml looks like marketing, " in proc.stdout and "receipt.eml does not" in proc.stdout

    proc = run_cli("analyze", offer, receipt, "--compare", "--json")
    data = json.loads(proc.stdout)
    assert data["marketing"] == "a" and data["a"]["sending_ip"] == data["b"]["sending_ip"] == "81.2.69.160"
    assert {f["check"]: f["status"] for f in data["findings"]}["stream-return-path"] == "pass"


def test_separate_streams_exit_0(tmp_path):
    proc = run_cli(
        "analyze", write(tmp_path, "a.eml", marketing()), write(tmp_path, "b.eml", message()), "--compare"
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "fail" not in proc.stdout.split("\n")[0]


def test_the_same_message_twice_and_one_file_are_refused(tmp_path):
    receipt = write(tmp_path, "receipt.eml", message())
    copy = write(tmp_path, "copy.eml", message())
    proc = run_cli("analyze", receipt, copy, "--compare")
    assert proc.returncode == 2 and "are the same message" in proc.stderr
    proc = run_cli("analyze", receipt, "--compare")
    assert proc.returncode == 2 and "exactly two messages" in proc.stderr
    proc = run_cli("analyze", receipt, str(tmp_path / "missing.eml"), "--compare")
    assert proc.returncode == 2 and "cannot read" in proc.stderr
