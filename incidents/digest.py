"""The daily digest: what is new, recurring, open and resolved, its text form, and posting it once a day.

Posting is guarded by the `digest_posts` table: a process claims (channel, day) before it posts and
records the message once posted, so several processes, a retry or a manual `digest --post` post once.
A claim older than ten minutes with no post recorded is taken over: a crash delays the digest, never
loses it. The Slack client is passed in (anything with an async `chat_postMessage`): this package
never imports Slack.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from incidents.model import OCCURRENCE_KINDS, SEEN_AGAIN, STATUS_CHANGED, Incident, to_text
from incidents.sparkline import sparkline
from incidents.store import Store

log = logging.getLogger(__name__)

TREND_DAYS = 7
TOP_SUBJECTS = 5


@dataclass
class Count:
    """Incidents and occurrences for one receiver, reason or subject during the period."""

    name: str
    incidents: int
    occurrences: int


@dataclass
class Trend:
    """Occurrences per day of one reason over the last seven days, oldest first."""

    reason: str
    counts: list[int]

    @property
    def spark(self) -> str:
        return sparkline(self.counts)


@dataclass
class Digest:
    """Everything the digest says; `render_text` and the Slack block renderer both draw from it."""

    now: datetime
    since: datetime
    day: str  # the local date the digest is for, YYYY-MM-DD
    tz: str
    new: list[Incident] = field(default_factory=list)
    recurring: list[Incident] = field(default_factory=list)
    open: list[Incident] = field(default_factory=list)
    resolved: list[Incident] = field(default_factory=list)
    # New incidents repeating an earlier (usually resolved) one with the same grouping key: new id → old id.
    repeats: dict[int, int] = field(default_factory=dict)
    # Occurrences during the period, per incident id.
    period_occurrences: dict[int, int] = field(default_factory=dict)
    by_receiver: list[Count] = field(default_factory=list)
    by_reason: list[Count] = field(default_factory=list)
    top_subjects: list[Count] = field(default_factory=list)
    trend_days: list[str] = field(default_factory=list)
    trends: list[Trend] = field(default_factory=list)
    mttr: timedelta | None = None
    # Changes and recoveries on watched targets during the period (Store.watch_changes_between).
    watch_changes: list[dict[str, Any]] = field(default_factory=list)
    # Sender practices (practices.digest.Section): IPs in warm-up and the period's list hygiene.
    practices: Any = None

    @property
    def occurrences(self) -> int:
        return sum(self.period_occurrences.values())

    @property
    def quiet(self) -> bool:
        """Nothing happened and nothing is open."""
        return not (self.new or self.recurring or self.open or self.resolved or self.watch_changes)

    def to_dict(self) -> dict[str, Any]:
        def incidents(items: list[Incident]) -> list[dict[str, Any]]:
            return [
                {**i.to_dict(), "period_occurrences": self.period_occurrences.get(i.id, 0)} for i in items
            ]

        return {
            "day": self.day,
            "tz": self.tz,
            "since": to_text(self.since),
            "now": to_text(self.now),
            "new": incidents(self.new),
            "recurring": incidents(self.recurring),
            "open": incidents(self.open),
            "resolved": incidents(self.resolved),
            "repeats": {str(k): v for k, v in self.repeats.items()},
            "occurrences": self.occurrences,
            "by_receiver": [vars(c) for c in self.by_receiver],
            "by_reason": [vars(c) for c in self.by_reason],
            "top_subjects": [vars(c) for c in self.top_subjects],
            "trend_days": self.trend_days,
            "trends": [{"reason": t.reason, "counts": t.counts, "spark": t.spark} for t in self.trends],
            "mttr_seconds": int(self.mttr.total_seconds()) if self.mttr is not None else None,
            "watch_changes": self.watch_changes,
            "practices": self.practices.to_dict() if self.practices is not None else None,
        }


def _zone(tz: str | tzinfo) -> tzinfo:
    return ZoneInfo(tz) if isinstance(tz, str) else tz


def _counts(pairs: list[tuple[str, int]]) -> list[Count]:
    """(name, incident id) per occurrence → counts, the most occurrences first."""
    occurrences = Counter(name for name, _ in pairs)
    incidents: dict[str, set[int]] = defaultdict(set)
    for name, incident_id in pairs:
        incidents[name].add(incident_id)
    return [
        Count(name, len(incidents[name]), n)
        for name, n in sorted(occurrences.items(), key=lambda kv: (-kv[1], kv[0]))
    ]


def build_digest(store: Store, *, now: datetime, since: datetime, tz: str | tzinfo = "UTC") -> Digest:
    """The digest of [since, now]: new, recurring, open and resolved incidents, counts, trends, MTTR."""
    zone = _zone(tz)
    today = now.astimezone(zone).date()
    days = [today - timedelta(days=n) for n in range(TREND_DAYS - 1, -1, -1)]
    trend_start = datetime.combine(days[0], time(0), zone).astimezone(UTC)
    start = min(since, trend_start)

    occurrences = store.events_between(start, now, OCCURRENCE_KINDS)
    resolutions = [
        e for e in store.events_between(since, now, (STATUS_CHANGED,)) if e.status_to == "resolved"
    ]
    involved = store.get_many(sorted({e.incident_id for e in occurrences + resolutions}))
    in_period = [e for e in occurrences if e.at >= since]

    digest = Digest(now=now, since=since, day=today.isoformat(), tz=str(zone))
    digest.period_occurrences = dict(Counter(e.incident_id for e in in_period))
    digest.new = sorted(
        (i for i in involved.values() if i.first_seen >= since), key=lambda i: (i.first_seen, i.id)
    )
    recurring_ids = {e.incident_id for e in in_period if e.kind == SEEN_AGAIN}
    digest.recurring = sorted(
        (involved[i] for i in recurring_ids if involved[i].first_seen < since),
        key=lambda i: (-digest.period_occurrences.get(i.id, 0), i.id),
    )
    for incident in digest.new:
        if earlier := store.earlier_incident(incident):
            digest.repeats[incident.id] = earlier.id
    digest.open = store.list("active")
    digest.resolved = sorted(
        {
            i.id: i
            for e in resolutions
            if (i := involved[e.incident_id]).status == "resolved"
            and i.resolved_at
            and i.resolved_at >= since
        }.values(),
        key=lambda i: (i.resolved_at, i.id),
    )
    if digest.resolved:
        total = sum(((i.resolved_at - i.first_seen) for i in digest.resolved), timedelta())  # type: ignore[operator]
        digest.mttr = total / len(digest.resolved)

    digest.by_receiver = _counts([(involved[e.incident_id].receiver, e.incident_id) for e in in_period])
    digest.by_reason = _counts([(involved[e.incident_id].reason, e.incident_id) for e in in_period])
    digest.top_subjects = _counts([(involved[e.incident_id].subject, e.incident_id) for e in in_period])[
        :TOP_SUBJECTS
    ]

    per_day: dict[str, Counter[date]] = defaultdict(Counter)
    for e in occurrences:
        local_day = e.at.astimezone(zone).date()
        if local_day >= days[0]:
            per_day[involved[e.incident_id].reason][local_day] += 1
    digest.trend_days = [d.isoformat() for d in days]
    digest.trends = [
        Trend(reason, [per_day[reason][d] for d in days])
        for reason in sorted(per_day, key=lambda r: (-sum(per_day[r].values()), r))
    ]
    digest.watch_changes = store.watch_changes_between(since, now)
    digest.practices = _practices_section(store, now=now, since=since, zone=zone)
    return digest


def _practices_section(store: Store, *, now: datetime, since: datetime, zone: tzinfo) -> Any:
    """The practices package's section; a failure there costs the section, never the digest."""
    from practices.digest import build_section  # imported here: practices builds on this package

    try:
        return build_section(store, now=now, since=since, tz=zone)
    except Exception:
        log.exception("building the digest's practices section failed")
        return None


