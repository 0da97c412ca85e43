"""`deliverability socket`: the Slack app over Socket Mode (no public URL needed)."""

from __future__ import annotations

import argparse
import asyncio
import sys

from bot.commands import fail
from bot.settings import Settings, SettingsError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "socket",
        help="run the Slack app over Socket Mode",
        description="Connect to Slack over Socket Mode and answer there. Needs SLACK_APP_TOKEN (xapp-, with "
        "connections:write) and SLACK_BOT_TOKEN. Run one such process per app: Slack spreads events "
        "across connections.",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    try:
        asyncio.run(connect(settings))
    except SettingsError as exc:
        return fail("socket", exc)
    return 0


async def connect(settings: Settings) -> None:
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    from bot.app import build_app, start_schedules, tune_for_serving
    from bot.commands.serve import until_stopped
    from bot.services import Services

    if not settings.slack_app_token:
        raise SettingsError("SLACK_APP_TOKEN is not set")
    services = Services.create(settings)
    try:
        app = build_app(settings, services, mode="socket")
        tune_for_serving()
        handler = AsyncSocketModeHandler(app, settings.slack_app_token)
        print("deliverability: connecting to Slack over Socket Mode", file=sys.stderr, flush=True)
        schedules = start_schedules(app, services, settings)
        try:
            await handler.connect_async()
            await until_stopped()
        finally:
            for task in schedules:
                task.cancel()
            await handler.close_async()
            await services.drain(10)
    finally:
        services.close()
