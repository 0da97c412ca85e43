"""`deliverability console` (and `start` without tokens) with scripted input, as a subprocess."""

from __future__ import annotations

from tests.conftest import run_cli

BOUNCE = (
    "host mx.example.org[81.2.69.160] said: 550 5.7.1 Service unavailable; Client host "
    "[89.160.20.112] blocked using zen.spamhaus.org (in reply to RCPT TO command)"
)
DSN = """From: Mail Delivery System <MAILER-DAEMON@mx.example.net>
To: sender@example.com
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B0UND"

--B0UND
Content-Type: text/plain

This is the mail system at host mx.example.net.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

--B0UND
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net

Final-Recipient: rfc822; carol@example.org
Action: failed
Status: 5.2.2
Diagnostic-Code: smtp; 552 5.2.2 carol@example.org: mailbox full

--B0UND--
"""


def test_commands_and_a_pasted_bounce_from_a_pipe(dns_server):
    dns_server.add("_dmarc.example.com", "TXT", "v=DMARC1; p=reject; rua=mailto:d@example.com")
    script = f"/deliverability dmarc example.com\n{BOUNCE}\n\n/deliverability frobnicate\nlunch?\n\nhelp\n"
    proc = run_cli("console", server=dns_server, stdin=script)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "example.com (domain)" in out and "DMARC" in out
    assert "blocked (550 5.7.1)" in out
    assert "Spamhaus" in out
    assert "! `frobnicate` is not a sub-command" in out
    assert "No bounce found in that text" in out
    for name in ("check", "ip", "spf", "dkim", "dmarc", "diagnose", "incidents", "help"):
        assert f"{name} " in out
    assert "deliverability>" not in out  # no prompt when reading a pipe


def test_a_whole_email_with_blank_lines_is_one_bounce():
    proc = run_cli("console", stdin=DSN + "\n/deliverability help\n")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("mailboxfull") == 1
    assert "carol@example.org" in proc.stdout
    assert "Sub-commands" in proc.stdout  # the command after the email still ran


def test_diagnose_reads_until_a_dot_line_and_bare_subcommands_work():
    script = "/deliverability diagnose\nfirst line of noise\n\n" + BOUNCE + "\n.\nip 10.0.0.1\n"
    proc = run_cli("console", stdin=script)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("blocked (550 5.7.1)") == 1
    assert "not a public address" in proc.stdout


def test_end_of_input_ends_a_paste():
    proc = run_cli("console", stdin=BOUNCE)  # no newline, no blank line
    assert "blocked (550 5.7.1)" in proc.stdout


def test_start_without_tokens_is_the_console():
    proc = run_cli("start", stdin="help\n")
    assert proc.returncode == 0
    assert "starting the console" in proc.stderr
    assert "Sub-commands" in proc.stdout


def test_incidents_without_a_database_does_not_create_one(tmp_path):
    db = tmp_path / "none.db"
    proc = run_cli("console", stdin="incidents\n", DATABASE_PATH=str(db))
    assert "not available" in proc.stdout
    assert not db.exists()
