"""Reverse DNS of a sending IP and MX hosts: PTR present, forward-confirmed, not generic, fits the domain."""

from __future__ import annotations

import asyncio
import fnmatch
import ipaddress
import re
from dataclasses import dataclass, field

from checks.dns import Resolver, Result, reverse_name, valid_hostname
from checks.model import Finding, Status
from checks.mx import ip_literal, real_targets
from checks.psl import organizational_domain
from checks.runner import Context

CHECK = "rdns"
MAX_NAMES = 5  # PTR names forward-checked per address; real hosts have one
MAX_ADDRESSES = 16  # addresses checked per MX host and type, to bound the queries a huge RRset costs

# Hosted mail providers, recognised by their MX host names and by the PTR names of their servers.
# Their servers' PTRs name the provider, never the customer's domain, and that is as it should be.
PROVIDERS: dict[str, tuple[str, ...]] = {
    "Google": ("google.com", "googlemail.com", "1e100.net"),
    "Microsoft 365": ("protection.outlook.com", "outlook.com", "hotmail.com"),
    "Proofpoint": ("pphosted.com", "ppe-hosted.com", "ppops.net"),
    "Mimecast": ("mimecast.com", "mimecast-offshore.com", "mimecast.co.za"),
    "Zoho": ("zoho.com", "zoho.eu", "zoho.in", "zoho.com.au", "zohomail.com"),
    "Fastmail": ("messagingengine.com", "fastmail.com"),
    "Amazon SES": ("amazonses.com", "inbound-smtp.*.amazonaws.com", "*.smtp-out.amazonses.com"),
    "Yahoo": ("yahoodns.net", "yahoo.com"),
    "Apple iCloud": ("icloud.com", "apple.com"),
    "Cisco Secure Email": ("iphmx.com",),
    "Barracuda": ("barracudanetworks.com",),
    "Proton": ("protonmail.ch", "protonmail.com", "proton.me"),
    "SendGrid": ("sendgrid.net",),
    "Mailgun": ("mailgun.org", "mailgun.net"),
    "Mailchimp": ("mcsv.net", "mcdlv.net", "rsgsv.net", "mandrillapp.com"),
    "SparkPost": ("sparkpostmail.com",),
    "Postmark": ("mtasv.net",),
}

# Whole words in the host part of a PTR name that mark end-user or unnamed address space.
GENERIC_WORDS = frozenset(
    {
        "dynamic", "dyn", "dynip", "dip", "dsl", "adsl", "vdsl", "xdsl", "sdsl", "cable", "pool", "pools",
        "dhcp", "ppp", "pppoe", "client", "clients", "broadband", "dial", "dialup", "dialin", "residential",
        "res", "cust", "customer", "customers", "subscriber", "user", "users", "home", "cpe", "nat", "cgnat",
        "ftth", "fttx", "fttc", "hsd", "unknown", "unassigned", "unused", "generic", "wireless", "mobile",
        "lte", "catv",
    }
)  # fmt: skip


def provider_of(name: str) -> str | None:
    """The hosted provider a host name belongs to, if it is a well-known one."""
    name = name.lower().rstrip(".")
    for provider, patterns in PROVIDERS.items():
        for pattern in patterns:
            if "*" in pattern:
                if fnmatch.fnmatch(name, pattern):
                    return provider
            elif name == pattern or name.endswith("." + pattern):
                return provider
    return None


def _ip_patterns(ip: str) -> list[re.Pattern[str]]:
    addr = ipaddress.ip_address(ip)
    if addr.version == 6:
        flat = addr.exploded.replace(":", "")
        dashed = str(addr).replace(":", "-")
        return [re.compile(re.escape(flat)), re.compile(re.escape(dashed))]
    octets = ip.split(".")
    patterns = []
    for seq in (octets, octets[::-1]):
        for forms in (seq, [o.zfill(3) for o in seq]):
            # All four octets, with or without separators; three in a row only with separators.
            full = r"[.\-_]?".join(re.escape(o) for o in forms)
            patterns.append(re.compile(rf"(?<![0-9]){full}(?![0-9])"))
            for part in (forms[1:], forms[:3]):
                three = r"[.\-_]".join(re.escape(o) for o in part)
                patterns.append(re.compile(rf"(?<![0-9]){three}(?![0-9])"))
    patterns.append(re.compile(f"{int(addr):08x}"))
    return patterns


def generic_reason(name: str, ip: str) -> str | None:
    """Why a PTR name looks like unnamed or end-user address space, or None when it does not."""
    name = name.lower().rstrip(".")
    org = organizational_domain(name)
    # Only the labels the operator chose for this host: the registered domain says nothing about it.
    host_part = name[: -len(org)].rstrip(".") if name.endswith(org) and name != org else ""
    if not host_part and name.count(".") >= 3:
        # The list's private section makes some cloud names their own registered domain
        # (ec2-81-2-69-160.compute-1.amazonaws.com): judge all but the last two labels.
        host_part = name.rsplit(".", 2)[0]
    if not host_part:
        return None
    for pattern in _ip_patterns(ip):
        if pattern.search(host_part):
            return "it contains the IP address's digits"
    words = sorted({w for w in re.split(r"[^a-z]+", host_part) if w in GENERIC_WORDS})
    if words:
        return f"it contains {', '.join(repr(w) for w in words)}"
    return None


