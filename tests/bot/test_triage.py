import pytest

from bot.triage import Route, classify, header_block, looks_like_bounce, message_text, readable_files, route

BOT = {"bot_user_id": "UBOT", "bot_id": "BBOT", "triage_channels": ("C0TRIAGE",)}


def where(event, watched=False):
    return classify(event, thread_watched=watched, **BOT)


@pytest.mark.parametrize(
    "text",
    [
        "550 5.7.1 Service unavailable; client host [81.2.69.160] blocked using zen.spamhaus.org",
        "Final-Recipient: rfc822; bob@example.org\nAction: failed\nStatus: 5.1.1",
        "host mx.example.org[81.2.69.160] said: 554 rejected (in reply to RCPT TO command)",
        "Undeliverable: quarterly report",
        "421 4.7.0 Try again later, closing connection",
    ],
)
def test_bounces_are_recognised(text):
    assert looks_like_bounce(text)


@pytest.mark.parametrize(
    "text",
    ["lunch at 12?", "we upgraded to 5.2.1 yesterday", "room 550 is free", "", "ok"],
)
def test_chatter_is_not(text):
    assert not looks_like_bounce(text)


def test_places():
    assert where({"channel": "D1", "channel_type": "im", "user": "U1", "ts": "1"}).diagnose
    assert where({"channel": "C0TRIAGE", "user": "U1", "ts": "1"}).diagnose
    assert not where({"channel": "C0OTHER", "user": "U1", "ts": "1"}).diagnose
    reply = {"channel": "C0OTHER", "user": "U1", "ts": "2", "thread_ts": "1"}
    assert where(reply, watched=True).diagnose
    assert not where(reply, watched=False).diagnose


def test_never_itself_and_other_bots_only_in_triage():
    assert not where({"channel": "D1", "channel_type": "im", "user": "UBOT", "ts": "1"}).diagnose
    assert not where({"channel": "C0TRIAGE", "bot_id": "BBOT", "subtype": "bot_message", "ts": "1"}).diagnose
    other = {"channel": "C0TRIAGE", "bot_id": "BMAIL", "subtype": "bot_message", "ts": "1"}
    assert where(other).diagnose
    assert not where({**other, "channel": "C0OTHER", "thread_ts": "0"}, watched=True).diagnose
    assert not where({**other, "channel": "D1", "channel_type": "im"}).diagnose


def test_edits_and_joins_are_ignored_and_mentions_left_to_app_mention():
    assert not where({"channel": "C0TRIAGE", "subtype": "message_changed", "ts": "1"}).diagnose
    assert not where({"channel": "C0TRIAGE", "subtype": "channel_join", "user": "U1", "ts": "1"}).diagnose
    assert not where({"channel": "C0TRIAGE", "user": "U1", "text": "<@UBOT> look", "ts": "1"}).diagnose
    assert where(
        {"channel": "D1", "channel_type": "im", "user": "U1", "text": "<@UBOT> 550", "ts": "1"}
    ).diagnose


def test_message_text_reads_attachments_and_drops_the_mention():
    message = {
        "text": "<@UBOT> got this: &lt;<mailto:a@example.org|a@example.org>&gt;",
        "attachments": [
            {"fallback": "550 5.1.1 user unknown"},
            {"title": "Subject", "text": "Delivery failed"},
        ],
    }
    text = message_text(message, bot_user_id="UBOT")
    assert text.startswith("got this: <a@example.org>")
    assert "550 5.1.1 user unknown" in text and "Delivery failed" in text


def test_readable_files():
    files = [
        {"id": "F1", "name": "bounce.eml", "mimetype": "message/rfc822", "size": 10},
        {"id": "F2", "name": "shot.png", "mimetype": "image/png", "size": 10},
        {"id": "F3", "name": "huge.txt", "mimetype": "text/plain", "size": 10_000},
    ]
    assert [f["id"] for f in readable_files({"files": files}, 1000)] == ["F1"]


# --- bounce or raw message (issue 6's routing) ------------------------------------------------------

RAW = (
    "Return-Path: <bounce@shop.example>\n"
    "Received: from mail.shop.example (mail.shop.example [81.2.69.160]) by mx.receiver.example with ESMTPS "
    "id 4AbC1; Tue, 2 Apr 2024 10:00:01 +0000\n"
    "DKIM-Signature: v=1; a=rsa-sha256; d=shop.example; s=s1; h=from:to:subject; bh=abc=; b=def=\n"
    "From: News <news@shop.example>\nTo: someone@receiver.example\nSubject: Offers\n"
    "Date: Tue, 2 Apr 2024 10:00:00 +0000\nMessage-ID: <1@shop.example>\n\n"
    "This month's offers: 550 products rejected by no one, our policy on mailbox sizes, spam and DKIM.\n"
)
DSN_MESSAGE = (
    "Received: from mx.example.net by mail.shop.example; Tue, 2 Apr 2024 10:00:01 +0000\n"
    "From: Mail Delivery System <MAILER-DAEMON@mx.example.net>\nTo: news@shop.example\n"
    "Subject: Undelivered Mail Returned to Sender\n"
    'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\n\n'
    "--B\nContent-Type: message/delivery-status\n\nFinal-Recipient: rfc822; bob@example.org\n"
    "Action: failed\nStatus: 5.1.1\n--B--\n"
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (RAW, Route.MESSAGE),  # bounce-ish words in an ordinary body do not make it a bounce
        ("Here is the source, FYI: see below\n\n" + RAW, Route.MESSAGE),
        ("```\n" + RAW + "```", Route.MESSAGE),
        # Slack wrapped the long Received line: the continuation lost its leading space.
        (RAW.replace("with ESMTPS ", "with ESMTPS\n"), Route.MESSAGE),
        (DSN_MESSAGE, Route.BOUNCE),
        (DSN_MESSAGE.replace("multipart/report; report-type=delivery-status", "mixed"), Route.BOUNCE),
        (RAW.replace("Subject: Offers", "Subject: Delivery Status Notification (Failure)"), Route.BOUNCE),
        (RAW.replace("News <news@shop.example>", "postmaster@shop.example"), Route.BOUNCE),
        (RAW + "\nhost mx.example.org[81.2.69.160] said: 550 5.1.1 user unknown\n", Route.UNSURE),
        ("550 5.7.1 Service unavailable; client host [81.2.69.160] blocked", Route.BOUNCE),
        # A message quoted in a reply: From, Date, Subject, To, but nothing added in transit.
        ("---------- Forwarded message ---------\nFrom: a@shop.example\nDate: Tue, 2 Apr 2024\n"
         "Subject: hi\nTo: b@shop.example\n\nhello", Route.NOTHING),
        ("lunch at 12?", Route.NOTHING),
        ("", Route.NOTHING),
    ],
)  # fmt: skip
def test_route(text, expected):
    assert route(text) is expected


def test_header_block_reads_the_first_section_only():
    fields, body = header_block(RAW)
    assert fields["from"] == "News <news@shop.example>" and fields["return-path"] == "<bounce@shop.example>"
    assert "content-type" not in fields and body.startswith("This month's offers")
    assert header_block("no fields here\njust words") == ({}, "no fields here\njust words")
