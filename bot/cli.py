"""The `deliverability` command line: one sub-command per module in bot/commands."""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import sys
import uuid
from typing import NoReturn

from bot.settings import Settings, SettingsError

log = logging.getLogger("deliverability")

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


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    wants_json = "--json" in (sys.argv[1:] if argv is None else argv)

    class Parser(argparse.ArgumentParser):
        def error(self, message: str) -> NoReturn:
            # The JSON contract holds for usage errors too: scripts read stdout, people read stderr.
            if wants_json:
                print(json.dumps({"error": message}))
            super().error(message)

    parser = Parser(
        prog="deliverability",
        description="Postmaster triage: live DNS checks, bounce diagnosis and incidents.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens to stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, stream=sys.stderr)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        if getattr(args, "json", False):
            print(json.dumps({"error": f"configuration error: {exc}"}))
        print(f"deliverability: configuration error: {exc}", file=sys.stderr)
        return 2
    try:
        return args.func(args, settings)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, and keep Python from complaining at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except Exception as exc:  # a bug of ours: one line with an id for the user, the trace in the log
        error_id = uuid.uuid4().hex[:8]
        if args.verbose:
            log.exception("internal error %s in %s", error_id, args.command)
        message = f"internal error {error_id} ({type(exc).__name__}); run with -v for the details"
        if getattr(args, "json", False):
            print(json.dumps({"error": message}))
        print(f"deliverability {args.command}: {message}", file=sys.stderr)
        return 1
