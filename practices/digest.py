"""The digest's practices section: IPs in warm-up (today's plan, yesterday's log) and the period's hygiene.

Hygiene covers the bounces diagnosed during the digest period: new suppressions, and per recipient
domain the share of its diagnosed bounces that were hard. A domain with at least `stale_list_min_hard`
hard bounces making up `stale_list_share` or more of its bounces is flagged as a likely stale or
bought list (knowledge/data/warmup.toml `[hygiene]`; a rule of thumb, not a published figure). Rates
against sent volume exist only where a warm-up log gives the volume: per IP in warm-up, for the bounces
diagnosed for that IP. No address appears here: the digest is posted to a channel.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from incidents.store import Store
from practices.rules import Rules, load_rules
from practices.warmup import Alert, DayReport, Plan, headline, load_plans, local_today, report_day

TOP_DOMAINS = 8


@dataclass
class WarmupLine:
    plan: Plan
    headline: str
    today_planned: int | None
    yesterday: DayReport | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "ip": self.plan.ip,
            "headline": self.headline,
            "today_planned": self.today_planned,
            "yesterday": self.yesterday.to_dict() if self.yesterday else None,
        }


@dataclass
class DomainRate:
    domain: str
    hard: int
    bounces: int
    stale: bool = False

    @property
    def share(self) -> float:
        return self.hard / self.bounces if self.bounces else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "domain": self.domain,
            "hard": self.hard,
            "bounces": self.bounces,
            "share": round(self.share, 4),
            "stale": self.stale,
        }


@dataclass
class Section:
    warmups: list[WarmupLine] = field(default_factory=list)
    new_suppressions: int = 0
    suppressions_by_reason: dict[str, int] = field(default_factory=dict)
    suppressions_by_domain: dict[str, int] = field(default_factory=dict)
    domains: list[DomainRate] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.warmups or self.new_suppressions or self.domains)

    def to_dict(self) -> dict[str, Any]:
        return {
            "warmups": [w.to_dict() for w in self.warmups],
            "new_suppressions": self.new_suppressions,
            "suppressions_by_reason": self.suppressions_by_reason,
            "suppressions_by_domain": self.suppressions_by_domain,
            "hard_bounce_rate_by_domain": [d.to_dict() for d in self.domains],
            "alerts": [a.to_dict() for a in self.alerts],
        }


def build_section(
    store: Store, *, now: datetime, since: datetime, tz: str | tzinfo = "UTC", rules: Rules | None = None
) -> Section:
    rules = rules or load_rules()
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    today = local_today(now, zone)
    section = Section()

    for plan in load_plans(store, rules=rules):
        if today > plan.end + timedelta(days=1):
            continue  # finished more than a day ago: nothing left to report
        current = plan.day_on(today)
        previous = plan.day_on(today - timedelta(days=1))
        yesterday = report_day(store, plan, previous, tz=zone, rules=rules) if previous else None
        section.warmups.append(
            WarmupLine(plan, headline(plan, today), current.planned if current else None, yesterday)
        )
        if yesterday is not None:
            if not yesterday.day.logged:
                section.alerts.append(
                    Alert("info", f"{plan.ip}: nothing logged for yesterday (day {previous.day})")  # type: ignore[union-attr]
                )
            section.alerts += [
                Alert(a.level, f"{plan.ip} {a.text}", a.kb) for a in yesterday.alerts if a.level != "info"
            ]

    new = store.suppressions(since)
    section.new_suppressions = len(new)
    section.suppressions_by_reason = dict(Counter(r["reason"] for r in new).most_common())
    section.suppressions_by_domain = dict(Counter(r["domain"] for r in new).most_common(TOP_DOMAINS))

    hard: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for row in store.diagnosed_bounces(since, now):
        if row["complaint"] or not row["domain"]:
            continue
        total[row["domain"]] += 1
        hard[row["domain"]] += row["hard"]
    hygiene = rules.hygiene
    rates = [DomainRate(d, hard[d], total[d]) for d in total if hard[d]]
    for rate in rates:
        rate.stale = rate.hard >= hygiene.stale_list_min_hard and rate.share >= hygiene.stale_list_share
    rates.sort(key=lambda r: (-r.hard, -r.share, r.domain))
    section.domains = rates[:TOP_DOMAINS]
    section.alerts += [
        Alert(
            "warn",
            f"{r.domain}: {r.hard} of {r.bounces} diagnosed bounces were hard (unknown or dead addresses): "
            "this looks like a stale or bought list; find where these addresses came from",
            hygiene.kb,
        )
        for r in rates
        if r.stale
    ]
    return section


def _percent(rate: float) -> str:
    return f"{rate * 100:.1f}%".replace(".0%", "%")


def render_lines(section: Section) -> list[str]:
    """The section as lines of plain text for the digest (empty when there is nothing to say)."""
    lines: list[str] = []
    if section.warmups:
        lines += ["", f"IPs in warm-up ({len(section.warmups)}):"]
        for w in section.warmups:
            today = f"today's plan {w.today_planned:,}" if w.today_planned is not None else "no plan today"
            line = f"  • {w.plan.ip}: {w.headline}, {today}"
            if w.yesterday is not None:
                y = w.yesterday
                if y.day.sent is None:
                    line += f"; yesterday planned {y.day.planned:,}, nothing logged"
                else:
                    line += f"; yesterday sent {y.day.sent:,} of {y.day.planned:,} planned"
                    if y.bounce_rate is not None:
                        complaints = _percent(y.complaint_rate or 0)
                        line += f", bounces {_percent(y.bounce_rate)}, complaints {complaints}"
            lines.append(line)
    if section.new_suppressions or section.domains:
        lines += ["", f"List hygiene: {section.new_suppressions} new suppression(s)"]
        if section.suppressions_by_reason:
            lines[-1] += " (" + ", ".join(f"{k} {v}" for k, v in section.suppressions_by_reason.items()) + ")"
        if section.domains:
            lines.append("  Hard bounces by recipient domain (share of the bounces diagnosed for it):")
            lines += [
                f"    {d.domain}: {d.hard} of {d.bounces} ({_percent(d.share)})"
                + ("  ← stale list?" if d.stale else "")
                for d in section.domains
            ]
    warnings = [a for a in section.alerts if a.level in ("warn", "fail")]
    notes = [a for a in section.alerts if a.level == "info"]
    if warnings or notes:
        lines += ["", "Practice warnings:"]
        lines += [f"  ! {a.text}" + (f" [{a.kb}]" if a.kb else "") for a in warnings]
        lines += [f"  - {a.text}" for a in notes]
    return lines
