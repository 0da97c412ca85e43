"""Warm-up plans for new sending IPs: the schedule, storing it, logging what was sent, and judging each day.

The schedule is geometric (knowledge/data/warmup.toml `[ramp]`): day 1 sends `first_day` messages (or
the target, if smaller), every later day the same multiple of the day before, and the last day sends
exactly the target. Volumes are rounded to two significant figures, which keeps the schedule monotonic.

Dates are local dates in the digest's time zone (DIGEST_TZ): "today" is the caller's, passed in, so a
test can move through a plan day by day. A day's bounces are the larger of the count logged for it and
the bounces diagnosed that day naming the IP (diagnosed bounces are a sample of the logged ones, so
they are never added together); complaints likewise with diagnosed feedback reports.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from checks.target import TargetError, public_ip
from incidents.model import from_text, to_text
from incidents.store import Store
from practices import PracticeError
from practices.rules import Caution, Rules, load_rules

_COUNT = re.compile(r"^(\d{1,3}(?:,\d{3})+|\d+(?:_\d+)*)(?:\.(\d+))?([km])?$", re.IGNORECASE)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


# -- input ------------------------------------------------------------------------------------------


def parse_count(text: str | int, *, what: str, maximum: int, allow_zero: bool = False) -> int:
    """A number of messages: `50000`, `50,000`, `50k`, `1.5m`. Raises PracticeError saying what is wrong."""
    if isinstance(text, bool):
        raise PracticeError(f"{what} must be a whole number of messages, like 50000 or 50k")
    raw = str(text).strip()
    if raw.startswith("-") and _COUNT.match(raw[1:].strip()):
        raise PracticeError(f"{what} cannot be negative (got {raw})")
    match = _COUNT.match(raw)
    if not match:
        raise PracticeError(f"{what} must be a whole number of messages, like 50000 or 50k (got {raw!r})")
    whole, fraction, unit = match.groups()
    scale = {"k": 1_000, "m": 1_000_000}.get((unit or "").lower(), 1)
    number = int(whole.replace(",", "").replace("_", "")) * scale
    if fraction:
        if unit is None or len(fraction) > 3 or int(fraction) * scale % (10 ** len(fraction)):
            raise PracticeError(f"{what} must be a whole number of messages (got {raw})")
        number += int(fraction) * scale // (10 ** len(fraction))
    if number == 0 and not allow_zero:
        raise PracticeError(f"{what} must be more than zero")
    if number > maximum:
        raise PracticeError(
            f"{what} of {number:,} is more than {maximum:,} a day: no single IP is warmed to that; "
            "spread the volume over several IPs"
        )
    return number


def parse_day(text: str | date) -> date:
    """A calendar date written YYYY-MM-DD."""
    if isinstance(text, date):
        return text
    raw = str(text).strip()
    try:
        if not _DATE.match(raw):
            raise ValueError
        return date.fromisoformat(raw)
    except ValueError:
        raise PracticeError(f"not a date: {raw!r} (use YYYY-MM-DD, like 2026-12-01)") from None


def parse_ip(text: str) -> str:
    """The IP in canonical form; only a public address can be warmed up (receivers never see the rest)."""
    try:
        return public_ip(str(text))
    except TargetError as exc:
        raise PracticeError(str(exc)) from None


def local_today(now: datetime, tz: str | tzinfo = "UTC") -> date:
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    return now.astimezone(zone).date()


def day_bounds(day: date, tz: str | tzinfo = "UTC") -> tuple[datetime, datetime]:
    """The UTC instants a local day starts and ends (both included, to the second)."""
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    start = datetime.combine(day, time(0), zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), zone).astimezone(UTC) - timedelta(seconds=1)
    return start, end


# -- the schedule -----------------------------------------------------------------------------------


def _two_figures(value: float) -> int:
    """50 → 50, 707.1 → 710, 141421 → 140000: readable volumes; monotonic in its argument."""
    if value < 100:
        return max(1, round(value))
    digits = math.floor(math.log10(value)) - 1
    return int(round(value / 10**digits) * 10**digits)


def schedule(target: int, days: int, first: int) -> list[int]:
    """The daily volumes: `first` (at most the target) on day 1, the target on the last, ×factor between."""
    first = min(first, target)
    if days == 1:
        return [target]
    factor = (target / first) ** (1 / (days - 1))
    volumes: list[int] = []
    for n in range(days):
        value = min(target, _two_figures(first * factor**n))
        volumes.append(max(value, volumes[-1]) if volumes else value)
    volumes[0] = first
    volumes[-1] = target
    return volumes


def daily_factor(target: int, days: int, first: int) -> float:
    first = min(first, target)
    return (target / first) ** (1 / (days - 1)) if days > 1 else 1.0


def days_needed(target: int, first: int, max_factor: float) -> int:
    """The fewest days that reach the target without growing faster than `max_factor` a day."""
    first = min(first, target)
    if target <= first:
        return 1
    return math.ceil(math.log(target / first) / math.log(max_factor) - 1e-9) + 1


# -- plans ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanDay:
    day: int
    date: date
    planned: int
    sent: int | None = None
    bounced: int | None = None
    complaints: int | None = None
    logged_at: datetime | None = None

    @property
    def logged(self) -> bool:
        return self.sent is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "day": self.day,
            "date": self.date.isoformat(),
            "planned": self.planned,
            "sent": self.sent,
            "bounced": self.bounced,
            "complaints": self.complaints,
            "logged_at": to_text(self.logged_at) if self.logged_at else None,
        }


@dataclass
class Plan:
    """A warm-up plan: generated (id None) or as stored."""

    ip: str
    target: int
    start: date
    days: list[PlanDay]
    first: int
    factor: float
    basis: str
    shape: str = "geometric"
    cautions: list[Caution] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    kb: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    id: int | None = None
    created_at: datetime | None = None

    @property
    def end(self) -> date:
        return self.days[-1].date

    @property
    def length(self) -> int:
        return len(self.days)

    def day_on(self, when: date) -> PlanDay | None:
        index = (when - self.start).days
        return self.days[index] if 0 <= index < len(self.days) else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "ip": self.ip,
            "target": self.target,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "length": self.length,
            "shape": self.shape,
            "first": self.first,
            "daily_factor": round(self.factor, 3),
            "basis": self.basis,
            "sources": list(self.sources),
            "kb": list(self.kb),
            "warnings": self.warnings,
            "cautions": [
                {
                    "receiver": c.receiver,
                    "name": c.name,
                    "text": c.text,
                    "kb": list(c.kb),
                    "sources": list(c.sources),
                }
                for c in self.cautions
            ],
            "days": [d.to_dict() for d in self.days],
            "created_at": to_text(self.created_at) if self.created_at else None,
        }


def make_plan(
    ip: str,
    target: str | int,
    *,
    days: str | int | None = None,
    start: str | date | None = None,
    today: date,
    rules: Rules | None = None,
) -> Plan:
    """A new plan for `ip`, validated (nothing is stored): PracticeError names the first bad input."""
    rules = rules or load_rules()
    ramp = rules.ramp
    address = parse_ip(ip)
    volume = parse_count(target, what="the target per day", maximum=ramp.max_target)
    if days is None:
        length = ramp.default_days
    else:
        raw = str(days).strip()
        if not raw.isdigit() or not ramp.min_days <= int(raw) <= ramp.max_days:
            raise PracticeError(
                f"days must be a whole number from {ramp.min_days} to {ramp.max_days} (got {raw!r})"
            )
        length = int(raw)
    first_date = today if start is None else parse_day(start)
    if first_date < today:
        raise PracticeError(f"the start date {first_date} is in the past (today is {today})")
    if (first_date - today).days > ramp.max_days_ahead:
        raise PracticeError(f"the start date {first_date} is more than {ramp.max_days_ahead} days away")

    volumes = schedule(volume, length, ramp.first_day)
    factor = daily_factor(volume, length, ramp.first_day)
    warnings: list[str] = []
    if factor > ramp.max_daily_factor + 1e-9:
        needed = days_needed(volume, ramp.first_day, ramp.max_daily_factor)
        warnings.append(
            f"too steep: ×{factor:.2f} a day is more than doubling; reaching {volume:,} from "
            f"{min(volume, ramp.first_day):,} without more than doubling takes at least {needed} days "
            f"(days={needed})"
        )
    if volume <= ramp.first_day:
        warnings.append(
            f"{volume:,} a day needs no ramp; at this volume a dedicated IP builds a reputation slowly, "
            "a well-run shared pool may serve better (see dedicated-vs-shared-ip)"
        )
    plan_days = [PlanDay(n + 1, first_date + timedelta(days=n), v) for n, v in enumerate(volumes)]
    basis = ramp.basis.format(first=f"{volumes[0]:,}", days=length, factor=f"{factor:.2f}")
    return Plan(
        ip=address,
        target=volume,
        start=first_date,
        days=plan_days,
        first=volumes[0],
        factor=factor,
        basis=basis,
        shape=ramp.shape,
        cautions=list(rules.cautions),
        warnings=warnings,
        kb=(ramp.kb, "new-ip-warmup"),
        sources=ramp.sources,
    )


def _plan_from_row(row: Mapping[str, Any], rules: Rules) -> Plan:
    days = [
        PlanDay(
            day=r["day"],
            date=date.fromisoformat(r["date"]),
            planned=r["planned"],
            sent=r["sent"],
            bounced=r["bounced"],
            complaints=r["complaints"],
            logged_at=from_text(r["logged_at"]),
        )
        for r in row["day_rows"]
    ]
    factor = daily_factor(row["target"], len(days), days[0].planned) if days else 1.0
    return Plan(
        ip=row["ip"],
        target=row["target"],
        start=date.fromisoformat(row["start_date"]),
        days=days,
        first=days[0].planned if days else row["target"],
        factor=factor,
        basis=rules.ramp.basis.format(first=f"{days[0].planned:,}", days=len(days), factor=f"{factor:.2f}"),
        shape=row["shape"],
        cautions=list(rules.cautions),
        kb=(rules.ramp.kb, "new-ip-warmup"),
        sources=rules.ramp.sources,
        id=row["id"],
        created_at=from_text(row["created_at"]),
    )


def load_plan(store: Store, ip: str, *, rules: Rules | None = None) -> Plan | None:
    rows = store.warmup_plans(parse_ip(ip))
    return _plan_from_row(rows[0], rules or load_rules()) if rows else None


def load_plans(store: Store, *, rules: Rules | None = None) -> list[Plan]:
    rules = rules or load_rules()
    return [_plan_from_row(row, rules) for row in store.warmup_plans()]


def save_plan(store: Store, plan: Plan, *, today: date, replace: bool = False, by: str | None = None) -> Plan:
    """Store a plan; an IP already in warm-up keeps its plan unless `replace` is given."""
    days = [(d.day, d.date.isoformat(), d.planned) for d in plan.days]
    plan_id = store.add_warmup_plan(
        plan.ip, plan.target, plan.start.isoformat(), plan.shape, days, by=by, replace=replace
    )
    if plan_id is None:
        current = load_plan(store, plan.ip)
        where = f" ({headline(current, today)})" if current else ""
        raise PracticeError(
            f"{plan.ip} already has a warm-up plan{where}; add `replace` (--replace) to start a new one"
        )
    plan.id = plan_id
    plan.created_at = store.now()
    return plan


def headline(plan: Plan, today: date) -> str:
    """`day 5 of 30`, `starts 2026-12-01 (in 3 days)` or `finished 2026-12-30`."""
    current = plan.day_on(today)
    if current:
        return f"day {current.day} of {plan.length}"
    if today < plan.start:
        wait = (plan.start - today).days
        return f"starts {plan.start} (in {wait} day{'s' if wait != 1 else ''})"
    return f"finished {plan.end} ({plan.length} days)"


# -- judging a day ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Alert:
    level: str  # info | warn | fail
    text: str
    kb: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"level": self.level, "text": self.text, "kb": self.kb}


@dataclass
class DayReport:
    """One plan day: planned against sent, its rates, and what crossed a published threshold."""

    ip: str
    day: PlanDay
    length: int
    diagnosed_bounces: int = 0
    diagnosed_complaints: int = 0
    alerts: list[Alert] = field(default_factory=list)

    @property
    def bounces(self) -> int:
        return max(self.day.bounced or 0, self.diagnosed_bounces)

    @property
    def complaints(self) -> int:
        return max(self.day.complaints or 0, self.diagnosed_complaints)

    @property
    def bounce_rate(self) -> float | None:
        return self.bounces / self.day.sent if self.day.sent else None

    @property
    def complaint_rate(self) -> float | None:
        return self.complaints / self.day.sent if self.day.sent else None

    @property
    def worst(self) -> str:
        levels = [a.level for a in self.alerts]
        return "fail" if "fail" in levels else "warn" if "warn" in levels else "ok"

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.day.to_dict(),
            "ip": self.ip,
            "of": self.length,
            "diagnosed_bounces": self.diagnosed_bounces,
            "diagnosed_complaints": self.diagnosed_complaints,
            "bounces_counted": self.bounces,
            "complaints_counted": self.complaints,
            "bounce_rate": self.bounce_rate,
            "complaint_rate": self.complaint_rate,
            "alerts": [a.to_dict() for a in self.alerts],
        }


def _percent(rate: float) -> str:
    return f"{rate * 100:.2f}%".replace(".00%", "%")


def assess_day(
    ip: str, day: PlanDay, length: int, *, diagnosed: tuple[int, int] = (0, 0), rules: Rules | None = None
) -> DayReport:
    """Compare a day's log with its plan and with the published bounce and complaint thresholds."""
    rules = rules or load_rules()
    report = DayReport(ip, day, length, diagnosed_bounces=diagnosed[0], diagnosed_complaints=diagnosed[1])
    if day.sent is None:
        if diagnosed != (0, 0):
            report.alerts.append(
                Alert(
                    "info",
                    f"day {day.day}: {diagnosed[0]} bounce(s) and {diagnosed[1]} complaint(s) diagnosed, but "
                    "nothing logged as sent, so no rate can be computed (warmup log)",
                )
            )
        return report
    if day.sent > day.planned:
        over = (day.sent - day.planned) / day.planned if day.planned else 1.0
        report.alerts.append(
            Alert(
                "warn",
                f"day {day.day}: sent {day.sent:,}, {_percent(over)} over the plan of {day.planned:,}; "
                f"{rules.ramp.over_plan_do}",
                rules.ramp.kb,
            )
        )
    for metric, count, rate in (
        ("bounces", report.bounces, report.bounce_rate),
        ("complaints", report.complaints, report.complaint_rate),
    ):
        if rate is None:
            continue
        for threshold in rules.thresholds_for(metric):
            if rate >= threshold.value:
                what = "bounce" if metric == "bounces" else "complaint"
                report.alerts.append(
                    Alert(
                        threshold.level,
                        f"day {day.day}: {what} rate {_percent(rate)} ({count:,} of {day.sent:,}) is "
                        f"{threshold.text}; {threshold.do}",
                        threshold.kb,
                    )
                )
                break
    return report


