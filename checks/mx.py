"""MX records: presence, null MX (RFC 7505), CNAME and IP-literal targets, and hosts that don't resolve."""

from __future__ import annotations

import asyncio
import ipaddress
from dataclasses import dataclass

from checks.dns import Outcome, Resolver, Result
from checks.model import Finding, Status
from checks.runner import Context

CHECK = "mx"
LISTED_HOSTS = 5  # hosts named in the one-line summary; the evidence lists them all


@dataclass(frozen=True)
class MxHost:
    """One MX target with its address lookups (None when the target is an IP literal)."""

    host: str
    preference: int
    a: Result | None
    aaaa: Result | None

    @property
    def addresses(self) -> list[str]:
        return [ip for r in (self.a, self.aaaa) if r is not None and r.ok for ip in r.records]

    @property
    def cnames(self) -> tuple[str, ...]:
        for r in (self.a, self.aaaa):
            if r is not None and r.cnames:
                return r.cnames
        return ()

    def evidence(self) -> dict:
        data: dict = {"host": self.host, "preference": self.preference}
        data["lookups"] = [r.evidence() for r in (self.a, self.aaaa) if r is not None]
        if self.cnames:
            data["cname_chain"] = list(self.cnames)
        return data


def ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


async def resolve_host(dns: Resolver, host: str, preference: int) -> MxHost:
    if ip_literal(host):
        return MxHost(host, preference, None, None)
    a, aaaa = await asyncio.gather(dns.query(host, "A"), dns.query(host, "AAAA"))
    return MxHost(host, preference, a, aaaa)


def real_targets(records: tuple) -> list[tuple[int, str]]:
    """MX (preference, host) pairs in preference order, without null MX entries or duplicates."""
    seen: set[str] = set()
    out = []
    for preference, host in sorted(records):
        if host and host not in seen:
            seen.add(host)
            out.append((preference, host))
    return out


async def check(ctx: Context) -> list[Finding]:
    domain = ctx.domain
    if domain is None:
        return []
    mx = await ctx.dns.query(domain, "MX")
    if mx.failed:
        return [
            Finding(
                CHECK,
                Status.ERROR,
                domain,
                f"could not check MX records: {mx.describe()}",
                {"mx": mx.evidence()},
                kb="dns-lookup-failed",
            )
        ]
    if mx.absent:
        ctx.memo["mx_hosts"] = {}
        return [await _implicit_mx(ctx, domain, mx)]

    null = [(p, h) for p, h in mx.records if not h]
    targets = real_targets(mx.records)
    findings: list[Finding] = []
    if null:
        findings.append(_null_mx(domain, mx, null, targets))
        if not targets:
            ctx.memo["mx_hosts"] = {}
            return findings

    hosts = await asyncio.gather(*(resolve_host(ctx.dns, h, p) for p, h in targets))
    ctx.memo["mx_hosts"] = {h.host: h.addresses for h in hosts if h.a is not None}
    problems = [f for host in hosts for f in _judge_host(host)]
    findings.extend(problems)
    if not problems:
        listing = ", ".join(f"{h.host} ({h.preference})" for h in hosts[:LISTED_HOSTS])
        if len(hosts) > LISTED_HOSTS:
            listing += f" and {len(hosts) - LISTED_HOSTS} more"
        findings.append(
            Finding(
                CHECK,
                Status.PASS,
                domain,
                f"{len(hosts)} MX host{'s' if len(hosts) != 1 else ''}, all resolving: {listing}",
                {"mx": mx.evidence(), "hosts": [h.evidence() for h in hosts]},
                kb="mx-ok",
            )
        )
    return findings


async def _implicit_mx(ctx: Context, domain: str, mx: Result) -> Finding:
    if mx.outcome is Outcome.NXDOMAIN:
        return Finding(
            CHECK,
            Status.FAIL,
            domain,
            f"{domain} does not exist (NXDOMAIN): it cannot receive mail",
            {"mx": mx.evidence()},
            kb="mx-missing",
        )
    a, aaaa = await asyncio.gather(ctx.dns.query(domain, "A"), ctx.dns.query(domain, "AAAA"))
    evidence = {"mx": mx.evidence(), "a": a.evidence(), "aaaa": aaaa.evidence()}
    addresses = [ip for r in (a, aaaa) if r.ok for ip in r.records]
    if addresses:
        ctx.memo["mx_hosts"] = {domain: addresses}
        return Finding(
            CHECK,
            Status.WARN,
            domain,
            f"no MX records: senders fall back to the domain's own address ({', '.join(addresses)})",
            evidence,
            kb="mx-implicit",
        )
    if a.failed or aaaa.failed:
        failed = a if a.failed else aaaa
        return Finding(
            CHECK,
            Status.ERROR,
            domain,
            f"no MX records, and could not check for a fallback address: {failed.describe()}",
            evidence,
            kb="dns-lookup-failed",
        )
    return Finding(
        CHECK,
        Status.FAIL,
        domain,
        "no MX records and no A/AAAA address: the domain cannot receive mail",
        evidence,
        kb="mx-missing",
    )


def _null_mx(domain: str, mx: Result, null: list, targets: list) -> Finding:
    evidence = {"mx": mx.evidence()}
    if targets:
        return Finding(
            CHECK,
            Status.WARN,
            domain,
            'null MX ("0 .") published beside other MX records: RFC 7505 requires it to stand alone, '
            "so senders may treat the domain either way",
            evidence,
            kb="mx-null",
        )
    odd = [p for p, _ in null if p != 0]
    note = f" (preference {odd[0]} instead of 0)" if odd else ""
    return Finding(
        CHECK,
        Status.INFO,
        domain,
        f"null MX{note}: the domain declares it accepts no mail",
        evidence,
        kb="mx-null",
    )


def _judge_host(host: MxHost) -> list[Finding]:
    evidence = host.evidence()
    if host.a is None or host.aaaa is None:
        return [
            Finding(
                CHECK,
                Status.FAIL,
                host.host,
                f"MX target {host.host} is an IP address: an MX must name a host, so senders cannot use it",
                evidence,
                kb="mx-ip-literal",
            )
        ]
    findings = []
    if host.cnames:
        findings.append(
            Finding(
                CHECK,
                Status.WARN,
                host.host,
                f"MX host {host.host} is an alias (CNAME to {host.cnames[-1]}): "
                "the MX must name the host itself",
                evidence,
                kb="mx-cname",
            )
        )
    addresses = host.addresses
    if addresses:
        public = [ip for ip in addresses if ipaddress.ip_address(ip).is_global]
        if not public:
            findings.append(
                Finding(
                    CHECK,
                    Status.FAIL,
                    host.host,
                    f"MX host {host.host} resolves only to non-public addresses ({', '.join(addresses)})",
                    evidence,
                    kb="mx-unresolvable",
                )
            )
        return findings
    if host.a.failed or host.aaaa.failed:
        failed = host.a if host.a.failed else host.aaaa
        findings.append(
            Finding(
                CHECK,
                Status.ERROR,
                host.host,
                f"could not resolve MX host {host.host}: {failed.describe()}",
                evidence,
                kb="dns-lookup-failed",
            )
        )
        return findings
    why = "does not exist" if host.a.outcome is Outcome.NXDOMAIN else "has no A or AAAA record"
    if host.cnames:
        # The alias itself exists; what is missing is its target.
        why = f"is an alias of {host.cnames[-1]}, which {why}"
    findings.append(
        Finding(
            CHECK,
            Status.FAIL,
            host.host,
            f"MX host {host.host} {why}: mail for this host cannot be delivered",
            evidence,
            kb="mx-unresolvable",
        )
    )
    return findings
