"""The typed results every check returns, and their severity order."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    ERROR = "error"
    INFO = "info"

    @property
    def rank(self) -> int:
        """Worst first: fail, error, warn, info, pass."""
        return _RANK[self]


_RANK = {Status.FAIL: 0, Status.ERROR: 1, Status.WARN: 2, Status.INFO: 3, Status.PASS: 4}


@dataclass
class Finding:
    """One observation about one thing (a host, IP, selector or list), with its evidence."""

    check: str
    status: Status
    about: str
    summary: str
    evidence: dict[str, Any] = field(default_factory=dict)
    kb: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = str(self.status)
        return data


def clean(findings: Iterable[Finding]) -> bool:
    """No finding failed or could not be checked: what `ok` and exit status 0 mean."""
    return not any(f.status in (Status.FAIL, Status.ERROR) for f in findings)


def worst_first(findings: list[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (f.status.rank, f.check, f.about))


@dataclass
class Report:
    """The result of one `check` run: the JSON contract consumed by Slack, the console and scripts."""

    target: str
    kind: str  # "domain" | "ip"
    findings: list[Finding]
    elapsed_ms: int
    queries: int = 0

    @property
    def ok(self) -> bool:
        return clean(self.findings)

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "kind": self.kind,
            "findings": [f.to_dict() for f in worst_first(self.findings)],
            "elapsed_ms": self.elapsed_ms,
        }
