"""`deliverability watch add|remove|list|history|run`: watched domains and IPs from the command line."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from bot.commands import fail
from bot.settings import Settings
from incidents.store import Store, StoreError
from watch import Alert, WatchError, add, history, listing, remove, run_forever
from watch.manage import NotWatched, channel_ref, describe
from watch.model import tally
from watch.scheduler import Scheduler


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "watch",
        help="watch domains and IPs: re-checked every WATCH_INTERVAL, alerts on change",
        description="Watched targets are re-checked every WATCH_INTERVAL (default 6h), spread over the "
        "interval. A change of status between two runs (newly listed, SPF now permerror, PTR gone, DKIM "
        "key missing, DMARC policy lowered, MX gone...) posts an alert to the watch's channel and opens "
        "or updates an incident; a recovery is posted too.",
    )
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)

    a = actions.add_parser("add", help="watch a domain or IP (and check it now, as the baseline)")
    a.add_argument("target", help="a domain, an email address or a public IP address")
    a.add_argument("--channel", help="Slack channel for its alerts (default: WATCH_CHANNEL)")
    a.add_argument("--selector", action="append", default=[], metavar="S", help="a DKIM selector to watch")
    a.add_argument(
        "--no-check", action="store_true", help="do not check it now (its first run is the baseline)"
    )
    _workspace(a)
    a.add_argument("--json", action="store_true", help="print the watch as JSON")
    a.set_defaults(func=run_add)

    r = actions.add_parser("remove", help="stop watching (the history is kept)")
    r.add_argument("target")
    _workspace(r)
    r.set_defaults(func=run_remove)

    ls = actions.add_parser("list", help="the watched targets")
    ls.add_argument("--workspace", help="only this workspace's (default: every workspace)")
    ls.add_argument("--json", action="store_true", help="print a JSON array")
    ls.set_defaults(func=run_list)

    h = actions.add_parser("history", help="the timeline of a target's runs, findings and alerts")
    h.add_argument("target")
    h.add_argument("--workspace", help="only this workspace's watch (default: every workspace)")
    h.add_argument("--limit", type=_positive, metavar="N", help="only the last N runs")
    h.add_argument("--json", action="store_true", help="print one JSON object")
    h.set_defaults(func=run_history)

    run = actions.add_parser("run", help="run the scheduler in the foreground, or one round now (--once)")
    run.add_argument(
        "--once", action="store_true", help="check every watched target now, due or not, then exit"
    )
    run.add_argument("--json", action="store_true", help="print each alert as one JSON object per line")
    run.set_defaults(func=run_run)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 (got {value})")
    return value


def _fail(args: argparse.Namespace, exc: Exception) -> int:
    """Exit 1 when the target is not watched (a miss, like an unknown incident), 2 for bad input."""
    code = 1 if isinstance(exc, NotWatched) else 2
    return fail("watch", exc, as_json=getattr(args, "json", False), code=code)


def _workspace(p: argparse.ArgumentParser) -> None:
    p.add_argument("--workspace", help="the workspace it belongs to (default: WATCH_WORKSPACE, else cli)")


def run_add(args: argparse.Namespace, settings: Settings) -> int:
    try:
        channel = channel_ref(args.channel or settings.watch_channel or None)
        with Store.from_settings(settings) as store:
            added = asyncio.run(
                add(
                    store,
                    settings,
                    args.target,
                    workspace=args.workspace or settings.watch_workspace,
                    channel=channel,
                    created_by="cli",
                    selectors=tuple(args.selector),
                    check=not args.no_check,
                )
            )
    except (WatchError, StoreError) as exc:
        return _fail(args, exc)
    if args.json:
        data = added.watch.to_dict() | {"created": added.created}
        if added.first_run is not None:
            data["first_run"] = added.first_run.findings
        print(json.dumps(data, ensure_ascii=False))
        return 0
    verb = "Watching" if added.created else "Already watching"
    print(f"{verb} {describe(added.watch, settings)}")
    if added.first_run is not None:
        print(f"  now: {added.first_run.tally} (the baseline later runs are compared with)")
    if not added.watch.channel:
        print(
            "  no channel: alerts are stored and printed by `watch run`, not posted "
            "(give --channel, or set WATCH_CHANNEL)"
        )
    return 0


def run_remove(args: argparse.Namespace, settings: Settings) -> int:
    try:
        with Store.from_settings(settings) as store:
            watch = asyncio.run(
                remove(store, args.target, workspace=args.workspace or settings.watch_workspace)
            )
    except (WatchError, StoreError) as exc:
        return _fail(args, exc)
    print(
        f"No longer watching {watch.target} "
        f"(its history is kept: `deliverability watch history {watch.target}`)"
    )
    return 0


def run_list(args: argparse.Namespace, settings: Settings) -> int:
    try:
        with Store.from_settings(settings) as store:
            watches = listing(store, args.workspace)
    except StoreError as exc:
        return _fail(args, exc)
    if args.json:
        print(json.dumps([w.to_dict() for w in watches], ensure_ascii=False, indent=2))
    elif not watches:
        print("Nothing is watched.")
    else:
        for watch in watches:
            print(f"{watch.workspace or '-':<12} {describe(watch, settings)}")
    return 0


def run_history(args: argparse.Namespace, settings: Settings) -> int:
    try:
        with Store.from_settings(settings) as store:
            timeline = history(store, args.target, workspace=args.workspace, limit=args.limit)
    except (WatchError, StoreError) as exc:
        return _fail(args, exc)
    if args.json:
        print(json.dumps(timeline.to_dict(), ensure_ascii=False, indent=2))
        return 0
    for watch in timeline.watches:
        removed = f", removed {watch.removed_at:%Y-%m-%d %H:%M} UTC" if watch.removed_at else ""
        print(
            f"{watch.target} ({watch.kind}) in {watch.workspace or '-'}, channel {watch.channel or '-'}, "
            f"watched since {watch.created_at:%Y-%m-%d %H:%M} UTC{removed}"
        )
    if not timeline.runs:
        print("No runs yet.")
    for run in timeline.runs:
        print(_run_line(run))
        for alert in run["alerts"]:
            print(
                f"    {'!' if alert['event'] == 'change' else '+'} {alert['check']} {alert['about']}: "
                f"{alert['before']} → {alert['after']}: {alert['after_summary']}"
            )
        for finding in run["findings"]:
            if finding.get("status") in ("fail", "warn", "error"):
                print(f"      {finding['status']:<5} {finding['check']}: {finding['summary']}")
    return 0


def _run_line(run: dict[str, Any]) -> str:
    checks = " · ".join(f"{check} {entry['status']}" for check, entry in sorted(run["summary"].items()))
    when = run["ran_at"].replace("T", " ").replace("Z", " UTC")
    retried = f" (retried {', '.join(run['retried'])})" if run["retried"] else ""
    alerts = len(run["alerts"])
    head = f"{alerts} alert{'s' if alerts != 1 else ''}" if alerts else tally(run["findings"])
    return f"{when}  {head}{retried}\n    {checks}"


def run_run(args: argparse.Namespace, settings: Settings) -> int:
    def show(alert: Alert) -> None:
        print(json.dumps(alert.to_dict(), ensure_ascii=False) if args.json else alert.line(), flush=True)

    client = _client(settings)
    try:
        with Store.from_settings(settings) as store:
            if args.once:
                scheduler = Scheduler(store, settings, client=client, on_alert=show)
                results = asyncio.run(scheduler.run_round())
                if not args.json:
                    baseline = sum(1 for r in results if r.baseline)
                    alerts = sum(len(r.alerts) for r in results)
                    first = f", {baseline} first run{'s' if baseline != 1 else ''}" if baseline else ""
                    print(
                        f"checked {len(results)} watched target{'s' if len(results) != 1 else ''}: "
                        f"{alerts} alert{'s' if alerts != 1 else ''}{first}",
                        file=sys.stderr,
                    )
                return 0
            print("deliverability: watch scheduler running; Ctrl-C stops it", file=sys.stderr, flush=True)
            asyncio.run(run_forever(store, settings, client, on_alert=show))
    except StoreError as exc:
        return _fail(args, exc)
    return 0


def _client(settings: Settings) -> Any:
    """A Slack Web API client when SLACK_BOT_TOKEN is set (alerts are then posted), else None."""
    if not settings.slack_bot_token:
        return None
    from bot.app import web_client  # Slack is imported only when alerts are to be posted

    return web_client(settings, serving=False)
