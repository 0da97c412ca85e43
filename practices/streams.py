"""Stream separation: do two messages (one marketing, one transactional) share what carries reputation?

Each message is read with the message-analysis parser (checks/message: input repair, the Received walk
that picks the sending hop, the envelope sender, DKIM-Signature tags); nothing is looked up, so a
comparison is instant and offline. Compared, one finding each:

    stream-ip           the sending IP (the hop the receiver accepted the message from)
    stream-network      the IPv4 /24 (IPv6 /64) around it: receivers also judge the neighbourhood
    stream-return-path  the envelope sender's domain (bounces, SPF) — separate sub-domains are fine
    stream-dkim         the DKIM signing domains (d=), which carry domain reputation at Gmail and others
    stream-marketing    which message looks like marketing, from its headers (knowledge/data/warmup.toml)

Sharing is a failure (IP, DKIM domain) or a warning (/24, Return-Path domain) only when exactly one of
the two looks like marketing: two messages of the same kind belong to one stream and may share. What
a message does not say (no Received headers, no Return-Path, no signature) is `error`: could not check.
"""

from __future__ import annotations

import hashlib
import ipaddress
import time
from dataclasses import dataclass, field
from typing import Any

# The message analysis's own route and envelope-sender rules, so both commands name the same sending
# hop; they are module-private there, hence the underscores.
from checks.message.analyze import origin
from checks.message.dkim_verify import signatures
from checks.message.parse import Message, MessageError, load
from checks.model import Finding, Report, Status
from checks.psl import organizational_domain
from practices import PracticeError
from practices.rules import Rules, load_rules

KB = "separate-mail-streams"


@dataclass
class Facts:
    """What one message says about the stream it belongs to."""

    name: str
    sending_ip: str | None
    ip_reason: str
    received: int
    return_path: str | None  # the address; "" for the null sender
    return_path_domain: str | None
    dkim_domains: list[str]
    from_domain: str | None
    message_id: str | None
    subject: str | None
    score: int = 0
    signals: list[str] = field(default_factory=list)
    platforms: list[str] = field(default_factory=list)
    marketing: bool = False
    digest: str = ""  # of the repaired raw message: tells two copies of one message apart from two messages

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "sending_ip": self.sending_ip,
            "ip_reason": self.ip_reason,
            "received_headers": self.received,
            "return_path": self.return_path,
            "return_path_domain": self.return_path_domain,
            "dkim_domains": self.dkim_domains,
            "from_domain": self.from_domain,
            "message_id": self.message_id,
            "subject": self.subject,
            "marketing_score": self.score,
            "marketing_signals": self.signals,
            "platforms": self.platforms,
            "looks_like_marketing": self.marketing,
        }


@dataclass
class Comparison:
    a: Facts
    b: Facts
    findings: list[Finding]
    elapsed_ms: int = 0

    @property
    def marketing(self) -> str:
        """`a`, `b`, `both` or `neither`."""
        if self.a.marketing and self.b.marketing:
            return "both"
        if self.a.marketing or self.b.marketing:
            return "a" if self.a.marketing else "b"
        return "neither"

    def report(self) -> Report:
        return Report(f"{self.a.name} vs {self.b.name}", "streams", self.findings, self.elapsed_ms)

    def to_dict(self) -> dict[str, Any]:
        return {
            "a": self.a.to_dict(),
            "b": self.b.to_dict(),
            "marketing": self.marketing,
            "findings": [f.to_dict() for f in self.findings],
            "elapsed_ms": self.elapsed_ms,
        }


def _signals(message: Message, rules: Rules) -> tuple[int, list[str], list[str]]:
    score, reasons, platforms = 0, [], []
    for signal in rules.streams.signals:
        values = message.all(signal.field)
        if not values:
            continue
        if signal.value is not None:
            value = next((v for v in values if signal.value.search(v)), None)
            if value is None:
                continue
            why = signal.why.format(value=value.strip().lower())
        else:
            why = signal.why
        if signal.weight == 0:
            platforms.append(why)
            continue
        score += signal.weight
        reasons.append(why)
    return score, reasons, platforms


