"""Raw messages in Slack, end to end: pasted or uploaded, analysed in the thread; the "Analyse as a message"
and "Compare with the earlier message" buttons; both shortcuts; `/deliverability analyze`.

Every message is signed here with dkimpy and its key served by the loopback DNS server, so a DKIM
pass or fail in the posted answer is real cryptography over what Slack delivered.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import replace

import nacl.signing
import pytest

from tests.checks.message.conftest import DOMAIN, IP, Key, message, publish, sign
from tests.handlers.conftest import TRIAGE
from tests.handlers.test_threads import BOUNCE

MARKETING = [
    "List-Unsubscribe: <https://news.shop.example/u/abc>, <mailto:unsub@shop.example>",
    "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
    "Precedence: bulk",
]


# An Exim bounce forwarded as an attachment: a raw message (it is signed, it has Received headers) that
# carries a bounce, so it is diagnosed and its analysis offered.
EXIM = (
    "From: Mail Delivery System <Mailer-Daemon@mx.example.org>\r\n"
    "To: news@shop.example\r\n"
    "Subject: Mail delivery failed: returning message to sender\r\n"
    "Content-Type: text/plain\r\n\r\n"
    "This message was created automatically by mail delivery software.\r\n\r\n"
    "A message that you sent could not be delivered to one or more of its\r\n"
    "recipients. This is a permanent error. The following address(es) failed:\r\n\r\n"
    "  bob@example.org\r\n"
    "    host mx.example.org [81.2.69.160]\r\n"
    "    SMTP error from remote mail server after RCPT TO:<bob@example.org>:\r\n"
    "    550 5.7.1 Service unavailable; Client host [89.160.20.112] blocked using zen.spamhaus.org\r\n"
)


def forwarded_bounce() -> bytes:
    body = (
        "--FWD\r\nContent-Type: text/plain\r\n\r\nIt came back, can you look?\r\n\r\n"
        f"--FWD\r\nContent-Type: message/rfc822\r\n\r\n{EXIM}\r\n--FWD--\r\n"
    )
    return message(subject="Can you look at this?", body=body).replace(
        b"Content-Type: text/plain; charset=utf-8", b'Content-Type: multipart/mixed; boundary="FWD"'
    )


def ed25519_key() -> Key:
    """A fresh Ed25519 DKIM key for the messages a test signs."""
    seed = nacl.signing.SigningKey.generate()
    return Key(
        base64.b64encode(bytes(seed)), base64.b64encode(bytes(seed.verify_key)).decode(), "ed25519", 256
    )


@pytest.fixture(scope="module")
def key() -> Key:
    return ed25519_key()


def as_slack_text(raw: bytes) -> str:
    """A raw message as a Slack event's `text` carries it after a paste: LF line ends, `&<>` escaped,
    addresses and URLs turned into Slack's link forms."""
    text = raw.decode().replace("\r\n", "\n")
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = re.sub(r"https://[\w./-]+", lambda m: f"<{m.group(0)}>", text)
    return re.sub(
        r"(?<![\w=@])[\w.+-]+@[\w-]+(?:\.[\w-]+)+", lambda m: f"<mailto:{m.group(0)}|{m.group(0)}>", text
    )


def buttons(blocks) -> dict[str, dict]:
    return {e["action_id"]: e for b in blocks if b["type"] == "actions" for e in b["elements"]}


def dkim_lines(text: str) -> list[str]:
    """The lines of a posted analysis that give a DKIM signature's verdict."""
    return [line for line in text.split("\n") if f"d={DOMAIN}" in line or "DKIM signature by" in line]


def as_message(post, ts: str = "1700009999.000001") -> dict:
    """A posted answer as Slack puts it in a block_actions payload's `message`."""
    thread = post.args.get("thread_ts")
    return {
        "type": "message",
        "ts": ts,
        "user": "UBOT",
        "blocks": post.blocks,
        **({"thread_ts": thread} if thread else {}),
    }