def diagnosed_counts(store: Store, ip: str, day: date, tz: str | tzinfo = "UTC") -> tuple[int, int]:
    """(bounces, complaints) diagnosed on a local day for an IP in warm-up."""
    start, end = day_bounds(day, tz)
    rows = store.diagnosed_bounces(start, end, ip=ip)
    complaints = sum(1 for r in rows if r["complaint"])
    return len(rows) - complaints, complaints


def report_day(
    store: Store, plan: Plan, day: PlanDay, *, tz: str | tzinfo = "UTC", rules: Rules | None = None
) -> DayReport:
    return assess_day(
        plan.ip, day, plan.length, diagnosed=diagnosed_counts(store, plan.ip, day.date, tz), rules=rules
    )


# -- status and logging -----------------------------------------------------------------------------


@dataclass
class Status:
    plan: Plan
    today: date
    today_day: PlanDay | None
    yesterday: DayReport | None
    logged: list[DayReport]

    @property
    def headline(self) -> str:
        return headline(self.plan, self.today)

    @property
    def phase(self) -> str:
        if self.today_day:
            return "running"
        return "before" if self.today < self.plan.start else "finished"

    @property
    def totals(self) -> dict[str, int]:
        return {
            "planned_to_date": sum(d.planned for d in self.plan.days if d.date <= self.today),
            "sent": sum(r.day.sent or 0 for r in self.logged),
            "bounces": sum(r.bounces for r in self.logged),
            "complaints": sum(r.complaints for r in self.logged),
            "days_logged": len(self.logged),
        }

    @property
    def alerts(self) -> list[Alert]:
        return [a for r in self.logged for a in r.alerts]

    def to_dict(self) -> dict[str, Any]:
        return {
            "ip": self.plan.ip,
            "today": self.today.isoformat(),
            "phase": self.phase,
            "headline": self.headline,
            "today_planned": self.today_day.planned if self.today_day else None,
            "yesterday": self.yesterday.to_dict() if self.yesterday else None,
            "totals": self.totals,
            "alerts": [a.to_dict() for a in self.alerts],
            "plan": self.plan.to_dict(),
            "logged": [r.to_dict() for r in self.logged],
        }


