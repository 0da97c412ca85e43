"""Adding, removing and listing watches, and a target's history: what the CLI and `/deliverability` call.

Errors raised here, both `WatchError` (their message is fit for the user):

    WatchError
    ├── TargetError (checks.target)   not a domain or a public IP address
    └── NotWatched                     the target is not watched in that workspace
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from typing import Any

from bot.settings import Settings
from checks.target import Target, TargetError, parse_target
from incidents.store import Store
from watch.model import Watch, next_slot
from watch.scheduler import RunResult, Scheduler

_SELECTOR = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,62}$")


class WatchError(ValueError):
    """A watch command that cannot be done, with a message fit for the user."""


class NotWatched(WatchError, LookupError):
    """The target is not watched (in that workspace)."""


def watch_target(text: str) -> Target:
    """The target a user means (a domain, an address's domain, a public IP), or WatchError saying why not."""
    try:
        return parse_target(text)
    except TargetError as exc:
        raise WatchError(str(exc)) from exc


def channel_ref(text: str | None) -> str | None:
    """A channel as given: `C123`, `#name`, or Slack's `<#C123|name>` (its id is kept)."""
    if not text:
        return None
    text = text.strip()
    if match := re.fullmatch(r"<#([A-Z0-9]+)(?:\|[^>]*)?>", text):
        return match.group(1)
    if not re.fullmatch(r"#?[\w.-]{1,80}", text):
        raise WatchError(f"not a channel: {text!r} (give #name or a channel id)")
    return text


@dataclass
class Added:
    watch: Watch
    created: bool  # False: it was watched already (its channel may have changed)
    first_run: RunResult | None = None


async def add(
    store: Store,
    settings: Settings,
    text: str,
    *,
    workspace: str,
    channel: str | None,
    created_by: str | None,
    selectors: tuple[str, ...] = (),
    check: bool = True,
) -> Added:
    """Watch a target; with `check`, run it at once so later runs have something to be compared with."""
    target = watch_target(text)
    bad = [s for s in selectors if not _SELECTOR.match(s)]
    if bad:
        raise WatchError(f"not a DKIM selector: {bad[0]!r}")
    if selectors and target.kind != "domain":
        raise WatchError("DKIM selectors go with a domain, not an IP address")
    now = store.now()
    row, created = await asyncio.to_thread(
        store.add_watch,
        workspace,
        target.value,
        target.kind,
        channel=channel,
        created_by=created_by,
        selectors=list(selectors),
        next_run_at=next_slot(target.value, now, settings.watch_interval),
    )
    watch = Watch.from_row(row)
    added = Added(watch, created)
    if check and not watch.state:
        results = await Scheduler(store, settings).run_now([watch.id])
        if results:
            added.first_run = results[0]
            added.watch = Watch.from_row(await asyncio.to_thread(store.get_watch, watch.id))  # type: ignore[arg-type]
    return added


async def remove(store: Store, text: str, *, workspace: str) -> Watch:
    target = watch_target(text)
    rows = await asyncio.to_thread(store.find_watches, target.value, workspace)
    if not await asyncio.to_thread(store.remove_watch, workspace, target.value):
        raise NotWatched(f"{target.value} is not watched{_where(workspace)}")
    return Watch.from_row(rows[0])


def _where(workspace: str | None) -> str:
    return f" in workspace {workspace}" if workspace not in (None, "") else ""


def listing(store: Store, workspace: str | None = None) -> list[Watch]:
    return [Watch.from_row(r) for r in store.list_watches(workspace)]


@dataclass
class History:
    """A target's timeline: its watches, and each run with the alerts it raised, oldest first."""

    target: str
    watches: list[Watch]
    runs: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "kind": self.watches[0].kind if self.watches else None,
            "watches": [w.to_dict() for w in self.watches],
            "runs": self.runs,
        }


def history(store: Store, text: str, *, workspace: str | None = None, limit: int | None = None) -> History:
    target = watch_target(text)
    watches = [Watch.from_row(r) for r in store.find_watches(target.value, workspace)]
    if not watches:
        raise NotWatched(f"{target.value} has never been watched{_where(workspace)}")
    ids = [w.id for w in watches]
    by_id = {w.id: w for w in watches}
    alerts: dict[int, list[dict[str, Any]]] = {}
    for row in store.watch_alerts(watch_ids=ids):
        alerts.setdefault(row["run_id"], []).append(
            {
                "check": row["check_name"],
                "about": row["about"],
                "event": row["event"],
                "before": row["before_status"],
                "after": row["after_status"],
                "before_summary": row["before_summary"],
                "after_summary": row["after_summary"],
                "incident": row["incident_id"],
                "posted_to": row["channel"] if row["posted_at"] else None,
            }
        )
    runs = []
    for run in store.watch_runs(ids, limit=limit):
        watch = by_id[run["watch_id"]]
        runs.append(
            {
                "ran_at": run["ran_at"],
                "workspace": watch.workspace,
                "elapsed_ms": run["elapsed_ms"],
                "summary": run["summary"],
                "retried": run["retried"],
                "findings": run["findings"],
                "alerts": alerts.get(run["id"], []),
            }
        )
    return History(target.value, watches, runs)


def describe(watch: Watch, settings: Settings) -> str:
    """One line: `example.com (domain) → #ops, every 6h, next 2024-05-08 14:23 UTC`."""
    hours = settings.watch_interval / 3600
    every = f"{hours:g}h" if hours >= 1 else f"{settings.watch_interval / 60:g}m"
    channel = watch.channel or "no channel"
    problems = sum(1 for i in watch.state.values() if i.severity)
    state = f", {problems} problem{'s' if problems != 1 else ''} now" if problems else ""
    next_run = f"{watch.next_run_at:%Y-%m-%d %H:%M} UTC"
    return f"{watch.target} ({watch.kind}) → {channel}, every {every}, next {next_run}{state}"
