"""The bounce parser on made-up samples (tests/knowledge/bounce_samples/) and on bad input."""

from __future__ import annotations

import base64
import threading
from pathlib import Path

import pytest

from knowledge.bounce import BounceResult, ParsedInput, parse

SAMPLES = Path(__file__).with_name("bounce_samples")


def sample(name: str) -> ParsedInput:
    return parse((SAMPLES / name).read_bytes())


def only(parsed: ParsedInput) -> BounceResult:
    assert len(parsed.results) == 1, parsed
    return parsed.results[0]


def bounded(func, *args, timeout: float = 10.0, **kwargs):
    """Run func in a thread and fail if it has not returned after `timeout` seconds (a hang detector,
    not a timing assertion)."""
    box: dict[str, object] = {}

    def run() -> None:
        try:
            box["value"] = func(*args, **kwargs)
        except BaseException as exc:  # re-raised in the test thread
            box["error"] = exc

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(timeout)
    assert not t.is_alive(), f"{func.__name__} did not finish within {timeout}s"
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["value"]


# --- samples -----------------------------------------------------------------------------------------


def test_bare_proofpoint_line():
    r = only(sample("proofpoint_line.txt"))
    assert sample("proofpoint_line.txt").kind == "smtp"
    assert (r.reply_code, r.enhanced_code, r.reason) == ("554", "5.7.0", "blocked")
    assert r.provider == "proofpoint"
    assert r.remote_mta == "mx0b-00412233.pphosted.com"
    # The sending IP named in the lookup link is listed; the Proofpoint MX's own address is not.
    assert r.ips == ["81.2.69.160"]
    assert r.hard_bounce is False
    assert r.recipient is None


def test_slack_escaped_postfix_log_line():
    parsed = sample("slack_paste.txt")
    r = only(parsed)
    assert r.recipient == "jane.doe@shop-example.com"
    assert (r.reply_code, r.enhanced_code, r.reason) == ("550", "5.1.1", "userunknown")
    assert r.hard_bounce is True
    assert r.remote_mta == "mail.shop-example.com"
    assert "&lt;" not in r.diagnostic and "mailto:" not in r.diagnostic and "```" not in r.diagnostic
    assert "<jane.doe@shop-example.com>" in r.diagnostic


def test_slack_links_and_entities_inline():
    text = "550 5.7.1 &lt;<mailto:ops@corp-example.org|ops@corp-example.org>&gt;: Relay access denied"
    r = only(parse(text))
    assert r.recipient == "ops@corp-example.org"
    assert r.reason == "norelaying"


def test_exchange_online_ndr():
    parsed = sample("exchange_online_ndr.eml")
    assert parsed.kind == "ndr"
    r = only(parsed)
    assert r.recipient == "bob.fisher@contoso-example.com"
    assert (r.reply_code, r.enhanced_code, r.reason) == ("550", "5.7.606", "blocked")
    assert r.provider == "microsoft"
    assert r.ips == ["81.2.69.160"]
    assert r.sender == "newsletter@news.tailspin-example.net"
    assert r.subject == "June offers"
    assert r.message_id == "<20240604102228.5521@news.tailspin-example.net>"


def test_gmail_as_receiver_multiline_reply_is_unfolded():
    parsed = sample("gmail_receiver_dsn.eml")
    assert parsed.kind == "dsn"
    r = only(parsed)
    assert r.recipient == "maria.lopez@gmail.com"
    assert (r.reply_code, r.enhanced_code, r.reason) == ("550", "5.7.26", "authfailure")
    assert r.provider == "google"
    assert r.remote_mta == "gmail-smtp-in.l.google.com"
    assert "550-5.7.26" not in r.diagnostic
    assert r.diagnostic.count("5.7.26") == 1
    assert "fabrikam-example.org" in r.domains
    assert (r.sender, r.subject) == ("alerts@fabrikam-example.org", "Your weekly report")


def test_gmail_as_sender_text_ndr():
    parsed = sample("gmail_sender_ndr.eml")
    assert parsed.kind == "ndr"
    r = only(parsed)
    assert r.recipient == "info@harbour-example.net"
    assert (r.reply_code, r.enhanced_code, r.reason, r.hard_bounce) == ("550", "5.1.1", "userunknown", True)
    assert r.sender == "tom.baker@gmail.com"
    assert r.message_id == "<CAF3x9Qp1=example@mail.gmail.com>"


