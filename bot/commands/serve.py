"""`deliverability serve [--port N]`: the Slack app over HTTP (Events API, commands, interactivity)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys

from aiohttp import web

from bot.commands import fail
from bot.settings import Settings, SettingsError

log = logging.getLogger(__name__)
DRAIN_SECONDS = 10.0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "serve",
        help="run the Slack app over HTTP: /slack/events and /healthz",
        description="Serve Slack's requests (slash command, events, interactivity) at /slack/events and a "
        "health check at /healthz. Needs SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET.",
    )
    p.add_argument("--port", type=int, help="port to listen on (default: PORT, else 3000)")
    p.add_argument("--host", default="0.0.0.0", help="address to listen on (default: all)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    try:
        return asyncio.run(serve(settings, args.host, args.port or settings.port))
    except SettingsError as exc:
        return fail("serve", exc)


async def serve(settings: Settings, host: str, port: int) -> int:
    from bot.app import build_app, start_schedules, tune_for_serving, web_app
    from bot.services import Services

    services = Services.create(settings)
    try:
        app = build_app(settings, services, mode="http")
        tune_for_serving()
        runner = web.AppRunner(web_app(app, services), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, host, port).start()
        print(
            f"deliverability: serving Slack at http://{host}:{port}/slack/events", file=sys.stderr, flush=True
        )
        schedules = start_schedules(app, services, settings)
        await until_stopped()
        for task in schedules:
            task.cancel()
        await runner.shutdown()
        # Answers already acked are finishing in the background: let them, for a while.
        left = await services.drain(DRAIN_SECONDS)
        if left:
            log.warning("stopped with %d answers unfinished", left)
        await runner.cleanup()
    finally:
        services.close()
    return 0


async def until_stopped() -> None:
    """Return on SIGINT or SIGTERM (a platform stopping the process), so shutdown can be orderly."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()
