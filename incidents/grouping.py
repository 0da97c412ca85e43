"""How an observation is named and grouped: its subject, receiver and reason, and the grouping key."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

# Reasons about the sender's authentication, policy or reputation: the sending domain is what the
# receiver judges, so it is the subject (unless an IP is named), not the recipient's domain.
SENDER_REASONS = frozenset(
    {
        "authfailure",
        "badreputation",
        "blocked",
        "contenterror",
        "notcompliantrfc",
        "policyviolation",
        "ratelimited",
        "rejected",
        "requireptr",
        "securityerror",
        "spamdetected",
        "speeding",
        "toomanyconn",
        "virusdetected",
    }
)
# Worst first, as checks.model.Status ranks them; pass and info are not problems.
_STATUS_RANK = {"fail": 0, "error": 1, "warn": 2, "info": 3, "pass": 4}


def _domain_of(address: str | None) -> str | None:
    if not address or "@" not in address:
        return None
    domain = address.rsplit("@", 1)[1].strip().strip(">").rstrip(".").lower()
    return domain or None


def _first_ip(ips: Iterable[str]) -> str | None:
    for text in ips:
        try:
            return str(ipaddress.ip_address(str(text).strip()))
        except ValueError:
            continue
    return None


def subject_for(
    *,
    reason: str,
    ips: Sequence[str] = (),
    sender: str | None = None,
    domains: Sequence[str] = (),
    recipient: str | None = None,
) -> tuple[str, str]:
    """(subject, kind): the IP named in the bounce, else the sending domain for sender-side reasons,
    else the recipient's domain. Kind is `ip`, `sending-domain`, `recipient-domain` or `domain`."""
    if ip := _first_ip(ips):
        return ip, "ip"
    named = [d.strip().rstrip(".").lower() for d in domains if d and d.strip()]
    if reason in SENDER_REASONS:
        if sending := _domain_of(sender) or (named[0] if named else None):
            return sending, "sending-domain"
    if recipient_domain := _domain_of(recipient):
        return recipient_domain, "recipient-domain"
    if sending := _domain_of(sender):
        return sending, "sending-domain"
    if named:
        return named[0], "domain"
    return "unknown", "unknown"


def receiver_for(provider: str | None, remote_mta: str | None = None) -> str:
    """The receiving provider's id (`microsoft`, `google`...), or `unknown`; a bare MTA name is not one."""
    return (provider or "").strip().lower() or "unknown"


def reason_for_report(findings: Sequence[Mapping[str, Any]]) -> tuple[str, Mapping[str, Any] | None]:
    """The worst finding's check as the reason of a check run (`ok` when nothing failed or warned)."""
    ranked = sorted(findings, key=lambda f: (_STATUS_RANK.get(str(f.get("status")), 5), str(f.get("check"))))
    if ranked and _STATUS_RANK.get(str(ranked[0].get("status")), 5) <= _STATUS_RANK["warn"]:
        return str(ranked[0].get("check")), ranked[0]
    return "ok", None


def group_key(workspace: str, receiver: str, reason: str, subject: str) -> tuple[str, str, str, str]:
    """Observations with the same key join one open incident seen within INCIDENT_WINDOW."""
    return (workspace or "", receiver.lower(), reason.lower(), subject.lower())
