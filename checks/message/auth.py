"""SPF and DMARC for one message: what a receiver would conclude at the sending hop.

SPF is evaluated by pyspf for the sending IP and the envelope sender (checks/spf_eval.py); DMARC from
the From domain's record (checks/dmarc.py's lookup and parser) with alignment judged on organisational
domains (checks/psl.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from checks.dmarc import Policy, Record
from checks.dns import Resolver
from checks.message.dkim_verify import Signature
from checks.message.parse import Address
from checks.model import Finding, Status
from checks.psl import organizational_domain
from checks.spf_eval import Evaluation, evaluate

# -- SPF -----------------------------------------------------------------------------------------------


@dataclass
class Spf:
    """The SPF result a receiver would have reached at the sending hop, and for which domain."""

    evaluation: Evaluation | None = None
    identity: str = "mailfrom"  # mailfrom | helo
    domain: str | None = None  # the domain SPF speaks for, used for DMARC alignment
    skipped: str | None = None  # why it was not evaluated
    envelope_unknown: bool = False  # no Return-Path: only the HELO identity could be evaluated

    @property
    def result(self) -> str | None:
        return self.evaluation.result if self.evaluation else None


async def evaluate_spf(resolver: Resolver, ip: str | None, envelope: Address | None, helo: str | None) -> Spf:
    if ip is None:
        return Spf(skipped="no sending IP was found in the Received headers")
    helo = helo or ""
    if envelope is None:
        if not helo:
            return Spf(skipped="no Return-Path and no HELO name: nothing to evaluate SPF for")
        # Without the envelope sender only the HELO identity can be evaluated; alignment stays unknown.
        return Spf(await evaluate(resolver, ip, "", helo), "helo", None, envelope_unknown=True)
    if not envelope.address:
        return Spf(await evaluate(resolver, ip, "", helo), "helo", _hostname(helo))
    if envelope.domain is None:
        return Spf(
            skipped=f"the envelope sender {envelope.address!r} has no usable domain ({envelope.problem})"
        )
    return Spf(await evaluate(resolver, ip, envelope.address, helo), "mailfrom", envelope.domain)


def _hostname(name: str) -> str | None:
    name = name.strip().rstrip(".").lower()
    return name if "." in name and not re.fullmatch(r"[\d.]+|.*:.*", name) else None


def spf_findings(spf: Spf, ip: str | None, envelope: Address | None) -> list[Finding]:
    if spf.evaluation is None:
        summary = f"SPF not evaluated: {spf.skipped}"
        return [
            Finding("spf", Status.INFO, ip or "message", summary, {"reason": spf.skipped}, kb="message-path")
        ]
    ev = spf.evaluation
    evidence = ev.evidence() | {"identity": spf.identity}
    if spf.identity == "helo":
        whom = (
            f"the HELO name {ev.helo} (the envelope sender is empty)"
            if envelope is not None
            else f"the HELO name {ev.helo} (no Return-Path header: the envelope sender is unknown)"
        )
    else:
        whom = f"{spf.domain} (Return-Path {ev.sender})"
    if ev.result == "pass":
        status, kb = Status.PASS, "spf-ok"
        summary = f"SPF pass: {ev.ip} may send for {whom}"
    elif ev.result == "temperror":
        status, kb = Status.ERROR, "dns-lookup-failed"
        summary = f"could not check SPF for {ev.ip} and {whom}: {ev.problem or 'a DNS lookup failed'}"
    elif ev.result == "none":
        status, kb = Status.FAIL, "spf-missing"
        summary = f"SPF none: {whom} publishes no SPF record"
    elif ev.result == "permerror":
        status, kb = Status.FAIL, "spf-syntax"
        summary = f"SPF permerror for {whom}: {ev.problem or 'the record is broken'}"
    else:
        # softfail counts as failing here: bulk senders need SPF to pass, not just not to fail outright.
        status = Status.WARN if ev.result == "neutral" else Status.FAIL
        kb = "spf-ip-not-authorised"
        matched = f" (matched {ev.mechanism})" if ev.mechanism else ""
        summary = f"SPF {ev.result}: {ev.ip} is not authorised to send for {whom}{matched}"
    if spf.envelope_unknown and status is Status.FAIL:
        # The receiver judged the envelope sender, which this copy of the message doesn't show.
        status = Status.WARN
    return [Finding("spf", status, ev.ip, summary, evidence, kb=kb)]


# -- DMARC ---------------------------------------------------------------------------------------------


def aligned(domain: str | None, from_domain: str, mode: str) -> bool:
    if not domain:
        return False
    domain = domain.strip().rstrip(".").lower()
    if mode == "s":
        return domain == from_domain
    return organizational_domain(domain) == organizational_domain(from_domain)


@dataclass
class Dmarc:
    from_domain: str | None
    policy: Policy | None = None
    result: str = "none"  # pass | fail | none | temperror | permerror | unknown
    adkim: str = "r"
    aspf: str = "r"
    dkim_aligned: list[str] = field(default_factory=list)  # d= of aligned signatures that pass
    spf_aligned: bool = False
    disposition: str | None = None  # what a failing message gets: none | quarantine | reject
    explanation: list[str] = field(default_factory=list)
    undecided_kb: str | None = None  # with result "unknown": the entry explaining what is missing

    @property
    def record(self) -> Record | None:
        return self.policy.record if self.policy else None

    def evidence(self) -> dict:
        data: dict = {"from_domain": self.from_domain, "result": self.result}
        if self.policy is not None:
            data |= self.policy.evidence()
        if self.record is not None:
            data["record"] = self.record.text
        data |= {"adkim": self.adkim, "aspf": self.aspf, "dkim_aligned": self.dkim_aligned}
        data["spf_aligned"] = self.spf_aligned
        if self.disposition:
            data["disposition"] = self.disposition
        return data


def evaluate_dmarc(from_domain: str | None, policy: Policy | None, spf: Spf, sigs: list[Signature]) -> Dmarc:
    """RFC 7489 §6.6: the record, then SPF and DKIM alignment (relaxed or strict), then the outcome."""
    out = Dmarc(from_domain, policy)
    if from_domain is None or policy is None:
        return out
    if policy.failed is not None:
        out.result = "temperror"
        return out
    if policy.source is None:
        return out
    record = policy.record
    if record is None or record.p is None:
        out.result = "permerror"
        return out
    out.adkim = record.tags.get("adkim", "r").lower()
    out.aspf = record.tags.get("aspf", "r").lower()
    out.dkim_aligned = [
        s.domain for s in sigs if s.result == "pass" and aligned(s.domain, from_domain, out.adkim)
    ]
    out.spf_aligned = spf.result == "pass" and aligned(spf.domain, from_domain, out.aspf)
    if out.dkim_aligned or out.spf_aligned:
        out.result = "pass"
    elif any(s.result == "temperror" and aligned(s.domain, from_domain, out.adkim) for s in sigs) or (
        spf.result == "temperror" and (spf.domain is None or aligned(spf.domain, from_domain, out.aspf))
    ):
        out.result = "temperror"
    elif unverified := [
        s
        for s in sigs
        if s.result == "unverified" and s.headers_verified and aligned(s.domain, from_domain, out.adkim)
    ]:
        out.result, out.undecided_kb = "unknown", unverified[0].kb
    elif spf.envelope_unknown:
        out.result, out.undecided_kb = "unknown", "message-path"
    else:
        out.result = "fail"
        out.disposition = policy.effective(record) or "none"
    out.explanation = _explain(out, spf, sigs)
    return out


def _explain(out: Dmarc, spf: Spf, sigs: list[Signature]) -> list[str]:
    from_domain = out.from_domain or "?"
    parts = []
    if spf.evaluation is None:
        parts.append("SPF not evaluated")
    elif spf.result != "pass":
        parts.append(f"SPF {spf.result}")
    elif spf.domain is None:
        parts.append("SPF passes for the HELO name, but the envelope sender is unknown")
    elif out.spf_aligned:
        parts.append(f"SPF aligned ({spf.domain})")
    else:
        parts.append(
            f"SPF passes for {spf.domain}, which is not aligned with {from_domain} (aspf={out.aspf})"
        )
    passing = [s for s in sigs if s.result == "pass"]
    if out.dkim_aligned:
        parts.append(f"DKIM aligned (d={', '.join(dict.fromkeys(out.dkim_aligned))})")
    elif not sigs:
        parts.append("no DKIM signature")
    elif not passing:
        parts.append("no DKIM signature verifies")
    else:
        domains = ", ".join(dict.fromkeys(s.domain for s in passing))
        parts.append(f"DKIM passes only for d={domains}, not aligned with {from_domain} (adkim={out.adkim})")
    return parts


def dmarc_findings(out: Dmarc) -> list[Finding]:
    evidence = out.evidence()
    if out.from_domain is None:
        summary = "no usable From address: DMARC can't be evaluated, and receivers refuse such mail"
        return [Finding("dmarc", Status.FAIL, "From", summary, evidence, kb="bulk-from-date-msgid")]
    about = out.from_domain
    policy = out.policy
    if policy is None:
        summary = f"could not check DMARC for {about}: the lookup did not finish"
        return [Finding("dmarc", Status.ERROR, about, summary, evidence, kb="dns-lookup-failed")]
    if policy.failed is not None:
        failed = policy.failed
        summary = f"could not check DMARC for {about}: the lookup of {failed.name} {failed.describe()}"
        return [Finding("dmarc", Status.ERROR, about, summary, evidence, kb="dns-lookup-failed")]
    if policy.source is None:
        asked = " and ".join(r.name for r in policy.lookups)
        summary = (
            f"no DMARC record for {about} (asked {asked}): the message gets no DMARC protection, and Gmail, "
            "Yahoo and Microsoft require one from bulk senders"
        )
        return [Finding("dmarc", Status.FAIL, about, summary, evidence, kb="dmarc-missing")]
    record = out.record
    if record is None:
        summary = f"{len(policy.records)} DMARC records at _dmarc.{policy.source}: receivers ignore them all"
        return [Finding("dmarc", Status.FAIL, about, summary, evidence, kb="dmarc-multiple")]
    if out.result == "permerror":
        problem = record.errors[0] if record.errors else "no valid p= policy"
        summary = f"the DMARC record at _dmarc.{policy.source} is invalid: {problem}"
        return [Finding("dmarc", Status.FAIL, about, summary, evidence, kb="dmarc-syntax")]
    tag = policy.effective_tag(record)
    stated = f"{tag}={policy.effective(record)}"
    via = f" (from _dmarc.{policy.source})" if policy.fallback else ""
    why = "; ".join(out.explanation)
    if out.result == "pass":
        summary = f"DMARC pass for {about}: {why}; policy {stated}{via}"
        return [Finding("dmarc", Status.PASS, about, summary, evidence, kb="dmarc-ok")]
    if out.result == "temperror":
        summary = f"could not decide DMARC for {about}: a lookup it depends on failed ({why})"
        return [Finding("dmarc", Status.ERROR, about, summary, evidence, kb="dns-lookup-failed")]
    if out.result == "unknown" and out.undecided_kb == "message-path":
        summary = (
            f"DMARC for {about} can't be decided from this copy: no aligned DKIM signature verifies, and "
            f"without a Return-Path the envelope sender (and so SPF alignment) is unknown; policy {stated}"
        )
        return [Finding("dmarc", Status.INFO, about, summary, evidence, kb="message-path")]
    if out.result == "unknown":
        summary = (
            f"DMARC for {about} would pass if the body is intact: an aligned DKIM signature verifies on its "
            f"headers, but its body could not be checked ({why}); policy {stated}"
        )
        return [Finding("dmarc", Status.INFO, about, summary, evidence, kb=out.undecided_kb)]
    asks = {
        "reject": "asks receivers to reject it",
        "quarantine": "asks receivers to put it in spam",
        "none": "asks nothing (monitoring only), but bulk mail must still pass",
    }[out.disposition or "none"]
    pct = (
        f" (pct={record.pct}: for {record.pct}% of failing mail)"
        if record.pct < 100 and out.disposition != "none"
        else ""
    )
    summary = f"DMARC fails for {about}: {why}; {stated}{via} {asks}{pct}"
    return [Finding("dmarc", Status.FAIL, about, summary, evidence, kb="dmarc-not-aligned")]


def alignment_findings(out: Dmarc, sigs: list[Signature]) -> list[Finding]:
    """A DKIM signature that passes for a domain other than From's is worth a word: DMARC can't use it."""
    if out.from_domain is None:
        return []
    findings = []
    from_domain = out.from_domain
    for sig in sigs:
        if sig.result != "pass" or aligned(sig.domain, from_domain, out.adkim):
            continue
        evidence = {"d": sig.domain, "from_domain": from_domain, "adkim": out.adkim}
        unchecked = [
            s.domain for s in sigs if s.result == "temperror" and aligned(s.domain, from_domain, out.adkim)
        ]
        if out.dkim_aligned:
            summary = (
                f"DKIM signature by {sig.domain} is not aligned with {from_domain}; harmless, another "
                "signature aligns"
            )
            findings.append(
                Finding("dkim-signature", Status.INFO, sig.label, summary, evidence, kb="dkim-not-aligned")
            )
        elif unchecked:
            # The aligned signature exists; its key lookup failed, so "sign with d=..." would be wrong advice.
            summary = (
                f"DKIM signature by {sig.domain} is not aligned with {from_domain}; the aligned signature by "
                f"{unchecked[0]} could not be checked"
            )
            findings.append(
                Finding("dkim-signature", Status.INFO, sig.label, summary, evidence, kb="dkim-not-aligned")
            )
        else:
            mode = "strict, adkim=s" if out.adkim == "s" else "relaxed"
            summary = (
                f"DKIM passes for {sig.domain}, which is not aligned with the From domain {from_domain} "
                f"({mode}): DMARC can't count it; sign with d={from_domain} or a subdomain"
            )
            findings.append(
                Finding("dkim-signature", Status.WARN, sig.label, summary, evidence, kb="dkim-not-aligned")
            )
    return findings
