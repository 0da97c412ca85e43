"""Diagnosis end to end through the real parser: matches, the one-sentence summary, and next-check targets."""

from __future__ import annotations

from knowledge.base import load
from knowledge.diagnose import Diagnosis, diagnose, unreadable

JSON_FIELDS = [
    "input", "recipient", "action", "reply_code", "enhanced_code", "reason", "hard_bounce", "provider",
    "remote_mta", "ips", "domains", "diagnostic", "sender", "subject", "message_id", "kb_matches", "summary",
    "next_checks",
]  # fmt: skip

DSN = """\
From: Mail Delivery System <MAILER-DAEMON@mail.example.com>
To: news@example.com
Subject: Undelivered Mail Returned to Sender
Date: Mon, 3 Mar 2025 10:00:00 +0000
Message-ID: <dsn.1@mail.example.com>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="BOUNDARY"

--BOUNDARY
Content-Type: text/plain; charset=us-ascii

Your message could not be delivered to one or more recipients.

--BOUNDARY
Content-Type: message/delivery-status

Reporting-MTA: dns; mail.example.com

Final-Recipient: rfc822; ana@gmail.com
Action: failed
Status: 5.7.26
Remote-MTA: dns; gmail-smtp-in.l.google.com
Diagnostic-Code: smtp; 550-5.7.26 This mail has been blocked because the sender is
    unauthenticated. 550-5.7.26 Gmail requires all senders to authenticate with either
    SPF or DKIM. 550 5.7.26 Authentication results: dkim=none spf=fail - gsmtp

Final-Recipient: rfc822; bob@example.jp
Action: failed
Status: 5.1.1
Remote-MTA: dns; mx.example.jp
Diagnostic-Code: smtp; 550 5.1.1 <bob@example.jp>: Recipient address rejected: User
    unknown in local recipient table

--BOUNDARY
Content-Type: text/rfc822-headers

Return-Path: <news@example.com>
From: Example News <news@example.com>
To: ana@gmail.com, bob@example.jp
Subject: March offers
Message-ID: <offer.2025.03@example.com>

--BOUNDARY--
"""

PROOFPOINT = (
    "<ana@icloud.com>: host mx01.mail.icloud.com[17.57.154.33] refused to talk to me: "
    "554 5.7.1 Blocked - see https://ipcheck.proofpoint.com/?ip=81.2.69.160"
)


def test_each_recipient_of_a_dsn_gets_its_diagnosis():
    found = diagnose(DSN.encode())
    assert [d.recipient for d in found] == ["ana@gmail.com", "bob@example.jp"]
    ana, bob = found
    assert ana.reason == "authfailure" and ana.kb_matches[0].id == "gmail-unauthenticated"
    assert ana.sender == "news@example.com" and ana.subject == "March offers"
    assert [(c.check, c.target) for c in ana.next_checks] == [
        ("spf", "example.com"),
        ("dkim", "example.com"),
        ("dmarc", "example.com"),
    ]
    assert ana.summary.startswith("The message to ana@gmail.com was refused permanently (550 5.7.26)")
    assert ana.summary.count(".") >= 1 and "\n" not in ana.summary
    assert ana.steps[0] == load()["gmail-unauthenticated"].steps[0]
    assert bob.reason == "userunknown" and bob.hard_bounce
    assert [e.id for e in bob.kb_matches][:2] == ["recipient-user-unknown", "status-x-1-1"]
    assert bob.next_checks == []  # nothing live to check for an unknown user


def test_proofpoint_block_points_at_the_ip_and_the_removal_flow():
    (d,) = diagnose(PROOFPOINT)
    assert d.kb_matches[0].id == "proofpoint-pdr-blocked"
    assert "81.2.69.160" in d.ips
    assert ("rdns", "81.2.69.160") in [(c.check, c.target) for c in d.next_checks]
    assert ("blocklist", "81.2.69.160") in [(c.check, c.target) for c in d.next_checks]
    assert any("ipcheck.proofpoint.com" in step for step in d.steps)
    assert "Blocked - see" in d.why  # the receiver's own words close the explanation