def test_arf_complaint_report():
    parsed = sample("arf_report.eml")
    assert parsed.kind == "feedback"
    r = only(parsed)
    assert (r.reason, r.action, r.feedback_type) == ("feedback", "feedback", "abuse")
    assert r.recipient == "carol.white@isp-example.net"
    assert r.ips == ["89.160.20.112"]
    assert r.domains == ["sender-example.com"]
    assert r.sender == "bounces@mail.sender-example.com"
    assert r.message_id == "<deal-77@mail.sender-example.com>"
    assert r.enhanced_code is None and r.hard_bounce is False


def test_auto_reply():
    parsed = sample("autoreply.eml")
    assert parsed.kind == "autoreply"
    r = only(parsed)
    assert (r.reason, r.action) == ("vacation", "autoreply")
    assert r.recipient == "dana.smith@partner-example.org"
    assert r.sender == "orders@shop-example.com"
    assert r.subject == "Order 1043 confirmation"
    assert r.message_id == "<order-1043@shop-example.com>"
    assert "out of the office" in r.diagnostic


def test_vacation_subject_without_auto_submitted_header():
    raw = (
        "From: Lee <lee@partner-example.org>\nTo: a@shop-example.com\nSubject: Out of Office: hello\n"
        "Date: Mon, 1 Jul 2024 10:00:00 +0000\nMessage-ID: <x@partner-example.org>\n\nBack next week.\n"
    )
    parsed = parse(raw)
    assert parsed.kind == "autoreply"
    assert only(parsed).reason == "vacation"


def test_raw_message_is_not_a_bounce():
    parsed = sample("raw_message.eml")
    assert parsed.kind == "message"
    assert parsed.results == []
    assert parsed.notes and "not a bounce" in parsed.notes[0]


def test_exim_two_recipients_each_get_their_own_reason():
    parsed = sample("exim_two_recipients.eml")
    assert parsed.kind == "ndr"
    by_rcpt = {r.recipient: r for r in parsed.results}
    assert set(by_rcpt) == {"sam@old-domain-example.com", "lee@receiver-example.net"}
    sam, lee = by_rcpt["sam@old-domain-example.com"], by_rcpt["lee@receiver-example.net"]
    assert (sam.reason, sam.hard_bounce) == ("hostunknown", True)
    assert (lee.reason, lee.reply_code, lee.enhanced_code, lee.hard_bounce) == (
        "mailboxfull",
        "552",
        "5.2.2",
        False,
    )
    assert lee.remote_mta == "mx.receiver-example.net"
    # The original sender (the bounce's addressee) is never taken for a failed recipient.
    assert "reports@sender-example.com" not in by_rcpt


def test_qmail_text_paste():
    parsed = sample("qmail_ndr.txt")
    r = only(parsed)
    assert r.recipient == "kim@receiver-example.net"
    assert (r.reply_code, r.enhanced_code, r.reason) == ("550", "5.7.1", "blocked")
    assert r.ips == ["81.2.69.160"]
    assert r.remote_mta == "89.160.20.115"
    assert r.sender == "shop@sender-example.com"


def test_ses_json_notification():
    r = only(sample("ses_notification.json"))
    assert r.recipient == "nobody@receiver-example.net"
    assert (r.enhanced_code, r.reason, r.hard_bounce) == ("5.1.1", "userunknown", True)
    assert (r.sender, r.subject) == ("app@sender-example.com", "Welcome")


def test_transcript_fragment():
    parsed = sample("transcript.txt")
    assert parsed.kind == "smtp"
    r = only(parsed)
    assert (r.reply_code, r.enhanced_code, r.reason) == ("550", "5.7.1", "spamdetected")
    assert r.provider == "google"
    assert r.ips == ["81.2.69.160"]


def test_delayed_dsn_is_soft():
    r = only(sample("delayed_dsn.eml"))
    assert (r.action, r.reason, r.reply_code, r.enhanced_code) == ("delayed", "badreputation", "421", "4.7.0")
    assert r.provider == "yahoo"
    assert r.hard_bounce is False
    assert r.ips == ["81.2.69.160"]  # Yahoo's "4.16.55.1" is a code, not an address


def test_delivered_dsn():
    r = only(sample("delivered_dsn.eml"))
    assert (r.action, r.reason) == ("delivered", "delivered")