def _require_plan(store: Store, ip: str) -> Plan:
    address = parse_ip(ip)
    plan = load_plan(store, address)
    if plan is None:
        raise PracticeError(
            f"{address} has no warm-up plan; create one with `warmup plan {address} <target per day>`"
        )
    return plan


def status(store: Store, ip: str, *, today: date, tz: str | tzinfo = "UTC") -> Status:
    plan = _require_plan(store, ip)
    reports = [report_day(store, plan, d, tz=tz) for d in plan.days if d.date <= today]
    by_date = {r.day.date: r for r in reports}
    return Status(
        plan=plan,
        today=today,
        today_day=plan.day_on(today),
        yesterday=by_date.get(today - timedelta(days=1)),
        logged=[r for r in reports if r.day.logged],
    )


@dataclass
class Logged:
    report: DayReport
    replaced: PlanDay | None  # the earlier log of that day, when there was one


def log_day(
    store: Store,
    ip: str,
    sent: str | int,
    bounced: str | int | None = None,
    complaints: str | int | None = None,
    on: str | date | None = None,
    *,
    today: date,
    tz: str | tzinfo = "UTC",
    by: str | None = None,
    rules: Rules | None = None,
) -> Logged:
    """Record what an IP in warm-up sent on a day of its plan (today by default)."""
    rules = rules or load_rules()
    maximum = rules.ramp.max_target
    sent_n = parse_count(sent, what="sent", maximum=maximum, allow_zero=True)
    bounced_n = (
        None if bounced is None else parse_count(bounced, what="bounced", maximum=maximum, allow_zero=True)
    )
    complaints_n = (
        None
        if complaints is None
        else parse_count(complaints, what="complaints", maximum=maximum, allow_zero=True)
    )
    for name, value in (("bounced", bounced_n), ("complaints", complaints_n)):
        if value is not None and value > sent_n:
            raise PracticeError(f"{name} ({value:,}) cannot be more than sent ({sent_n:,})")
    when = today if on is None else parse_day(on)
    if when > today:
        raise PracticeError(f"{when} is in the future (today is {today}): log a day once it is sent")
    plan = _require_plan(store, ip)
    day = plan.day_on(when)
    if day is None:
        if when < plan.start:
            raise PracticeError(f"{when} is before {plan.ip}'s plan starts ({plan.start})")
        raise PracticeError(f"{when} is after {plan.ip}'s plan ended ({plan.end}, day {plan.length})")
    before = store.log_warmup_day(plan.id, day.day, sent_n, bounced_n, complaints_n, by=by)  # type: ignore[arg-type]
    replaced = day if before and before["sent"] is not None else None
    now = store.now()
    logged = PlanDay(day.day, day.date, day.planned, sent_n, bounced_n, complaints_n, now)
    return Logged(report_day(store, plan, logged, tz=tz, rules=rules), replaced)


