"""The app under test, served over HTTP on loopback, its Web API pointed at the Slack stand-in."""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest
from aiohttp import web

from bot.app import build_app, web_app
from bot.services import Services
from bot.settings import Settings
from tests.slack_standin import SlackSender, SlackStandin

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TRIAGE = "C0TRIAGE"


@dataclass
class Running:
    url: str
    settings: Settings
    services: Services
    slack: SlackStandin
    sender: SlackSender


@pytest.fixture
async def standin():
    async with SlackStandin() as slack:
        yield slack


@pytest.fixture
async def running(settings, standin, tmp_path):
    """`deliverability serve` as the tests talk to it: same app, same aiohttp wiring, loopback port."""
    settings = replace(
        settings,
        slack_bot_token=standin.token,
        slack_signing_secret=SECRET,
        slack_api_url=standin.api_url,
        database_path=str(tmp_path / "bot.db"),
        triage_channels=(TRIAGE,),
    )
    services = Services.create(settings)
    app = build_app(settings, services)
    runner = web.AppRunner(web_app(app, services), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    url = f"http://127.0.0.1:{port}/slack/events"
    sender = SlackSender(url, SECRET, standin)
    yield Running(url, settings, services, standin, sender)
    await sender.close()
    await services.drain(10)
    await runner.cleanup()
    services.close()
