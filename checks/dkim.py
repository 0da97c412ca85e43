"""DKIM public keys at the given (or commonly used) selectors: found, provider, key type and size, flags."""

from __future__ import annotations

import asyncio
import base64
import binascii
import re
from dataclasses import dataclass, field

from dkim.crypto import parse_public_key

from checks.dns import Outcome, Result
from checks.model import Finding, Status
from checks.runner import Context

CHECK = "dkim"
# Enough for the default list in one round (independent lookups should cost one round trip), yet a
# long list of --selector values cannot flood the resolver.
CONCURRENCY = 50

# Common providers' and software defaults' selectors (../shared/reference/dkim-selectors.md). Selectors
# can't be listed from DNS, so this is a guess that keeps the number of queries small.
DEFAULT_SELECTORS = (
    "google", "selector1", "selector2", "k1", "k2", "k3", "s1", "s2", "m1", "mte1", "mte2", "mandrill",
    "pdk1", "pdk2", "kl", "kl2", "brevo1", "brevo2", "mail", "ctct1", "ctct2", "zendesk1", "zendesk2",
    "fm1", "fm2", "fm3", "protonmail", "protonmail2", "protonmail3", "sig1", "zmail", "mailjet",
    "default", "dkim", "x", "key1", "email", "smtp", "mx", "everlytickey1", "everlytickey2", "cm",
    "200608", "amazonses",
)  # fmt: skip

# The provider is named by where the selector's CNAME points, never by the selector: `s1` is SendGrid's
# and Tutanota's, `k1` Mailchimp's and Mailgun's.
PROVIDERS = (
    ("sendgrid.net", "Twilio SendGrid"),
    ("mcsv.net", "Mailchimp"),
    ("mandrillapp.com", "Mailchimp Transactional (Mandrill)"),
    ("onmicrosoft.com", "Microsoft 365"),
    ("dkim.mail.microsoft", "Microsoft 365"),
    ("amazonses.com", "Amazon SES"),
    ("mailgun.com", "Mailgun"),
    ("mailgun.org", "Mailgun"),
    ("klaviyomail.com", "Klaviyo"),
    ("hubspotemail.net", "HubSpot"),
    ("brevo.com", "Brevo"),
    ("sendinblue.com", "Brevo"),
    ("ccsend.com", "Constant Contact"),
    ("zendesk.com", "Zendesk"),
    ("fmhosted.com", "Fastmail"),
    ("messagingengine.com", "Fastmail"),
    ("proton.ch", "Proton Mail"),
    ("tutanota.de", "Tuta"),
    ("icloudmailadmin.com", "Apple iCloud Mail"),
    ("intercom.io", "Intercom"),
    ("mtasv.net", "Postmark"),
    ("sparkpostmail.com", "SparkPost"),
    ("exacttarget.com", "Salesforce Marketing Cloud"),
    ("mailjet.com", "Mailjet"),
    ("zoho.com", "Zoho"),
)

# A selector nobody publishes: a key found there comes from a wildcard (*._domainkey).
WILDCARD_PROBE = "no-such-selector-wildcard-probe"

_SELECTOR = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)(?:\.(?!-)[a-z0-9_-]{1,63}(?<!-))*$")
_TAG = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


@dataclass
class Issue:
    status: Status
    text: str
    kb: str


@dataclass
class KeyRecord:
    """One DKIM key record (RFC 6376 §3.6.1) and what is wrong with it."""

    text: str
    tags: dict[str, str] = field(default_factory=dict)
    key_type: str = "rsa"
    bits: int | None = None
    revoked: bool = False
    testing: bool = False
    issues: list[Issue] = field(default_factory=list)

    def evidence(self) -> dict:
        data: dict = {"record": self.text, "tags": self.tags, "key_type": self.key_type}
        if self.bits is not None:
            data["key_bits"] = self.bits
        if self.issues:
            data["problems"] = [i.text for i in self.issues]
        return data


def looks_like_key(text: str) -> bool:
    """A TXT string meant as a DKIM key, as opposed to other text found at the name (SPF, wildcards)."""
    head = text.lstrip()
    return head.startswith("v=DKIM1") or bool(re.search(r"(^|;)\s*p\s*=", text))


def parse_tags(text: str) -> tuple[dict[str, str], list[str]]:
    """RFC 6376 §3.2 tag=value list → (tags, syntax errors). Whitespace around tags and values is FWS."""
    tags: dict[str, str] = {}
    errors: list[str] = []
    parts = text.split(";")
    if parts and not parts[-1].strip():
        parts.pop()  # a trailing semicolon is allowed
    for part in parts:
        name, sep, value = part.partition("=")
        name = name.strip()
        if not sep or not _TAG.match(name):
            errors.append(f"not a tag=value pair: {part.strip()!r}")
            continue
        if name in tags:
            errors.append(f"tag {name}= appears twice (the whole record is invalid)")
            continue
        tags[name] = value.strip()
    return tags, errors


