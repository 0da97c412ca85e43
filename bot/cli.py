"""The `deliverability` command line: one sub-command per module in bot/commands."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from bot.settings import Settings, SettingsError

# Each module has `register(subparsers)`, which sets `func(args, settings) -> int` on its parser.
COMMANDS = (
    "bot.commands.check",
    "bot.commands.diagnose",
    "bot.commands.analyze",
    "bot.commands.start",
    "bot.commands.incidents",
    "bot.commands.watch",
    "bot.commands.warmup",
    "bot.commands.suppressions",
    "bot.commands.serve",
    "bot.commands.socket",
    "bot.commands.console",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="deliverability",
        description="Postmaster triage: live DNS checks, bounce diagnosis and incidents.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens to stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, stream=sys.stderr)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"deliverability: configuration error: {exc}", file=sys.stderr)
        return 2
    try:
        return args.func(args, settings)
    except KeyboardInterrupt:
        return 130
