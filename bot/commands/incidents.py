"""`deliverability incidents`, `deliverability incident ACTION ID` and `deliverability digest`."""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import sys
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.commands import fail
from bot.settings import Settings, SettingsError, parse_duration
from incidents.digest import build_digest, format_duration, post_digest, render_text
from incidents.model import FILTERS, Event, Incident
from incidents.store import IncidentNotFound, Store, StoreError

CSV_COLUMNS = (
    "id",
    "status",
    "receiver",
    "reason",
    "subject",
    "subject_kind",
    "occurrences",
    "first_seen",
    "last_seen",
    "resolved_at",
    "assignee",
    "reply_code",
    "enhanced_code",
    "kb_ids",
    "workspace",
    "channel",
    "thread_ts",
    "permalink",
    "reporter",
    "resolution_note",
    "source",
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "incidents",
        help="list incidents (the active ones by default)",
        description="List incidents from the log at DATABASE_PATH, the most recently seen first.",
    )
    p.add_argument(
        "--status", choices=FILTERS, default="active", help="active (default) = open and investigating"
    )
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print a JSON array")
    fmt.add_argument("--csv", action="store_true", help="print CSV with a header row")
    p.add_argument("--purge", action="store_true", help="first drop bounce text older than RETENTION_DAYS")
    p.set_defaults(func=run_list)

    p = sub.add_parser(
        "incident",
        help="show or update one incident",
        description="Show an incident with its timeline, or change its status, notes or assignee.",
    )
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    show = actions.add_parser("show", help="the incident and its timeline")
    show.add_argument("id", type=int)
    show.add_argument("--json", action="store_true", help="print one JSON object with its timeline")
    for name, help_text in (
        ("investigate", "mark as being investigated"),
        ("resolve", "mark as resolved (the note becomes the resolution note)"),
        ("reopen", "open again"),
    ):
        a = actions.add_parser(name, help=help_text)
        a.add_argument("id", type=int)
        a.add_argument("--note", help="a note for the timeline")
        a.add_argument("--by", default="cli", help="who did it (default: cli)")
    note = actions.add_parser("note", help="add a note to the timeline")
    note.add_argument("id", type=int)
    note.add_argument("text", nargs="+")
    note.add_argument("--by", default="cli", help="who wrote it (default: cli)")
    assign = actions.add_parser("assign", help="assign to someone (`-` to unassign)")
    assign.add_argument("id", type=int)
    assign.add_argument("assignee")
    assign.add_argument("--by", default="cli", help="who assigned it (default: cli)")
    p.set_defaults(func=run_incident)

    p = sub.add_parser(
        "digest",
        help="the daily digest: print it, or post it to DIGEST_CHANNEL",
        description="Build the digest of incidents since the last one posted (or the last 24 hours). "
        "--post posts it to DIGEST_CHANNEL once per day, however many processes try.",
    )
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--print", action="store_true", help="write the digest as text")
    mode.add_argument("--post", action="store_true", help="post it to DIGEST_CHANNEL (needs SLACK_BOT_TOKEN)")
    p.add_argument("--since", metavar="DURATION", help="cover this long back (24h, 7d) instead")
    p.add_argument("--json", action="store_true", help="with --print: the digest's data as JSON")
    p.set_defaults(func=run_digest)


def _open(settings: Settings) -> Store:
    return Store.from_settings(settings)


def run_list(args: argparse.Namespace, settings: Settings) -> int:
    try:
        with _open(settings) as store:
            purged = store.purge() if args.purge else None
            items = store.list(args.status)
    except StoreError as exc:
        return fail("incidents", exc, as_json=args.json)
    if purged is not None:
        print(f"purged stored text of {purged} events", file=sys.stderr)
    if args.json:
        print(json.dumps([i.to_dict() for i in items], ensure_ascii=False, indent=2))
    elif args.csv:
        writer = csv.DictWriter(
            sys.stdout, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\n"
        )
        writer.writeheader()
        for incident in items:
            row = incident.to_dict()
            row["kb_ids"] = " ".join(incident.kb_ids)
            writer.writerow(row)
    elif not items:
        print(f"No {args.status} incidents.")
    else:
        for incident in items:
            print(_summary_line(incident))
    return 0


def _summary_line(incident: Incident) -> str:
    assignee = f" ({incident.assignee})" if incident.assignee else ""
    return (
        f"#{incident.id:<4} {incident.status:<13} {incident.receiver:<12} {incident.reason:<16} "
        f"{incident.subject}  ×{incident.occurrences}  last seen {incident.last_seen:%Y-%m-%d %H:%M} UTC"
        f"{assignee}"
    )