def parse_key(text: str) -> KeyRecord:
    """Judge one key record: syntax, key type and size, revocation, flags, hash and service limits."""
    record = KeyRecord(text)
    tags, errors = parse_tags(text)
    record.tags = tags
    for error in errors:
        record.issues.append(Issue(Status.FAIL, error, "dkim-syntax"))
    if "v" in tags:
        if tags["v"] != "DKIM1":
            record.issues.append(Issue(Status.FAIL, f"v={tags['v']} (must be DKIM1)", "dkim-syntax"))
        elif next(iter(tags)) != "v":
            record.issues.append(Issue(Status.WARN, "v=DKIM1 is not the first tag", "dkim-syntax"))
    record.key_type = tags.get("k", "rsa").lower() or "rsa"
    if record.key_type not in ("rsa", "ed25519"):
        record.issues.append(Issue(Status.FAIL, f"unknown key type k={tags['k']}", "dkim-syntax"))
    if "p" not in tags:
        record.issues.append(Issue(Status.FAIL, "no p= tag (the public key is missing)", "dkim-syntax"))
    else:
        _judge_key(record, re.sub(r"\s+", "", tags["p"]))
    _judge_flags(record, tags)
    return record


def _judge_key(record: KeyRecord, data: str) -> None:
    if not data:
        record.revoked = True
        record.issues.append(Issue(Status.WARN, "the key is revoked (empty p=)", "dkim-revoked"))
        return
    try:
        der = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        record.issues.append(Issue(Status.FAIL, "p= is not valid base64", "dkim-syntax"))
        return
    if record.key_type == "ed25519":
        # RFC 8463 §4.2: the raw 32-byte Ed25519 public key, not wrapped in any structure.
        if len(der) != 32:
            text = f"an Ed25519 key is 32 bytes, this one is {len(der)}"
            record.issues.append(Issue(Status.FAIL, text, "dkim-syntax"))
        else:
            record.bits = 256
        return
    if record.key_type != "rsa":
        return
    try:
        key = parse_public_key(der)
    except Exception:  # dkimpy's ASN.1 reader raises assorted errors on malformed input
        record.issues.append(Issue(Status.FAIL, "p= does not hold a readable RSA public key", "dkim-syntax"))
        return
    record.bits = bits = key["modulus"].bit_length()
    if bits < 1024:
        text = f"RSA key of {bits} bits: receivers must reject keys under 1024 bits (RFC 8301)"
        record.issues.append(Issue(Status.FAIL, text, "dkim-weak-key"))
    elif bits < 2048:
        text = f"RSA key of {bits} bits: weak, use 2048 bits"
        record.issues.append(Issue(Status.WARN, text, "dkim-weak-key"))
    elif bits > 4096:
        text = f"RSA key of {bits} bits: receivers need only handle up to 4096 (RFC 8301), some will fail"
        record.issues.append(Issue(Status.WARN, text, "dkim-weak-key"))


def _judge_flags(record: KeyRecord, tags: dict[str, str]) -> None:
    flags = {f.strip().lower() for f in tags.get("t", "").split(":") if f.strip()}
    if "y" in flags:
        record.testing = True
        text = "t=y: the domain says it is testing DKIM, so receivers may ignore failures and passes alike"
        record.issues.append(Issue(Status.WARN, text, "dkim-testing"))
    if "h" in tags:
        hashes = {h.strip().lower() for h in tags["h"].split(":")}
        if "sha256" not in hashes:
            text = f"h={tags['h']} excludes sha256; SHA-1 signatures are no longer accepted (RFC 8301)"
            record.issues.append(Issue(Status.FAIL, text, "dkim-syntax"))
    if "s" in tags:
        services = {s.strip().lower() for s in tags["s"].split(":")}
        if not services & {"*", "email"}:
            text = f"s={tags['s']}: the key is not for email, so mail signatures with it fail"
            record.issues.append(Issue(Status.FAIL, text, "dkim-syntax"))


def provider_of(names: tuple[str, ...] | list[str]) -> str | None:
    """The provider whose domain one of the CNAME targets is under, if we know it."""
    for name in names:
        for suffix, provider in PROVIDERS:
            if name == suffix or name.endswith("." + suffix):
                return provider
    return None


def normalise_selector(text: str, domain: str) -> str | None:
    """What the user typed as a selector, or None if it can't be one (`s1`, `S1.`, `s1._domainkey.d`)."""
    selector = text.strip().rstrip(".").lower()
    for suffix in (f"._domainkey.{domain}", "._domainkey"):
        if selector.endswith(suffix):
            selector = selector[: -len(suffix)]
    return selector if _SELECTOR.match(selector) else None