# -- text -------------------------------------------------------------------------------------------


def render_plan(plan: Plan, *, today: date | None = None) -> str:
    stored = f" (stored as plan #{plan.id})" if plan.id else ""
    lines = [
        f"Warm-up plan for {plan.ip}: {plan.first:,} → {plan.target:,} a day over {plan.length} days, "
        f"{plan.start} → {plan.end}{stored}"
    ]
    if today is not None and plan.id:
        lines[0] += f"; {headline(plan, today)}"
    lines.append(f"Ramp ({plan.shape}, ×{plan.factor:.2f} a day): {plan.basis}")
    for warning in plan.warnings:
        lines.append(f"! {warning}")
    lines.append("")
    lines.append("   day  date          planned        sent  bounced  complaints")
    for d in plan.days:
        sent = f"{d.sent:>11,}" if d.sent is not None else " " * 11
        bounced = f"{d.bounced:>8,}" if d.bounced is not None else " " * 8
        complaints = f"{d.complaints:>11,}" if d.complaints is not None else " " * 11
        lines.append(f"  {d.day:>4}  {d.date}  {d.planned:>11,} {sent}  {bounced}  {complaints}".rstrip())
    lines.append("")
    lines.append("Receivers that throttle new IPs:")
    for c in plan.cautions:
        lines.append(f"  • {c.name}: {c.text} [{', '.join(c.kb)}]")
    lines.append(f"Knowledge base: {', '.join(plan.kb)}")
    return "\n".join(lines)


