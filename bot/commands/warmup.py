"""`deliverability warmup plan|status|log|list ...`: warm-up plans for new sending IPs."""

from __future__ import annotations

import argparse
import json

from bot.commands import fail
from bot.settings import Settings
from incidents.store import Store, StoreError
from practices import PracticeError
from practices.warmup import local_today, parse_request, render_result, result_dict, run_request


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "warmup",
        help="warm-up plans for new sending IPs: plan, status, log what was sent",
        description="Plan a new IP's warm-up, see where it stands, and log what was actually sent. "
        "Dates are in DIGEST_TZ. Exit status: 0, or 2 for bad input (nothing is stored then).",
        epilog="examples:\n"
        "  deliverability warmup plan 81.2.69.160 200k --days 30 --start 2026-12-01\n"
        "  deliverability warmup plan 81.2.69.160 200000 days=30 start=2026-12-01\n"
        "  deliverability warmup status 81.2.69.160\n"
        "  deliverability warmup log 81.2.69.160 5000 40 2 2026-12-03   # sent, bounced, complaints, day\n"
        "  deliverability warmup list",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "words",
        nargs="+",
        metavar="ACTION ARGS",
        help="plan IP TARGET [days=N] [start=YYYY-MM-DD] | status IP | log IP SENT [BOUNCED] [COMPLAINTS] "
        "[YYYY-MM-DD] | list",
    )
    p.add_argument("--days", help="plan: how many days to reach the target (default 30)")
    p.add_argument("--start", metavar="YYYY-MM-DD", help="plan: the first day (default today)")
    p.add_argument("--replace", action="store_true", help="plan: replace the IP's current plan")
    p.add_argument("--by", default="cli", help="who is recording it (default: cli)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    words = list(args.words)
    words += [f"days={args.days}"] if args.days is not None else []
    words += [f"start={args.start}"] if args.start is not None else []
    words += ["replace"] if args.replace else []
    try:
        request = parse_request(words)
        with Store.from_settings(settings) as store:
            today = local_today(store.now(), settings.digest_tz)
            result = run_request(store, request, today=today, tz=settings.digest_tz, by=args.by)
    except (PracticeError, StoreError) as exc:
        return fail("warmup", exc, as_json=args.json)
    if args.json:
        print(json.dumps(result_dict(result), ensure_ascii=False, indent=2))
    else:
        print(render_result(result, today=today))
    return 0