@dataclass
class Probe:
    selector: str
    name: str
    txt: Result
    cname: Result | None = None  # for an explicit selector with no key: where its CNAME points


async def check(ctx: Context) -> list[Finding]:
    domain = ctx.domain
    if domain is None:
        return []
    if ctx.selectors:
        return await _explicit(ctx, domain)
    return await _probe(ctx, domain)


async def _lookup(ctx: Context, gate: asyncio.Semaphore, selector: str, domain: str) -> Probe:
    name = f"{selector}._domainkey.{domain}"
    async with gate:
        txt = await ctx.dns.query(name, "TXT")
    return Probe(selector, name, txt)


async def _explicit(ctx: Context, domain: str) -> list[Finding]:
    findings: list[Finding] = []
    selectors: list[str] = []
    for text in dict.fromkeys(ctx.selectors):
        selector = normalise_selector(text, domain)
        if selector is None:
            findings.append(
                Finding(
                    CHECK,
                    Status.ERROR,
                    text,
                    f"could not check: {text!r} is not a valid DKIM selector",
                    {"selector": text},
                    kb="dkim-syntax",
                )
            )
        elif selector not in selectors:
            selectors.append(selector)
    gate = asyncio.Semaphore(CONCURRENCY)
    probes = await asyncio.gather(*(_lookup(ctx, gate, s, domain) for s in selectors))
    # A dangling CNAME (an ESP's target removed or never set up) is the usual cause of a missing key;
    # the TXT lookup's NXDOMAIN hides the chain, so ask for the CNAME itself.
    absent = [p for p in probes if p.txt.outcome is Outcome.NXDOMAIN]
    cnames = await asyncio.gather(*(ctx.dns.query(p.name, "CNAME") for p in absent))
    for probe, cname in zip(absent, cnames, strict=True):
        probe.cname = cname
    for probe in probes:
        findings.extend(_judge_probe(probe, explicit=True))
    return findings


async def _probe(ctx: Context, domain: str) -> list[Finding]:
    gate = asyncio.Semaphore(CONCURRENCY)
    # `_domainkey.<domain>` existing as an empty non-terminal shows that keys live under other selectors.
    hint_task = asyncio.ensure_future(ctx.dns.query(f"_domainkey.{domain}", "TXT"))
    wild_task = asyncio.ensure_future(_lookup(ctx, gate, WILDCARD_PROBE, domain))
    probes = await asyncio.gather(*(_lookup(ctx, gate, s, domain) for s in DEFAULT_SELECTORS))
    hint, wild = await hint_task, await wild_task
    wildcard = _keys(wild.txt)
    findings: list[Finding] = []
    if wildcard:
        # A selector nobody publishes has a key: a wildcard answers for every selector, so the probes
        # that found that same record say nothing about real selectors. Report the wildcard once.
        findings.extend(_wildcard_findings(wild, domain))
        probes = [p for p in probes if _keys(p.txt) != wildcard]
    failed = [p for p in probes if p.txt.failed]
    answered = [p for p in probes if not p.txt.failed]
    stats: dict = {
        "probed": len(probes),
        "answered": len(answered),
        "failed": len(failed),
    }
    if failed:
        stats["failed_lookups"] = {p.name: p.txt.describe() for p in failed}
    for probe in answered:
        for finding in _judge_probe(probe, explicit=False):
            finding.evidence["probe"] = stats
            findings.append(finding)
    if findings:
        return findings
    about = f"_domainkey.{domain}"
    if not answered:
        reason = failed[0].txt.describe()
        return [
            Finding(
                CHECK,
                Status.ERROR,
                about,
                f"could not check: all {len(failed)} selector lookups failed ({reason})",
                {"probe": stats, "selectors": list(DEFAULT_SELECTORS)},
                kb="dns-lookup-failed",
            )
        ]
    other_txt = {p.name: list(p.txt.records) for p in answered if p.txt.ok}
    evidence: dict = {"probe": stats, "selectors": list(DEFAULT_SELECTORS), "hint": hint.evidence()}
    if other_txt:
        evidence["non_key_txt"] = other_txt
    summary = f"no DKIM key at the {len(answered)} usual selectors; give yours with --selector"
    # Only when every probe got NXDOMAIN: a wildcard would make the name "exist" for any selector.
    if hint.outcome in (Outcome.OK, Outcome.NODATA) and all(
        p.txt.outcome is Outcome.NXDOMAIN for p in answered
    ):
        summary += f" ({about} exists, so keys are published under other selectors)"
    if failed:
        summary += f"; {len(failed)} lookups failed"
    return [Finding(CHECK, Status.WARN, about, summary, evidence, kb="dkim-missing")]