def render_report(report: DayReport) -> str:
    day = report.day
    head = f"{report.ip} day {day.day} of {report.length} ({day.date}): planned {day.planned:,}"
    if day.sent is None:
        head += ", nothing logged"
    else:
        head += f", sent {day.sent:,}"
        if report.bounce_rate is not None:
            head += f", bounces {report.bounces:,} ({_percent(report.bounce_rate)})"
            head += f", complaints {report.complaints:,} ({_percent(report.complaint_rate or 0.0)})"
        if report.diagnosed_bounces or report.diagnosed_complaints:
            head += (
                f" [diagnosed for this IP: {report.diagnosed_bounces} bounce(s), "
                f"{report.diagnosed_complaints} complaint(s)]"
            )
    lines = [head]
    lines += [
        f"  {'!' if a.level != 'info' else '-'} {a.text}" + (f" [{a.kb}]" if a.kb else "")
        for a in report.alerts
    ]
    return "\n".join(lines)


def render_status(st: Status) -> str:
    plan = st.plan
    lines = [
        f"{plan.ip}: warm-up {st.headline}, {plan.first:,} → {plan.target:,} a day, {plan.start} → {plan.end}"
    ]
    if st.today_day:
        lines.append(f"Today ({st.today}): plan {st.today_day.planned:,}")
    if st.yesterday:
        lines.append("Yesterday: " + render_report(st.yesterday))
    totals = st.totals
    lines.append(
        f"So far: {totals['sent']:,} sent of {totals['planned_to_date']:,} planned on "
        f"{totals['days_logged']} logged day(s); {totals['bounces']:,} bounces, "
        f"{totals['complaints']:,} complaints"
    )
    alerts = [a for a in st.alerts if a.level != "info"]
    if alerts:
        lines.append("Warnings:")
        lines += [f"  ! {a.text}" + (f" [{a.kb}]" if a.kb else "") for a in alerts]
    return "\n".join(lines)