def test_outlook_block_list_line():
    r = only(parse((SAMPLES / "outlook_line.txt").read_text()))
    assert (r.provider, r.reason, r.enhanced_code) == ("microsoft", "blocked", "5.7.1")
    assert r.ips == ["81.2.69.160"]


def test_mimecast_line_does_not_take_the_sender_for_the_recipient():
    r = only(sample("mimecast_line.txt"))
    assert r.provider == "mimecast"
    assert r.reason == "policyviolation"
    assert r.recipient is None


def test_wrapped_postfix_reply_ending_in_the_recipient_is_one_result():
    # Postfix wraps the quoted reply; here its last word is the recipient, followed by "(in reply to ...)".
    text = (
        "<ana@example.jp>: host mx1.mail.example-cloud.net[89.160.20.112] said: 550 5.7.0\n"
        "   Blocked - see\n"
        "   https://ipcheck.proofpoint.com/?ip=81.2.69.160:\n"
        "   ana@example.jp (in reply to RCPT TO command)"
    )
    r = only(parse(text))
    assert r.recipient == "ana@example.jp"
    assert (r.reply_code, r.enhanced_code, r.reason) == ("550", "5.7.0", "blocked")
    assert "81.2.69.160" in r.ips


@pytest.mark.parametrize(
    ("line", "reason", "hard"),
    [
        ("550 5.1.1 <x@corp-example.org>: Recipient address rejected: User unknown", "userunknown", True),
        ("552 5.2.2 Mailbox full", "mailboxfull", False),
        (
            "550 5.7.26 This mail has been blocked because the sender is unauthenticated.",
            "authfailure",
            False,
        ),
        (
            "550 5.7.25 The IP address sending this message does not have a PTR record setup",
            "requireptr",
            False,
        ),
        (
            "554 5.7.1 Service unavailable; Client host [81.2.69.160] blocked using zen.spamhaus.org",
            "blocked",
            False,
        ),
        ("554 5.4.4 Host or domain name not found", "hostunknown", True),
        ("550 5.1.6 recipient no longer on server", "hasmoved", True),
        ("556 5.1.10 Recipient address has null MX", "notaccept", True),
        ("421 4.3.2 Too many connections, try again later", "toomanyconn", False),
        ("552 5.3.4 Message size exceeds fixed maximum message size", "mesgtoobig", False),
        ("550 5.7.1 Refused: IP 89.160.20.112 blocked by Example Threat List (EXL_042)", "blocked", False),
        ("550 5.3.2 not accepting mail: 81.2.69.160 is listed on Cloudmark CSI-Global", "blocked", False),
        ("550 5.7.60 SMTP; Client does not have permissions to send as this sender", "rejected", False),
        ("550 Rejected by header based Anti-Spoofing policy: ana@example.jp", "policyviolation", False),
        (
            "451 4.7.650 The mail server [81.2.69.160] has been temporarily rate limited due to IP "
            "reputation.",
            "badreputation",
            False,
        ),
    ],
)
def test_reasons_from_bare_lines(line: str, reason: str, hard: bool):
    r = only(parse(line))
    assert r.reason == reason, r
    assert r.hard_bounce is hard


def test_undefined_result_always_says_why():
    parsed = parse("Delivery to the following recipient failed: nobody@nowhere-example.org")
    for r in parsed.results:
        if r.reason == "undefined":
            assert r.note.endswith(".")


# --- bad input -----------------------------------------------------------------------------------------


def test_empty_input():
    for data in (b"", "", b"   \n\t  \n"):
        parsed = parse(data)
        assert parsed.kind == "empty"
        assert only(parsed).reason == "undefined"
        assert "empty" in only(parsed).note


def test_binary_input():
    parsed = parse(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 10)
    assert parsed.kind == "binary"
    r = only(parsed)
    assert r.reason == "undefined" and "binary" in r.note


def test_oversized_input_is_cut_and_says_so():
    line = "550 5.1.1 <big@corp-example.org>: Recipient address rejected: User unknown\n"
    data = (line * 2000).encode()
    parsed = bounded(parse, data, max_bytes=10_000)
    assert parsed.truncated is True
    assert any("10,000 bytes" in n for n in parsed.notes)
    r = parsed.results[0]
    assert r.reason == "userunknown"
    assert "only the first" in r.note


