"""`deliverability console`: the same answers as in Slack, typed and read in a terminal (or a pipe)."""

from __future__ import annotations

import argparse

from bot.settings import Settings


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "console",
        help="talk to the bot without Slack: commands and pasted bounces on stdin",
        description="Type `/deliverability …` commands or paste a bounce (ended by a blank line or end of "
        "input) and read the answers as text. Reads a pipe too.",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from bot.console import main
    from bot.services import Services

    # The incident log is opened only if `incidents` is asked for and the database exists.
    return main(Services.create(settings, with_store=False))
