"""`deliverability diagnose` end to end: the CLI as a subprocess, live checks on the loopback DNS server."""

from __future__ import annotations

import json

from tests.conftest import run_cli

FIELDS = [
    "input", "recipient", "action", "reply_code", "enhanced_code", "reason", "hard_bounce", "provider",
    "remote_mta", "ips", "domains", "diagnostic", "sender", "subject", "message_id", "kb_matches", "summary",
    "next_checks",
]  # fmt: skip
LISTS = {"BLOCKLISTS_IP": "zen.bl.example", "BLOCKLISTS_DOMAIN": "dbl.bl.example"}

PROOFPOINT = (
    "<ana@icloud.com>: host mx01.mail.icloud.com[17.57.154.33] refused to talk to me: "
    "554 5.7.1 Blocked - see https://ipcheck.proofpoint.com/?ip=81.2.69.160\n"
)
GMAIL_DSN = """\
From: Mail Delivery System <MAILER-DAEMON@mail.shop.example>
To: news@shop.example
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain

Your message could not be delivered.

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mail.shop.example

Final-Recipient: rfc822; ana@gmail.com
Action: failed
Status: 5.7.26
Remote-MTA: dns; gmail-smtp-in.l.google.com
Diagnostic-Code: smtp; 550-5.7.26 Unauthenticated email from shop.example is not accepted due to
    domain's DMARC policy. Please contact the administrator of shop.example domain. - gsmtp

--B
Content-Type: text/rfc822-headers

From: Shop News <news@shop.example>
Subject: Spring sale
Message-ID: <sale.1@shop.example>

--B--
"""
USER_UNKNOWN = (
    "550 5.1.1 <bob@example.jp>: Recipient address rejected: User unknown in local recipient table\n"
)


def lines(proc) -> list[dict]:
    return [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]


def test_json_lines_fields_and_values(tmp_path):
    path = tmp_path / "pp.txt"
    path.write_text(PROOFPOINT)
    proc = run_cli("diagnose", str(path), "--json")
    assert proc.returncode == 0, proc.stderr
    (row,) = lines(proc)
    assert list(row) == FIELDS
    assert row["input"] == str(path)
    assert row["recipient"] == "ana@icloud.com"
    assert row["reply_code"] == "554" and row["enhanced_code"] == "5.7.1"
    assert row["kb_matches"][0]["id"] == "proofpoint-pdr-blocked"
    assert {"check": "rdns", "target": "81.2.69.160"} in row["next_checks"]
    assert row["summary"].endswith(".") and "\n" not in row["summary"]


def test_many_files_each_get_their_result_and_a_missing_one_gives_exit_1(tmp_path):
    a, b = tmp_path / "a.txt", tmp_path / "b.eml"
    a.write_text(USER_UNKNOWN)
    b.write_text(GMAIL_DSN)
    missing = tmp_path / "nope.eml"
    proc = run_cli("diagnose", str(a), str(missing), str(b), "--json")
    assert proc.returncode == 1, proc.stderr
    rows = lines(proc)
    assert [r["input"] for r in rows] == [str(a), str(missing), str(b)]
    assert rows[0]["reason"] == "userunknown" and rows[0]["hard_bounce"] is True
    assert rows[1]["reason"] == "undefined" and "nope.eml" in rows[1]["summary"]
    assert rows[1]["kb_matches"] == [] and list(rows[1]) == FIELDS
    assert rows[2]["recipient"] == "ana@gmail.com" and rows[2]["sender"] == "news@shop.example"
    assert rows[2]["kb_matches"][0]["id"] == "gmail-dmarc-policy"
    assert {"check": "dmarc", "target": "shop.example"} in rows[2]["next_checks"]


def test_directory_empty_and_binary_inputs_are_results_not_crashes(tmp_path):
    empty, binary = tmp_path / "empty.eml", tmp_path / "blob.bin"
    empty.write_bytes(b"")
    binary.write_bytes(bytes(range(256)) * 40)
    proc = run_cli("diagnose", str(tmp_path), str(empty), str(binary), "--json")
    assert proc.returncode == 1
    rows = lines(proc)
    assert len(rows) == 3 and all(r["reason"] == "undefined" for r in rows)
    assert "Traceback" not in proc.stderr


def test_standard_input_is_named_dash():
    proc = run_cli("diagnose", "--json", stdin=USER_UNKNOWN)
    assert proc.returncode == 0, proc.stderr
    (row,) = lines(proc)
    assert row["input"] == "-" and row["recipient"] == "bob@example.jp"
    proc = run_cli("diagnose", "-", "--json", stdin=USER_UNKNOWN)
    assert lines(proc)[0]["input"] == "-"


def test_usage_errors_exit_2():
    assert run_cli("diagnose", "-", "-", stdin="x").returncode == 2
    assert run_cli("diagnose", "--no-such-option").returncode == 2


def test_input_over_the_limit_is_cut_and_says_so(tmp_path):
    path = tmp_path / "big.txt"
    path.write_text(USER_UNKNOWN * 200)
    proc = run_cli("diagnose", str(path), "--json", MAX_INPUT_BYTES="1000")
    assert proc.returncode == 0, proc.stderr
    rows = lines(proc)
    assert rows and "only the first 1,000 bytes were read" in rows[0]["summary"]


