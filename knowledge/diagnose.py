"""Bounce diagnosis: parse an input, match each result against the knowledge base, say what to do next."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from checks.runner import REGISTRY
from checks.target import TargetError, parse_target
from knowledge.base import Entry, KnowledgeBase, load
from knowledge.bounce.model import BounceResult, ParsedInput
from knowledge.matcher import MAX_TEXT, match

DEFAULT_MAX_BYTES = 5_000_000
MAX_STEPS = 8
MAX_NEXT_CHECKS = 8
MAX_IPS = 2  # a bounce naming more IPs than this is usually quoting a whole transcript

# Which side of the bounce each live check is about.
_IP_CHECKS = ("rdns", "blocklist")
_SENDER_CHECKS = ("spf", "dkim", "dmarc", "bimi")
_RECIPIENT_CHECKS = ("mx", "mta-sts", "tls-rpt")
# Checks worth running for a reason even when no matching entry lists them.
_REASON_CHECKS: dict[str, tuple[str, ...]] = {
    "authfailure": ("spf", "dkim", "dmarc"),
    "requireptr": ("rdns",),
    "blocked": ("rdns", "blocklist"),
    "badreputation": ("rdns", "blocklist"),
    "hostunknown": ("mx",),
}
# Domains named in bounces that belong to receivers and list operators, never the sender's own.
_INFRASTRUCTURE = (
    "proofpoint.com",
    "pphosted.com",
    "ppe-hosted.com",
    "spamhaus.org",
    "spamhaus.com",
    "cloudmark.com",
    "barracudacentral.org",
    "barracudanetworks.com",
    "mimecast.com",
    "mimecast.org",
    "google.com",
    "gmail.com",
    "microsoft.com",
    "outlook.com",
    "office.com",
    "live.com",
    "yahoo.com",
    "yahooinc.com",
    "yahoodns.net",
    "apple.com",
    "icloud.com",
    "talosintelligence.com",
    "iphmx.com",
    "spamcop.net",
)
PROVIDER_NAMES = {
    "proofpoint": "Proofpoint",
    "microsoft": "Microsoft",
    "google": "Google",
    "yahoo": "Yahoo",
    "apple": "Apple iCloud",
    "mimecast": "Mimecast",
    "barracuda": "Barracuda",
    "cisco": "Cisco Secure Email",
    "cloudmark": "Cloudmark",
}
_JSON_FIELDS = (
    "recipient",
    "action",
    "reply_code",
    "enhanced_code",
    "reason",
    "hard_bounce",
    "provider",
    "remote_mta",
    "ips",
    "domains",
    "diagnostic",
    "sender",
    "subject",
    "message_id",
)


@dataclass(frozen=True)
class NextCheck:
    check: str  # an id of checks.runner.REGISTRY
    target: str  # a public IP or a domain name

    def to_dict(self) -> dict[str, str]:
        return {"check": self.check, "target": self.target}


@dataclass
class Diagnosis(BounceResult):
    """One bounce result with what the knowledge base makes of it."""

    kb_matches: list[Entry] = field(default_factory=list)
    summary: str = ""  # one sentence: what happened
    why: str = ""
    steps: list[str] = field(default_factory=list)
    next_checks: list[NextCheck] = field(default_factory=list)
    readable: bool = True  # False when the input could not be read at all (missing, empty, binary)
    truncated: bool = False
    checks: list[dict[str, Any]] | None = None  # Report.to_dict() of each live check run (--check)

    def to_json(self, input_name: str) -> dict[str, Any]:
        data: dict[str, Any] = {"input": input_name}
        for name in _JSON_FIELDS:
            value = getattr(self, name)
            data[name] = list(value) if isinstance(value, list) else value
        data["kb_matches"] = [{"id": e.id, "title": e.title} for e in self.kb_matches]
        data["summary"] = self.summary
        data["next_checks"] = [c.to_dict() for c in self.next_checks]
        if self.checks is not None:
            data["checks"] = self.checks
        return data


def diagnose(
    data: bytes | str, *, kb: KnowledgeBase | None = None, max_bytes: int = DEFAULT_MAX_BYTES
) -> list[Diagnosis]:
    """One diagnosis per recipient result, or a single one when the input yields none."""
    from knowledge.bounce import parse  # the parser package imports heavy helpers; load it on first use

    kb = kb or load()
    parsed: ParsedInput = parse(data, max_bytes=max_bytes)
    results = parsed.results or [BounceResult(reason="undefined", note=_no_result_note(parsed))]
    readable = parsed.kind not in ("empty", "binary")
    cut = f"only the first {max_bytes:,} bytes were read" if parsed.truncated else ""
    return [
        _diagnose_one(result, kb, readable=readable, truncated=parsed.truncated, cut=cut)
        for result in results
    ]


def unreadable(message: str) -> Diagnosis:
    """The result line for an input that could not be read at all (a missing file, a directory...)."""
    diagnosis = Diagnosis(reason="undefined", note=message, readable=False)
    diagnosis.summary = _sentence(f"Could not read the input: {message}")
    diagnosis.why = message
    diagnosis.steps = ["Check the file name and its permissions, or paste the bounce's text instead."]
    return diagnosis


def _no_result_note(parsed: ParsedInput) -> str:
    if parsed.notes:
        return "; ".join(parsed.notes)
    return {
        "empty": "the input is empty",
        "binary": "the input is binary data, not an email or SMTP text",
    }.get(parsed.kind, "no bounce, delivery report, complaint or SMTP reply was recognised in it")


def _diagnose_one(
    result: BounceResult, kb: KnowledgeBase, *, readable: bool, truncated: bool, cut: str
) -> Diagnosis:
    diagnosis = Diagnosis(**result.to_dict(), readable=readable, truncated=truncated)
    if result.reason == "undefined" and not (result.diagnostic or result.reply_code or result.enhanced_code):
        matches: list[Entry] = []
    else:
        matches = match(
            kb,
            diagnostic=result.diagnostic,
            reply_code=result.reply_code,
            enhanced_code=result.enhanced_code,
            provider=result.provider,
            reason=result.reason,
        )
    diagnosis.kb_matches = matches
    diagnosis.summary = _summary(result, matches[0] if matches else None, cut)
    diagnosis.why = _why(result, matches)
    diagnosis.steps = _steps(result, matches)
    diagnosis.next_checks = _next_checks(result, matches)
    return diagnosis


# -- the words --------------------------------------------------------------------------------------


def _sentence(text: str) -> str:
    text = " ".join(text.split())
    return text if text.endswith((".", "!", "?")) else text + "."


def _permanence(result: BounceResult) -> str | None:
    first = (result.enhanced_code or result.reply_code or "")[:1]
    return {"5": "permanent", "4": "temporary"}.get(first)


def _topic(entry: Entry) -> str:
    """An entry's title as a clause: code fallbacks lose their `X.1.1: ` prefix and `(4.1.1 / 5.1.1)`."""
    title = entry.title
    if entry.category == "code":
        title = re.sub(r"^[0-9xX*.]+: ", "", title)
        title = re.sub(r" \([^()]*\)$", "", title)
    return title


