"""The DMARC record that applies to the domain (RFC 7489): one record, valid tags, policy, reports."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from urllib.parse import unquote

from checks import tagvalue
from checks.dns import Resolver, Result
from checks.model import Finding, Status
from checks.psl import organizational_domain, same_org
from checks.runner import Context

CHECK = "dmarc"
POLICIES = ("none", "quarantine", "reject")  # weakest first
# RFC 7489 §6.4: the tag name is case-insensitive ("V=DMARC1" is valid), the version value is not.
_VERSION = re.compile(r"^\s*[vV]\s*=\s*DMARC1\s*(;|$)")
_VERSION_VALUE = re.compile(r"^\s*v\s*=\s*([^;\s]*)", re.I)
_RUN_ON = re.compile(r"\s[A-Za-z][A-Za-z0-9_]*\s*=")  # "v=DMARC1 p=reject": a tag with no ';' before it
_URI = re.compile(r"^(?P<scheme>[a-z][a-z0-9+.-]*):(?P<rest>[^!]+)(?:!(?P<size>\d+[kmgt]?))?$", re.I)
_KNOWN = {"v", "p", "sp", "pct", "adkim", "aspf", "fo", "rf", "ri", "rua", "ruf"}


def is_dmarc(text: str) -> bool:
    """A TXT string meant as a DMARC record (found even when misspelt or out of order, to report it)."""
    return "v=dmarc1" in re.sub(r"\s+", "", text).lower()


@dataclass
class Record:
    """One parsed DMARC record; `errors` make receivers ignore it or a tag, `warnings` are lesser faults."""

    text: str
    tags: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    reports: dict[str, list[str]] = field(default_factory=dict)  # rua/ruf → mailto domains

    @property
    def p(self) -> str | None:
        value = self.tags.get("p", "").lower()
        return value if value in POLICIES else None

    @property
    def sp(self) -> str | None:
        value = self.tags.get("sp", "").lower()
        return value if value in POLICIES else None

    @property
    def pct(self) -> int:
        value = self.tags.get("pct", "100")
        return int(value) if value.isdigit() and int(value) <= 100 else 100


def parse_record(text: str) -> Record:
    record = Record(text)
    run_on = False
    for name, value, pair in tagvalue.tag_list(text, record.errors.append):
        if _RUN_ON.search(value):
            run_on = True
            record.errors.append(f"tags must be separated by ';' (found {pair!r})")
        if name in record.tags:
            record.errors.append(f"tag {name}= appears twice")
            continue
        record.tags[name] = value.strip()
    version = _VERSION_VALUE.match(text)
    if not _VERSION.match(text) and not (run_on and version and version.group(1) == "DMARC1"):
        if version and version.group(1).lower() == "dmarc1":
            why = (
                f"v={version.group(1)}: the version must be written DMARC1, in capitals; receivers ignore it"
            )
        else:
            why = "the record must start with v=DMARC1; receivers ignore it"
        record.errors.insert(0, why)
    _validate(record)
    return record


def _validate(record: Record) -> None:
    tags = record.tags
    if "p" not in tags:
        record.errors.append("no p= tag: the record states no policy")
    elif record.p is None:
        record.errors.append(f"p={tags['p']} is not none, quarantine or reject")
    if "sp" in tags and record.sp is None:
        record.errors.append(f"sp={tags['sp']} is not none, quarantine or reject")
    if "pct" in tags and not (tags["pct"].isdigit() and int(tags["pct"]) <= 100):
        record.errors.append(f"pct={tags['pct']} is not a whole number from 0 to 100")
    for tag in ("adkim", "aspf"):
        if tag in tags and tags[tag].lower() not in ("r", "s"):
            record.errors.append(f"{tag}={tags[tag]} is not r (relaxed) or s (strict)")
    if "fo" in tags and not all(o.strip() in ("0", "1", "d", "s") for o in tags["fo"].split(":")):
        record.warnings.append(f"fo={tags['fo']} has options other than 0, 1, d, s")
    if "rf" in tags and not all(f.strip().lower() == "afrf" for f in tags["rf"].split(":")):
        record.warnings.append(f"rf={tags['rf']}: afrf is the only defined report format")
    if "ri" in tags and not tags["ri"].isdigit():
        record.warnings.append(f"ri={tags['ri']} is not a number of seconds")
    for tag in ("rua", "ruf"):
        if tag in tags:
            record.reports[tag] = _report_domains(record, tag, tags[tag])


def _report_domains(record: Record, tag: str, value: str) -> list[str]:
    domains = []
    for uri in (u.strip() for u in value.split(",")):
        match = _URI.match(uri)
        if not match:
            record.warnings.append(f"{tag}: {uri!r} is not a URI (write mailto:address@domain)")
            continue
        if match["scheme"].lower() != "mailto":
            record.warnings.append(f"{tag}: {uri} is not a mailto: URI; receivers send reports by email")
            continue
        address = unquote(match["rest"].split("?")[0])
        local, at, domain = address.rpartition("@")
        domain = domain.strip().rstrip(".").lower()
        if not at or not local or "." not in domain:
            record.warnings.append(f"{tag}: {uri} is not a valid email address")
            continue
        domains.append(domain)
    return domains


@dataclass
class Policy:
    """The DMARC record that applies to `domain`: its own, or its organisational domain's (§6.6.3)."""

    domain: str
    source: str | None = None  # whose _dmarc record applies
    records: list[str] = field(default_factory=list)  # the DMARC records at the applying name
    lookups: list[Result] = field(default_factory=list)
    failed: Result | None = None

    @property
    def fallback(self) -> bool:
        return self.source is not None and self.source != self.domain

    @cached_property
    def record(self) -> Record | None:
        return parse_record(self.records[0]) if len(self.records) == 1 else None

    def effective(self, record: Record) -> str | None:
        """The policy for mail from `domain`: a subdomain under its parent's record gets sp= (else p=)."""
        if self.fallback and record.sp:
            return record.sp
        return record.p

    def effective_tag(self, record: Record) -> str:
        return "sp" if self.fallback and record.sp else "p"

    def evidence(self) -> dict:
        data: dict = {"lookups": [r.evidence() for r in self.lookups]}
        if self.source:
            data["applies_from"] = f"_dmarc.{self.source}"
        return data