def _nested(depth: int) -> bytes:
    head = "From: MAILER-DAEMON@mx.corp-example.org\nTo: a@corp-example.org\nSubject: Undeliverable\n"
    body = ""
    for i in range(depth):
        body += f'Content-Type: multipart/mixed; boundary="b{i}"\n\n--b{i}\n'
    body += "Content-Type: text/plain\n\n550 5.1.1 <deep@corp-example.org>... User unknown\n"
    for i in reversed(range(depth)):
        body += f"--b{i}--\n"
    return (head + "MIME-Version: 1.0\n" + body).encode()


@pytest.mark.parametrize("depth", [30, 5000])
def test_deeply_nested_mime_gets_a_bounded_answer(depth: int):
    parsed = bounded(parse, _nested(depth))
    assert isinstance(parsed, ParsedInput)
    assert parsed.results
    if depth > 1000:
        assert any("nested too deeply" in n for n in parsed.notes)


def test_broken_base64_and_quoted_printable():
    raw = (
        "From: Mail Delivery System <MAILER-DAEMON@mx.corp-example.org>\n"
        "To: a@corp-example.org\nSubject: Undelivered Mail Returned to Sender\nMIME-Version: 1.0\n"
        'Content-Type: multipart/mixed; boundary="x"\n\n'
        "--x\nContent-Type: text/plain\nContent-Transfer-Encoding: base64\n\n"
        "VGhpcyBpcyBub3QgdmFsaWQ=!!!***not base64 at all\n"
        "--x\nContent-Type: text/plain\nContent-Transfer-Encoding: quoted-printable\n\n"
        "<gone@corp-example.org>: host mx.corp-example.org[89.160.20.115] said: 550 5.1.1 =\n"
        "User unknown =ZZ=4 (in reply to RCPT TO command)\n--x--\n"
    )
    parsed = bounded(parse, raw.encode())
    rcpts = {r.recipient: r for r in parsed.results}
    assert "gone@corp-example.org" in rcpts
    assert rcpts["gone@corp-example.org"].reason == "userunknown"


def test_unknown_charset_falls_back():
    raw = (
        b"From: MAILER-DAEMON@mx.corp-example.org\nTo: a@corp-example.org\nSubject: Undeliverable\n"
        b"MIME-Version: 1.0\nContent-Type: text/plain; charset=x-no-such-charset\n\n"
        b"<caf\xe9@corp-example.org>: 550 5.1.1 Benutzer unbekannt \xfc\xe4 user unknown\n"
    )
    parsed = bounded(parse, raw)
    r = parsed.results[0]
    assert r.reason == "userunknown"
    assert r.enhanced_code == "5.1.1"


def test_hundred_thousand_line_paste():
    text = "".join(
        f"Jun 12 09:{i % 60:02d}:00 relay postfix/qmgr[1]: ABC{i}: removed\n" for i in range(100_000)
    )
    text += "550 5.7.1 <x@corp-example.org>: Relay access denied\n"
    # Within the size limit, the one failing line is found at the end of the paste.
    parsed = bounded(parse, text, max_bytes=10_000_000)
    r = only(parsed)
    assert (r.recipient, r.reason) == ("x@corp-example.org", "norelaying")
    assert any("only lines with an SMTP failure code" in n for n in parsed.notes)
    # Past the default limit the paste is cut, and the answer says so.
    cut = bounded(parse, text)
    assert cut.truncated and cut.results and "only the first" in cut.results[0].note


@pytest.mark.parametrize(
    "payload",
    [
        " " * 200_000,
        "a" * 200_000,
        "<" * 200_000,
        "5.5.5.5." * 25_000,
        "a@" * 100_000,
        ("a" * 63 + "@") * 3_000,
        "a." * 100_000,
        ":" * 200_000,
        "ab:" * 70_000,
        "550 " * 50_000,
        "550-5.7.1 " * 20_000,
        "[" * 200_000,
        '"' * 200_000,
        "&lt;" * 50_000,
        "<mailto:" * 25_000,
        "```" * 60_000,
        "> " * 100_000,
        "host x[" * 30_000,
        "X-A: b\n" * 30_000,
        "\n" * 200_000,
        "Undeliverable to x@corp-example.org " + "b" * 200_000,
        "x@corp-example.org " * 20_000,
        "(" * 100_000 + "@",
    ],
    ids=lambda p: repr(p[:12]),
)
def test_adversarial_strings_finish(payload: str):
    for data in (payload, payload.encode()):
        parsed = bounded(parse, data)
        assert isinstance(parsed, ParsedInput)
        for r in parsed.results:
            if r.reason == "undefined":
                assert r.note


