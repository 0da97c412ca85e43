"""The `mta-sts` check: the _mta-sts TXT record (RFC 8461), its HTTPS policy, and the MX hosts it covers."""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass, field

from checks import tagvalue
from checks.dns import Result
from checks.http import FetchError, HttpPolicy, fetch
from checks.model import Finding, Status
from checks.runner import Context

CHECK = "mta-sts"
POLICY_PATH = "/.well-known/mta-sts.txt"
MAX_AGE_LIMIT = 31_557_600  # RFC 8461 §3.2: about one year
MAX_AGE_SHORT = 86_400  # below a day, a cached policy protects little against a downgrade at refresh time
MODES = ("enforce", "testing", "none")

_ID = re.compile(r"^[A-Za-z0-9]{1,32}$")
_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


@dataclass
class StsRecord:
    """One `v=STSv1` TXT record as parsed; `problems` is empty when it is valid."""

    text: str
    id: str | None = None
    extensions: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def is_candidate(text: str) -> bool:
    # Senders keep only records that start with v=STSv1; a near miss (v=stsv1) is worth pointing out.
    return text.lstrip(tagvalue.WSP).lower().startswith("v=sts")


def parse_record(text: str) -> StsRecord:
    """RFC 8461 §3.1: `v=STSv1; id=<1-32 letters or digits>` plus optional extensions, `;`-separated."""
    record = StsRecord(text)
    for name, value, part in tagvalue.strict_fields(text, "STSv1", record.problems):
        if name == "id":
            if record.id is not None:
                record.problems.append("id appears more than once")
            elif not _ID.match(value):
                record.problems.append(f"id must be 1 to 32 letters or digits, not {value!r}")
            else:
                record.id = value
        else:
            tagvalue.add_extension(record.extensions, record.problems, name, value, part)
    if record.id is None and not any(p.startswith("id") for p in record.problems):
        record.problems.append("no id= field")
    return record


@dataclass
class Policy:
    """A policy file as parsed. `errors` make senders ignore it; `warnings` are worth fixing."""

    version: str | None = None
    mode: str | None = None
    max_age: int | None = None
    mx: list[str] = field(default_factory=list)
    extensions: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"version": self.version, "mode": self.mode, "max_age": self.max_age, "mx": self.mx}


def valid_mx_pattern(pattern: str) -> bool:
    """A host name, or `*.` followed by one: the wildcard stands for exactly one label."""
    name = pattern[2:] if pattern.startswith("*.") else pattern
    labels = name.lower().split(".")
    return len(labels) >= 2 and len(name) <= 253 and all(_LABEL.match(label) for label in labels)


def parse_policy(text: str) -> Policy:
    """RFC 8461 §3.2: `key: value` lines (LF or CRLF) with version, mode, max_age and mx."""
    policy = Policy()
    seen: set[str] = set()
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.removesuffix("\r").rstrip(tagvalue.WSP)
        if not line:
            continue
        key, colon, value = line.partition(":")
        value = value.lstrip(tagvalue.WSP)
        if not colon or not key or key != key.strip(tagvalue.WSP):
            policy.errors.append(f"line {number} is not 'key: value': {line[:80]!r}")
            continue
        if key.lower() in ("version", "mode", "max_age", "mx") and key != key.lower():
            policy.errors.append(f"line {number}: field names are case-sensitive, write {key.lower()!r}")
            continue
        if key in ("version", "mode", "max_age") and key in seen:
            policy.warnings.append(f"{key} appears more than once (line {number}); senders may read either")
            continue
        seen.add(key)
        if key == "version":
            policy.version = value
            if value != "STSv1":
                policy.errors.append(f"version must be STSv1, not {value!r}")
        elif key == "mode":
            policy.mode = value
            if value not in MODES:
                policy.errors.append(f"mode must be enforce, testing or none, not {value!r}")
        elif key == "max_age":
            if not value.isascii() or not value.isdigit() or len(value) > 10:
                policy.errors.append(f"max_age must be a number of seconds, not {value!r}")
            else:
                policy.max_age = int(value)
                if policy.max_age > MAX_AGE_LIMIT:
                    policy.errors.append(f"max_age {value} is above the limit of {MAX_AGE_LIMIT} (one year)")
        elif key == "mx":
            pattern = value
            if pattern.endswith(".") and valid_mx_pattern(pattern[:-1]):
                policy.warnings.append(f"mx pattern {pattern!r} ends with a dot; write it without")
                pattern = pattern[:-1]
            if not valid_mx_pattern(pattern):
                policy.errors.append(f"mx pattern {value!r} is not a host name or *.host name")
            else:
                policy.mx.append(pattern.lower())
        elif tagvalue.is_extension_name(key):
            policy.extensions[key] = value
        else:
            policy.errors.append(f"line {number}: malformed field name {key!r}")
    if policy.version is None:
        policy.errors.append("no version field (version: STSv1)")
    if policy.mode is None:
        policy.errors.append("no mode field (mode: enforce, testing or none)")
    if policy.max_age is None and not any(e.startswith("max_age") for e in policy.errors):
        policy.errors.append("no max_age field")
    if not policy.mx and policy.mode in ("enforce", "testing"):
        policy.errors.append(f"no mx field: a policy in {policy.mode} mode must list the MX hosts")
    if (
        policy.max_age is not None
        and policy.max_age < MAX_AGE_SHORT
        and policy.mode in ("enforce", "testing")
    ):
        policy.warnings.append(
            f"max_age is only {policy.max_age}s: senders re-fetch so often that an attacker has many chances "
            "to block the fetch (weeks are usual)"
        )
    return policy


