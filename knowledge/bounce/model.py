"""What the bounce parser returns: one result per failed (or delayed, delivered...) recipient."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class BounceResult:
    """One recipient's outcome as the bounce tells it. Empty strings/None mean "not stated"."""

    recipient: str | None = None
    action: str = "failed"  # failed | delayed | delivered | relayed | expanded | feedback | autoreply
    reply_code: str | None = None  # "550"
    enhanced_code: str | None = None  # "5.7.1"
    reason: str = "undefined"  # Sisimai's vocabulary: userunknown, blocked, authfailure, ...
    hard_bounce: bool = False
    provider: str | None = None  # receiving provider id: "microsoft", "google", "proofpoint", ...
    remote_mta: str | None = None  # the host that said it
    ips: list[str] = field(default_factory=list)  # IPs named in the diagnostic (the sending IP, usually)
    domains: list[str] = field(default_factory=list)  # domains named (sending domain, listed domains)
    diagnostic: str = ""  # the receiver's words, unfolded, without our decoration
    sender: str | None = None  # the original message's envelope sender or From
    subject: str | None = None
    message_id: str | None = None
    feedback_type: str | None = None  # ARF: abuse, fraud, ...
    command: str | None = None  # the SMTP command the reply answered: RCPT, MAIL, DATA, HELO, EHLO, CONN
    reported_by: str | None = None  # the software whose report format this is ("exim", ...), if recognised
    note: str = ""  # why the reason is undefined, or that the input was cut, etc.

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ParsedInput:
    """Everything read from one input: its kind, the per-recipient results, and notes for the user."""

    # "dsn" | "ndr" | "smtp" | "feedback" | "autoreply" | "message" | "unknown" | "empty" | "binary"
    kind: str
    results: list[BounceResult]
    notes: list[str] = field(default_factory=list)
    truncated: bool = False
