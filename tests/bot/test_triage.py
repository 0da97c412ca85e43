import pytest

from bot.triage import classify, looks_like_bounce, message_text, readable_files

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