async def test_a_raw_message_pasted_in_a_dm_is_analysed_in_its_thread(running, dns_server, key):
    publish(dns_server, key)
    text = as_slack_text(sign(message(extra=MARKETING), key))
    event = running.sender.message(text, channel="D0ALICE", channel_type="im", ts="1700001000.000001")
    await running.sender.event(event)
    (post,) = await running.slack.wait_for("chat.postMessage")
    assert post.args["channel"] == "D0ALICE" and post.args["thread_ts"] == "1700001000.000001"
    seen = post.all_text()
    assert f"Message from {DOMAIN}" in seen and f"sent from {IP}" in seen
    assert "bounce@shop.example" in seen  # the envelope sender, read back from Slack's mailto form
    assert "Pasted text" in seen and "upload the" in seen.lower()
    assert "Bulk-sender requirements" in seen and "DMARC" in seen and "SPF" in seen
    # Every checklist item links to its knowledge-base entry's public source.
    checklist = seen[seen.index("Bulk-sender requirements") :]
    assert checklist.count("<https://") >= 5
    assert not [line for line in dkim_lines(seen) if line.startswith(":x:")]
    assert {"check_ip", "check_domain"} <= set(buttons(post.blocks))
    assert "compare_messages" not in buttons(post.blocks)  # nothing earlier in this thread


async def test_a_pasted_message_whose_body_changed_gets_no_dkim_fail(running, dns_server, key):
    publish(dns_server, key)
    raw = sign(message(), key).replace(b"offers are inside", b"offers are\ninside, rewrapped")
    event = running.sender.message(as_slack_text(raw), channel="D0ALICE", channel_type="im")
    await running.sender.event(event)
    (post,) = await running.slack.wait_for("chat.postMessage")
    lines = dkim_lines(post.all_text())
    assert lines and not [line for line in lines if line.startswith(":x:")], lines
    assert any("can't verify the body from a paste" in line for line in lines), lines


async def test_an_uploaded_eml_is_verified_byte_for_byte(running, dns_server, key):
    publish(dns_server, key)
    f = running.slack.add_file(sign(message(extra=MARKETING), key), name="offer.eml")
    event = running.sender.message("", channel=TRIAGE, files=[f], ts="1700001100.000001")
    await running.sender.event(event)
    (post,) = await running.slack.wait_for("chat.postMessage")
    seen = post.all_text()
    assert post.args["thread_ts"] == "1700001100.000001"
    assert "offer.eml" in seen and "Pasted text" not in seen
    passing = [line for line in dkim_lines(seen) if line.startswith(":white_check_mark:")]
    assert any("verifies" in line for line in passing), dkim_lines(seen)
    (download,) = running.slack.calls_to("file")
    assert download.headers["Authorization"] == f"Bearer {running.slack.token}"


async def test_an_uploaded_eml_whose_body_changed_fails_dkim(running, dns_server, key):
    publish(dns_server, key)
    raw = sign(message(), key).replace(b"offers are inside", b"offers were changed")
    f = running.slack.add_file(raw, name="changed.eml")
    await running.sender.event(running.sender.message("", channel=TRIAGE, files=[f]))
    (post,) = await running.slack.wait_for("chat.postMessage")
    failing = [line for line in dkim_lines(post.all_text()) if line.startswith(":x:")]
    assert failing and "body was changed" in failing[0]


async def test_a_message_that_reads_like_a_bounce_offers_the_analysis(running, dns_server, key):
    publish(dns_server, key)
    raw = sign(forwarded_bounce(), key)
    ts = "1700001200.000001"
    await running.sender.event(running.sender.message(as_slack_text(raw), channel=TRIAGE, ts=ts))
    (diagnosis,) = await running.slack.wait_for("chat.postMessage")
    assert "blocked" in diagnosis.all_text()
    offer = buttons(diagnosis.blocks)["analyze_as_message"]
    assert offer["text"]["text"] == "Analyse as a message"
    payload = running.sender.block_action(
        "analyze_as_message", offer["value"], message=as_message(diagnosis), channel=TRIAGE
    )
    assert (await running.sender.interaction(payload)).status == 200
    posts = await running.slack.wait_for("chat.postMessage", 2)
    analysis = posts[1]
    assert analysis.args["thread_ts"] == ts
    assert f"Message from {DOMAIN}" in analysis.all_text() and "Pasted text" in analysis.all_text()


