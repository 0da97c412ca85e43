"""Socket Mode runs the same handlers: envelopes over a WebSocket from the stand-in, acks back on it."""

from __future__ import annotations

import json
from dataclasses import replace
from urllib.parse import parse_qsl

import pytest
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

from bot.app import build_app
from bot.services import Services
from bot.settings import SettingsError
from tests.handlers.conftest import TRIAGE
from tests.handlers.test_threads import BOUNCE
from tests.slack_standin import SlackSender


@pytest.fixture
async def socket_app(settings, standin, tmp_path):
    settings = replace(
        settings,
        slack_bot_token=standin.token,
        slack_app_token=standin.app_token,
        slack_signing_secret="",
        slack_api_url=standin.api_url,
        database_path=str(tmp_path / "bot.db"),
        triage_channels=(TRIAGE,),
    )
    services = Services.create(settings)
    handler = AsyncSocketModeHandler(build_app(settings, services, mode="socket"), settings.slack_app_token)
    await handler.connect_async()
    await standin.wait_for("socket_connect")
    yield handler
    await services.drain(10)
    await handler.close_async()
    services.close()


async def test_slash_command_over_socket_mode(socket_app, standin, dns_server):
    sender = SlackSender("unused", "unused", standin)
    payload = dict(
        parse_qsl(sender.command_body("dmarc example.com", response_url=standin.response_url("s1")))
    )
    await standin.socket_send(
        {
            "envelope_id": "env-cmd",
            "type": "slash_commands",
            "accepts_response_payload": True,
            "payload": payload,
        }
    )
    (ack,) = await standin.wait_for("socket_ack")
    assert ack.args["envelope_id"] == "env-cmd"
    assert ack.args["payload"]["text"] == "Checking dmarc example.com…"
    (answer,) = await standin.wait_for("response_url", name="s1")
    assert answer.args["replace_original"] is True and "DMARC" in answer.all_text()


async def test_events_over_socket_mode_are_deduplicated(socket_app, standin):
    sender = SlackSender("unused", "unused", standin)
    body = json.loads(sender.event_body(sender.message(BOUNCE, channel=TRIAGE, ts="1.2"), event_id="Ev0SOCK"))
    for attempt, envelope_id in ((0, "env-a"), (1, "env-b")):
        await standin.socket_send(
            {
                "envelope_id": envelope_id,
                "type": "events_api",
                "accepts_response_payload": False,
                "retry_attempt": attempt,
                "retry_reason": "timeout" if attempt else "",
                "payload": body,
            }
        )
    await standin.wait_for("socket_ack", 2)
    (post,) = await standin.wait_for("chat.postMessage")
    assert post.args["thread_ts"] == "1.2"
    await standin.settle(0.5)
    assert len(standin.calls_to("chat.postMessage")) == 1


def test_http_mode_refuses_to_run_without_a_signing_secret(settings):
    settings = replace(settings, slack_bot_token="xoxb-1", slack_signing_secret="")
    with pytest.raises(SettingsError, match="SLACK_SIGNING_SECRET"):
        build_app(settings, Services.create(settings, with_store=False), mode="http")