async def find_records(
    dns: Resolver, prefix: str, domain: str, wanted: Callable[[str], bool]
) -> tuple[list[Result], str | None, list[str]]:
    """The TXT records `wanted` at `<prefix>.<domain>`, else at the organisational domain's (§6.6.3;
    BIMI falls back the same way). Returns the lookups made, the domain whose records were found (None
    if none were) and those records; a failed lookup ends the search, as the last lookup."""
    lookups: list[Result] = []
    for name in dict.fromkeys((domain, organizational_domain(domain))):
        result = await dns.query(f"{prefix}.{name}", "TXT")
        lookups.append(result)
        if result.failed:
            break
        records = [r for r in result.records if wanted(r)]
        if records:
            return lookups, name, records
    return lookups, None, []


async def find_policy(dns: Resolver, domain: str) -> Policy:
    """Look up `_dmarc.<domain>`, falling back to the organisational domain when there is none there."""
    lookups, source, records = await find_records(dns, "_dmarc", domain, is_dmarc)
    failed = lookups[-1] if lookups[-1].failed else None
    return Policy(domain, source=source, records=records, lookups=lookups, failed=failed)


async def check(ctx: Context) -> list[Finding]:
    domain = ctx.domain
    if domain is None:
        return []
    policy = await find_policy(ctx.dns, domain)
    evidence = policy.evidence()
    about = f"_dmarc.{domain}"
    if policy.failed is not None:
        summary = f"could not check: the lookup of {policy.failed.name} failed ({policy.failed.describe()})"
        return [Finding(CHECK, Status.ERROR, about, summary, evidence, kb="dns-lookup-failed")]
    if policy.source is None:
        asked = " or ".join(r.name for r in policy.lookups)
        summary = f"no DMARC record at {asked}: anyone can send as {domain}, and bulk mail is refused"
        return [Finding(CHECK, Status.FAIL, about, summary, evidence, kb="dmarc-missing")]
    about = f"_dmarc.{policy.source}"
    if len(policy.records) > 1:
        evidence["records"] = policy.records
        summary = f"{len(policy.records)} DMARC records at {about}: receivers ignore them all; keep one"
        return [Finding(CHECK, Status.FAIL, about, summary, evidence, kb="dmarc-multiple")]
    record = policy.record
    assert record is not None
    evidence.update(record=record.text, tags=record.tags)
    ignored = sorted(set(record.tags) - _KNOWN)
    if ignored:
        evidence["ignored_tags"] = ignored
    findings = _policy_findings(domain, policy, record, about, evidence)
    findings.extend(await _report_findings(ctx, policy.source, record, about, evidence))
    return findings