@dataclass(frozen=True)
class Chain:
    """address → PTR → forward lookups, for one IP."""

    ip: str
    ptr: Result
    forward: dict[str, Result] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        return list(self.ptr.records) if self.ptr.ok else []

    @property
    def confirmed(self) -> list[str]:
        me = ipaddress.ip_address(self.ip)
        return [
            name
            for name, r in self.forward.items()
            if r.ok and any(ipaddress.ip_address(a) == me for a in r.records)
        ]

    def evidence(self) -> dict:
        data: dict = {"ip": self.ip, "ptr": self.ptr.evidence()}
        if self.forward:
            data["forward"] = [r.evidence() for r in self.forward.values()]
        return data


async def ptr_chain(dns: Resolver, ip: str) -> Chain:
    ptr = await dns.query(reverse_name(ip), "PTR")
    if not ptr.ok:
        return Chain(ip, ptr)
    names = [n for n in ptr.records if n and valid_hostname(n)][:MAX_NAMES]
    rdtype = "A" if ipaddress.ip_address(ip).version == 4 else "AAAA"
    results = await asyncio.gather(*(dns.query(n, rdtype) for n in names))
    return Chain(ip, ptr, dict(zip(names, results, strict=True)))


@dataclass(frozen=True)
class Role:
    """Why an address is checked: the target itself, the --ip sending IP, or an MX host's address."""

    kind: str  # "target" | "sending" | "mx"
    host: str = ""


def _who(ip: str, roles: list[Role]) -> str:
    if any(r.kind == "sending" for r in roles):
        return f"sending IP {ip}"
    hosts = [r.host for r in roles if r.kind == "mx"]
    if hosts:
        return f"{ip} (MX host {', '.join(dict.fromkeys(hosts))})"
    return ip


async def check(ctx: Context) -> list[Finding]:
    if ctx.target.kind == "ip":
        chain = await ptr_chain(ctx.dns, ctx.target.value)
        return judge(chain, [Role("target")], None)
    domain = ctx.domain
    if domain is None:
        return []
    chains: dict[str, asyncio.Future[Chain]] = {}
    roles: dict[str, list[Role]] = {}
    lookup_findings: list[Finding] = []
    failures: dict[str, list[Result]] = {}  # MX host → its address lookups that failed

    def follow(ip: str, role: Role) -> asyncio.Future[Chain]:
        # An address shared by several MX hosts (or equal to --ip) is checked once, under all its roles.
        roles.setdefault(ip, []).append(role)
        if ip not in chains:
            chains[ip] = asyncio.ensure_future(ptr_chain(ctx.dns, ip))
        return chains[ip]

    async def host_addresses(host: str, rdtype: str) -> None:
        result = await ctx.dns.query(host, rdtype)
        if result.failed:
            failures.setdefault(host, []).append(result)
            return
        ips = [ip for ip in result.records if ipaddress.ip_address(ip).is_global][:MAX_ADDRESSES]
        await asyncio.gather(*(follow(ip, Role("mx", host)) for ip in ips))

    async def mx_side() -> None:
        mx = await ctx.dns.query(domain, "MX")
        if mx.failed:
            lookup_findings.append(
                Finding(
                    CHECK,
                    Status.ERROR,
                    domain,
                    f"could not check the MX hosts' reverse DNS: the MX lookup failed ({mx.describe()})",
                    {"mx": mx.evidence()},
                    kb="dns-lookup-failed",
                )
            )
            return
        # No MX at all: mail goes to the domain's own address (RFC 5321 §5.1), so that is the host.
        hosts = [h for _, h in real_targets(mx.records)] if mx.ok else [domain]
        hosts = [h for h in hosts if not ip_literal(h)]
        # Each type's address → PTR → forward chain runs on its own: a slow AAAA never holds up A.
        await asyncio.gather(*(host_addresses(h, t) for h in hosts for t in ("A", "AAAA")))

    async def sending_side() -> None:
        if ctx.ip is not None:
            await follow(ctx.ip, Role("sending"))

    await asyncio.gather(mx_side(), sending_side())
    findings = list(lookup_findings)
    for host, failed in failures.items():
        # One finding per host: its A and AAAA lookups usually fail together, for the same reason.
        why = "; ".join(f"{r.rdtype} {r.describe()}" for r in sorted(failed, key=lambda r: r.rdtype))
        findings.append(
            Finding(
                CHECK,
                Status.ERROR,
                host,
                f"could not check the reverse DNS of MX host {host}: its address lookup failed ({why})",
                {"lookups": [r.evidence() for r in failed]},
                kb="dns-lookup-failed",
            )
        )
    for ip, future in chains.items():
        findings.extend(judge(future.result(), roles[ip], domain))
    return findings