def read_facts(name: str, data: bytes | str, *, pasted: bool = False, limit: int = 5_000_000) -> Facts:
    """The stream facts of one raw message; PracticeError when it is not a message at all."""
    rules = load_rules()
    try:
        message = load(data, pasted=pasted, limit=limit)
    except MessageError as exc:
        raise PracticeError(f"{name}: {exc}") from None
    where = origin(message)
    route, envelope = where.route, where.envelope
    chosen = route.chosen
    dkim = list(dict.fromkeys(s.domain for s in signatures(message) if s.domain))
    score, reasons, platforms = _signals(message, rules)
    message_id = (message.first("Message-ID") or "").strip().strip("<>").strip().lower() or None
    return Facts(
        name=name,
        sending_ip=chosen.ip if chosen else None,
        ip_reason=route.reason,
        received=where.received,
        return_path=envelope.address if envelope is not None else None,
        return_path_domain=envelope.domain if envelope is not None else None,
        dkim_domains=dkim,
        from_domain=where.from_domain,
        message_id=message_id,
        subject=message.first("Subject"),
        score=score,
        signals=reasons,
        platforms=platforms,
        marketing=score >= rules.streams.marketing_score,
        digest=hashlib.sha256(message.raw.strip()).hexdigest(),
    )


def _network(ip: str) -> str:
    address = ipaddress.ip_address(ip)
    prefix = 24 if address.version == 4 else 64
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


# What sharing risks, per thing shared (the finding's summary ends with it).
RISKS = {
    "stream-ip": "complaints about the campaign lower the IP's reputation, and the receipts, resets and "
    "personal mail get deferred or blocked with it; send marketing from other IPs",
    "stream-network": "receivers and blocklists also rate a sender's neighbourhood (Gmail names the netblock "
    "in its rate limits), so trouble on one address can spill onto the other",
    "stream-return-path": "bounces and SPF results of both streams build one domain's record; give each "
    "stream its own sub-domain (news.example.com, mail.example.com)",
    "stream-dkim": "receivers keep domain reputation by the signing domain, so the campaign's complaints "
    "count against the transactional mail too; sign each stream with its own sub-domain and key",
}
SHARED_LEVEL = {
    "stream-ip": Status.FAIL,
    "stream-network": Status.WARN,
    "stream-return-path": Status.WARN,
    "stream-dkim": Status.FAIL,
}
HINTS = {
    "stream-ip": "no Received header names a public sending IP; paste the whole source, Received headers too",
    "stream-return-path": "no Return-Path, envelope-from or smtp.mailfrom; the null sender <> has no domain",
    "stream-dkim": "no DKIM-Signature: unsigned mail has no signing domain, and receivers require one",
}


def _missing(check: str, about: str, what: str, absent: list[str]) -> Finding:
    verb = "does" if len(absent) == 1 else "do"
    summary = f"could not compare {what}: {' and '.join(absent)} {verb} not show it ({HINTS[check]})"
    kb = "message-path" if check == "stream-ip" else None  # what a Received header shows, and how to get it
    return Finding(check, Status.ERROR, about, summary, {"missing_in": absent}, kb=kb)


class _Pair:
    """Builds the findings of one pair: shared is bad only across one marketing and one other message."""

    def __init__(self, a: Facts, b: Facts) -> None:
        self.a, self.b = a, b
        self.split = a.marketing != b.marketing
        self.marketing, self.other = (a, b) if a.marketing else (b, a)

    def shared(self, check: str, about: str, what: str, evidence: dict[str, Any]) -> Finding:
        if self.split:
            summary = f"{self.marketing.name} (marketing) and {self.other.name} share {what}: {RISKS[check]}"
            return Finding(check, SHARED_LEVEL[check], about, summary, evidence, kb=KB)
        kind = "like marketing" if self.a.marketing else "not like marketing"
        summary = f"both share {what}; both look {kind}, so they may well be one stream"
        return Finding(check, Status.INFO, about, summary, evidence, kb=KB)

    def apart(self, check: str, about: str, summary: str, evidence: dict[str, Any]) -> Finding:
        return Finding(check, Status.PASS, about, summary, evidence, kb=KB)

    def missing(self, check: str, about: str, what: str, has: Any) -> Finding | None:
        absent = [f.name for f in (self.a, self.b) if not has(f)]
        return _missing(check, about, what, absent) if absent else None


def _ip_findings(pair: _Pair) -> list[Finding]:
    a, b = pair.a, pair.b
    missing = pair.missing("stream-ip", "sending IP", "the sending IPs", lambda f: f.sending_ip)
    if missing:
        return [missing]
    ips = {"a": a.sending_ip, "b": b.sending_ip}
    if a.sending_ip == b.sending_ip:
        return [pair.shared("stream-ip", a.sending_ip or "", f"the sending IP {a.sending_ip}", ips)]
    found = [
        pair.apart(
            "stream-ip", "sending IP", f"different sending IPs: {a.sending_ip} and {b.sending_ip}", ips
        )
    ]
    net_a, net_b = _network(a.sending_ip or ""), _network(b.sending_ip or "")
    nets = {"a": net_a, "b": net_b}
    if net_a == net_b:
        found.append(pair.shared("stream-network", net_a, f"the network {net_a}", nets))
    else:
        found.append(
            pair.apart("stream-network", "network", f"different networks: {net_a} and {net_b}", nets)
        )
    return found


