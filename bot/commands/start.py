"""`deliverability start`: run the bot in the mode the environment allows."""

from __future__ import annotations

import argparse
import sys

from bot.settings import Settings


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "start",
        help="run the bot: Socket Mode, HTTP or the console, by which Slack settings are present",
        description="With SLACK_APP_TOKEN and SLACK_BOT_TOKEN: Socket Mode. With SLACK_SIGNING_SECRET and "
        "SLACK_BOT_TOKEN: HTTP on PORT. Otherwise: the console on this terminal.",
    )
    p.set_defaults(func=run)


def mode(settings: Settings) -> str:
    if settings.slack_bot_token and settings.slack_app_token:
        return "socket"
    if settings.slack_bot_token and settings.slack_signing_secret:
        return "serve"
    return "console"


def run(args: argparse.Namespace, settings: Settings) -> int:
    chosen = mode(settings)
    if chosen == "socket":
        from bot.commands import socket

        return socket.run(args, settings)
    if chosen == "serve":
        from bot.commands import serve

        return serve.run(argparse.Namespace(port=None, host="0.0.0.0"), settings)
    from bot.commands import console

    print("No Slack tokens are set: starting the console.", file=sys.stderr)
    return console.run(args, settings)