# -- requests (the same words in the CLI, the console and Slack) -----------------------------------

USAGE = (
    "warmup <ip> <target per day> [days=N] [start=YYYY-MM-DD] [replace] · warmup status <ip> · "
    "warmup log <ip> <sent> [bounced] [complaints] [YYYY-MM-DD] · warmup list"
)
ACTIONS = ("plan", "status", "log", "list")


@dataclass(frozen=True)
class Request:
    action: str  # plan | status | log | list
    ip: str = ""
    target: str = ""
    days: str | None = None
    start: str | None = None
    replace: bool = False
    numbers: tuple[str, ...] = ()  # log: sent [bounced] [complaints]
    on: str | None = None  # log: the day (default today)


def parse_request(words: list[str]) -> Request:
    """`plan IP TARGET [days=N] [start=DATE] [replace]` (`plan` may be left out), `status IP`,
    `log IP SENT [BOUNCED] [COMPLAINTS] [DATE]`, `list`. Raises PracticeError with the usage."""
    words = [w for w in (w.strip() for w in words) if w]
    if not words:
        raise PracticeError(f"usage: {USAGE}")
    action = words[0].lower()
    if action in ACTIONS:
        words = words[1:]
    else:
        action = "plan"
    if action == "list":
        if words:
            raise PracticeError("usage: warmup list")
        return Request("list")
    if not words:
        raise PracticeError(f"usage: {USAGE}")
    ip, rest = words[0], words[1:]
    if action == "status":
        if rest:
            raise PracticeError("usage: warmup status <ip>")
        return Request("status", ip=ip)
    options: dict[str, str] = {}
    positional: list[str] = []
    replace = False
    for word in rest:
        key, eq, value = word.partition("=")
        key = key.lower().lstrip("-")
        if eq and key in ("days", "start", "date"):
            options[key] = value
        elif word.lower().lstrip("-") == "replace":
            replace = True
        else:
            positional.append(word)
    if action == "plan":
        if len(positional) != 1 or "date" in options:
            raise PracticeError("usage: warmup <ip> <target per day> [days=N] [start=YYYY-MM-DD] [replace]")
        return Request(
            "plan",
            ip=ip,
            target=positional[0],
            days=options.get("days"),
            start=options.get("start"),
            replace=replace,
        )
    # log: a trailing YYYY-MM-DD-looking word is the day; the numbers come before it.
    on = options.get("date") or options.get("start")
    if positional and re.match(r"^\d{4}-", positional[-1]):
        on = positional.pop()
    if not 1 <= len(positional) <= 3 or replace or "days" in options:
        raise PracticeError("usage: warmup log <ip> <sent> [bounced] [complaints] [YYYY-MM-DD]")
    return Request("log", ip=ip, numbers=tuple(positional), on=on)


