"""Raw messages in `deliverability console`, with scripted input: pasted and routed as in Slack,
`/deliverability analyze`, `analyze last` after a diagnosis that offers it, and `compare`."""

from __future__ import annotations

import pytest

from tests.checks.message.conftest import DOMAIN, IP, Key, message, publish, sign
from tests.conftest import run_cli
from tests.handlers.test_messages import MARKETING, ed25519_key, forwarded_bounce


@pytest.fixture(scope="module")
def key() -> Key:
    return ed25519_key()


def paste(raw: bytes) -> str:
    """A message as typed into a terminal: LF line ends, ended by a line holding only `.`."""
    return raw.decode().replace("\r\n", "\n").rstrip("\n") + "\n.\n"


def dkim_lines(out: str) -> list[str]:
    return [line for line in out.split("\n") if f"[d={DOMAIN} s=s1]" in line]


def test_a_pasted_raw_message_is_analysed_not_diagnosed(dns_server, key):
    publish(dns_server, key)
    proc = run_cli("console", server=dns_server, stdin=paste(sign(message(), key)) + "help\n")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert f"sent from {IP} (HELO mail.{DOMAIN})" in out and f"From domain {DOMAIN}" in out
    assert f"{DOMAIN} (message):" in out and "BULK-REQUIREMENTS" in out
    assert "Pasted text" in out
    assert any("✓ pass" in line and "verifies" in line for line in dkim_lines(out)), dkim_lines(out)
    assert "No bounce found" not in out
    assert "Sub-commands" in out  # the command after the message still ran


def test_a_pasted_message_whose_body_changed_gets_no_dkim_fail(dns_server, key):
    publish(dns_server, key)
    raw = sign(message(), key).replace(b"offers are inside", b"offers are\ninside, rewrapped")
    proc = run_cli("console", server=dns_server, stdin=paste(raw))
    lines = dkim_lines(proc.stdout)
    assert lines and not [line for line in lines if "✗" in line], lines
    assert any("can't verify the body from a paste" in line for line in lines)


def test_the_analyze_command_reads_until_a_dot_and_bad_input_is_one_line(dns_server, key):
    publish(dns_server, key)
    script = "/deliverability analyze\n" + paste(sign(message(), key)) + "analyze just some words\n"
    proc = run_cli("console", server=dns_server, stdin=script)
    assert proc.returncode == 0, proc.stderr
    assert f"{DOMAIN} (message):" in proc.stdout
    assert "! no header fields found" in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr


def test_two_messages_then_compare(dns_server, key):
    publish(dns_server, key)
    offer = sign(message(extra=MARKETING, subject="Spring sale"), key)
    receipt = message(subject="Your receipt").replace(b"20240402100000.1@", b"20240402100000.2@")
    script = "compare\n" + paste(offer) + paste(sign(receipt, key)) + "compare\n"
    proc = run_cli("console", server=dns_server, stdin=script)
    out = proc.stdout
    assert "! `compare` needs two raw messages" in out
    assert "Type `compare`" in out
    assert "the earlier message (marketing) and the latest message share the sending IP 81.2.69.160" in out
    assert "STREAM-DKIM" in out


def test_a_message_carrying_a_bounce_is_diagnosed_and_analyze_last_analyses_it(dns_server, key):
    publish(dns_server, key)
    script = paste(sign(forwarded_bounce(), key)) + "analyze last\n"
    proc = run_cli("console", server=dns_server, stdin=script)
    out = proc.stdout
    diagnosis, _, analysis = out.partition("type `analyze last`")
    assert "blocked (550 5.7.1)" in diagnosis and "(message):" not in diagnosis
    assert f"{DOMAIN} (message):" in analysis