@pytest.mark.parametrize(
    "html",
    ["<head" * 100_000, "<style></style>" * 50_000, "<script>" * 50_000 + "</script>", "<" * 200_000],
    ids=["open-heads", "many-styles", "nested-scripts", "angles"],
)
def test_adversarial_html_parts_finish(html: str):
    raw = (
        "From: Mail Delivery System <MAILER-DAEMON@mx.corp-example.org>\nTo: a@corp-example.org\n"
        "Subject: Undeliverable\nMIME-Version: 1.0\nContent-Type: text/html\n\n" + html
    )
    parsed = bounded(parse, raw)
    assert isinstance(parsed, ParsedInput)


def test_never_raises_on_garbage_mime():
    raw = b'Content-Type: multipart/report; boundary="\nFrom: x\nTo: y\n\n--\n--\x00--'
    parsed = bounded(parse, raw)
    assert parsed.kind in ("binary", "unknown", "message", "ndr")


def test_base64_encoded_report_is_decoded():
    text = base64.b64encode(b"<enc@corp-example.org>: 550 5.2.2 Mailbox full\n").decode()
    raw = (
        "From: Mail Delivery System <MAILER-DAEMON@mx.corp-example.org>\nTo: a@corp-example.org\n"
        "Subject: Undelivered Mail Returned to Sender\nMIME-Version: 1.0\n"
        f"Content-Type: text/plain\nContent-Transfer-Encoding: base64\n\n{text}\n"
    )
    r = parse(raw.encode()).results[0]
    assert (r.recipient, r.reason) == ("enc@corp-example.org", "mailboxfull")


def test_postfix_smtpd_transcript_notice():
    parsed = sample("postfix_smtpd_notice.eml")
    r = only(parsed)
    # The MAIL FROM address is the sender; the failure, not the 250s before it, gives the codes.
    assert r.recipient == "nobody@example-corp.jp"
    assert (r.reply_code, r.enhanced_code, r.reason) == ("550", "5.1.1", "userunknown")


def test_auto_generated_notification_is_not_a_vacation_reply():
    raw = (
        "From: Build Robot <ci@tools-example.org>\nTo: dev@tools-example.org\nSubject: Nightly build passed\n"
        "Date: Mon, 1 Jul 2024 03:00:00 +0000\nMessage-ID: <build-99@tools-example.org>\n"
        "Auto-Submitted: auto-generated\n\nAll 412 tests passed in 250 seconds.\n"
    )
    parsed = parse(raw)
    assert parsed.kind == "message"
    assert parsed.results == []


def test_a_paste_starting_with_from_keeps_its_first_line():
    r = only(parse("From the relay log: 550 5.1.1 <gone@corp-example.org>: Recipient address rejected"))
    assert (r.recipient, r.reason) == ("gone@corp-example.org", "userunknown")


def test_crlf_line_endings_read_the_same():
    raw = (SAMPLES / "exim_two_recipients.eml").read_bytes()
    lf = {(r.recipient, r.reason, r.enhanced_code) for r in parse(raw).results}
    crlf = {(r.recipient, r.reason, r.enhanced_code) for r in parse(raw.replace(b"\n", b"\r\n")).results}
    assert lf == crlf and len(lf) == 2


def test_dsn_with_empty_fields():
    raw = (
        b"From: MAILER-DAEMON@mx.corp-example.org\nTo: a@corp-example.org\nSubject: Undelivered\n"
        b'Content-Type: multipart/report; boundary="b"\n\n--b\nContent-Type: message/delivery-status\n\n'
        b"Reporting-MTA: dns;\n\nFinal-Recipient: rfc822; z@corp-example.org\nAction: failed\nStatus: 5.1.1\n"
        b"Remote-MTA: dns;\nDiagnostic-Code: smtp;\n\n--b--\n"
    )
    r = only(parse(raw))
    assert (r.recipient, r.enhanced_code, r.reason) == ("z@corp-example.org", "5.1.1", "userunknown")