def test_human_output_says_what_happened_then_why_then_what_to_do(tmp_path):
    path = tmp_path / "pp.txt"
    path.write_text(PROOFPOINT)
    proc = run_cli("diagnose", str(path))
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert out.index("What happened:") < out.index("Why:") < out.index("What to do:")
    assert "ipcheck.proofpoint.com" in out
    assert "rdns 81.2.69.160" in out


def test_check_runs_the_suggested_live_checks(dns_server, tmp_path):
    dns_server.add("160.69.2.81.in-addr.arpa", "PTR", "mail.shop.example")
    dns_server.add("mail.shop.example", "A", "81.2.69.160")
    dns_server.add("shop.example", "TXT", "v=spf1 ip4:81.2.69.160 -all")
    dns_server.add("_dmarc.shop.example", "TXT", "v=DMARC1; p=reject; rua=mailto:dmarc@shop.example")
    pp, dsn = tmp_path / "pp.txt", tmp_path / "dsn.eml"
    pp.write_text(PROOFPOINT)
    dsn.write_text(GMAIL_DSN)
    proc = run_cli("diagnose", str(pp), str(dsn), "--json", "--check", server=dns_server, **LISTS)
    assert proc.returncode == 0, proc.stderr
    first, second = lines(proc)
    assert list(first) == [*FIELDS, "checks"]
    reports = {r["target"]: r for r in first["checks"]}
    rdns = [f for f in reports["81.2.69.160"]["findings"] if f["check"] == "rdns"]
    assert rdns and any(f["status"] == "pass" for f in rdns), rdns
    blocklist = [f for f in reports["81.2.69.160"]["findings"] if f["check"] == "blocklist"]
    assert blocklist, reports["81.2.69.160"]
    dmarc = [f for r in second["checks"] if r["target"] == "shop.example" for f in r["findings"]]
    assert any(f["check"] == "dmarc" and f["status"] == "pass" for f in dmarc), dmarc
    assert dns_server.queries_for("_dmarc.shop.example")


def test_check_with_failing_dns_reports_could_not_check(dns_server, tmp_path):
    dns_server.fault("160.69.2.81.in-addr.arpa", "servfail")
    path = tmp_path / "pp.txt"
    path.write_text(PROOFPOINT)
    proc = run_cli("diagnose", str(path), "--json", "--check", server=dns_server, **LISTS)
    assert proc.returncode == 0, proc.stderr
    (row,) = lines(proc)
    rdns = [f for r in row["checks"] for f in r["findings"] if f["check"] == "rdns"]
    assert rdns and all(f["status"] == "error" for f in rdns), rdns


GONE_AWAY = (
    "Reporting-MTA: dns; out.shop.example\n\n"
    "host mx.mail.example[89.160.20.112] said: 550 5.1.1 <gone.away@mail.example>: Recipient address "
    "rejected: User unknown in virtual mailbox table (in reply to RCPT TO command)\n"
)
BLOCKED = (
    "550 5.7.1 Service unavailable; Client host [81.2.69.160] blocked using Spamhaus. To request removal "
    "from this list see https://www.spamhaus.org/query/ip/81.2.69.160\n"
)


def test_log_records_incidents_and_suppressions(tmp_path):
    db = str(tmp_path / "log.db")
    bounce = tmp_path / "unknown.txt"
    bounce.write_text(GONE_AWAY)
    blocked = tmp_path / "blocked.txt"
    blocked.write_text(BLOCKED)
    first = run_cli("diagnose", str(bounce), str(blocked), "--log", "--json", DATABASE_PATH=db)
    assert first.returncode == 0, first.stderr
    assert all(json.loads(line) for line in first.stdout.splitlines()), "stdout stays JSON Lines"
    assert "newly suppressed" in first.stderr
    assert first.stderr.count("opened incident") == 2
    again = run_cli("diagnose", str(blocked), "--log", DATABASE_PATH=db)
    assert "added an occurrence to incident" in again.stderr
    listed = run_cli("incidents", "--json", DATABASE_PATH=db)
    incidents = json.loads(listed.stdout)
    incidents = incidents if isinstance(incidents, list) else incidents["incidents"]
    blocked_incident = [i for i in incidents if i["subject"] == "81.2.69.160"]
    assert len(incidents) == 2 and blocked_incident and blocked_incident[0]["occurrences"] == 2
    export = run_cli("suppressions", "--csv", DATABASE_PATH=db)
    assert "gone.away@mail.example" in export.stdout


def test_log_with_an_unusable_database_exits_2_and_leaves_it_alone(tmp_path):
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"\x00garbage" * 50)
    bounce = tmp_path / "blocked.txt"
    bounce.write_text(BLOCKED)
    proc = run_cli("diagnose", str(bounce), "--log", DATABASE_PATH=str(bad))
    assert proc.returncode == 2 and "not logged" in proc.stderr and "Traceback" not in proc.stderr
    assert bad.read_bytes() == b"\x00garbage" * 50
