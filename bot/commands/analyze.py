"""`deliverability analyze FILE|- [--json] [--pasted]`: analyse one raw message (.eml).

With `--compare` and two files it asks instead whether two messages share a sending stream
(bot/commands/streams.py).
"""

from __future__ import annotations

import argparse
import asyncio
import json

from bot.commands import fail, read_input
from bot.render_text import render_report
from bot.settings import Settings
from checks.message import MessageAnalysis, MessageError, analyze
from checks.runner import make_resolver


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "analyze",
        help="analyse a raw message: path, DKIM, SPF, DMARC and bulk-sender requirements",
        description="Verify every DKIM signature, evaluate SPF for the sending hop and DMARC for the From "
        "domain, compare with the Authentication-Results the message carries, and check the Gmail/Yahoo/"
        "Microsoft bulk-sender requirements one message can show.",
    )
    p.add_argument(
        "files",
        nargs="+",
        metavar="FILE",
        help="the raw message (.eml), or - to read it from standard input (two with --compare)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument(
        "--pasted",
        action="store_true",
        help="the text was copied from chat: a body that doesn't verify is reported as unverifiable",
    )
    p.add_argument(
        "--compare",
        action="store_true",
        help="two messages, marketing and transactional: do they share an IP, Return-Path or DKIM domain?",
    )
    p.set_defaults(func=run)


async def _analyze(data: bytes, settings: Settings, pasted: bool) -> MessageAnalysis:
    return await analyze(data, dns=make_resolver(settings), settings=settings, pasted=pasted)


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.compare:
        from bot.commands.streams import run_compare  # another command's code, loaded only when asked for

        return run_compare(args.files, settings, as_json=args.json, pasted=args.pasted)
    if len(args.files) != 1:
        return fail(
            "analyze",
            f"give one message to analyse, not {len(args.files)} (two only with --compare)",
            as_json=args.json,
        )
    name = args.files[0]
    try:
        data = read_input(name, settings.max_input_bytes)
    except OSError as exc:
        return fail("analyze", f"cannot read {name}: {exc.strerror or exc}", as_json=args.json)
    try:
        analysis = asyncio.run(_analyze(data, settings, args.pasted))
    except MessageError as exc:
        return fail("analyze", exc, as_json=args.json)
    if args.json:
        print(json.dumps(analysis.to_dict(), ensure_ascii=False))
    else:
        print(render_report(analysis.as_report()))
    return 0 if analysis.ok else 1
