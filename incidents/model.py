"""The incident log's records: what was observed, the incident it belongs to, and its timeline events."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from typing import Any, TypeVar

from incidents.grouping import reason_for_report, receiver_for, subject_for

STATUSES = ("open", "investigating", "resolved")
ACTIVE = ("open", "investigating")
# What `Store.list` accepts: a status, or `active` (open and investigating), or `all`.
FILTERS = (*STATUSES, "active", "all")

# Timeline event kinds, as stored in `events.kind`.
CREATED = "created"
SEEN_AGAIN = "seen_again"
NOTE_ADDED = "note_added"
STATUS_CHANGED = "status_changed"
ASSIGNED = "assigned"
CHECKS_RERUN = "checks_rerun"
# The kinds that count as an occurrence of the problem (the digest's counts and trends).
OCCURRENCE_KINDS = (CREATED, SEEN_AGAIN)

# Bounce results that report a problem; delivered/relayed/expanded reports and auto-replies are not one.
_PROBLEM_ACTIONS = {"failed", "delayed", "feedback", None, ""}


def to_text(moment: datetime) -> str:
    """The stored form of a time: ISO 8601 in UTC to the second, which sorts as text and suits SQLite."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def from_text(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


_Record = TypeVar("_Record")


def from_row(
    cls: type[_Record], row: Mapping[str, Any], *, times: Sequence[str] = (), **values: Any
) -> _Record:
    """A dataclass from a table row whose columns bear its field names: the columns in `times` are read
    with `from_text`, and fields given in `values` (decoded JSON, defaults) are taken from there."""
    data = {f.name: row[f.name] for f in fields(cls) if f.name not in values}  # type: ignore[arg-type]
    data.update({name: from_text(row[name]) for name in times}, **values)
    return cls(**data)


def _get(obj: Any, name: str, default: Any = None) -> Any:
    """An attribute of a diagnosis object or a key of its JSON form, looking into a nested `result`."""
    if isinstance(obj, Mapping):
        if name in obj:
            return obj[name]
        for inner in ("result", "bounce"):
            if isinstance(obj.get(inner), Mapping) and name in obj[inner]:
                return obj[inner][name]
        return default
    if hasattr(obj, name):
        return getattr(obj, name)
    for inner in ("result", "bounce"):
        if hasattr(obj, inner) and hasattr(getattr(obj, inner), name):
            return getattr(getattr(obj, inner), name)
    return default


def _kb_id(match: Any) -> str | None:
    """A knowledge-base id from a match: a string, an Entry, a match holding an entry, or their dicts."""
    if isinstance(match, str):
        return match
    for holder in (match, _get(match, "entry")):
        if holder is None:
            continue
        value = _get(holder, "id")
        if isinstance(value, str):
            return value
    return None