def run_incident(args: argparse.Namespace, settings: Settings) -> int:
    as_json = getattr(args, "json", False)  # only `show` has --json
    try:
        with _open(settings) as store:
            if args.action == "show":
                incident = store.get(args.id)
                if incident is None:
                    raise IncidentNotFound(f"no incident #{args.id}")
                return _show(incident, store.timeline(args.id), as_json=args.json)
            if args.action in ("investigate", "resolve", "reopen"):
                status = {"investigate": "investigating", "resolve": "resolved", "reopen": "open"}[
                    args.action
                ]
                before = store.get(args.id)
                incident = store.set_status(args.id, status, actor=args.by, note=args.note)
                if before is not None and before.status == status:
                    print(f"#{incident.id} is already {status}.")
                    return 0
            elif args.action == "note":
                incident = store.add_note(args.id, " ".join(args.text), actor=args.by)
            else:
                assignee = None if args.assignee == "-" else args.assignee
                incident = store.assign(args.id, assignee, actor=args.by)
    except IncidentNotFound as exc:
        return fail("incident", exc, as_json=as_json, code=1)
    except StoreError as exc:
        return fail("incident", exc, as_json=as_json)
    print(_summary_line(incident))
    return 0


def _show(incident: Incident, timeline: list[Event], *, as_json: bool) -> int:
    if as_json:
        data = incident.to_dict() | {"timeline": [e.to_dict() for e in timeline]}
        print(json.dumps(data, ensure_ascii=False, indent=2))
        return 0
    print(f"#{incident.id} {incident.title}")
    print(
        f"  status       {incident.status}"
        + (f", assigned to {incident.assignee}" if incident.assignee else "")
    )
    codes = " ".join(c for c in (incident.reply_code, incident.enhanced_code) if c)
    if codes:
        print(f"  codes        {codes}")
    print(f"  occurrences  {incident.occurrences}")
    print(f"  first seen   {incident.first_seen:%Y-%m-%d %H:%M} UTC")
    print(f"  last seen    {incident.last_seen:%Y-%m-%d %H:%M} UTC")
    if incident.resolved_at:
        took = format_duration(incident.resolved_at - incident.first_seen)
        print(f"  resolved     {incident.resolved_at:%Y-%m-%d %H:%M} UTC, after {took}")
    if incident.resolution_note:
        print(f"  resolution   {incident.resolution_note}")
    if incident.kb_ids:
        print(f"  knowledge    {', '.join(incident.kb_ids)}")
    if incident.permalink:
        print(f"  raised at    {incident.permalink}")
    print("Timeline:")
    for event in timeline:
        print(f"  {event.at:%Y-%m-%d %H:%M}  {_event_line(event)}")
    return 0


def _event_line(event: Event) -> str:
    who = f" by {event.actor}" if event.actor else ""
    if event.kind == "status_changed":
        line = f"{event.status_from} → {event.status_to}{who}"
        return f"{line}: {event.text}" if event.text else line
    label = {
        "created": "created",
        "seen_again": "seen again",
        "note_added": "note",
        "assigned": "assigned",
        "checks_rerun": "checks",
    }.get(event.kind, event.kind)
    line = f"{label}{who}"
    if event.text:
        line += f": {event.text}"
    if event.raw_text:
        line += f"\n{'':19}{event.raw_text.splitlines()[0][:160]}"
    return line


def run_digest(args: argparse.Namespace, settings: Settings) -> int:
    zone = ZoneInfo(settings.digest_tz)
    if args.post and not (settings.slack_bot_token and settings.digest_channel):
        needed = (("SLACK_BOT_TOKEN", settings.slack_bot_token), ("DIGEST_CHANNEL", settings.digest_channel))
        missing = [name for name, value in needed if not value]
        return fail("digest", f"--post needs {' and '.join(missing)} to be set", as_json=args.json)
    try:
        window = timedelta(seconds=parse_duration(args.since)) if args.since else None
    except SettingsError as exc:
        return fail("digest", f"--since: {exc}", as_json=args.json)
    try:
        with _open(settings) as store:
            now = store.now()
            since = now - window if window else None
            if args.post:
                return _post(store, settings, now=now, since=since, as_json=args.json)
            if since is None:
                last = store.last_digest_at(settings.digest_channel) if settings.digest_channel else None
                since = last or now - timedelta(days=1)
            digest = build_digest(store, now=now, since=since, tz=zone)
    except StoreError as exc:
        return fail("digest", exc, as_json=args.json)
    print(json.dumps(digest.to_dict(), ensure_ascii=False, indent=2) if args.json else render_text(digest))
    return 0


def _post(
    store: Store, settings: Settings, *, now: datetime, since: datetime | None, as_json: bool = False
) -> int:
    # Slack is imported here only: the rest of the CLI works without a Slack client.
    from aiohttp import ClientError
    from slack_sdk.errors import SlackClientError

    from bot.app import web_client
    from bot.render_blocks import digest_blocks

    client = web_client(settings, serving=False)
    channel = settings.digest_channel
    try:
        ts = asyncio.run(
            post_digest(
                store,
                client,
                channel,
                now=now,
                tz=settings.digest_tz,
                since=since,
                render_blocks=digest_blocks,
            )
        )
    except (SlackClientError, ClientError, OSError) as exc:
        return fail("digest", f"posting to {channel} failed: {exc}", as_json=as_json, code=1)
    day = now.astimezone(ZoneInfo(settings.digest_tz)).date().isoformat()
    if ts is None:
        print(f"The digest for {day} is already posted (or being posted) in {channel}.")
    else:
        print(f"Posted the digest for {day} to {channel} (ts {ts}).")
    return 0
