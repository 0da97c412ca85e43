"""`deliverability analyze` end to end: the CLI as a subprocess, DNS from the loopback server."""

from __future__ import annotations

import base64
import importlib.util

import nacl.signing
import pytest

from tests.checks.message.conftest import DOMAIN, Key, message, publish, sign
from tests.conftest import run_cli, run_cli_json


@pytest.fixture(scope="module")
def key() -> Key:
    seed = nacl.signing.SigningKey.generate()
    return Key(
        base64.b64encode(bytes(seed)), base64.b64encode(bytes(seed.verify_key)).decode(), "ed25519", 256
    )


def test_json_contract_and_exit_0_for_a_good_message(dns_server, key, tmp_path):
    publish(dns_server, key)
    path = tmp_path / "good.eml"
    path.write_bytes(sign(message(extra=["List-Unsubscribe: <mailto:u@shop.example>"]), key))
    proc, data = run_cli_json("analyze", str(path), server=dns_server)
    assert proc.returncode == 0, (proc.stderr, data)
    assert {"from_domain", "sending_ip", "findings"} <= set(data)
    assert data["from_domain"] == DOMAIN and data["sending_ip"] == "81.2.69.160"
    checks = {f["check"] for f in data["findings"]}
    assert {"path", "dkim-signature", "spf", "dmarc", "bulk-requirements"} <= checks
    for finding in data["findings"]:
        assert set(finding) >= {"check", "status", "about", "summary", "evidence", "kb"}
    ranks = ["fail", "error", "warn", "info", "pass"]
    order = [ranks.index(f["status"]) for f in data["findings"]]
    assert order == sorted(order)


def test_text_output_from_standard_input_and_exit_1_when_something_fails(dns_server, key):
    publish(dns_server, key)
    raw = sign(message(), key).replace(b"offers are inside", b"offers were changed")
    proc = run_cli("analyze", "-", server=dns_server, stdin=raw.decode())
    assert proc.returncode == 1, proc.stderr
    assert "DKIM-SIGNATURE" in proc.stdout and "body was changed" in proc.stdout
    assert "Traceback" not in proc.stderr


def test_pasted_flag_turns_a_body_mismatch_into_unverifiable(dns_server, key):
    publish(dns_server, key)
    raw = sign(message(), key).replace(b"offers are inside", b"offers\nare inside")
    proc, data = run_cli_json("analyze", "-", "--pasted", server=dns_server, stdin=raw.decode())
    dkim = [
        f for f in data["findings"] if f["check"] == "dkim-signature" and f["about"] == f"d={DOMAIN} s=s1"
    ]
    assert [f["status"] for f in dkim] == ["info"] and "upload the .eml" in dkim[0]["summary"]
    assert proc.returncode == 0, data


@pytest.mark.parametrize(
    ("args", "stdin", "words"),
    [
        (("analyze", "/nonexistent/message.eml"), None, "cannot read"),
        (("analyze", "-"), "", "empty input"),
        (("analyze", "-"), "just some words\nnot a message", "no header fields"),
        (("analyze", "a.eml", "b.eml"), None, "give one message"),
    ],
)
def test_bad_input_exits_2_with_an_error_object(args, stdin, words):
    proc, data = run_cli_json(*args, stdin=stdin)
    assert proc.returncode == 2
    assert words in data["error"] and words in proc.stderr
    assert "Traceback" not in proc.stderr
    plain = run_cli(*args, stdin=stdin)
    assert plain.returncode == 2 and plain.stdout == ""


def test_a_dns_failure_is_reported_not_crashed(key, tmp_path):
    # No test server: every lookup goes to a closed port and fails at once; findings say "could not check".
    path = tmp_path / "m.eml"
    path.write_bytes(sign(message(), key))
    proc, data = run_cli_json("analyze", str(path))
    assert proc.returncode == 1
    dkim = [f for f in data["findings"] if f["check"] == "dkim-signature"]
    assert dkim and all(f["status"] == "error" for f in dkim)


def test_compare_hands_two_messages_to_the_stream_comparison(tmp_path):
    if importlib.util.find_spec("bot.commands.streams") is None:
        pytest.skip("the stream comparison (bot/commands/streams.py) is not in this checkout")
    proc, data = run_cli_json("analyze", "a.eml", "--compare")
    assert proc.returncode == 2 and "two messages" in data["error"]
