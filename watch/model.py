"""A watched target as the scheduler sees it, a run's result, and where each target sits in the interval."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from incidents.model import from_row, from_text, to_text
from watch.diff import Item, decode_state

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_STATUS_ORDER = ("fail", "error", "warn", "info", "pass")


@dataclass
class Watch:
    id: int
    workspace: str
    target: str
    kind: str  # domain | ip
    channel: str | None
    created_by: str | None
    created_at: datetime
    next_run_at: datetime
    last_run_at: datetime | None = None
    removed_at: datetime | None = None
    selectors: list[str] = field(default_factory=list)
    state: dict[str, Item] = field(default_factory=dict)

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Watch:
        return from_row(
            cls,
            row,
            times=("created_at", "next_run_at", "last_run_at"),
            removed_at=from_text(row.get("removed_at")),
            selectors=list(row.get("selectors") or []),
            state=decode_state(row.get("state") or {}),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "workspace": self.workspace,
            "target": self.target,
            "kind": self.kind,
            "channel": self.channel,
            "created_by": self.created_by,
            "created_at": to_text(self.created_at),
            "next_run_at": to_text(self.next_run_at),
            "last_run_at": to_text(self.last_run_at) if self.last_run_at else None,
            "removed_at": to_text(self.removed_at) if self.removed_at else None,
            "selectors": self.selectors,
            "problems": sorted(i.key for i in self.state.values() if i.severity),
        }


def summarise(findings: list[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per check: its worst status and how many findings of each status (what `watch history` shows)."""
    out: dict[str, dict[str, Any]] = {}
    for f in findings:
        counts: Counter[str] = out.setdefault(str(f.get("check")), {"counts": Counter()})["counts"]
        counts[str(f.get("status"))] += 1
    for entry in out.values():
        counts = entry["counts"]
        entry["status"] = next((s for s in _STATUS_ORDER if counts.get(s)), "pass")
        entry["counts"] = dict(counts)
    return out


def tally(findings: list[Mapping[str, Any]]) -> str:
    """`1 fail, 2 warn, 12 pass`."""
    counts = Counter(str(f.get("status")) for f in findings)
    return ", ".join(f"{counts[s]} {s}" for s in _STATUS_ORDER if counts.get(s)) or "no findings"


# -- the schedule ---------------------------------------------------------------------------------------


def phase(target: str, interval: float) -> float:
    """Where in each interval a target's runs fall: a stable hash of it, so targets spread evenly."""
    digest = hashlib.sha256(target.lower().encode()).digest()
    return int.from_bytes(digest[:8], "big") % max(1, int(interval * 1000)) / 1000


def next_slot(target: str, after: datetime, interval: float) -> datetime:
    """The target's first slot strictly after `after`: its phase plus a whole number of intervals."""
    seconds = (after - _EPOCH).total_seconds()
    ahead = (phase(target, interval) - seconds) % interval
    return after + timedelta(seconds=ahead or interval)


def advance(target: str, scheduled: datetime, now: datetime, interval: float) -> datetime:
    """The run after one scheduled at `scheduled`: one interval later, or the next slot if that is past."""
    if scheduled > now:
        return scheduled  # run early (`watch run --once`): the schedule stands
    following = scheduled + timedelta(seconds=interval)
    return following if following > now else next_slot(target, now, interval)


def respread(rows: list[Mapping[str, Any]], now: datetime, interval: float) -> dict[int, datetime]:
    """New times for overdue watches after a restart: in their old order and spacing, from now on.

    Targets missed during a stop of length L run over the next L (at most one interval), so a
    restart never brings more runs per minute than the schedule does.
    """
    if not rows:
        return {}
    times = {int(r["id"]): from_text(r["next_run_at"]) for r in rows}
    oldest = min(times.values())  # type: ignore[type-var]
    late = (now - oldest).total_seconds()  # type: ignore[operator]
    if late <= 0:
        return {}
    squeeze = min(late, interval) / late
    return {
        watch_id: now + timedelta(seconds=(moment - oldest).total_seconds() * squeeze)  # type: ignore[operator]
        for watch_id, moment in times.items()
    }
