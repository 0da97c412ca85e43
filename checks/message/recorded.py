"""Verdicts a message already carries: its ARC chain verified, its Authentication-Results compared to ours.

ARC is verified by dkimpy in a worker thread with the same dnsfunc as DKIM (a failed lookup raises, so
it becomes `temperror`, never a broken chain). Authentication-Results (RFC 8601) are parsed tolerantly:
receivers write them in several dialects, Microsoft's without an authserv-id.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field

import dkim

from checks.dns import Resolver
from checks.message.dkim_verify import DkimpyLog, KeyLookupFailed, Signature, make_dnsfunc
from checks.message.parse import Message
from checks.model import Finding, Status

# -- ARC -----------------------------------------------------------------------------------------------


ARC_HEADERS = ("arc-seal", "arc-message-signature", "arc-authentication-results")


@dataclass
class Arc:
    sets: int
    cv: str  # pass | fail | none | temperror
    reason: str = ""
    sealers: list[str] = field(default_factory=list)  # d= of each ARC-Seal, oldest first
    first_results: str = ""  # what the first intermediary recorded (ARC-Authentication-Results i=1)

    def evidence(self) -> dict:
        data: dict = {"sets": self.sets, "cv": self.cv, "sealers": self.sealers}
        if self.reason:
            data["reason"] = self.reason
        if self.first_results:
            data["first_results"] = self.first_results
        return data


def has_arc(message: Message) -> bool:
    return any(h.key in ARC_HEADERS for h in message.headers)


def _arc_blocking(raw: bytes, dnsfunc) -> tuple[str, list[dict], str]:
    capture = DkimpyLog()
    cv, results, reason = dkim.ARC(raw, logger=capture.logger, minkey=1024).verify(dnsfunc=dnsfunc)
    word = cv.decode() if isinstance(cv, bytes) else "fail"  # None: the chain was already marked failed
    return word, results, reason or capture.last()


async def verify_arc(message: Message, resolver: Resolver) -> Arc | None:
    if not has_arc(message):
        return None
    seals = message.all("ARC-Seal")
    try:
        cv, results, reason = await asyncio.to_thread(_arc_blocking, message.raw, make_dnsfunc(resolver))
    except KeyLookupFailed as exc:
        cv, results, reason = "temperror", [], f"the key lookup of {exc.result.name} {exc.result.describe()}"
    except dkim.DKIMException as exc:
        cv, results, reason = "fail", [], str(exc)
    arc = Arc(len(seals), cv, reason)
    for result in sorted(results, key=lambda r: r.get("instance", 0)):
        domain = result.get("as-domain") or b""
        arc.sealers.append(
            domain.decode("ascii", errors="replace") if isinstance(domain, bytes) else str(domain)
        )
        if result.get("instance") == 1 and result.get("aar-value"):
            arc.first_results = _text(result["aar-value"])
    if not arc.first_results:
        for value in message.all("ARC-Authentication-Results"):
            if re.match(r"\s*i\s*=\s*1\s*;", value):
                arc.first_results = value.strip()
    return arc


def _text(value: bytes | str) -> str:
    text = value.decode("utf-8", errors="replace") if isinstance(value, bytes) else value
    return re.sub(r"\s+", " ", text).strip()


def arc_findings(arc: Arc | None, message: Message) -> list[Finding]:
    if arc is None:
        return []
    evidence = arc.evidence()
    chain = " → ".join(arc.sealers) or "?"
    first = ""
    if arc.first_results:
        verdicts = [
            f"{r.method}={r.result}"
            for r in parse_auth_results(re.sub(r"^\s*i\s*=\s*\d+\s*;", "", arc.first_results)).results
        ]
        if verdicts:
            first = f"; the first intermediary recorded {' '.join(verdicts)}"
    if arc.cv == "pass":
        summary = f"ARC chain of {arc.sets} set(s) validates (sealed by {chain}){first}"
        return [Finding("arc", Status.PASS, "ARC", summary, evidence, kb="arc")]
    if arc.cv == "temperror":
        summary = f"could not check the ARC chain: {arc.reason}"
        return [Finding("arc", Status.ERROR, "ARC", summary, evidence, kb="dns-lookup-failed")]
    if message.pasted or not message.body_available:
        summary = (
            f"ARC chain of {arc.sets} set(s) can't be verified here: its signatures cover the body, which "
            "a paste or a cut message changes; upload the .eml"
        )
        return [Finding("arc", Status.INFO, "ARC", summary, evidence, kb="paste-body-unverifiable")]
    summary = f"ARC chain of {arc.sets} set(s) does not validate: {arc.reason}{first}"
    return [Finding("arc", Status.WARN, "ARC", summary, evidence, kb="arc")]


# -- Authentication-Results ----------------------------------------------------------------------------


@dataclass
class MethodResult:
    method: str
    result: str
    props: dict[str, str] = field(default_factory=dict)
    comment: str = ""


@dataclass
class AuthResults:
    authserv_id: str  # empty when the header starts straight with results (Microsoft writes them so)
    results: list[MethodResult]
    raw: str = ""


def _split_top(text: str, sep: str) -> list[str]:
    parts, depth, quoted, start = [], 0, False, 0
    for i, ch in enumerate(text):
        if ch == '"' and depth == 0:
            quoted = not quoted
        elif quoted:
            continue
        elif ch == "(":
            depth += 1
        elif ch == ")" and depth:
            depth -= 1
        elif ch == sep and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def _comments(text: str) -> tuple[str, str]:
    """(text without comments, the comments joined)."""
    kept, comments, depth, current = [], [], 0, []
    for ch in text:
        if ch == "(":
            depth += 1
            if depth == 1:
                current = []
                continue
        elif ch == ")" and depth:
            depth -= 1
            if depth == 0:
                comments.append("".join(current))
                kept.append(" ")
                continue
        (current if depth else kept).append(ch)
    return "".join(kept), " ".join(comments)


_TOKEN = re.compile(r'[^\s=]+\s*=\s*(?:"[^"]*"|[^\s;]*)|\S+')


def parse_auth_results(value: str) -> AuthResults:
    """RFC 8601, tolerantly: `authserv-id; method=result prop=value (comment); ...`."""
    parts = _split_top(value, ";")
    head, _ = _comments(parts[0])
    head_tokens = head.split()
    authserv_id = ""
    if head_tokens and "=" not in head_tokens[0]:
        authserv_id = head_tokens[0].lower()
    else:
        parts = ["", *parts]  # no authserv-id: the first part is already a result
    results = []
    for part in parts[1:]:
        text, comment = _comments(part)
        tokens = [t for t in _TOKEN.findall(text)]
        if not tokens or "=" not in tokens[0]:
            continue
        method, _, result = tokens[0].partition("=")
        method = method.split("/")[0].strip().lower()
        props = {}
        for token in tokens[1:]:
            key, eq, val = token.partition("=")
            if eq:
                props[key.strip().lower()] = val.strip().strip('"')
        results.append(MethodResult(method, result.strip().lower(), props, comment))
    return AuthResults(authserv_id, results, value)


def their_ip(results: list[MethodResult]) -> str | None:
    """The connecting IP a receiver noted in its SPF result, if it wrote one."""
    for r in results:
        for key in ("smtp.remote-ip", "policy.iprev", "smtp.client-ip", "client-ip"):
            if key in r.props:
                return r.props[key]
        match = re.search(r"(?:sender IP is|designates)\s+([0-9A-Fa-f:.]+)", r.comment)
        if match:
            return match.group(1).rstrip(".")
    return None


@dataclass
class Ours:
    spf: str | None
    ip: str | None
    sigs: list[Signature]
    dmarc: str | None
    arc: str | None


_NOT_PASS = {"fail", "softfail", "neutral", "none", "permerror", "policy"}


def _compare(method: str, theirs: str, ours: str | None, what: str) -> tuple[Status, str] | None:
    if ours is None or theirs == ours or (theirs in _NOT_PASS and ours in _NOT_PASS):
        return None
    if ours == "unverified":
        return Status.INFO, f"{what}: they said {method}={theirs}; we could verify only the headers"
    if (theirs == "pass" and ours in _NOT_PASS) or (ours == "pass" and theirs in _NOT_PASS):
        return Status.WARN, f"{what}: they said {method}={theirs}, we find {ours}"
    return Status.INFO, f"{what}: they said {method}={theirs}, we find {ours}"


def _match_sig(result: MethodResult, sigs: list[Signature]) -> Signature | None:
    d = result.props.get("header.d") or result.props.get("header.i", "").rpartition("@")[2]
    d = d.strip().rstrip(".").lower()
    s = result.props.get("header.s", "").strip().lower()
    b = result.props.get("header.b", "").strip()
    by_identity = not result.props.get("header.d")
    for sig in sigs:
        # header.i may name a subdomain of d= (RFC 6376 §3.5), as Gmail's @sub.example does.
        if d and sig.domain != d and not (by_identity and sig.domain and d.endswith("." + sig.domain)):
            continue
        if s and sig.selector != s:
            continue
        if b and not re.sub(r"\s+", "", sig.tags.get("b", "")).startswith(b):
            continue
        return sig
    return None


def auth_results_findings(message: Message, ours: Ours) -> list[Finding]:
    """Compare the receiver's recorded verdicts with ours: the topmost author's Authentication-Results."""
    parsed = [parse_auth_results(v) for v in message.all("Authentication-Results")]
    received_spf = message.first("Received-SPF")
    if not parsed and received_spf is None:
        return []
    author = parsed[0].authserv_id if parsed else ""
    mine = [p for p in parsed if p.authserv_id == author]
    results = [r for p in mine for r in p.results]
    if received_spf is not None and not any(r.method == "spf" for r in results):
        words = received_spf.split()
        if words:
            text, comment = _comments(received_spf)
            client = re.search(r"client-ip=([0-9A-Fa-f:.]+)", text)
            props = {"client-ip": client.group(1)} if client else {}
            results.append(MethodResult("spf", words[0].lower(), props, comment))
    who = author or "the receiver"
    compared: list[tuple[Status, str]] = []
    seen: list[str] = []
    for r in results:
        seen.append(f"{r.method}={r.result}")
        if r.method == "spf":
            outcome = _compare("spf", r.result, ours.spf, "SPF")
            recorded = their_ip([r])
            if outcome and recorded and ours.ip and recorded != ours.ip:
                outcome = (Status.INFO, outcome[1] + f" (they evaluated {recorded}, we {ours.ip})")
        elif r.method == "dkim":
            sig = _match_sig(r, ours.sigs)
            if sig is None:
                d = r.props.get("header.d") or r.props.get("header.i", "?")
                outcome = (
                    (Status.INFO, f"DKIM: they said dkim={r.result} for {d}, which we can't match")
                    if r.result != "none" or ours.sigs
                    else None
                )
            else:
                outcome = _compare("dkim", r.result, sig.result, f"DKIM {sig.label}")
        elif r.method == "dmarc":
            outcome = _compare("dmarc", r.result, ours.dmarc, "DMARC")
        elif r.method == "arc":
            outcome = _compare("arc", r.result, ours.arc, "ARC")
        else:
            continue
        if outcome is not None:
            compared.append(outcome)
    evidence = {
        "authserv_id": author,
        "headers": [p.raw for p in mine],
        "results": seen,
        "other_authors": sorted({p.authserv_id for p in parsed if p.authserv_id != author}),
    }
    if received_spf is not None:
        evidence["received_spf"] = received_spf
    if not compared:
        summary = f"{who}'s recorded verdicts ({' '.join(seen) or 'none'}) agree with ours"
        return [Finding("auth-results", Status.PASS, who, summary, evidence)]
    worst = min(compared, key=lambda c: c[0].rank)[0]
    evidence["differences"] = [text for _, text in compared]
    hint = (
        ": keys may have changed since delivery, DNS may have failed for one of us, or the message was "
        "changed after it arrived (forwarding, a paste)"
    )
    summary = f"{who}'s Authentication-Results differ from ours — {'; '.join(t for _, t in compared)}{hint}"
    return [Finding("auth-results", worst, who, summary, evidence, kb="auth-results-mismatch")]
