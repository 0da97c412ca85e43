"""`deliverability suppressions [--since DATE] [--csv|--json] [--add FILE ...]`: the suppression list."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from datetime import datetime, timedelta

from bot.commands import fail, read_input
from bot.settings import Settings, SettingsError, parse_duration
from incidents.store import Store, StoreError
from knowledge.base import load
from knowledge.diagnose import diagnose
from practices import PracticeError
from practices.suppressions import Policy, record_diagnoses, summary, suppressed, to_csv
from practices.warmup import day_bounds, parse_day

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "suppressions",
        help="the suppression list of hard-bouncing recipients, for the sending platform",
        description="List (or export as CSV) the recipients suppressed after a hard bounce (unknown user, "
        "unknown domain, moved) or repeated soft bounces (mailbox full, suspended). --add diagnoses "
        "bounces and records them: recipients are suppressed per the rules, and bounces naming an IP in "
        "warm-up count toward its rates. The list keeps full addresses for SUPPRESSION_RETENTION_DAYS "
        "after the last bounce; SUPPRESSIONS=off stops adding any.",
    )
    p.add_argument("--since", metavar="DATE", help="only those suppressed since YYYY-MM-DD (DIGEST_TZ) or 7d")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--csv", action="store_true", help="CSV with a header row, the address first")
    fmt.add_argument("--json", action="store_true", help="a JSON array")
    p.add_argument(
        "--add",
        nargs="+",
        metavar="FILE",
        help="diagnose these bounces ('-' reads standard input) and record them before listing",
    )
    p.set_defaults(func=run)


def _since(text: str | None, settings: Settings, now: datetime) -> datetime | None:
    if not text:
        return None
    try:
        return day_bounds(parse_day(text), settings.digest_tz)[0]
    except PracticeError:
        try:
            return now - timedelta(seconds=parse_duration(text))
        except SettingsError:
            raise PracticeError(
                f"--since: not a date or a duration: {text!r} (use YYYY-MM-DD or 7d)"
            ) from None


def _read(name: str, limit: int) -> bytes:
    try:
        return read_input(name, limit)
    except OSError as exc:
        raise PracticeError(f"{name}: {exc.strerror or exc}") from None


def run(args: argparse.Namespace, settings: Settings) -> int:
    policy = Policy.from_settings(settings)
    if (args.add or []).count("-") > 1:
        return fail("suppressions", "standard input ('-') can be read only once", as_json=args.json)
    try:
        with Store.from_settings(settings) as store:
            since = _since(args.since, settings, store.now())
            for name in args.add or []:
                diagnoses = diagnose(
                    _read(name, settings.max_input_bytes), kb=load(), max_bytes=settings.max_input_bytes
                )
                results = record_diagnoses(store, diagnoses, policy=policy)
                print(f"{name}: {summary(results)}", file=sys.stderr)
            rows = suppressed(store, since=since, policy=policy)
    except (PracticeError, StoreError) as exc:
        return fail("suppressions", exc, as_json=args.json)
    if not policy.enabled:
        print(
            "deliverability suppressions: SUPPRESSIONS=off: no address is being added; "
            "showing what was stored before",
            file=sys.stderr,
        )
    if args.csv:
        sys.stdout.write(to_csv(rows))
    elif args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
    elif not rows:
        print("No suppressed addresses" + (f" since {args.since}." if args.since else "."))
    else:
        print(f"{len(rows)} suppressed address(es)" + (f" since {args.since}" if args.since else "") + ":")
        for row in rows:
            print(
                f"  {row['address']:<40} {row['reason']:<12} {row['receiver']:<12} "
                f"last bounce {row['last_bounce'][:10]}  ×{row['count']}"
            )
    return 0
