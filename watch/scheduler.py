"""Re-check watched targets on schedule, compare each run with the last, alert on changes, keep it all.

One tick: lease the watches that are due (a lease in the database, claimed under BEGIN IMMEDIATE, so
two processes never check one target at once), check them all concurrently under the per-list rate
limit, retry once after a short delay any check that could not look something up, compare with the
last known state, and store the run, the new state and its alerts in one transaction. Then each
change opens or updates an incident (receiver `dns`, reason the check), a recovery resolves it once
that check is clean again, and the run's alerts go to the watch's channel as one message.

The schedule: each target has a phase in WATCH_INTERVAL (a hash of its name), so runs spread over the
interval; after a run the next is one interval later. A restart resumes from the stored times, and
runs missed while stopped are spread over as long as the stop lasted (one interval at most) instead
of all happening at once.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.settings import Settings
from checks.blocklist import TEST_POINTS
from checks.model import Report
from checks.runner import DOMAIN_CHECKS, IP_CHECKS, make_resolver, run_checks
from checks.target import Target
from incidents.model import Observation
from incidents.store import Store
from watch import alerts as alerting
from watch.alerts import Alert
from watch.diff import CHANGE, Change, Item, compare, encode_state, items, next_state, worst_remaining
from watch.model import Watch, advance, respread, summarise, tally
from watch.ratelimit import RateLimiter, demand, zones_for

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=10)  # far beyond CHECK_DEADLINE and a retry: only a crash lets it expire
RETRY_DELAY = 5.0  # seconds before a check that could not look something up is asked again
CONCURRENCY = 32  # targets checked at once (their blocklist queries are paced separately)
BATCH = 500  # watches leased per tick; more due ones wait for the next tick
POLL = 30.0  # seconds between ticks
PURGE_EVERY = timedelta(hours=1)
# Failures worth asking again: a lookup that timed out or failed, a check that crashed. A list that
# refuses this resolver or fails its test points says the same thing a few seconds later.
TRANSIENT_KB = {"dns-lookup-failed", None}
REPORTER = "watch"


@dataclass
class RunResult:
    """One run of one watched target."""

    watch: Watch
    findings: list[dict[str, Any]]
    alerts: list[Alert] = field(default_factory=list)
    retried: list[str] = field(default_factory=list)
    baseline: bool = False  # the first run: what later runs are compared with
    stored: bool = True  # False when the lease was lost and another process's run counts instead

    @property
    def tally(self) -> str:
        return tally(self.findings)


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _kept(finding: dict[str, Any]) -> dict[str, Any]:
    # Every run is kept: passing findings without their evidence keep that affordable.
    if finding.get("status") in ("pass", "info"):
        return {k: v for k, v in finding.items() if k != "evidence"}
    return finding


def _selectors_found(findings: Iterable[dict[str, Any]], known: list[str]) -> list[str]:
    """Selectors with a DKIM key: later runs ask them by name, so a key removed shows as missing."""
    found = list(known)
    for f in findings:
        about = str(f.get("about") or "")
        evidence = f.get("evidence") or {}
        if (
            f.get("check") == "dkim"
            and "._domainkey." in about
            and ("key_bits" in evidence or f.get("kb") == "dkim-ok")
        ):
            selector = about.split("._domainkey.", 1)[0]
            if selector not in found:
                found.append(selector)
    return found


class Scheduler:
    """Runs watched targets' checks for one process. The store's clock is the scheduler's clock."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        *,
        client: Any = None,
        limiter: RateLimiter | None = None,
        owner: str | None = None,
        retry_delay: float = RETRY_DELAY,
        concurrency: int = CONCURRENCY,
        lease: timedelta = LEASE,
        on_alert: Callable[[Alert], None] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.store = store
        self.settings = settings
        self.client = client
        self.limiter = limiter or RateLimiter(settings.blocklist_rate)
        self.owner = owner or _owner()
        self.retry_delay = retry_delay
        self.concurrency = concurrency
        self.lease = lease
        self.on_alert = on_alert
        self.sleep = sleep
        self._last_purge: datetime | None = None

    @property
    def interval(self) -> float:
        return self.settings.watch_interval

    # -- rounds -------------------------------------------------------------------------------------

    async def tick(self) -> list[RunResult]:
        """Run the watches that are due (up to BATCH of them)."""
        rows = await asyncio.to_thread(self.store.claim_watches, self.owner, self.lease, limit=BATCH)
        return await self._run_all([Watch.from_row(r) for r in rows])

    async def run_round(self) -> list[RunResult]:
        """Run every watch now, due or not (`watch run --once`), except those another process holds.

        Leased BATCH at a time, so a lease never has to outlast a whole round of thousands of targets.
        """
        results: list[RunResult] = []
        seen: list[int] = []
        while rows := await asyncio.to_thread(
            self.store.claim_watches, self.owner, self.lease, due_only=False, limit=BATCH, exclude=seen
        ):
            seen += [r["id"] for r in rows]
            results += await self._run_all([Watch.from_row(r) for r in rows])
        return results

    async def run_now(self, watch_ids: list[int]) -> list[RunResult]:
        """Run these watches now (a new watch's first run, which later runs are compared with)."""
        rows = await asyncio.to_thread(
            self.store.claim_watches, self.owner, self.lease, due_only=False, ids=watch_ids
        )
        return await self._run_all([Watch.from_row(r) for r in rows])

    async def resume(self) -> int:
        """After a (re)start: spread the runs missed while stopped instead of running them at once."""
        now = self.store.now()
        return await asyncio.to_thread(
            self.store.reschedule_watches, lambda rows: respread(rows, now, self.interval), before=now
        )

    async def _run_all(self, watches: list[Watch]) -> list[RunResult]:
        if not watches:
            return []
        await self._warm_test_points({w.kind for w in watches})
        gate = asyncio.Semaphore(self.concurrency)
        results = await asyncio.gather(*(self._run_one(w, gate) for w in watches))
        return [r for r in results if r is not None]

    async def _warm_test_points(self, kinds: set[str]) -> None:
        """Ask each list's test points (hourly, cached) at the list's pace, before any target's deadline."""
        wanted = {z.query: z for kind in kinds for z in zones_for(self.settings, kind)}
        if not wanted:
            return
        resolver = make_resolver(self.settings)

        async def warm(zone) -> None:
            await self.limiter.acquire(zone.query, 2)
            await TEST_POINTS.verdict(resolver, self.settings.dns_nameservers, zone)

        await asyncio.gather(*(warm(z) for z in wanted.values()), return_exceptions=True)

    # -- one target ---------------------------------------------------------------------------------

    async def _check(self, watch: Watch, gate: asyncio.Semaphore, only: tuple[str, ...] | None) -> Report:
        target = Target(watch.kind, watch.target)
        wants = demand(self.settings, target) if only is None or "blocklist" in only else {}
        async with gate:
            # Waiting for the lists' pace happens here, before run_checks starts CHECK_DEADLINE's clock.
            permit = await self.limiter.reserve(wants)
            return await run_checks(
                target, self.settings, selectors=tuple(watch.selectors), only=only, limiter=permit
            )

    async def _run_one(self, watch: Watch, gate: asyncio.Semaphore) -> RunResult | None:
        try:
            return await self._run(watch, gate)
        except asyncio.CancelledError:
            await asyncio.shield(asyncio.to_thread(self.store.release_watch, watch.id, self.owner))
            raise
        except Exception:
            log.exception("watch run of %s failed; it will be tried at its next slot", watch.target)
            now = self.store.now()
            await asyncio.to_thread(
                self.store.set_watch_next_run,
                watch.id,
                advance(watch.target, watch.next_run_at, now, self.interval),
            )
            await asyncio.to_thread(self.store.release_watch, watch.id, self.owner)
            return None

    async def _run(self, watch: Watch, gate: asyncio.Semaphore) -> RunResult:
        ran_at = self.store.now()
        report = await self._check(watch, gate, None)
        findings = [f.to_dict() for f in report.findings]
        elapsed = report.elapsed_ms
        found = items(findings, watch.target)
        transient = sorted({i.check for i in found.values() if i.severity is None and i.kb in TRANSIENT_KB})
        if transient:
            # A lookup that failed once is asked again before anything is concluded from it.
            await self.sleep(self.retry_delay)
            again = await self._check(watch, gate, tuple(transient))
            findings = [f for f in findings if f["check"] not in transient] + [
                f.to_dict() for f in again.findings
            ]
            elapsed += again.elapsed_ms
            found = items(findings, watch.target)
        ran = IP_CHECKS if watch.kind == "ip" else DOMAIN_CHECKS
        baseline = not watch.state
        changes = [] if baseline else compare(watch.state, found, ran)
        state = next_state(watch.state, found, ran)
        now = self.store.now()
        run = {
            "ran_at": ran_at,
            "elapsed_ms": elapsed,
            "summary": summarise(findings),
            "findings": [_kept(f) for f in findings],
            "retried": transient,
        }
        stored = await asyncio.to_thread(
            self.store.finish_watch_run,
            watch.id,
            self.owner,
            run=run,
            state=encode_state(state),
            selectors=_selectors_found(findings, watch.selectors),
            next_run_at=advance(watch.target, watch.next_run_at, now, self.interval),
            alerts=[_alert_row(c, watch.channel) for c in changes],
        )
        result = RunResult(watch, findings, retried=transient, baseline=baseline, stored=stored is not None)
        if stored is None:
            log.warning("lost the lease on %s: another process ran it, its alerts count", watch.target)
            return result
        _, alert_ids = stored
        result.alerts = [
            Alert(watch.target, watch.workspace, watch.channel, c, watch.last_run_at, id=alert_id)
            for c, alert_id in zip(changes, alert_ids, strict=True)
        ]
        if result.alerts:
            await self._incidents(watch, result.alerts, state)
            await self._deliver(watch, result.alerts)
        return result

    # -- consequences -------------------------------------------------------------------------------

    async def _incidents(self, watch: Watch, alerts: list[Alert], state: dict[str, Item]) -> None:
        """A change opens (or adds to) the incident for that check; a clean check again resolves it."""
        by_check: dict[str, list[Alert]] = {}
        for alert in alerts:
            by_check.setdefault(alert.change.check, []).append(alert)
        for check, group in by_check.items():
            changes = [a.change for a in group if a.event == CHANGE]
            if changes:
                incident, created = await asyncio.to_thread(
                    self.store.record, _observation(watch, check, changes)
                )
                for alert in group:
                    alert.incident_id = incident.id
                    alert.incident_created = created and alert.event == CHANGE
            else:
                incident = await asyncio.to_thread(
                    self.store.find_active_incident, watch.workspace, "dns", check, watch.target
                )
                if incident is None:
                    continue
                lines = "; ".join(f"{a.change.about}: {a.change.after_summary}" for a in group)
                if worst_remaining(state, check) == 0:
                    await asyncio.to_thread(
                        self.store.set_status,
                        incident.id,
                        "resolved",
                        actor=REPORTER,
                        note=f"recovered on the watch's re-check: {lines}",
                    )
                    for alert in group:
                        alert.incident_resolved = True
                else:
                    await asyncio.to_thread(
                        self.store.add_note, incident.id, f"partly recovered: {lines}", actor=REPORTER
                    )
                for alert in group:
                    alert.incident_id = incident.id
            ids = [a.id for a in group if a.id is not None and a.incident_id is not None]
            if ids:
                await asyncio.to_thread(self.store.link_watch_alerts, ids, group[0].incident_id)

    async def _deliver(self, watch: Watch, alerts: list[Alert]) -> None:
        if self.on_alert is not None:
            for alert in alerts:
                self.on_alert(alert)
        ids = [a.id for a in alerts if a.id is not None]
        if self.client is None or not watch.channel:
            why = (
                "no Slack client (SLACK_BOT_TOKEN unset)"
                if self.client is None
                else "the watch has no channel"
            )
            await asyncio.to_thread(
                self.store.mark_watch_alerts, ids, channel=watch.channel, error=f"not posted: {why}"
            )
            return
        try:
            ts = await alerting.post(self.client, watch.channel, watch.target, alerts)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # Slack down or refusing: the alert stays stored with the reason
            log.exception("posting alerts for %s to %s failed", watch.target, watch.channel)
            await asyncio.to_thread(
                self.store.mark_watch_alerts,
                ids,
                channel=watch.channel,
                error=f"{type(exc).__name__}: {exc}"[:500],
            )
            return
        await asyncio.to_thread(self.store.mark_watch_alerts, ids, channel=watch.channel, ts=ts)

    async def purge(self) -> int:
        """Drop runs older than RETENTION_DAYS (each watch keeps its latest), at most once an hour."""
        now = self.store.now()
        if self._last_purge is not None and now - self._last_purge < PURGE_EVERY:
            return 0
        self._last_purge = now
        before = now - timedelta(days=self.settings.retention_days)
        return await asyncio.to_thread(self.store.purge_watch_runs, before)