def mx_matches(host: str, pattern: str) -> bool:
    """RFC 8461 §4.1: exact match, or `*.example.com` matching one extra label (not example.com itself)."""
    host = host.rstrip(".").lower()
    pattern = pattern.rstrip(".").lower()
    if pattern.startswith("*."):
        first, dot, rest = host.partition(".")
        return bool(first) and bool(dot) and rest == pattern[2:]
    return host == pattern


def _finding(status: Status, about: str, summary: str, evidence: dict, kb: str | None) -> Finding:
    return Finding(CHECK, status, about, summary, evidence, kb)


async def check(ctx: Context) -> list[Finding]:
    started = time.monotonic()
    domain = ctx.domain
    if domain is None:
        return []
    name = f"_mta-sts.{domain}"
    txt, mx = await asyncio.gather(ctx.dns.query(name, "TXT"), ctx.dns.query(domain, "MX"))
    evidence: dict = {"record_lookup": txt.evidence()}
    if txt.failed:
        summary = f"could not check: the lookup of {name} TXT failed ({txt.describe()})"
        return [_finding(Status.ERROR, domain, summary, evidence, "dns-lookup-failed")]
    records = [r for r in txt.records if is_candidate(r)] if txt.ok else []
    if not records:
        summary = f"no MTA-STS record at {name}: senders may deliver over unencrypted or unverified TLS"
        return [_finding(Status.INFO, domain, summary, evidence, "mta-sts-missing")]
    evidence["records"] = records
    if len(records) > 1:
        summary = f"{len(records)} MTA-STS records at {name}: senders ignore them all and apply no policy"
        return [_finding(Status.FAIL, domain, summary, evidence, "mta-sts-syntax")]
    record = parse_record(records[0])
    if record.problems:
        evidence["problems"] = record.problems
        summary = f"the MTA-STS record is invalid ({record.problems[0]}): senders apply no policy"
        return [_finding(Status.FAIL, domain, summary, evidence, "mta-sts-syntax")]
    evidence["id"] = record.id
    return await _check_policy(ctx, domain, mx, evidence, started)