def _summary(result: BounceResult, best: Entry | None, cut: str) -> str:
    who = result.recipient or "the recipient"
    codes = " ".join(c for c in (result.reply_code, result.enhanced_code) if c)
    codes = f" ({codes})" if codes else ""
    provider = PROVIDER_NAMES.get(result.provider or "", result.provider)
    by = f" by {result.remote_mta}" if result.remote_mta else (f" by {provider}" if provider else "")
    topic = f" — {_topic(best)}" if best else ""
    action = (result.action or "").lower()
    if result.reason == "feedback" or action == "feedback":
        kind = f" ({result.feedback_type})" if result.feedback_type else ""
        text = f"A complaint report{kind}: {who} reported the message as spam"
    elif result.reason == "vacation" or action == "autoreply":
        text = f"An automatic reply from {who} (out of office or similar): the message itself was delivered"
    elif result.reason == "delivered" or action in ("delivered", "relayed", "expanded"):
        text = f"The message to {who} was {action if action in ('relayed', 'expanded') else 'delivered'}{by}"
    elif result.reason == "undefined" and not (
        result.diagnostic or result.reply_code or result.enhanced_code
    ):
        text = (
            result.note or "No bounce, delivery report, complaint or SMTP reply was recognised in this input"
        )
    elif action == "delayed" or _permanence(result) == "temporary":
        text = f"Delivery to {who} is delayed{codes}{by}; the sending server will retry{topic}"
    else:
        how = "refused permanently" if _permanence(result) == "permanent" else "not delivered"
        text = f"The message to {who} was {how}{codes}{by}{topic}"
    if cut:
        text += f" ({cut})"
    return _sentence(text)