def test_mangled_samples_never_reach_the_last_resort_handler():
    """Cut, corrupt and repeat bytes of the samples: every one is answered without an internal error."""
    import random

    rng = random.Random(1234)
    blobs = [p.read_bytes() for p in sorted(SAMPLES.iterdir())]
    for _ in range(300):
        b = bytearray(rng.choice(blobs))
        op = rng.randrange(4)
        if op == 0:
            b = b[: rng.randrange(len(b))]
        elif op == 1:
            for _ in range(10):
                b[rng.randrange(len(b))] = rng.randrange(256)
        elif op == 2:
            j = rng.randrange(len(b))
            b = b[:j] + b[j : j + 80] * rng.randrange(1, 30) + b[j:]
        else:
            b = bytearray(bytes(b).replace(b"\n", b"\r\n"))
        parsed = parse(bytes(b))
        assert not any("could not be analysed" in n for n in parsed.notes), parsed.notes


def test_pasted_quoted_printable_is_joined():
    text = (
        "bob@contoso-example.com\n"
        "Remote Server returned '550 5.7.606 Access denied, banned sending IP [81.2.69.160]. To req=\n"
        "uest removal from this list please visit https://sender.office.com/ and follow the direct=\n"
        "ions. For more information please go to http://go.microsoft.com/fwlink/?LinkID=3D526655'\n"
    )
    r = only(parse(text))
    assert (r.recipient, r.reason, r.provider) == ("bob@contoso-example.com", "blocked", "microsoft")
    assert "removal from this list" in r.diagnostic and "=3D" not in r.diagnostic


# --- the SMTP stage and the reporting software -------------------------------------------------------------


def _report(headers: str, body: str) -> bytes:
    return (
        "From: Mail Delivery Subsystem <MAILER-DAEMON@gw.corp-example.org>\nTo: <a@corp-example.org>\n"
        "Date: Mon, 1 Jul 2024 10:00:00 +0000\nMIME-Version: 1.0\n" + headers + "\n" + body
    ).encode()


def _dsn(headers: str, diagnostic: str, status: str = "5.0.0") -> bytes:
    return _report(
        'Subject: Returned mail\nContent-Type: multipart/report; report-type=delivery-status; boundary="b"\n'
        + headers,
        "--b\nContent-Type: text/plain\n\nThe message could not be delivered.\n"
        "--b\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; gw.corp-example.org\n\n"
        f"Final-Recipient: rfc822; gone@corp-example.org\nAction: failed\nStatus: {status}\n"
        f"Diagnostic-Code: smtp; {diagnostic}\n--b--\n",
    )


def test_user_unknown_wording_without_a_stage_is_filtered_in_a_report():
    # Said at RCPT, the address does not exist; said with no stage at all, it may be a filter's verdict
    # after the message was sent (Sisimai's "filtered").
    r = only(parse(_dsn("", "550 gone@corp-example.org... No such user")))
    assert (r.reason, r.command, r.hard_bounce) == ("filtered", None, False)
    at_rcpt = only(parse(_dsn("", "550 gone@corp-example.org... No such user (in reply to RCPT TO command)")))
    assert (at_rcpt.reason, at_rcpt.command, at_rcpt.hard_bounce) == ("userunknown", "RCPT", True)
    # An enhanced code that says "bad mailbox" settles it whatever the stage.
    assert only(parse(_dsn("", "550 5.1.1 No such user", "5.1.1"))).reason == "userunknown"


def test_pasted_user_unknown_line_means_the_address():
    r = only(parse("550 <gone@corp-example.org>... No such user"))
    assert (r.recipient, r.reason) == ("gone@corp-example.org", "userunknown")


def test_appliance_format_settles_a_generic_wording():
    # A McAfee appliance writes "No such user" only when it refused the recipient.
    r = only(parse(_dsn("X-NAI-Header: Modified by McAfee Email Gateway\n", "550 No such user")))
    assert (r.reason, r.reported_by) == ("userunknown", "mcafee")


def test_amazon_ses_receipt_rule_template_is_filtered():
    r = only(
        parse(
            _dsn(
                "X-SES-Outgoing: 2024.07.01-81.2.69.160\n", "550 5.1.1 Mailbox does not exist", "5.1.1"
            ).replace(b"dns; gw.corp-example.org", b"dns; inbound-smtp.eu-west-1.amazonaws.com")
        )
    )
    assert (r.reason, r.reported_by, r.enhanced_code) == ("filtered", "amazonses-inbound", "5.1.1")


