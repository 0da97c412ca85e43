"""The BIMI record (`default._bimi`): its syntax, and the DMARC enforcement that BIMI depends on."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from checks import tagvalue
from checks.dmarc import Policy, find_policy, find_records
from checks.model import Finding, Status
from checks.runner import Context

CHECK = "bimi"
_VERSION = re.compile(r"^\s*v\s*=\s*BIMI1\s*(;|$)")


def is_bimi(text: str) -> bool:
    return "v=bimi1" in re.sub(r"\s+", "", text).lower()


@dataclass
class Issue:
    status: Status
    text: str


@dataclass
class Record:
    text: str
    tags: dict[str, str] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)
    declined: bool = False  # `l=` and `a=` empty: the domain says it has no logo


def parse_record(text: str) -> Record:
    """Judge a BIMI assertion record: v=BIMI1 first, `l=` an https SVG URL, `a=` an https certificate URL."""
    record = Record(text)

    def fail(problem: str) -> None:
        record.issues.append(Issue(Status.FAIL, problem))

    if not _VERSION.match(text):
        fail("the record must start with v=BIMI1")
    for name, value, _ in tagvalue.tag_list(text, fail):
        if name in record.tags:
            fail(f"tag {name}= appears twice")
        else:
            record.tags[name] = value.strip()
    logo, cert = record.tags.get("l"), record.tags.get("a")
    if not logo and not cert:
        record.declined = "l" in record.tags
        if not record.declined:
            record.issues.append(Issue(Status.FAIL, "no l= tag: the record names no logo"))
        return record
    if not logo:
        record.issues.append(Issue(Status.FAIL, "l= is empty: the record names no logo"))
    else:
        for url in (u.strip() for u in logo.split(",")):
            if not _https(url):
                record.issues.append(Issue(Status.FAIL, f"l={url} is not an https:// URL"))
            elif not urlsplit(url).path.lower().endswith(".svg"):
                record.issues.append(Issue(Status.WARN, f"l={url} does not name an .svg file (SVG Tiny PS)"))
    if not cert:
        why = "no mark certificate (a=): Gmail and Apple Mail show a logo only with a VMC or CMC"
        record.issues.append(Issue(Status.WARN, why))
    elif not _https(cert):
        record.issues.append(Issue(Status.FAIL, f"a={cert} is not an https:// URL"))
    return record


def _https(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme.lower() == "https" and bool(parts.netloc)


async def check(ctx: Context) -> list[Finding]:
    domain = ctx.domain
    if domain is None:
        return []
    # The DMARC lookups are the dmarc check's own, cached for the run: asking now costs no extra query.
    (lookups, source, records), policy = await asyncio.gather(
        find_records(ctx.dns, "default._bimi", domain, is_bimi), find_policy(ctx.dns, domain)
    )
    evidence: dict = {"lookups": [r.evidence() for r in lookups]}
    about = f"default._bimi.{source or domain}"
    if lookups[-1].failed:
        failed = lookups[-1]
        summary = f"could not check: the lookup of {failed.name} failed ({failed.describe()})"
        return [Finding(CHECK, Status.ERROR, about, summary, evidence, kb="dns-lookup-failed")]
    if source is None:
        summary = f"no BIMI record at {about} (optional: it lets some mailboxes show your logo)"
        return [Finding(CHECK, Status.INFO, about, summary, evidence, kb="bimi-missing")]
    if len(records) > 1:
        evidence["records"] = records
        summary = f"{len(records)} BIMI records at {about}: receivers ignore them all; keep one"
        return [Finding(CHECK, Status.FAIL, about, summary, evidence, kb="bimi-syntax")]
    record = parse_record(records[0])
    evidence.update(record=record.text, tags=record.tags)
    if record.declined:
        summary = f"BIMI record at {about} declines to show a logo (empty l=)"
        return [Finding(CHECK, Status.INFO, about, summary, evidence, kb="bimi-missing")]
    findings: list[Finding] = []
    if record.issues:
        issues = sorted(record.issues, key=lambda i: i.status.rank)
        evidence["problems"] = [i.text for i in issues]
        more = f" (+{len(issues) - 1} more)" if len(issues) > 1 else ""
        summary = f"BIMI record at {about}: {issues[0].text}{more}"
        findings.append(Finding(CHECK, issues[0].status, about, summary, evidence, kb="bimi-syntax"))
    enforcement = _enforcement(domain, policy)
    evidence["dmarc"] = enforcement.evidence
    if enforcement.finding is not None:
        findings.append(enforcement.finding)
    elif not record.issues:
        summary = f"BIMI record at {about} names a logo and a mark certificate; DMARC is enforced"
        findings.append(Finding(CHECK, Status.PASS, about, summary, evidence, kb="bimi-ok"))
    return findings


@dataclass
class _Enforcement:
    evidence: dict
    finding: Finding | None = None


def _enforcement(domain: str, policy: Policy) -> _Enforcement:
    """BIMI is honoured only under DMARC quarantine or reject applied to all mail (pct=100)."""
    evidence = policy.evidence()
    about = f"_dmarc.{policy.source or domain}"
    if policy.failed is not None:
        summary = (
            f"could not check: whether DMARC is enforced, as BIMI needs (the lookup of "
            f"{policy.failed.name} failed: {policy.failed.describe()})"
        )
        finding = Finding(CHECK, Status.ERROR, about, summary, evidence, kb="dns-lookup-failed")
        return _Enforcement(evidence, finding)
    record = policy.record
    effective = policy.effective(record) if record else None
    if record is not None:
        evidence.update(record=record.text, policy=effective, pct=record.pct)
    if record is None:
        why = "there is no usable DMARC record"
    elif effective is None:
        why = "the DMARC record states no valid policy"
    elif effective == "none":
        why = "DMARC is p=none" if policy.effective_tag(record) == "p" else "DMARC is sp=none for it"
    elif record.sp == "none":
        why = "the DMARC record has sp=none"  # the BIMI draft refuses any record with sp=none
    elif record.pct < 100:
        why = f"DMARC pct={record.pct} (must be 100)"
    else:
        return _Enforcement(evidence)
    summary = f"BIMI needs DMARC at quarantine or reject for all mail, but {why}: no logo will be shown"
    return _Enforcement(
        evidence, Finding(CHECK, Status.WARN, about, summary, evidence, kb="bimi-needs-enforcement")
    )