async def test_the_offer_on_an_uploaded_file_fetches_the_file_again(running, dns_server, key):
    publish(dns_server, key)
    raw = sign(forwarded_bounce(), key)
    f = running.slack.add_file(raw, name="question.eml")
    await running.sender.event(running.sender.message("", channel=TRIAGE, files=[f], ts="1700001300.000001"))
    (diagnosis,) = await running.slack.wait_for("chat.postMessage")
    value = buttons(diagnosis.blocks)["analyze_as_message"]["value"]
    assert json.loads(value)["f"] == f["id"]  # a file id, not the text: the bytes are fetched again
    await running.sender.interaction(
        running.sender.block_action(
            "analyze_as_message", value, message=as_message(diagnosis), channel=TRIAGE
        )
    )
    posts = await running.slack.wait_for("chat.postMessage", 2)
    seen = posts[1].all_text()
    assert "question.eml" in seen and "Pasted text" not in seen
    assert any("verifies" in line for line in dkim_lines(seen))
    assert len(running.slack.calls_to("files.info")) == 1 and len(running.slack.calls_to("file")) == 2


async def test_an_offer_whose_paste_is_forgotten_says_so(running):
    payload = running.sender.block_action(
        "analyze_as_message", json.dumps({"k": "gone"}), message={"ts": "1700001400.000001"}, channel=TRIAGE
    )
    await running.sender.interaction(payload)
    (answer,) = await running.slack.wait_for("response_url")
    assert answer.args["response_type"] == "ephemeral" and "paste it again" in answer.all_text()
    assert running.slack.calls_to("chat.postMessage") == []


async def test_two_messages_in_one_thread_can_be_compared(running, dns_server, key):
    publish(dns_server, key)
    offer = sign(message(extra=MARKETING, subject="Spring sale"), key)
    receipt = message(subject="Your receipt", body="Order 1234 is paid.\r\n").replace(
        b"20240402100000.1@", b"20240402100000.2@"
    )
    receipt = sign(receipt, key)
    root = "1700001500.000001"
    first = running.slack.add_file(offer, name="offer.eml")
    await running.sender.event(running.sender.message("", channel=TRIAGE, files=[first], ts=root))
    (one,) = await running.slack.wait_for("chat.postMessage")
    assert "compare_messages" not in buttons(one.blocks)
    second = running.slack.add_file(receipt, name="receipt.eml")
    await running.sender.event(running.sender.message("", channel=TRIAGE, files=[second], thread_ts=root))
    posts = await running.slack.wait_for("chat.postMessage", 2)
    compare = buttons(posts[1].blocks)["compare_messages"]
    assert compare["text"]["text"] == "Compare with the earlier message"
    await running.sender.interaction(
        running.sender.block_action(
            "compare_messages", compare["value"], message=as_message(posts[1]), channel=TRIAGE
        )
    )
    posts = await running.slack.wait_for("chat.postMessage", 3)
    comparison = posts[2]
    assert comparison.args["thread_ts"] == root
    seen = comparison.all_text()
    assert "offer.eml (marketing) and receipt.eml share the sending IP 81.2.69.160" in seen
    assert f"d={DOMAIN}" in seen and "Stream separation" in seen


async def test_the_same_message_twice_offers_no_comparison(running, dns_server, key):
    publish(dns_server, key)
    raw = sign(message(), key)
    root = "1700001600.000001"
    pasted = running.sender.message(as_slack_text(raw), channel="D0ALICE", channel_type="im", ts=root)
    await running.sender.event(pasted)
    await running.slack.wait_for("chat.postMessage")
    f = running.slack.add_file(raw, name="same.eml")
    upload = running.sender.message("", channel="D0ALICE", channel_type="im", files=[f], thread_ts=root)
    await running.sender.event(upload)
    posts = await running.slack.wait_for("chat.postMessage", 2)
    assert "compare_messages" not in buttons(posts[1].blocks)


async def test_the_diagnose_shortcut_analyses_a_raw_message(running, dns_server, key):
    publish(dns_server, key)
    text = as_slack_text(sign(message(), key))
    shortcut = {"type": "message", "user": "U0BOB", "ts": "1700001700.000001", "text": text}
    await running.sender.interaction(running.sender.message_shortcut(shortcut, channel="C0OTHER"))
    (post,) = await running.slack.wait_for("chat.postMessage")
    assert post.args["thread_ts"] == "1700001700.000001"
    assert f"Message from {DOMAIN}" in post.all_text()