@dataclass
class Observation:
    """One sighting of a problem, from a diagnosed bounce or a check run, before it is grouped."""

    workspace: str = ""
    channel: str | None = None
    thread_ts: str | None = None
    permalink: str | None = None
    reporter: str | None = None
    subject: str = "unknown"
    receiver: str = "unknown"
    reason: str = "undefined"
    reply_code: str | None = None
    enhanced_code: str | None = None
    kb_ids: list[str] = field(default_factory=list)
    raw_text: str | None = None
    subject_kind: str = ""  # ip | sending-domain | recipient-domain | target
    source: str = "diagnose"  # diagnose | check

    @classmethod
    def from_diagnosis(
        cls,
        diagnosis: Any,
        *,
        workspace: str = "",
        channel: str | None = None,
        thread_ts: str | None = None,
        permalink: str | None = None,
        reporter: str | None = None,
        raw_text: str | None = None,
    ) -> Observation:
        """From a Diagnosis (BounceResult fields plus kb_matches), a BounceResult, or their JSON dicts."""
        reason = _get(diagnosis, "reason") or "undefined"
        subject, kind = subject_for(
            reason=reason,
            ips=_get(diagnosis, "ips") or (),
            sender=_get(diagnosis, "sender"),
            domains=_get(diagnosis, "domains") or (),
            recipient=_get(diagnosis, "recipient"),
        )
        kb_ids = [i for i in (_kb_id(m) for m in _get(diagnosis, "kb_matches") or ()) if i]
        if raw_text is None:
            raw_text = _get(diagnosis, "diagnostic") or None
        return cls(
            workspace=workspace,
            channel=channel,
            thread_ts=thread_ts,
            permalink=permalink,
            reporter=reporter,
            subject=subject,
            receiver=receiver_for(_get(diagnosis, "provider"), _get(diagnosis, "remote_mta")),
            reason=str(reason),
            reply_code=_get(diagnosis, "reply_code") or None,
            enhanced_code=_get(diagnosis, "enhanced_code") or None,
            kb_ids=list(dict.fromkeys(kb_ids)),
            raw_text=raw_text,
            subject_kind=kind,
            source="diagnose",
        )

    @classmethod
    def from_report(
        cls,
        report: Mapping[str, Any],
        *,
        target: str | None = None,
        workspace: str = "",
        channel: str | None = None,
        thread_ts: str | None = None,
        permalink: str | None = None,
        reporter: str | None = None,
    ) -> Observation:
        """From a check report's JSON (`Report.to_dict()`): the target, `dns`, the worst finding's check."""
        findings = report.get("findings") or []
        reason, worst = reason_for_report(findings)
        kb_ids = [f["kb"] for f in findings if f.get("kb") and f.get("status") in ("fail", "error", "warn")]
        summary = "; ".join(
            f"{f.get('check')}: {f.get('summary')}" for f in findings if f.get("status") in ("fail", "error")
        )
        return cls(
            workspace=workspace,
            channel=channel,
            thread_ts=thread_ts,
            permalink=permalink,
            reporter=reporter,
            subject=(target or report.get("target") or "unknown").lower(),
            receiver="dns",
            reason=reason,
            kb_ids=list(dict.fromkeys(kb_ids)),
            raw_text=summary or (worst.get("summary") if worst else None),
            subject_kind="target",
            source="check",
        )

    @staticmethod
    def is_problem(diagnosis: Any) -> bool:
        """Whether a bounce result reports a failure worth logging (not a delivery report or auto-reply)."""
        return _get(diagnosis, "action") in _PROBLEM_ACTIONS


@dataclass
class Incident:
    """One problem (a receiver refusing a subject for a reason) and everything known about it."""

    id: int
    workspace: str
    channel: str | None
    thread_ts: str | None
    permalink: str | None
    reporter: str | None
    subject: str
    subject_kind: str
    receiver: str
    reason: str
    reply_code: str | None
    enhanced_code: str | None
    kb_ids: list[str]
    status: str
    assignee: str | None
    occurrences: int
    first_seen: datetime
    last_seen: datetime
    resolved_at: datetime | None
    resolution_note: str | None
    source: str

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    @property
    def title(self) -> str:
        return f"{self.reason} at {self.receiver} for {self.subject}"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("first_seen", "last_seen", "resolved_at"):
            data[key] = to_text(data[key]) if data[key] else None
        return data


@dataclass
class Event:
    """One line of an incident's timeline."""

    id: int
    incident_id: int
    at: datetime
    kind: str
    actor: str | None
    text: str | None = None
    status_from: str | None = None
    status_to: str | None = None
    channel: str | None = None
    thread_ts: str | None = None
    permalink: str | None = None
    raw_text: str | None = None
    data: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["at"] = to_text(self.at)
        return data


def summarise_report(report: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """A one-line result of a check run and the part of it worth keeping in the timeline."""
    findings: Sequence[Mapping[str, Any]] = report.get("findings") or []
    counts: dict[str, int] = {}
    for f in findings:
        counts[str(f.get("status"))] = counts.get(str(f.get("status")), 0) + 1
    order = ("fail", "error", "warn", "info", "pass")
    line = ", ".join(f"{counts[s]} {s}" for s in order if counts.get(s)) or "no findings"
    kept = {
        "target": report.get("target"),
        "kind": report.get("kind"),
        "counts": counts,
        "findings": [
            {k: f.get(k) for k in ("check", "status", "about", "summary", "kb")}
            for f in findings
            if f.get("status") != "pass"
        ],
        "elapsed_ms": report.get("elapsed_ms"),
    }
    return f"checks re-run on {report.get('target')}: {line}", kept
