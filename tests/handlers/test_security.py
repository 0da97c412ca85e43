"""Requests Slack did not sign, signed wrongly, or replayed: 401, and nothing runs."""

from __future__ import annotations

import json
import time

import pytest

from tests.slack_standin import sign


@pytest.mark.parametrize("case", ["missing", "wrong", "other-secret", "replayed", "future", "tampered"])
async def test_forged_requests_get_401_and_run_nothing(running, case):
    sender = running.sender
    body = sender.command_body("dmarc example.com", response_url=running.slack.response_url("forged"))
    now = int(time.time())
    kwargs = {}
    if case == "missing":
        kwargs["unsigned"] = True
    elif case == "wrong":
        kwargs["signature"] = "v0=" + "0" * 64
    elif case == "other-secret":
        kwargs["signature"] = sign("not-the-secret", str(now), body)
    elif case == "replayed":
        old = str(now - 6 * 60)
        kwargs.update(timestamp=old, signature=sign(sender.secret, old, body))
    elif case == "future":
        later = str(now + 6 * 60)
        kwargs.update(timestamp=later, signature=sign(sender.secret, later, body))
    elif case == "tampered":
        kwargs["signature"] = sign(sender.secret, str(now), body)
        kwargs["timestamp"] = str(now)
        body = body.replace("dmarc", "spf")
    reply = await sender.post(body, "application/x-www-form-urlencoded", **kwargs)
    assert reply.status == 401
    await running.slack.settle()
    assert running.slack.calls == []


async def test_forged_event_claims_nothing(running):
    event = running.sender.message("550 5.7.1 blocked", channel="C0TRIAGE")
    body = running.sender.event_body(event, event_id="EvForged")
    reply = await running.sender.post(body, "application/json", signature="v0=" + "1" * 64)
    assert reply.status == 401
    # The id was not claimed: the genuine delivery of that event is still handled.
    assert running.services.store.claim_event("EvForged") is True


async def test_url_verification_echoes_the_challenge(running):
    body = json.dumps(
        {
            "token": "x",
            "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
            "type": "url_verification",
        }
    )
    reply = await running.sender.post(body, "application/json")
    assert reply.status == 200
    assert reply.json() == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}
    unsigned = await running.sender.post(body, "application/json", unsigned=True)
    assert unsigned.status == 401


async def test_healthz(running):
    import aiohttp

    async with aiohttp.ClientSession() as session:
        async with session.get(running.url.replace("/slack/events", "/healthz")) as resp:
            assert resp.status == 200
            assert (await resp.json())["ok"] is True


async def test_events_and_buttons_nothing_handles_get_200_and_no_reply(running):
    reaction = {
        "type": "reaction_added",
        "user": "U0ALICE",
        "reaction": "eyes",
        "item": {"type": "message", "channel": "C0TRIAGE", "ts": "1.1"},
    }
    assert (await running.sender.event(reaction)).status == 200
    old_button = running.sender.block_action("retired_action", "x", message={"ts": "1.2"})
    assert (await running.sender.interaction(old_button)).status == 200
    edited = {
        "type": "message",
        "subtype": "message_changed",
        "channel": "C0TRIAGE",
        "ts": "1.3",
        "message": {"text": "550 5.7.1 blocked", "user": "U0ALICE"},
    }
    assert (await running.sender.event(edited)).status == 200
    await running.slack.settle()
    assert [c.method for c in running.slack.calls if c.method != "auth.test"] == []