def _keys(txt: Result) -> frozenset[str]:
    return frozenset(r for r in txt.records if looks_like_key(r)) if txt.ok else frozenset()


def _wildcard_findings(wild: Probe, domain: str) -> list[Finding]:
    name = f"*._domainkey.{domain}"
    keys = sorted(_keys(wild.txt))
    evidence = {"wildcard": name, "probe": wild.name, **wild.txt.evidence()}
    if all(parse_key(k).revoked for k in keys):
        # RFC 6376 §3.6.1: an empty p= revokes; as a wildcard, the usual mark of a domain sending no mail.
        summary = (
            f"a wildcard ({name}) revokes every DKIM selector: no mail signed for {domain} can pass DKIM, "
            "as intended for a domain that sends no mail"
        )
        return [Finding(CHECK, Status.INFO, name, summary, evidence, kb="dkim-revoked")]
    probe = Probe("*", name, wild.txt)
    findings = _judge_probe(probe, explicit=False)
    for finding in findings:
        finding.about = name
        finding.summary += " (a wildcard record: it answers for every selector)"
        finding.evidence.update(evidence)
    return findings


def _judge_probe(probe: Probe, *, explicit: bool) -> list[Finding]:
    """Findings for one selector's answer; a probe that found nothing yields none."""
    txt = probe.txt
    evidence: dict = {"selector": probe.selector, **txt.evidence()}
    provider = provider_of(txt.cnames)
    if provider:
        evidence["provider"] = provider
    if txt.failed:
        if not explicit:
            return []
        summary = f"could not check: the lookup of {probe.name} failed ({txt.describe()})"
        return [Finding(CHECK, Status.ERROR, probe.name, summary, evidence, kb="dns-lookup-failed")]
    keys = [r for r in txt.records if looks_like_key(r)]
    if not keys:
        if not explicit:
            return []
        return [_not_found(probe, evidence)]
    findings = [_key_finding(probe, text, provider, evidence, explicit) for text in keys]
    if len(keys) > 1:
        summary = (
            f"{len(keys)} DKIM key records at {probe.name}: receivers pick one at random, "
            "so some signatures fail; publish exactly one"
        )
        findings.append(Finding(CHECK, Status.WARN, probe.name, summary, dict(evidence), kb="dkim-syntax"))
    return findings


def _not_found(probe: Probe, evidence: dict) -> Finding:
    txt, cname = probe.txt, probe.cname
    if txt.records:
        evidence["note"] = "TXT records were found, but none is a DKIM key"
        summary = f"no DKIM key at {probe.name}: its TXT record is not a DKIM key (no p= tag)"
        if any(re.search(r"(^|;)\s*P\s*=", r) for r in txt.records):
            summary += "; tag names are case-sensitive (RFC 6376): write p=, not P="
        return Finding(CHECK, Status.FAIL, probe.name, summary, evidence, kb="dkim-key-not-found")
    target = None
    if cname is not None:
        evidence["cname_lookup"] = cname.evidence()
        if cname.ok and cname.records:
            target = cname.records[0]
    elif txt.cnames:
        target = txt.cnames[-1]
    if target:
        provider = provider_of([target])
        if provider:
            evidence["provider"] = provider
        via = f" ({provider})" if provider else ""
        summary = f"no DKIM key at {probe.name}: it points to {target}{via}, which has no key"
    else:
        summary = f"no DKIM key at {probe.name}"
    return Finding(CHECK, Status.FAIL, probe.name, summary, evidence, kb="dkim-key-not-found")


def _key_finding(probe: Probe, text: str, provider: str | None, base: dict, explicit: bool) -> Finding:
    record = parse_key(text)
    evidence = {**base, **record.evidence()}
    if record.revoked and explicit:
        for issue in record.issues:
            if issue.kb == "dkim-revoked":
                issue.status = Status.FAIL
    via = f" ({provider}, via {probe.txt.cnames[-1]})" if provider else ""
    if not record.issues:
        size = f"{record.bits}-bit " if record.bits else ""
        kind = "Ed25519" if record.key_type == "ed25519" else "RSA"
        summary = f"{size}{kind} DKIM key at selector {probe.selector}{via}"
        return Finding(CHECK, Status.PASS, probe.name, summary, evidence, kb="dkim-ok")
    issues = sorted(record.issues, key=lambda i: i.status.rank)
    worst = issues[0]
    more = f" (+{len(issues) - 1} more)" if len(issues) > 1 else ""
    summary = f"selector {probe.selector}{via}: {worst.text}{more}"
    return Finding(CHECK, worst.status, probe.name, summary, evidence, kb=worst.kb)
