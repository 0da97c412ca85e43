"""Analyse one raw message: its path, DKIM, SPF, DMARC, ARC, recorded verdicts and the bulk-sender checklist.

The lookups (DKIM keys, SPF, DMARC, the sending IP's PTR, ARC keys) run concurrently under one
deadline (CHECK_DEADLINE); a part that has not finished reports `error`, never a verdict.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import re
import time
from dataclasses import dataclass, field
from typing import Any

from bot.settings import Settings
from checks.dmarc import Policy, find_policy
from checks.dns import Resolver
from checks.message import auth, dkim_verify, recorded, requirements
from checks.message.parse import Address, Message, envelope_address, from_addresses, load
from checks.message.path import Hop, Path, Recorded, choose, parse_received
from checks.model import Finding, Report, Status, clean, worst_first
from checks.rdns import Chain, Role, judge, ptr_chain
from checks.runner import finished_by

log = logging.getLogger(__name__)


@dataclass
class MessageAnalysis:
    """What one message shows; `to_dict()` is the JSON contract for the CLI, Slack and the console."""

    from_domain: str | None
    sending_ip: str | None
    helo: str | None
    envelope_sender: str | None  # "" for the null sender, None when the message doesn't say
    findings: list[Finding] = field(default_factory=list)
    pasted: bool = False
    elapsed_ms: int = 0
    queries: int = 0

    @property
    def ok(self) -> bool:
        return clean(self.findings)

    def to_dict(self) -> dict[str, Any]:
        return {
            "from_domain": self.from_domain,
            "sending_ip": self.sending_ip,
            "helo": self.helo,
            "envelope_sender": self.envelope_sender,
            "pasted": self.pasted,
            "findings": [f.to_dict() for f in worst_first(self.findings)],
            "elapsed_ms": self.elapsed_ms,
        }

    def as_report(self) -> Report:
        """The same findings in the shape `check` renderers already know."""
        target = self.from_domain or "message"
        return Report(target, "message", self.findings, self.elapsed_ms, self.queries)


@dataclass
class _Parts:
    sigs: list[dkim_verify.Signature] | None = None
    spf: auth.Spf | None = None
    policy: Policy | None = None
    chain: Chain | None = None
    arc: recorded.Arc | None = None
    unfinished: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)


async def analyze(
    data: bytes | str, *, dns: Resolver, settings: Settings, pasted: bool = False
) -> MessageAnalysis:
    """Analyse a raw message. Raises `MessageError` only for input that is not a message at all."""
    started = time.monotonic()
    message = load(data, pasted=pasted, limit=settings.max_input_bytes)
    dns.bind_loop()
    where = origin(message)
    route, envelope, from_domain = where.route, where.envelope, where.from_domain
    hop = route.chosen
    ip = hop.ip if hop else None
    helo = hop.helo if hop else None
    parts = await _gather(message, dns, settings, ip, envelope, helo, from_domain)

    findings = _input_findings(message)
    findings.append(_path_finding(route, from_domain, envelope, where.envelope_source))
    for name in parts.unfinished:
        findings.append(_unfinished(name, settings, parts.errors.get(name)))
    if parts.sigs is not None:
        findings.extend(dkim_verify.findings(message, parts.sigs))
    if parts.spf is not None:
        findings.extend(auth.spf_findings(parts.spf, ip, envelope))
    dmarc = None
    if from_domain is None or (parts.sigs is not None and parts.spf is not None and parts.policy is not None):
        dmarc = auth.evaluate_dmarc(from_domain, parts.policy, parts.spf or auth.Spf(), parts.sigs or [])
        findings.extend(auth.dmarc_findings(dmarc))
        findings.extend(auth.alignment_findings(dmarc, parts.sigs or []))
    if parts.chain is not None:
        findings.extend(judge(parts.chain, [Role("sending")], from_domain))
    findings.extend(recorded.arc_findings(parts.arc, message))
    arc_verdict = None
    if parts.arc is not None and (parts.arc.cv == "pass" or (message.body_available and not pasted)):
        arc_verdict = parts.arc.cv  # a paste or a cut body breaks ARC too: then only a pass can be compared
    ours = recorded.Ours(
        spf=parts.spf.result if parts.spf else None,
        ip=ip,
        sigs=parts.sigs or [],
        dmarc=_dmarc_word(dmarc),
        arc=arc_verdict,
    )
    findings.extend(recorded.auth_results_findings(message, ours))
    inputs = requirements.Inputs(
        message, parts.spf, parts.sigs, dmarc, parts.chain, parts.errors.get("rdns"), hop
    )
    findings.extend(requirements.checklist(inputs))
    return MessageAnalysis(
        from_domain=from_domain,
        sending_ip=ip,
        helo=helo,
        envelope_sender=envelope.address if envelope is not None else None,
        findings=findings,
        pasted=pasted,
        elapsed_ms=int((time.monotonic() - started) * 1000),
        queries=dns.queries,
    )


@dataclass(frozen=True)
class Origin:
    """Where a message came from, as its headers tell it."""

    route: Path  # the Received hops and the one chosen as the sending hop, with the reason
    envelope: Address | None
    envelope_source: str  # which header the envelope sender was read from
    from_domain: str | None
    received: int  # how many Received headers there were


def origin(message: Message) -> Origin:
    """The sending hop (first Received added outside the sender's systems), envelope sender, From domain."""
    positions = [i for i, h in enumerate(message.headers) if h.key == "received"]
    hops = [_hop(message, i, p) for i, p in enumerate(positions)]
    authors = [recorded.parse_auth_results(v).authserv_id for v in message.all("Authentication-Results")]
    route = choose(hops, [a for a in authors if a], _recorded(message))
    mailboxes = from_addresses(message.first("From") or "") if message.count("From") else []
    envelope, source = _envelope(message, route)
    return Origin(route, envelope, source, mailboxes[0].domain if mailboxes else None, len(hops))


def _hop(message: Message, index: int, position: int) -> Hop:
    hop = parse_received(message.headers[position].value, index, position)
    if hop.ip is None and message.headers_unspaced is not None:
        # A paste hard-wrapped at a fixed column cuts through "[81.2.69.160]" itself; the space the
        # repair put back at the cut hides the IP, which the join without it restores.
        unspaced = parse_received(message.headers_unspaced[position].value, index, position)
        if unspaced.ip is not None:
            return unspaced
    return hop


def _recorded(message: Message) -> Recorded | None:
    """The topmost connecting IP a receiver wrote down in Authentication-Results or Received-SPF."""
    for position, header in enumerate(message.headers):
        if header.key == "authentication-results":
            results = recorded.parse_auth_results(header.value)
            found = recorded.their_ip([r for r in results.results if r.method == "spf"])
            by = f" by {results.authserv_id}" if results.authserv_id else ""
            source = f"the Authentication-Results{by}"
        elif header.key == "received-spf":
            match = re.search(r"client-ip=([0-9A-Fa-f:.]+)", header.value)
            found = match.group(1).rstrip(".") if match else None
            source = "the Received-SPF header"
        else:
            continue
        try:
            return Recorded(str(ipaddress.ip_address(found or "")), position, source)
        except ValueError:
            continue
    return None


def _dmarc_word(dmarc: auth.Dmarc | None) -> str | None:
    if dmarc is None or dmarc.result == "unknown":
        return None
    return {"none": "none", "permerror": "permerror"}.get(dmarc.result, dmarc.result)


def _envelope(message: Message, route: Path) -> tuple[Address | None, str]:
    """The envelope sender: Return-Path (written by the final receiver), else what a Received header noted."""
    value = message.first("Return-Path")
    if value is not None:
        return envelope_address(value), "the Return-Path header"
    if route.chosen is not None and route.chosen.envelope_from is not None:
        return envelope_address(
            f"<{route.chosen.envelope_from}>"
        ), "envelope-from in the sending hop's Received"
    for value in message.all("Authentication-Results"):
        for r in recorded.parse_auth_results(value).results:
            if r.method == "spf" and "smtp.mailfrom" in r.props:
                mailfrom = r.props["smtp.mailfrom"]
                if "@" not in mailfrom:
                    mailfrom = f"postmaster@{mailfrom}"  # receivers often record only the domain
                return envelope_address(f"<{mailfrom}>"), "smtp.mailfrom in Authentication-Results"
    return None, ""


async def _gather(
    message: Message,
    dns: Resolver,
    settings: Settings,
    ip: str | None,
    envelope: Address | None,
    helo: str | None,
    from_domain: str | None,
) -> _Parts:
    parts = _Parts()
    jobs = {
        "dkim-signature": dkim_verify.verify(message, dns),
        "spf": auth.evaluate_spf(dns, ip, envelope, helo),
        "arc": recorded.verify_arc(message, dns),
    }
    if from_domain is not None:
        jobs["dmarc"] = find_policy(dns, from_domain)
    if ip is not None:
        jobs["rdns"] = ptr_chain(dns, ip)
    tasks = {name: asyncio.ensure_future(job) for name, job in jobs.items()}
    done = await finished_by(tasks.values(), settings.check_deadline)
    for name, task in tasks.items():
        if task not in done:
            parts.unfinished.append(name)
            continue
        try:
            value = task.result()
        except Exception as exc:  # one broken part must not hide the others' findings
            log.exception("message analysis: %s failed", name)
            parts.unfinished.append(name)
            parts.errors[name] = f"internal error ({type(exc).__name__})"
            continue
        setattr(parts, _FIELD[name], value)
    return parts


_FIELD = {"dkim-signature": "sigs", "spf": "spf", "arc": "arc", "dmarc": "policy", "rdns": "chain"}


def _unfinished(name: str, settings: Settings, error: str | None) -> Finding:
    why = error or f"timed out after {settings.check_deadline:g}s (CHECK_DEADLINE)"
    summary = f"could not check {name}: {why}"
    return Finding(
        name,
        Status.ERROR,
        "message",
        summary,
        {"deadline_s": settings.check_deadline},
        kb="dns-lookup-failed",
    )


def _input_findings(message: Message) -> list[Finding]:
    evidence = message.evidence()
    out: list[Finding] = []

    def add(status: Status, summary: str, *, kb: str) -> None:
        out.append(Finding("input", status, "message", summary, evidence, kb=kb))

    if message.truncated:
        add(
            Status.WARN,
            f"the message is {message.size:,} bytes, over the {message.limit:,}-byte limit "
            "(MAX_INPUT_BYTES): it was cut there, so the body can't be verified, only the headers",
            kb="message-input",
        )
    elif not message.has_body:
        add(
            Status.INFO,
            "headers only: there is no body, so DKIM body hashes can't be verified",
            kb="message-input",
        )
    if message.rejoined:
        status = Status.INFO if message.pasted else Status.WARN
        add(
            status,
            f"{message.rejoined} line(s) in the header section were not header fields and were rejoined "
            "to the field above (a wrapped paste, or a malformed message)",
            kb="message-input",
        )
    if message.not_utf8:
        add(Status.INFO, "some header bytes are not UTF-8; they are shown as �", kb="message-input")
    for note in message.notes:
        if note.startswith(("ignored", "removed")):
            add(Status.INFO, note, kb="message-input")
    if message.pasted and message.has_body:
        add(
            Status.INFO,
            "pasted as text: chat reflows text, so a body that doesn't verify proves nothing; upload the "
            ".eml to check the body",
            kb="paste-body-unverifiable",
        )
    return out


def _path_finding(route: Path, from_domain: str | None, envelope: Address | None, source: str) -> Finding:
    evidence = route.evidence()
    evidence["from_domain"] = from_domain
    evidence["envelope_sender"] = envelope.address if envelope else None
    evidence["envelope_sender_source"] = source or None
    sender = "unknown (no Return-Path)" if envelope is None else (envelope.address or "<> (null sender)")
    hop = route.chosen
    if hop is None:
        summary = f"no sending IP: {route.reason}; SPF, PTR and TLS can't be judged from this message"
        return Finding("path", Status.WARN, "Received", summary, evidence, kb="message-path")
    names = ", ".join(
        dict.fromkeys(n for n in (hop.helo and f"HELO {hop.helo}", hop.rdns and f"rDNS {hop.rdns}") if n)
    )
    summary = (
        f"sent from {hop.ip}{f' ({names})' if names else ''} to {hop.by or '?'}; envelope sender {sender}, "
        f"From domain {from_domain or 'unknown'}. {route.reason}"
    )
    return Finding("path", Status.INFO, hop.ip or "Received", summary, evidence, kb="message-path")
