"""The figures behind the practices features, read from knowledge/data/warmup.toml and typed."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from knowledge.base import DATA_DIR

RULES_FILE = DATA_DIR / "warmup.toml"


@dataclass(frozen=True)
class Ramp:
    shape: str
    default_days: int
    min_days: int
    max_days: int
    first_day: int
    max_daily_factor: float
    max_target: int
    max_days_ahead: int
    basis: str
    over_plan_do: str  # what to do after a day sent more than its plan
    sources: tuple[str, ...]
    kb: str


@dataclass(frozen=True)
class Threshold:
    """A published rate: `rate >= value` is a warning (a target missed) or a failure (a limit reached)."""

    id: str
    metric: str  # "complaints" | "bounces"
    value: float
    level: str  # "warn" | "fail"
    who: str
    text: str
    do: str  # what the sender should do once the rate is crossed
    kb: str
    sources: tuple[str, ...]


@dataclass(frozen=True)
class Caution:
    """What one receiver says or does about new IPs."""

    receiver: str
    name: str
    text: str
    kb: tuple[str, ...]
    sources: tuple[str, ...]


@dataclass(frozen=True)
class Hygiene:
    hard_reasons: frozenset[str]
    repeated_reasons: frozenset[str]
    stale_list_min_hard: int
    stale_list_share: float
    kb: str


@dataclass(frozen=True)
class Signal:
    """A header field that marks a message as bulk or marketing (weight 0: only names the platform)."""

    field: str
    weight: int
    why: str
    value: re.Pattern[str] | None = None


@dataclass(frozen=True)
class Streams:
    kb: str
    marketing_score: int
    signals: tuple[Signal, ...]


@dataclass(frozen=True)
class Rules:
    ramp: Ramp
    thresholds: tuple[Threshold, ...]
    cautions: tuple[Caution, ...]
    hygiene: Hygiene
    streams: Streams

    def thresholds_for(self, metric: str) -> tuple[Threshold, ...]:
        """The thresholds for one metric, the highest first (the worst one crossed is reported)."""
        return tuple(sorted((t for t in self.thresholds if t.metric == metric), key=lambda t: -t.value))


def parse_rules(text: str) -> Rules:
    data = tomllib.loads(text)
    ramp = data["ramp"]
    hygiene = data["hygiene"]
    streams = data["streams"]
    return Rules(
        ramp=Ramp(
            shape=ramp["shape"],
            default_days=int(ramp["default_days"]),
            min_days=int(ramp["min_days"]),
            max_days=int(ramp["max_days"]),
            first_day=int(ramp["first_day"]),
            max_daily_factor=float(ramp["max_daily_factor"]),
            max_target=int(ramp["max_target"]),
            max_days_ahead=int(ramp["max_days_ahead"]),
            basis=" ".join(ramp["basis"].split()),
            over_plan_do=ramp["over_plan_do"],
            sources=tuple(ramp["sources"]),
            kb=ramp["kb"],
        ),
        thresholds=tuple(
            Threshold(
                id=t["id"],
                metric=t["metric"],
                value=float(t["value"]),
                level=t["level"],
                who=t["who"],
                text=t["text"],
                do=t["do"],
                kb=t["kb"],
                sources=tuple(t["sources"]),
            )
            for t in data.get("threshold", [])
        ),
        cautions=tuple(
            Caution(
                receiver=c["receiver"],
                name=c["name"],
                text=c["text"],
                kb=tuple(c["kb"]),
                sources=tuple(c["sources"]),
            )
            for c in data.get("caution", [])
        ),
        hygiene=Hygiene(
            hard_reasons=frozenset(hygiene["hard_reasons"]),
            repeated_reasons=frozenset(hygiene["repeated_reasons"]),
            stale_list_min_hard=int(hygiene["stale_list_min_hard"]),
            stale_list_share=float(hygiene["stale_list_share"]),
            kb=hygiene["kb"],
        ),
        streams=Streams(
            kb=streams["kb"],
            marketing_score=int(streams["marketing_score"]),
            signals=tuple(
                Signal(
                    field=s["field"].lower(),
                    weight=int(s["weight"]),
                    why=s["why"],
                    value=re.compile(rf"^\s*(?:{s['value']})\b", re.IGNORECASE) if s.get("value") else None,
                )
                for s in streams["signals"]
            ),
        ),
    )


@cache
def load_rules(path: Path = RULES_FILE) -> Rules:
    """The shipped rules, read once per process."""
    return parse_rules(path.read_text(encoding="utf-8"))