def _why(result: BounceResult, matches: list[Entry]) -> str:
    parts = []
    if matches:
        parts.append(" ".join(matches[0].explanation.split()))
    elif result.note:
        parts.append(_sentence(result.note))
    if result.diagnostic:
        words = " ".join(result.diagnostic.split())
        if len(words) > 300:
            words = words[:299] + "…"
        parts.append(f'The receiver said: "{words}"')
    return " ".join(parts)


def _steps(result: BounceResult, matches: list[Entry]) -> list[str]:
    if not matches:
        paste = "Paste the whole bounce (with its headers) or the exact SMTP reply from the mail log."
        if result.diagnostic:
            return ["Read the receiver's text and follow any URL in it: it usually names the cause.", paste]
        return [paste]
    steps = list(matches[0].steps)
    if matches[0].receiver != "any":
        # A receiver's own entry is the most specific advice there is: generic entries would only
        # repeat it in other words ("look the IP up" three times).
        return steps[:MAX_STEPS]
    # Up to two other entries whose wording matched add their first step; code fallbacks add nothing.
    text = (result.diagnostic or "")[:MAX_TEXT]
    extra = [e for e in matches[1:] if e.patterns and any(p.search(text) for p in e.patterns)]
    for entry in extra[:2]:
        if not any(_same_advice(entry.steps[0], step) for step in steps):
            steps.append(entry.steps[0])
    return steps[:MAX_STEPS]


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z]{4,}", text.lower())}


def _same_advice(a: str, b: str) -> bool:
    """Two steps that share most of their words say the same thing ("look the IP up at Spamhaus")."""
    wa, wb = _words(a), _words(b)
    return a == b or (bool(wa and wb) and len(wa & wb) / min(len(wa), len(wb)) >= 0.5)


# -- next checks ------------------------------------------------------------------------------------


def _domain(text: str | None) -> str | None:
    if not text:
        return None
    try:
        target = parse_target(text)
    except TargetError:
        return None
    return target.value if target.kind == "domain" else None


def _public_ips(ips: list[str]) -> list[str]:
    found: list[str] = []
    for ip in ips:
        try:
            target = parse_target(ip)
        except TargetError:
            continue  # private, documentation or malformed: receivers never saw it
        if target.kind == "ip" and target.value not in found:
            found.append(target.value)
    return found[:MAX_IPS]


def _is_infrastructure(domain: str, result: BounceResult) -> bool:
    remote = (result.remote_mta or "").lower().rstrip(".")
    if remote and (remote == domain or remote.endswith("." + domain)):
        return True
    return any(domain == d or domain.endswith("." + d) for d in _INFRASTRUCTURE)


def _sender_domain(result: BounceResult) -> str | None:
    domain = _domain(result.sender)
    if domain:
        return domain
    recipient_domain = _domain(result.recipient)
    for name in result.domains:
        domain = _domain(name)
        if domain and domain != recipient_domain and not _is_infrastructure(domain, result):
            return domain
    return None


def _next_checks(result: BounceResult, matches: list[Entry]) -> list[NextCheck]:
    # The best entry speaks; other entries only when their wording matched (code fallbacks are too vague).
    text = (result.diagnostic or "")[:MAX_TEXT]
    speaking = matches[:1] + [
        e for e in matches[1:] if e.patterns and any(p.search(text) for p in e.patterns)
    ]
    wanted: list[str] = []
    for entry in speaking:
        wanted.extend(c for c in entry.next_checks if c not in wanted)
    wanted.extend(c for c in _REASON_CHECKS.get(result.reason, ()) if c not in wanted)
    ips = _public_ips(result.ips)
    sender = _sender_domain(result)
    recipient = _domain(result.recipient)
    listed_domain = bool(matches) and matches[0].category == "blocklist"
    planned: list[NextCheck] = []
    for check in wanted:
        if check not in REGISTRY:
            continue
        if check in _IP_CHECKS:
            targets = ips or ([sender] if check == "blocklist" and listed_domain and sender else [])
        elif check in _SENDER_CHECKS:
            targets = [sender] if sender else []
        elif check in _RECIPIENT_CHECKS:
            side = sender if result.reason == "rejected" else recipient
            targets = [side] if side else []
        else:
            targets = []
        for target in targets:
            item = NextCheck(check, target)
            if item not in planned:
                planned.append(item)
    return planned[:MAX_NEXT_CHECKS]
