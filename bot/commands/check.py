"""`deliverability check TARGET [--ip IP] [--selector S]... [--json]`."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from bot.commands import fail
from bot.render_text import render_report
from bot.settings import Settings
from checks.runner import run_checks
from checks.target import TargetError, parse_target
from incidents import StoreError, log_report


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "check",
        help="live DNS checks for a domain, an email address's domain, or an IP",
        description="Run the live DNS checks (MX, SPF, DKIM, DMARC, rDNS, blocklists, MTA-STS, TLS-RPT, "
        "BIMI) for a domain, or rDNS and blocklists for an IP.",
    )
    p.add_argument("target", help="a domain, an email address or an IPv4/IPv6 address")
    p.add_argument("--ip", help="a sending IP: evaluate SPF for it and check its rDNS and blocklists")
    p.add_argument(
        "--selector", action="append", default=[], metavar="S", help="a DKIM selector (repeatable)"
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--log", action="store_true", help="record a problem found in the incident log")
    p.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    try:
        target = parse_target(args.target)
        report = asyncio.run(run_checks(target, settings, ip=args.ip, selectors=tuple(args.selector)))
    except TargetError as exc:
        return fail("check", exc, as_json=args.json)
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False))
    else:
        print(render_report(report))
    if args.log:
        try:
            logged = log_report(settings, report.to_dict(), target.value)
        except StoreError as exc:
            return fail("check", f"not logged: {exc}")
        if logged is None:
            print("nothing to log: no finding failed, errored or warned", file=sys.stderr)
        else:
            incident, created = logged
            verb = "opened" if created else "added an occurrence to"
            print(f"{verb} incident #{incident.id}", file=sys.stderr)
    return 0 if report.ok else 1