@pytest.mark.parametrize(
    ("reply", "reason"),
    [("550 <user@ezweb.ne.jp>: User unknown", "userunknown"), ("550 : User unknown", "filtered")],
)
def test_au_kddi_tells_a_missing_address_from_a_refused_sender(reply: str, reason: str):
    raw = _dsn("", reply).replace(b"gone@corp-example.org", b"user@ezweb.ne.jp")
    assert only(parse(raw)).reason == reason


def test_fml_mailing_list_notice():
    raw = (
        "From: team-admin@lists.corp-example.org\nTo: a@corp-example.org\n"
        "Subject: You a@corp-example.org are not member (team ML)\n"
        "Message-ID: <202407011000.FMLAAB0001.team@lists.corp-example.org>\n"
        "X-MLServer: fml [fml 4.0.3 release]\nDate: Mon, 1 Jul 2024 10:00:00 +0000\n\n"
        "You are not a member of this mailing list <team@lists.corp-example.org>.\n\n"
        "If you know the general guide of this list, please send mail with the mail body\n\n\tguide\n"
    )
    r = only(parse(raw))
    assert (r.recipient, r.reason, r.reported_by) == ("team@lists.corp-example.org", "rejected", "fml")
    loop = raw.replace("Subject: You a@corp-example.org are not member", "Subject: Loop Alert: Duplicated")
    loop = loop.replace("You are not a member of this mailing list", "Duplicated Message-ID in")
    assert only(parse(loop)).reason == "systemerror"


def _postfix_delivered(rcpt: str) -> str:
    return (
        "Return-Path: <>\nFrom: MAILER-DAEMON@relay.corp-example.org (Mail Delivery System)\n"
        "To: ops@corp-example.org\nSubject: Successful Mail Delivery Report\nMIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\n\n'
        "--b\nContent-Type: text/plain\n\nThis is the mail system at host relay.corp-example.org.\n\n"
        f"<{rcpt}>: delivery via mx.receiver-example.net[89.160.20.115]:25: 250 2.0.0 Ok\n\n"
        "--b\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; relay.corp-example.org\n\n"
        f"Final-Recipient: rfc822; {rcpt}\nAction: delivered\nStatus: 2.0.0\n"
        "Diagnostic-Code: smtp; 250 2.0.0 Ok\n\n--b--\n"
    )


def test_mbox_with_several_reports_reads_each():
    mbox = "".join(
        f"From MAILER-DAEMON  Mon Jul  1 10:0{i}:00 2024\n{_postfix_delivered(rcpt)}\n"
        for i, rcpt in enumerate(("ann@receiver-example.net", "ben@receiver-example.net"))
    )
    parsed = parse(mbox.encode())
    assert [(r.recipient, r.reason) for r in parsed.results] == [
        ("ann@receiver-example.net", "delivered"),
        ("ben@receiver-example.net", "delivered"),
    ]
    assert any("2 messages" in n for n in parsed.notes)
    # A body line starting with "From " (not followed by headers) does not start a message.
    single = "From MAILER-DAEMON  Mon Jul  1 10:00:00 2024\n" + _postfix_delivered("ann@receiver-example.net")
    single = single.replace("This is the mail system", "\nFrom the relay: this is the mail system")
    assert len(parse(single).results) == 1


def test_postfix_report_without_details_is_undefined():
    raw = (
        "From: MAILER-DAEMON@relay.corp-example.org (Mail Delivery System)\nTo: ops@corp-example.org\n"
        "Subject: Undelivered Mail Returned to Sender\nMIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\n\n'
        "--b\nContent-Type: text/plain\n\nThis is the mail system at host relay.corp-example.org.\n\n"
        "I'm sorry to have to inform you that your message could not\n"
        "be delivered to one or more recipients. It's attached below.\n\n"
        "                   The mail system\n\n\t--- Delivery report unavailable ---\n\n"
        "--b\nContent-Type: message/rfc822\n\nFrom: ops@corp-example.org\nTo: ann@receiver-example.net\n"
        "Subject: hello\n\nhello\n--b--\n"
    )
    r = only(parse(raw))
    assert (r.recipient, r.reason) == ("ann@receiver-example.net", "undefined")
    assert r.note