def _policy_findings(
    domain: str, policy: Policy, record: Record, about: str, evidence: dict
) -> list[Finding]:
    findings: list[Finding] = []
    where = f" (no record at _dmarc.{domain}; the organisational domain's applies)" if policy.fallback else ""
    if record.errors:
        evidence["problems"] = record.errors + record.warnings
        more = f" (+{len(record.errors) - 1} more)" if len(record.errors) > 1 else ""
        summary = f"DMARC record at {about} is invalid: {record.errors[0]}{more}{where}"
        findings.append(Finding(CHECK, Status.FAIL, about, summary, evidence, kb="dmarc-syntax"))
    elif record.warnings:
        evidence["problems"] = record.warnings
        more = f" (+{len(record.warnings) - 1} more)" if len(record.warnings) > 1 else ""
        summary = f"DMARC record at {about}: {record.warnings[0]}{more}"
        findings.append(Finding(CHECK, Status.WARN, about, summary, evidence, kb="dmarc-syntax"))
    effective = policy.effective(record)
    if effective is None:
        return findings
    tag = policy.effective_tag(record)
    modes = f"adkim={record.tags.get('adkim', 'r').lower()}, aspf={record.tags.get('aspf', 'r').lower()}"
    if effective == "none":
        summary = f"DMARC {tag}=none for {domain}: monitoring only, spoofed mail is still delivered{where}"
        findings.append(Finding(CHECK, Status.WARN, about, summary, evidence, kb="dmarc-policy-none"))
    elif not record.errors:
        summary = f"DMARC {tag}={effective} for {domain} ({modes}){where}"
        findings.append(Finding(CHECK, Status.PASS, about, summary, evidence, kb="dmarc-ok"))
    if effective != "none" and record.pct < 100:
        summary = (
            f"DMARC pct={record.pct}: {tag}={effective} applies to only {record.pct}% of failing mail; "
            "the rest gets the next weaker treatment"
        )
        findings.append(Finding(CHECK, Status.WARN, about, summary, evidence, kb="dmarc-pct"))
    if record.p and record.sp and POLICIES.index(record.sp) < POLICIES.index(record.p):
        summary = (
            f"DMARC sp={record.sp} is weaker than p={record.p}: "
            f"subdomains of {policy.source} are easier to spoof"
        )
        findings.append(Finding(CHECK, Status.WARN, about, summary, evidence, kb="dmarc-subdomain-weaker"))
    return findings


async def _report_findings(
    ctx: Context, source: str, record: Record, about: str, evidence: dict
) -> list[Finding]:
    findings: list[Finding] = []
    if not record.reports.get("rua"):
        summary = f"no aggregate reports (rua=) requested at {about}: you can't see who sends as your domain"
        findings.append(Finding(CHECK, Status.INFO, about, summary, evidence, kb="dmarc-no-reports"))
    external = sorted({d for domains in record.reports.values() for d in domains if not same_org(d, source)})
    results = await asyncio.gather(*(ctx.dns.query(f"{source}._report._dmarc.{d}", "TXT") for d in external))
    for report_domain, result in zip(external, results, strict=True):
        tags = sorted(t for t, domains in record.reports.items() if report_domain in domains)
        data = {"record": record.text, "report_domain": report_domain, "tags": tags, **result.evidence()}
        uses = "/".join(tags)
        if result.failed:
            summary = f"could not check: the lookup of {result.name} failed ({result.describe()})"
            findings.append(Finding(CHECK, Status.ERROR, result.name, summary, data, kb="dns-lookup-failed"))
        elif any(_VERSION.match(r) for r in result.records):
            summary = f"{report_domain} accepts {uses} reports for {source} ({result.name})"
            findings.append(
                Finding(CHECK, Status.PASS, result.name, summary, data, kb="dmarc-external-reports")
            )
        else:
            summary = (
                f"{uses} reports to {report_domain} are not authorised (no v=DMARC1 record at "
                f"{result.name}): {report_domain} will not receive them"
            )
            findings.append(
                Finding(CHECK, Status.WARN, result.name, summary, data, kb="dmarc-external-reports")
            )
    return findings