async def _check_policy(
    ctx: Context, domain: str, mx: Result, evidence: dict, started: float
) -> list[Finding]:
    host = f"mta-sts.{domain}"
    policy_source = ctx.http if isinstance(ctx.http, HttpPolicy) else HttpPolicy()
    deadline = ctx.settings.check_deadline
    # Leave room to report before the runner's deadline turns the whole check into "timed out".
    remaining = deadline - (time.monotonic() - started) - min(0.5, deadline / 10)
    if remaining <= 0.1:
        summary = "could not fetch the policy: no time left before CHECK_DEADLINE"
        return [_finding(Status.ERROR, domain, summary, evidence, "mta-sts-policy-fetch")]
    try:
        response = await fetch(ctx.dns, host, POLICY_PATH, policy_source, budget=remaining)
    except FetchError as exc:
        evidence["fetch"] = exc.evidence
        summary = f"could not fetch the policy: {exc.reason}"
        return [_finding(Status.ERROR, domain, summary, evidence, "mta-sts-policy-fetch")]
    evidence["fetch"] = response.evidence
    if 300 <= response.status < 400:
        where = f" to {response.location}" if response.location else ""
        summary = (
            f"could not fetch the policy: HTTP {response.status} redirect{where} (never followed, RFC 8461)"
        )
        return [_finding(Status.ERROR, domain, summary, evidence, "mta-sts-policy-fetch")]
    if response.status != 200:
        summary = f"could not fetch the policy: {response.url} answered HTTP {response.status}"
        return [_finding(Status.ERROR, domain, summary, evidence, "mta-sts-policy-fetch")]
    findings: list[Finding] = []
    if response.content_type != "text/plain":
        shown = response.content_type or "no content type"
        summary = f"the policy is served as {shown}, not text/plain: strict senders reject it"
        findings.append(_finding(Status.WARN, host, summary, {"url": response.url}, "mta-sts-policy-fetch"))
    policy = parse_policy(response.text)
    evidence["policy"] = policy.to_dict()
    evidence["policy_text"] = response.text[:2000]
    if policy.errors:
        evidence["problems"] = policy.errors
        summary = f"the MTA-STS policy is invalid ({policy.errors[0]}): senders apply no policy"
        return [*findings, _finding(Status.FAIL, domain, summary, evidence, "mta-sts-policy-invalid")]
    for warning in policy.warnings:
        findings.append(
            _finding(
                Status.WARN,
                host,
                f"MTA-STS policy: {warning}",
                {"url": response.url},
                "mta-sts-policy-invalid",
            )
        )
    if policy.mode == "none":
        summary = "the MTA-STS policy is in mode none: senders drop the policy and deliver without it"
        return [*findings, _finding(Status.INFO, domain, summary, evidence, "mta-sts-testing")]
    return findings + _compare_mx(domain, mx, policy, evidence)


def _compare_mx(domain: str, mx: Result, policy: Policy, evidence: dict) -> list[Finding]:
    evidence["mx_lookup"] = mx.evidence()
    if mx.failed:
        summary = (
            f"could not check the MX hosts against the MTA-STS policy: the MX lookup failed ({mx.describe()})"
        )
        return [_finding(Status.ERROR, domain, summary, evidence, "dns-lookup-failed")]
    hosts = (
        sorted({host for _, host in mx.records}) if mx.ok else [domain]
    )  # no MX: the domain itself (RFC 5321)
    if hosts == [""]:
        summary = "the domain publishes a null MX (it receives no mail), so its MTA-STS policy covers nothing"
        return [_finding(Status.INFO, domain, summary, evidence, "mta-sts-ok")]
    matched = {h: next((p for p in policy.mx if mx_matches(h, p)), None) for h in hosts}
    evidence["mx_hosts"] = matched
    unmatched = [h for h, p in matched.items() if p is None]
    enforce = policy.mode == "enforce"
    findings: list[Finding] = []
    for host in unmatched:
        if enforce:
            summary = (
                f"MX host {host} is not in the MTA-STS policy: senders honouring it will not deliver there"
            )
        else:
            summary = f"MX host {host} is not in the MTA-STS policy: it would be refused once mode is enforce"
        status = Status.FAIL if enforce else Status.WARN
        findings.append(_finding(status, host, summary, evidence, "mta-sts-mx-mismatch"))
    covered = f"covers {len(hosts) - len(unmatched)} of {len(hosts)} MX hosts"
    if policy.mode == "testing":
        summary = (
            f"MTA-STS is in testing mode (policy {covered}): TLS failures are reported, mail still flows"
        )
        findings.append(_finding(Status.INFO, domain, summary, evidence, "mta-sts-testing"))
    elif not unmatched:
        summary = (
            f"MTA-STS is enforced: the policy (id {evidence['id']}, max_age {policy.max_age}s) {covered}"
        )
        findings.append(_finding(Status.PASS, domain, summary, evidence, "mta-sts-ok"))
    return findings
