"""Requests Slack never sends: a clean 4xx, nothing posted and no trace in the log, never a 500."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from urllib.parse import urlencode

import aiohttp
import pytest

from tests.slack_standin import sign

FORM = "application/x-www-form-urlencoded"


async def post_raw(running, body: bytes, content_type: str, *, timestamp: str | None = None) -> int:
    """Signed over the raw bytes, as Slack signs, whether or not they are text."""
    timestamp = str(int(time.time())) if timestamp is None else timestamp
    base = b"v0:" + timestamp.encode() + b":" + body
    signature = "v0=" + hmac.new(running.sender.secret.encode(), base, hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": signature,
    }
    async with aiohttp.ClientSession() as session, session.post(running.url, data=body, headers=headers) as r:
        return r.status


def no_traces(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


@pytest.mark.parametrize("timestamp", ["abc", "", "1795864533.5", "١٢٣"])
async def test_a_timestamp_that_is_not_a_number_gets_401(running, caplog, timestamp):
    # bolt's verifier calls int() on it: the ValueError reached the error handler, which answered 200.
    body = running.sender.command_body("dmarc example.com")
    reply = await running.sender.post(
        body, FORM, timestamp=timestamp, signature=sign(running.sender.secret, timestamp, body)
    )
    assert reply.status == 401
    await running.slack.settle()
    assert running.slack.calls == []
    assert no_traces(caplog) == []


async def test_unsigned_junk_gets_401_not_500(running, caplog):
    reply = await running.sender.post("{not json", "application/json", unsigned=True)
    assert reply.status == 401
    assert no_traces(caplog) == []


def _payload(payload: object) -> bytes:
    return urlencode({"payload": json.dumps(payload)}).encode()


JUNK = {
    "not json": (b"{not json", "application/json"),
    "json array": (b"[1, 2]", "application/json"),
    "json null": (b"null", "application/json"),
    "event null": (
        json.dumps({"type": "event_callback", "event_id": "Ev1", "event": None}).encode(),
        "application/json",
    ),
    "not utf-8 json": (b'{"type": "\xff"}', "application/json"),
    "not utf-8 form": (b"payload=\xff\xfe", FORM),
    "payload not json": (b"payload=%7Bnot", FORM),
    "payload array": (_payload([1]), FORM),
    "payload without type": (_payload({}), FORM),
    "block_actions without actions": (_payload({"type": "block_actions", "actions": []}), FORM),
    "view without type": (
        _payload(
            {"type": "view_submission", "user": {"id": "U0ALICE"}, "view": {"callback_id": "add_note_view"}}
        ),
        FORM,
    ),
    "plain text": (b"hello", "text/plain"),
}


@pytest.mark.parametrize("case", list(JUNK))
async def test_signed_junk_gets_400_and_no_trace(running, caplog, case):
    body, content_type = JUNK[case]
    assert await post_raw(running, body, content_type) == 400
    await running.slack.settle()
    assert [c for c in running.slack.calls if c.method != "auth.test"] == []
    assert no_traces(caplog) == []


async def test_a_body_over_a_megabyte_is_refused(running, caplog):
    body = json.dumps({"type": "event_callback", "pad": "a" * 1024 * 1024}).encode()
    assert await post_raw(running, body, "application/json") == 413
    assert no_traces(caplog) == []


async def test_a_mention_without_a_channel_is_dropped_quietly(running, caplog):
    event = {"type": "app_mention", "user": "U0ALICE", "text": "<@U0BOT> hi", "ts": "1.1"}
    assert (await running.sender.event(event)).status == 200
    await running.services.drain(10)
    await running.slack.settle()
    assert [c for c in running.slack.calls if c.method != "auth.test"] == []
    assert no_traces(caplog) == []