def _alert_row(change: Change, channel: str | None) -> dict[str, Any]:
    return {
        "check_name": change.check,
        "about": change.about,
        "event": change.event,
        "before_status": change.before_status,
        "after_status": change.after_status,
        "before_summary": change.before_summary,
        "after_summary": change.after_summary,
        "channel": channel,
    }


def _observation(watch: Watch, check: str, changes: list[Change]) -> Observation:
    kb_ids = [c.after.kb for c in changes if c.after is not None and c.after.kb]
    return Observation(
        workspace=watch.workspace,
        channel=watch.channel,
        reporter=REPORTER,
        subject=watch.target,
        receiver="dns",
        reason=check,
        kb_ids=list(dict.fromkeys(kb_ids)),
        raw_text="; ".join(
            f"{c.about}: {c.before_status} → {c.after_status}: {c.after_summary}" for c in changes
        ),
        subject_kind="target",
        source="watch",
    )


async def run_forever(
    store: Store,
    settings: Settings,
    client: Any = None,
    *,
    poll: float = POLL,
    on_alert: Callable[[Alert], None] | None = None,
    scheduler: Scheduler | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> None:
    """The scheduler of a serving process (or `watch run`): resume, then a tick every `poll` seconds."""
    scheduler = scheduler or Scheduler(store, settings, client=client, on_alert=on_alert)
    try:
        moved = await scheduler.resume()
        if moved:
            log.info("spread %d watch runs missed while stopped", moved)
    except Exception:
        log.exception("could not spread the missed watch runs; continuing")
    while True:
        busy = False
        try:
            busy = len(await scheduler.tick()) >= BATCH
            await scheduler.purge()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("a watch tick failed; will try again")
        if not busy:
            await sleep(poll)


def start_background(services: Any, client: Any) -> asyncio.Task | None:
    """The watch scheduler as a task of a serving process, unless WATCH_SCHEDULER=off or no store."""
    settings: Settings = services.settings
    if not settings.watch_scheduler or getattr(services, "store", None) is None:
        return None
    work = run_forever(services.store, settings, client)
    # A serving process answers Slack on its main loop: the rounds' DNS and CPU work go to the loop
    # its services keep for such work (bot.services.Services.run), so they never hold an ack back.
    run_elsewhere = getattr(services, "run", None)
    return asyncio.create_task(run_elsewhere(work) if run_elsewhere else work, name="watch-scheduler")