def judge(chain: Chain, roles: list[Role], domain: str | None) -> list[Finding]:
    ip = chain.ip
    who = _who(ip, roles)
    evidence = chain.evidence()
    evidence["checked_as"] = [r.kind if not r.host else f"mx {r.host}" for r in roles]
    if chain.ptr.failed:
        return [
            Finding(
                CHECK,
                Status.ERROR,
                ip,
                f"could not look up the PTR of {who}: {chain.ptr.describe()}",
                evidence,
                kb="dns-lookup-failed",
            )
        ]
    if not chain.ptr.ok:
        return [
            Finding(
                CHECK,
                Status.FAIL,
                ip,
                f"{who} has no PTR (reverse DNS) record: Proofpoint, Gmail and others refuse or defer "
                "mail from such addresses",
                evidence,
                kb="ptr-missing",
            )
        ]
    findings: list[Finding] = []
    names = chain.names
    if not any(names):
        return [
            Finding(
                CHECK,
                Status.FAIL,
                ip,
                f"PTR of {who} is '.' (the DNS root), which names no host: receivers treat it as no PTR",
                evidence,
                kb="ptr-missing",
            )
        ]
    names = [n for n in names if n]
    confirmed = chain.confirmed
    if not confirmed:
        failed = [r for r in chain.forward.values() if r.failed]
        if failed:
            findings.append(
                Finding(
                    CHECK,
                    Status.ERROR,
                    ip,
                    f"could not confirm the PTR of {who}: the forward lookup of {failed[0].name} "
                    f"failed ({failed[0].describe()})",
                    evidence,
                    kb="dns-lookup-failed",
                )
            )
        else:
            seen = sorted({a for r in chain.forward.values() if r.ok for a in r.records})
            answer = f"resolves to {', '.join(seen)}" if seen else "does not resolve"
            findings.append(
                Finding(
                    CHECK,
                    Status.FAIL,
                    ip,
                    f"PTR of {who} is {', '.join(names)}, which {answer}, not back to {ip}: "
                    "the reverse DNS is not forward-confirmed",
                    evidence,
                    kb="ptr-not-fcrdns",
                )
            )
    judged = confirmed or names
    for name in judged:
        reason = generic_reason(name, ip)
        if reason:
            findings.append(
                Finding(
                    CHECK,
                    Status.WARN,
                    ip,
                    f"PTR of {who} looks generic ({name}: {reason}): receivers treat such names as "
                    "end-user or unmanaged hosts",
                    evidence | {"generic": {"name": name, "reason": reason}},
                    kb="ptr-generic",
                )
            )
            break
    if domain is not None:
        relation = _relation(chain, judged, roles, domain, who, evidence)
        if relation is not None:
            findings.append(relation)
    if not findings:
        fits = f", in {domain}" if domain is not None else ""
        findings.append(
            Finding(
                CHECK,
                Status.PASS,
                ip,
                f"{who} → {confirmed[0]} → {ip}: PTR present and forward-confirmed{fits}",
                evidence,
                kb="ptr-ok",
            )
        )
    return findings


def _relation(
    chain: Chain, names: list[str], roles: list[Role], domain: str, who: str, evidence: dict
) -> Finding | None:
    """Whether the PTR names belong to the domain; None when they do."""
    ip = chain.ip
    org = organizational_domain(domain)
    if any(organizational_domain(n) == org for n in names):
        return None
    name = names[0]
    confirmed = " (forward-confirmed)" if chain.confirmed else ""
    if any(r.kind == "sending" for r in roles):
        provider = next((p for n in names if (p := provider_of(n))), None)
        if provider:
            return Finding(
                CHECK,
                Status.INFO,
                ip,
                f"PTR of {who} is {name}{confirmed}, a {provider} name rather than {domain}: normal on a "
                "provider's shared IP; on a dedicated IP, ask for a PTR in your own domain",
                evidence | {"provider": provider},
                kb="ptr-hosted",
            )
        return Finding(
            CHECK,
            Status.WARN,
            ip,
            f"PTR of {who} is {name}, which is not in {domain}: Proofpoint and others expect the "
            "sending IP's PTR to reflect the sending domain",
            evidence,
            kb="ptr-domain-mismatch",
        )
    hosts = [r.host for r in roles if r.kind == "mx"]
    host = hosts[0] if hosts else domain
    provider = provider_of(host) or next((p for n in names if (p := provider_of(n))), None)
    host_org = organizational_domain(host)
    if provider is None and host_org != org and any(organizational_domain(n) == host_org for n in names):
        provider = host_org  # a third party runs the MX, and its PTRs name that third party
    if provider is not None:
        return Finding(
            CHECK,
            Status.INFO,
            ip,
            f"{who} is run by {provider}: its PTR {name}{confirmed} names the provider, not {domain}, "
            "as expected for hosted mail",
            evidence | {"provider": provider},
            kb="ptr-hosted",
        )
    return Finding(
        CHECK,
        Status.WARN,
        ip,
        f"PTR of {who} is {name}, which belongs neither to {domain} nor to the MX host's domain",
        evidence,
        kb="ptr-domain-mismatch",
    )