def _return_path_finding(pair: _Pair) -> Finding:
    a, b = pair.a, pair.b
    what = "the Return-Path domains"
    missing = pair.missing("stream-return-path", "Return-Path", what, lambda f: f.return_path_domain)
    if missing:
        return missing
    domains = {"a": a.return_path_domain, "b": b.return_path_domain}
    if a.return_path_domain == b.return_path_domain:
        shared = f"the Return-Path domain {a.return_path_domain}"
        return pair.shared("stream-return-path", a.return_path_domain or "", shared, domains)
    org = organizational_domain(a.return_path_domain or "")
    how = "different domains"
    if org == organizational_domain(b.return_path_domain or ""):
        # The organisational domain itself is not a sub-domain of itself: say which one is the parent.
        parent = org in (a.return_path_domain, b.return_path_domain)
        how = f"a sub-domain of {org} and {org} itself" if parent else f"separate sub-domains of {org}"
    summary = f"{how}: {a.return_path_domain} and {b.return_path_domain}"
    return pair.apart("stream-return-path", "Return-Path", summary, domains)


def _dkim_finding(pair: _Pair) -> Finding:
    a, b = pair.a, pair.b
    missing = pair.missing("stream-dkim", "DKIM d=", "the DKIM signing domains", lambda f: f.dkim_domains)
    if missing:
        return missing
    common = [d for d in a.dkim_domains if d in b.dkim_domains]
    domains = {"a": a.dkim_domains, "b": b.dkim_domains}
    if common:
        return pair.shared(
            "stream-dkim", ", ".join(common), f"the DKIM signing domain d={', '.join(common)}", domains
        )
    summary = f"different signing domains: {', '.join(a.dkim_domains)} and {', '.join(b.dkim_domains)}"
    return pair.apart("stream-dkim", "DKIM d=", summary, domains)


def _looks(f: Facts) -> str:
    signs = ", ".join(f.signals) if f.signals else "no bulk or marketing headers"
    via = f"; {', '.join(f.platforms)}" if f.platforms else ""
    return f"{f.name}: {signs}{via}"


def _marketing_finding(pair: _Pair, rules: Rules) -> Finding:
    a, b = pair.a, pair.b
    seen = f"({_looks(a)}; {_looks(b)})"
    if pair.split:
        summary = f"{pair.marketing.name} looks like marketing, {pair.other.name} does not {seen}"
    else:
        kind = "both look" if a.marketing else "neither looks"
        summary = f"{kind} like marketing {seen}: compare a marketing message with a transactional one"
    evidence: dict[str, Any] = {
        "a": {"score": a.score, "signals": a.signals, "platforms": a.platforms},
        "b": {"score": b.score, "signals": b.signals, "platforms": b.platforms},
        "threshold": rules.streams.marketing_score,
    }
    return Finding("stream-marketing", Status.INFO, "headers", summary, evidence, kb=rules.streams.kb)


def compare_facts(a: Facts, b: Facts) -> list[Finding]:
    """The findings for one pair; raises PracticeError when the two are the same message."""
    if a.digest == b.digest or (a.message_id and a.message_id == b.message_id):
        same = f" (Message-ID <{a.message_id}>)" if a.message_id and a.message_id == b.message_id else ""
        raise PracticeError(
            f"{a.name} and {b.name} are the same message{same}: give one marketing message and one "
            "transactional or person-to-person message"
        )
    pair = _Pair(a, b)
    return [
        *_ip_findings(pair),
        _return_path_finding(pair),
        _dkim_finding(pair),
        _marketing_finding(pair, load_rules()),
    ]


def compare(
    a: tuple[str, bytes | str], b: tuple[str, bytes | str], *, pasted: bool = False, limit: int = 5_000_000
) -> Comparison:
    """Compare two raw messages given as (name, data); PracticeError for unusable input."""
    started = time.monotonic()
    facts_a = read_facts(a[0], a[1], pasted=pasted, limit=limit)
    facts_b = read_facts(b[0], b[1], pasted=pasted, limit=limit)
    findings = compare_facts(facts_a, facts_b)
    return Comparison(facts_a, facts_b, findings, int((time.monotonic() - started) * 1000))