def test_sendmail_transcript_sender_refusal_is_the_cause_for_the_recipient_it_blocked():
    raw = (
        "From: Mail Delivery Subsystem <MAILER-DAEMON@relay.corp-example.org>\nTo: ops@corp-example.org\n"
        "Subject: Returned mail: Remote protocol error\nDate: Mon, 1 Jul 2024 10:00:00 +0000\n\n"
        "   ----- Transcript of session follows -----\nWhile talking to mx.receiver-example.net:\n"
        ">>> MAIL From:<ops@corp-example.org>\n"
        "<<< 501 <ops@corp-example.org>... no access from mail server [81.2.69.160] which is an open relay\n"
        "554 <ann@receiver-example.net>... Remote protocol error\n"
        "550 other-example.org (smtp)... 550 Host unknown\n"
        "554 <ben@other-example.org>... 550 Host unknown (Authoritative answer from name server)\n\n"
        "   ----- Unsent message follows -----\nFrom: ops@corp-example.org\nTo: ann@receiver-example.net\n"
        "Subject: hi\n\nhi\n"
    )
    by = {r.recipient: r for r in parse(raw).results}
    ann, ben = by["ann@receiver-example.net"], by["ben@other-example.org"]
    assert (ann.reason, ann.reply_code, ann.command) == ("blocked", "501", "MAIL")
    # "554 <x>... 550 ...": Sendmail's own code, then the remote server's; the latter is the reply.
    assert (ben.reason, ben.reply_code) == ("hostunknown", "550")


def test_ezweb_reception_filter_header():
    raw = (
        "From: Postmaster@ezweb.ne.jp\nTo: a@corp-example.org\nSubject: Mail System Error - Returned Mail\n"
        "Message-ID: <20240701100000.AB12@lsean.ezweb.ne.jp>\nX-SPASIGN: NG\n"
        "Date: Mon, 1 Jul 2024 10:00:00 +0000\n\n"
        "Each of the following recipients was rejected by a remote mail server.\n\n"
        "    Recipient: <user@ezweb.ne.jp>\n    >>> DATA\n    <<< 550 : User unknown\n"
    )
    r = only(parse(raw))
    assert (r.recipient, r.reason, r.reported_by) == ("user@ezweb.ne.jp", "filtered", "ezweb")


def test_exim_router_user_not_found():
    raw = (
        "From: Mail Delivery System <Mailer-Daemon@relay.corp-example.org>\nTo: a@corp-example.org\n"
        "Subject: Mail delivery failed: returning message to sender\n"
        "Message-Id: <E1sOABC-000123-Xy@relay.corp-example.org>\nDate: Mon, 1 Jul 2024 10:00:00 +0000\n\n"
        "This message was created automatically by mail delivery software.\n\n"
        "A message that you sent could not be delivered to one or more of its\n"
        "recipients. This is a permanent error. The following address(es) failed:\n\n"
        "  gone@relay.corp-example.org\n    user not found\n"
    )
    r = only(parse(raw))
    assert (r.recipient, r.reason, r.reported_by) == ("gone@relay.corp-example.org", "userunknown", "exim")


def test_gmail_delay_notice_keeps_saying_the_failure_is_temporary():
    raw = (
        "From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>\nTo: tom.baker@gmail.com\n"
        "Subject: Delivery Status Notification (Delay)\nDate: Mon, 1 Jul 2024 10:00:00 +0000\n\n"
        "This is an automatically generated Delivery Status Notification\n\n"
        "THIS IS A WARNING MESSAGE ONLY.\n\n"
        "Delivery to the following recipient has been delayed:\n\n     info@harbour-example.net\n\n"
        "Message will be retried for 2 more day(s)\n\nTechnical details of temporary failure:\n"
        "The recipient server did not accept our requests to connect.\n"
    )
    r = only(parse(raw))
    assert (r.recipient, r.reason, r.action) == ("info@harbour-example.net", "expired", "delayed")
    assert "temporary failure" in r.diagnostic


def test_exchange_unknown_recipient_arrow_names_the_rcpt_stage():
    diag = "550 Unknown recipient or mailbox unavailable -> gone@corp-example.org"
    r = only(parse(_dsn("", diag)))
    assert (r.command, r.reason) == ("RCPT", "userunknown")