async def test_the_analyse_shortcut_analyses_even_a_bounce_and_says_when_there_is_nothing(running):
    dsn = (
        "From: MAILER-DAEMON@mx.example.net\nReceived: from mx.example.net ([81.2.69.160]) by a.example\n"
        "To: sender@example.com\nSubject: Undelivered Mail Returned to Sender\n\n" + BOUNCE
    )
    bounce = {"type": "message", "user": "U0BOB", "ts": "1700001800.000001", "text": dsn}
    payload = running.sender.message_shortcut(bounce, channel="C0OTHER", callback_id="analyze_message")
    await running.sender.interaction(payload)
    (post,) = await running.slack.wait_for("chat.postMessage")
    assert "Message from mx.example.net" in post.all_text()
    chatter = {"type": "message", "user": "U0BOB", "ts": "1700001801.000001", "text": "see you at lunch"}
    await running.sender.interaction(
        running.sender.message_shortcut(chatter, channel="C0OTHER", callback_id="analyze_message")
    )
    (answer,) = await running.slack.wait_for("response_url")
    assert answer.args["response_type"] == "ephemeral" and "no raw message" in answer.all_text()
    assert len(running.slack.calls_to("chat.postMessage")) == 1


async def test_slash_analyze(running, dns_server, key):
    publish(dns_server, key)
    text = as_slack_text(sign(message(), key))
    reply = await running.sender.command(f"analyze {text}", response_url=running.slack.response_url("an1"))
    assert reply.status == 200 and "Analysing the message" in reply.text
    (answer,) = await running.slack.wait_for("response_url", name="an1")
    assert answer.args["replace_original"] is True
    assert f"Message from {DOMAIN}" in answer.all_text() and "Pasted text" in answer.all_text()


@pytest.mark.parametrize(
    ("text", "words"),
    [("analyze", "paste the raw message after `analyze`"), ("analyze just words", "no header fields found")],
)
async def test_slash_analyze_bad_input_is_one_line(running, text, words):
    reply = await running.sender.command(text, response_url=running.slack.response_url("an2"))
    assert reply.status == 200
    if "Analysing" in reply.text:
        (answer,) = await running.slack.wait_for("response_url", name="an2")
        seen = answer.all_text()
    else:
        seen = reply.text
    assert words in seen and "Traceback" not in seen and "error id" not in seen


async def test_slash_diagnose_of_a_message_offers_the_analysis(running, dns_server, key):
    publish(dns_server, key)
    text = as_slack_text(sign(message(), key))
    await running.sender.command(f"diagnose {text}", response_url=running.slack.response_url("dg1"))
    (answer,) = await running.slack.wait_for("response_url", name="dg1")
    assert "analyze_as_message" in buttons(answer.blocks)


async def test_help_lists_analyze_with_an_example(running):
    reply = await running.sender.command("help")
    assert "/deliverability analyze Received:" in reply.text


async def test_a_file_over_the_size_limit_is_analysed_up_to_it_and_says_so(
    settings, standin, dns_server, key
):
    from types import SimpleNamespace

    from bot.app import web_client
    from bot.services import Services
    from handlers.reply import triage_messages
    from handlers.threads import read_pieces
    from knowledge.base import load

    publish(dns_server, key)
    raw = sign(message(body="x" * 5000 + "\r\n"), key)
    limit = len(raw) - 1000
    settings = replace(
        settings, max_input_bytes=limit, slack_bot_token=standin.token, slack_api_url=standin.api_url
    )
    services = Services(settings, load())
    try:
        f = standin.add_file(raw, name="big.eml")
        pieces = await read_pieces(
            {"files": [f]}, web_client(settings), SimpleNamespace(bot_user_id="UBOT"), services
        )
        assert [len(p.data) for p in pieces] == [limit + 1]  # read one byte past the limit, no more
        (answer,) = await triage_messages(pieces, services, thread=("C0X", "1"))
    finally:
        services.close()
    seen = json.dumps(answer.payload(), ensure_ascii=False)
    assert "big.eml" in seen and f"{limit:,}-byte limit" in seen
    sections = "\n".join(b["text"]["text"] for b in answer.payload()["blocks"] if b["type"] == "section")
    lines = dkim_lines(sections)
    assert len(lines) == 1 and lines[0].startswith(":information_source:"), lines
    assert "the signed headers verify" in lines[0] and "was cut" in lines[0]
