"""List hygiene: diagnosed bounces become a suppression list, and are counted for the digest and warm-ups.

Every diagnosed failure is counted (recipient domain, receiver, reason, hard or not, and the sending
IP when the bounce names one that is in warm-up), without its address. On top of that:

    hard bounce        userunknown, hostunknown, hasmoved, or a permanent notaccept (a domain that takes
                       no mail), with no 4xx code: the recipient is suppressed at once
    repeated bounce    mailboxfull or suspend: suppressed at the SOFT_BOUNCE_THRESHOLD-th bounce within
                       SOFT_BOUNCE_WINDOW (the same bounce pasted twice, by Message-ID, counts once)
    complaint          an ARF feedback report: counted toward the IP's complaint rate, not suppressed
    anything else      delayed (4xx) notices, delivery reports, auto-replies: ignored

The suppression list keeps full addresses, because the sending platform needs them; it has its own
retention (SUPPRESSION_RETENTION_DAYS after an address's last bounce, enforced whenever the list is
read or written) and SUPPRESSIONS=off stops any address being stored.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from checks.target import TargetError, public_ip
from incidents.grouping import receiver_for
from incidents.store import Store
from practices.rules import Rules, load_rules

if TYPE_CHECKING:
    from bot.settings import Settings

CSV_COLUMNS = (
    "address",
    "domain",
    "reason",
    "receiver",
    "first_seen",
    "last_bounce",
    "count",
    "suppressed_at",
)
_IGNORED_ACTIONS = {"delivered", "relayed", "expanded", "autoreply", "delayed"}
_IGNORED_REASONS = {"delivered", "vacation"}


@dataclass(frozen=True)
class Policy:
    """How the suppression list is kept (from bot.settings.Settings)."""

    enabled: bool = True
    window: timedelta = timedelta(days=30)
    threshold: int = 3
    retention: timedelta = timedelta(days=365)

    @classmethod
    def from_settings(cls, settings: Settings) -> Policy:
        return cls(
            enabled=settings.suppressions,
            window=timedelta(seconds=settings.soft_bounce_window),
            threshold=settings.soft_bounce_threshold,
            retention=timedelta(days=settings.suppression_retention_days),
        )


@dataclass(frozen=True)
class Recorded:
    """What one diagnosis did to the list: `suppressed`, `again`, `watching`, `duplicate`, `counted`,
    `complaint` or `ignored`."""

    recipient: str | None
    reason: str
    outcome: str
    warmup_ip: str | None = None  # the IP in warm-up whose rates it counts toward

    def to_dict(self) -> dict[str, Any]:
        return {
            "recipient": self.recipient,
            "reason": self.reason,
            "outcome": self.outcome,
            "warmup_ip": self.warmup_ip,
        }


def _field(obj: Any, name: str) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(name)
    return getattr(obj, name, None)


def normalise_address(text: str | None) -> str | None:
    """`<John@Example.COM>` → `john@example.com`; None when it is not an address."""
    if not text:
        return None
    address = str(text).strip().strip("<>").strip().lower()
    local, at, domain = address.rpartition("@")
    if not at or not local or "." not in domain or any(c.isspace() for c in address):
        return None
    return address


def _public_ips(ips: Iterable[str]) -> tuple[str, ...]:
    found: list[str] = []
    for ip in ips or ():
        try:
            value = public_ip(str(ip))
        except TargetError:
            continue
        if value not in found:
            found.append(value)
    return tuple(found)


def classify(diagnosis: Any, rules: Rules | None = None) -> tuple[str, bool]:
    """(kind, hard): kind is `hard`, `repeated`, `complaint`, `bounce` or `ignore`."""
    rules = rules or load_rules()
    action = (_field(diagnosis, "action") or "").lower()
    reason = (_field(diagnosis, "reason") or "undefined").lower()
    if reason == "feedback" or action == "feedback":
        return "complaint", False
    if action in _IGNORED_ACTIONS or reason in _IGNORED_REASONS:
        return "ignore", False
    code = _field(diagnosis, "enhanced_code") or _field(diagnosis, "reply_code") or ""
    if reason == "undefined" and not (code or _field(diagnosis, "diagnostic")):
        return "ignore", False  # nothing was read: not a bounce
    temporary = str(code).startswith("4")
    if reason in rules.hygiene.hard_reasons and not temporary:
        if reason != "notaccept" or _field(diagnosis, "hard_bounce") or str(code).startswith("5"):
            return "hard", True
    if reason in rules.hygiene.repeated_reasons:
        return "repeated", False
    return "bounce", False


def record_diagnoses(
    store: Store, diagnoses: Iterable[Any], *, policy: Policy | None = None, rules: Rules | None = None
) -> list[Recorded]:
    """Count each diagnosed bounce and suppress its recipient when the rules say so; one result each."""
    policy = policy or Policy()
    rules = rules or load_rules()
    results: list[Recorded] = []
    for diagnosis in diagnoses:
        kind, hard = classify(diagnosis, rules)
        reason = (_field(diagnosis, "reason") or "undefined").lower()
        address = normalise_address(_field(diagnosis, "recipient"))
        if kind == "ignore":
            results.append(Recorded(address, reason, "ignored"))
            continue
        ips = _public_ips(_field(diagnosis, "ips") or ())
        if not address and not ips:
            results.append(Recorded(None, reason, "ignored"))  # neither a recipient nor an IP to count it for
            continue
        suppress = kind if kind in ("hard", "repeated") and policy.enabled else None
        outcome, warmup_ip = store.record_bounce(
            domain=address.rpartition("@")[2] if address else "",
            receiver=receiver_for(_field(diagnosis, "provider")),
            reason=reason,
            hard=hard,
            complaint=kind == "complaint",
            ips=ips,
            address=address if suppress else None,
            suppress=suppress,
            window=policy.window,
            threshold=policy.threshold,
            message_id=_field(diagnosis, "message_id"),
        )
        if kind == "complaint":
            outcome = "complaint"
        results.append(Recorded(address, reason, outcome, warmup_ip))
    if policy.enabled:
        store.purge_practices(policy.retention)
    return results


def log_diagnoses(settings: Settings, diagnoses: Iterable[Any]) -> list[Recorded]:
    """The hook for `diagnose --log` and the Slack log button: record diagnoses in the DATABASE_PATH store."""
    with Store.from_settings(settings) as store:
        return record_diagnoses(store, diagnoses, policy=Policy.from_settings(settings))


def suppressed(
    store: Store, *, since: datetime | None = None, policy: Policy | None = None
) -> list[dict[str, Any]]:
    """The suppression list (suppressed since `since`), after dropping entries past their retention."""
    policy = policy or Policy()
    store.purge_practices(policy.retention)
    return [{k: row[k] for k in CSV_COLUMNS} for row in store.suppressions(since)]


def to_csv(rows: Iterable[Mapping[str, Any]]) -> str:
    """CSV with a header row, the address first: what sending platforms import as a suppression list."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
    return out.getvalue()


def from_csv(text: str) -> list[dict[str, Any]]:
    """The rows of `to_csv`, with `count` as a number again."""
    rows = []
    for row in csv.DictReader(io.StringIO(text)):
        row = dict(row)
        row["count"] = int(row["count"])
        rows.append(row)
    return rows


def summary(results: Iterable[Recorded]) -> str:
    """One line: what a batch of diagnoses did to the list."""
    counts: dict[str, int] = {}
    for r in results:
        counts[r.outcome] = counts.get(r.outcome, 0) + 1
    words = {
        "suppressed": "newly suppressed",
        "again": "already suppressed",
        "watching": "soft-bounced (not yet suppressed)",
        "duplicate": "duplicate",
        "counted": "counted, not suppressed",
        "complaint": "complaint",
        "ignored": "not a bounce",
    }
    parts = [f"{counts[k]} {words[k]}" for k in words if counts.get(k)]
    return ", ".join(parts) or "nothing to record"