def run_request(
    store: Store, request: Request, *, today: date, tz: str | tzinfo = "UTC", by: str | None = None
) -> Plan | Status | Logged | list[Status]:
    """Carry out a parsed request: a stored Plan, a Status, a Logged day, or every IP's Status."""
    if request.action == "plan":
        plan = make_plan(request.ip, request.target, days=request.days, start=request.start, today=today)
        return save_plan(store, plan, today=today, replace=request.replace, by=by)
    if request.action == "status":
        return status(store, request.ip, today=today, tz=tz)
    if request.action == "log":
        return log_day(store, request.ip, *request.numbers, on=request.on, today=today, tz=tz, by=by)
    return [status(store, plan.ip, today=today, tz=tz) for plan in load_plans(store)]


def render_result(result: Plan | Status | Logged | list[Status], *, today: date) -> str:
    if isinstance(result, Plan):
        return render_plan(result, today=today)
    if isinstance(result, Status):
        return render_status(result)
    if isinstance(result, Logged):
        again = f" (replaced the earlier log: sent {result.replaced.sent:,})" if result.replaced else ""
        return "Logged. " + render_report(result.report) + again
    if not result:
        return "No IP is in warm-up."
    return "\n\n".join(render_status(s) for s in result)


def result_dict(result: Plan | Status | Logged | list[Status]) -> Any:
    if isinstance(result, Plan | Status):
        return result.to_dict()
    if isinstance(result, Logged):
        return {**result.report.to_dict(), "replaced": result.replaced.to_dict() if result.replaced else None}
    return [s.to_dict() for s in result]