# -- text ---------------------------------------------------------------------------------------------


def format_duration(span: timedelta) -> str:
    """`2d 3h`, `3h 20m`, `12m`: two units at most, for people."""
    minutes = int(span.total_seconds() // 60)
    days, minutes = divmod(minutes, 1440)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days}d {hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    return f"{minutes}m"


def _line(incident: Incident, *, extra: str = "") -> str:
    assignee = f", {incident.assignee}" if incident.assignee else ""
    return (
        f"  • #{incident.id} {incident.reason} at {incident.receiver} for {incident.subject} "
        f"[{incident.status}{assignee}]{extra}"
    )


def _practices_lines(digest: Digest) -> list[str]:
    if digest.practices is None:
        return []
    from practices.digest import render_lines

    return render_lines(digest.practices)


def render_text(digest: Digest) -> str:
    """The digest as plain text (the CLI's `digest --print`, and the fallback text of the Slack post)."""
    zone = _zone(digest.tz)
    since = digest.since.astimezone(zone).strftime("%a %d %b %H:%M")
    lines = [f"Deliverability digest for {digest.day} ({digest.tz}), since {since}"]
    practices = _practices_lines(digest)
    if digest.quiet:
        lines.append("No incidents: nothing new, nothing open.")
        return "\n".join(lines + practices)
    lines.append(
        f"{len(digest.new)} new, {len(digest.recurring)} recurring, {len(digest.open)} open, "
        f"{len(digest.resolved)} resolved; {digest.occurrences} occurrences."
    )

    def section(title: str, items: list[Incident], extra: Callable[[Incident], str]) -> None:
        if items:
            lines.append("")
            lines.append(f"{title} ({len(items)}):")
            lines.extend(_line(i, extra=extra(i)) for i in items)

    def new_extra(i: Incident) -> str:
        again = f", again after #{digest.repeats[i.id]}" if i.id in digest.repeats else ""
        return f" ×{i.occurrences}{again}"

    section("New", digest.new, new_extra)
    section(
        "Recurring",
        digest.recurring,
        lambda i: (
            f" +{digest.period_occurrences.get(i.id, 0)} (×{i.occurrences} since "
            f"{i.first_seen.astimezone(zone):%d %b})"
        ),
    )
    section(
        "Open",
        digest.open,
        lambda i: f" ×{i.occurrences}, last seen {i.last_seen.astimezone(zone):%d %b %H:%M}",
    )
    section(
        "Resolved",
        digest.resolved,
        lambda i: f" in {format_duration(i.resolved_at - i.first_seen)}" if i.resolved_at else "",
    )
    if digest.mttr is not None:
        lines.append("")
        lines.append(
            f"Mean time to resolve: {format_duration(digest.mttr)} ({len(digest.resolved)} resolved)"
        )
    for title, counts in (("By receiver", digest.by_receiver), ("By reason", digest.by_reason)):
        if counts:
            lines.append("")
            lines.append(f"{title} (incidents / occurrences):")
            lines.extend(f"  {c.name}: {c.incidents} / {c.occurrences}" for c in counts)
    if digest.top_subjects:
        lines.append("")
        lines.append("Top subjects: " + ", ".join(f"{c.name} ({c.occurrences})" for c in digest.top_subjects))
    if digest.trends:
        first, last = digest.trend_days[0][5:], digest.trend_days[-1][5:]
        width = max(len(t.reason) for t in digest.trends)
        lines.append("")
        lines.append(f"Last 7 days ({first} → {last}):")
        lines.extend(
            f"  {t.reason.ljust(width)}  {t.spark}  {' '.join(str(n) for n in t.counts)}"
            for t in digest.trends
        )
    if digest.watch_changes:
        lines.append("")
        lines.append(f"Changes in watched targets ({len(digest.watch_changes)}):")
        lines.extend(
            f"  {'✗' if c['event'] == 'change' else '✓'} {c['at'][5:16].replace('T', ' ')} {c['target']} "
            f"{c['check']} {c['about']}: {c['before']} → {c['after']}"
            + (f" (#{c['incident_id']})" if c["incident_id"] else "")
            for c in digest.watch_changes
        )
    return "\n".join(lines + practices)


# -- posting ------------------------------------------------------------------------------------------


FALLBACK_TEXT_LIMIT = 3000


async def post_digest(
    store: Store,
    client: Any,
    channel: str,
    *,
    now: datetime | None = None,
    tz: str | tzinfo = "UTC",
    since: datetime | None = None,
    render_blocks: Callable[[Digest], list[Any]] | None = None,
) -> str | None:
    """Post today's digest to `channel` unless it was posted (or is being posted) already.

    `client` is anything with `async chat_postMessage(channel=, text=, blocks=)` (slack_sdk's
    AsyncWebClient). Returns the message ts, or None when another process has the day.
    """
    zone = _zone(tz)
    now = now or store.now()
    day = now.astimezone(zone).date().isoformat()
    if not await asyncio.to_thread(store.claim_digest, channel, day):
        log.info("digest for %s in %s already posted or being posted", day, channel)
        return None
    try:
        if since is None:
            since = await asyncio.to_thread(store.last_digest_at, channel) or now - timedelta(days=1)
        digest = await asyncio.to_thread(build_digest, store, now=now, since=since, tz=zone)
        blocks = render_blocks(digest) if render_blocks else None
        text = render_text(digest)
        if blocks and len(text) > FALLBACK_TEXT_LIMIT:
            # With blocks, `text` is only the notification and screen-reader fallback.
            text = text[: FALLBACK_TEXT_LIMIT - 1].rstrip() + "…"
        response = await client.chat_postMessage(channel=channel, text=text, blocks=blocks)
    except Exception:
        # Slack refused or could not be reached: nothing was posted, so the day is free again.
        await asyncio.to_thread(store.release_digest, channel, day)
        raise
    # Cancelled mid-post (a shutdown), the claim is kept: whether Slack took the post is unknown, and an
    # unrecorded claim is taken over after ten minutes, so the digest is delayed, never lost.
    ts = _ts(response)
    await asyncio.shield(asyncio.to_thread(store.mark_digest_posted, channel, day, ts))
    # The daily run is also when old bounce text is dropped.
    await asyncio.to_thread(store.purge)
    return ts


def _ts(response: Any) -> str | None:
    try:
        return response["ts"]
    except (KeyError, TypeError):
        return getattr(response, "ts", None)


def parse_time_of_day(text: str) -> time:
    """`09:00` → time(9, 0); raises ValueError otherwise."""
    hours, _, minutes = text.strip().partition(":")
    if not (hours.isdigit() and minutes.isdigit() and len(minutes) == 2):
        raise ValueError(f"not a time of day: {text!r} (use HH:MM)")
    return time(int(hours), int(minutes))


def digest_due(store: Store, channel: str, *, now: datetime, at: str, tz: str | tzinfo = "UTC") -> bool:
    """True once today's DIGEST_TIME has passed in DIGEST_TZ and today's digest is not posted yet."""
    zone = _zone(tz)
    local = now.astimezone(zone)
    if local.time() < parse_time_of_day(at):
        return False
    return not store.digest_posted(channel, local.date().isoformat())


async def digest_loop(
    store: Store,
    client: Any,
    channel: str,
    *,
    at: str = "09:00",
    tz: str | tzinfo = "UTC",
    render_blocks: Callable[[Digest], list[Any]] | None = None,
    poll: float = 60.0,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> None:
    """Post the digest each day at `at` in `tz`, for a serving process (unless DIGEST_SCHEDULER=off).

    Polls once a minute rather than sleeping until the hour: a restart after the hour, a DST change
    or a claim left by a crashed process are all caught up on the next poll, and the claim in the
    database keeps several processes from posting twice.
    """
    while True:
        try:
            now = store.now()
            if await asyncio.to_thread(digest_due, store, channel, now=now, at=at, tz=tz):
                await post_digest(store, client, channel, now=now, tz=tz, render_blocks=render_blocks)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("posting the digest to %s failed; will retry", channel)
        await sleep(poll)