def test_documentation_and_private_ips_are_never_suggested():
    for ip in ("192.0.2.10", "10.1.2.3", "127.0.0.1", "203.0.113.5"):
        (d,) = diagnose(f"554 5.7.1 Service unavailable; Client host [{ip}] blocked using zen.spamhaus.org")
        assert d.kb_matches[0].id == "spamhaus-zen-listed"
        assert all(c.target != ip for c in d.next_checks), (ip, d.next_checks)
        assert not any(c.check in ("rdns", "blocklist") for c in d.next_checks)


def test_complaint_report_and_auto_reply():
    arf = (
        "From: fbl@example.net\nTo: abuse@example.com\nSubject: report\nMIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=feedback-report; boundary="A"\n\n'
        "--A\nContent-Type: text/plain\n\nAn abuse report.\n\n"
        "--A\nContent-Type: message/feedback-report\n\nFeedback-Type: abuse\nUser-Agent: FBL/1.0\n"
        "Version: 1\nOriginal-Rcpt-To: <carol@example.net>\nSource-IP: 81.2.69.160\n\n"
        "--A\nContent-Type: text/rfc822-headers\n\nFrom: news@example.com\nSubject: March offers\n\n--A--\n"
    )
    (d,) = diagnose(arf)
    assert d.reason == "feedback" and d.kb_matches[0].id == "complaint-feedback-report"
    assert d.summary.startswith("A complaint report")
    reply = (
        "From: dana@example.org\nTo: news@example.com\nSubject: Out of office\n"
        "Auto-Submitted: auto-replied\n\n"
        "I am away until 10 March.\n"
    )
    (d,) = diagnose(reply)
    assert d.reason == "vacation" and d.kb_matches[0].id == "auto-reply"
    assert "delivered" in d.summary


def test_empty_and_binary_inputs_say_why_and_are_not_readable():
    for data in (b"", b"\x00\x01\x02\xff" * 50):
        (d,) = diagnose(data)
        assert d.reason == "undefined" and not d.readable
        assert d.summary and d.kb_matches == [] and d.next_checks == []
        assert d.steps  # says what to paste instead


def test_oversized_input_is_cut_and_says_so():
    line = b"550 5.1.1 <bob@example.jp>: Recipient address rejected: User unknown\n"
    found = diagnose(line * 1000, max_bytes=500)
    assert found and all(d.truncated for d in found)
    assert "only the first 500 bytes were read" in found[0].summary
    assert found[0].readable


def test_to_json_has_exactly_the_issue_fields():
    (d,) = diagnose(PROOFPOINT)
    data = d.to_json("bounce.txt")
    assert list(data) == JSON_FIELDS
    assert data["input"] == "bounce.txt"
    assert data["kb_matches"][0] == {"id": "proofpoint-pdr-blocked", "title": d.kb_matches[0].title}
    assert {"check": "rdns", "target": "81.2.69.160"} in data["next_checks"]
    d.checks = [{"target": "81.2.69.160"}]
    assert list(d.to_json("x"))[-1] == "checks"


def test_unreadable_input_result():
    d = unreadable("missing.eml: No such file or directory")
    assert isinstance(d, Diagnosis) and not d.readable and d.reason == "undefined"
    assert "missing.eml" in d.summary and d.summary.endswith(".")


def test_a_receivers_own_entry_gives_the_steps_without_generic_repeats():
    text = (
        "550 5.7.1 Service unavailable; Client host [81.2.69.160] blocked using Spamhaus. To request "
        "removal from this list see https://www.spamhaus.org/query/ip/81.2.69.160"
    )
    (d,) = diagnose(text, kb=load())
    best = d.kb_matches[0]
    assert best.receiver != "any"
    assert d.steps == list(best.steps)[: len(d.steps)]
    assert sum("look" in s.lower() and "up" in s.lower() for s in d.steps) == 1


def test_generic_advice_skips_steps_that_say_the_same_thing():
    from knowledge.diagnose import _same_advice

    assert _same_advice(
        "Look the IP up at Spamhaus and read which list it is on.",
        "Look the IP up on the Spamhaus lookup page: it says which list holds it.",
    )
    assert not _same_advice("Publish an SPF record.", "Ask the receiver to delist the IP.")
