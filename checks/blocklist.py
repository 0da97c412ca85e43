"""IP and domain blocklists (DNSBL/RHSBL), read per list, each list's test points verified hourly.

A list's answer is trusted only when it is one of that list's documented listing codes and the list
passed its test points from this resolver within the last hour. Everything else is `error`:

    NXDOMAIN                              not listed                        -> pass
    a documented listing code             listed                            -> fail (policy lists: warn,
                                                                               neighbourhood lists: info)
    a refusal code (Spamhaus 127.255.255.x, DBL 127.0.1.255, URIBL/SURBL 127.0.0.1)
                                          the list refused this resolver    -> error
    any other answer                      outside the documented codes      -> error
    timeout, SERVFAIL, REFUSED            could not check                   -> error
    test points failed                    list unusable from this resolver  -> error, answers ignored
"""

from __future__ import annotations

import asyncio
import ipaddress
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from bot.settings import Settings
from checks.dns import Outcome, Resolver, Result, blocklist_name
from checks.model import Finding, Status
from checks.psl import organizational_domain
from checks.runner import Context

CHECK = "blocklist"
TEST_POINT_TTL = 3600.0
MASK = "<DQS key>"


@dataclass(frozen=True)
class BlockList:
    """What one list's answers mean (facts from dnsbl.md: each list's documentation)."""

    name: str
    kind: str  # "ip" | "domain"
    codes: Mapping[str, str] = field(default_factory=dict)  # exact listing codes → meaning
    bits: Mapping[int, str] = field(default_factory=dict)  # bitmask: bit of 127.0.0.x's last octet → meaning
    refusals: Mapping[str, str] = field(default_factory=dict)  # answers meaning "your query was not served"
    policy: frozenset[str] = frozenset()  # codes listing address space by policy, not behaviour
    listed_status: Status = Status.FAIL
    test_listed: str = "127.0.0.2"
    test_clean: str = "127.0.0.1"
    delist: str = ""
    kb: str = ""
    generic: bool = False  # not a list we know: read by the RFC 5782 convention
    retired: str = ""  # a dead list: never queried, reported unusable with this reason


_SPAMHAUS_REFUSALS = {
    "127.255.255.252": "query refused: typing error in the list's zone name",
    "127.255.255.254": "query refused: resolver not allowed; Spamhaus refuses public and open resolvers",
    "127.255.255.255": "query refused: excessive number of queries from this resolver",
}
_DQS_REFUSALS = _SPAMHAUS_REFUSALS | {
    "127.255.255.250": "query refused: the DQS key is disabled",
    "127.255.255.251": "query refused: the DQS key was rejected",
}
_ZEN_CODES = {
    "127.0.0.2": "SBL: known spam source",
    "127.0.0.3": "SBL CSS: snowshoe spam source",
    "127.0.0.4": "XBL: compromised or exploited host",
    "127.0.0.9": "DROP: hijacked or criminal network",
    "127.0.0.10": "PBL: end-user range, ISP-maintained",
    "127.0.0.11": "PBL: end-user range, Spamhaus-maintained",
    "127.0.0.30": "BCL: botnet controller",
}
_PBL = frozenset({"127.0.0.10", "127.0.0.11"})
_DBL_CODES = {
    "127.0.1.2": "spam domain",
    "127.0.1.4": "phishing domain",
    "127.0.1.5": "malware domain",
    "127.0.1.6": "botnet command-and-control domain",
    "127.0.1.102": "abused legitimate domain (spam)",
    "127.0.1.103": "abused redirector or URL shortener",
    "127.0.1.104": "abused legitimate domain (phishing)",
    "127.0.1.105": "abused legitimate domain (malware)",
    "127.0.1.106": "abused legitimate domain (botnet C&C)",
}
_DBL_REFUSAL = {"127.0.1.255": "query refused: IP addresses may not be queried on a domain list"}
_SPAMHAUS_DELIST = "https://check.spamhaus.org/"
_BITMASK_REFUSAL = {
    "127.0.0.1": "query refused: resolver not allowed; public resolvers and high volumes are blocked"
}
_GENERIC_REFUSAL = {
    "127.0.0.1": "127.0.0.1 is never a listing (RFC 5782): most likely the list refused the query"
}


def _zen(name: str, codes: Mapping[str, str], refusals: Mapping[str, str]) -> BlockList:
    return BlockList(
        name,
        "ip",
        codes=codes,
        refusals=refusals,
        policy=_PBL & set(codes),
        delist=_SPAMHAUS_DELIST,
        kb="blocklist-spamhaus",
    )


def _only(*codes: str) -> dict[str, str]:
    return {c: _ZEN_CODES[c] for c in codes}


def _simple(name: str, delist: str, kb: str, status: Status = Status.FAIL) -> BlockList:
    return BlockList(name, "ip", codes={"127.0.0.2": "listed"}, listed_status=status, delist=delist, kb=kb)


def _dbl(name: str, refusals: Mapping[str, str]) -> BlockList:
    return BlockList(
        name,
        "domain",
        codes=_DBL_CODES,
        refusals={**refusals, **_DBL_REFUSAL},
        test_listed="dbltest.com",
        test_clean="example.com",
        delist=_SPAMHAUS_DELIST,
        kb="blocklist-spamhaus",
    )


_DEAD_SORBS = "SORBS was shut down in June 2024: its zones no longer hold reputation data"

LISTS: dict[str, BlockList] = {
    "zen.spamhaus.org": _zen("Spamhaus ZEN", _ZEN_CODES, _SPAMHAUS_REFUSALS),
    "sbl.spamhaus.org": _zen(
        "Spamhaus SBL", _only("127.0.0.2", "127.0.0.3", "127.0.0.9"), _SPAMHAUS_REFUSALS
    ),
    "xbl.spamhaus.org": _zen("Spamhaus XBL", _only("127.0.0.4"), _SPAMHAUS_REFUSALS),
    "pbl.spamhaus.org": _zen("Spamhaus PBL", _only("127.0.0.10", "127.0.0.11"), _SPAMHAUS_REFUSALS),
    "sbl-xbl.spamhaus.org": _zen(
        "Spamhaus SBL-XBL", _only("127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.9"), _SPAMHAUS_REFUSALS
    ),
    "dbl.spamhaus.org": _dbl("Spamhaus DBL", _SPAMHAUS_REFUSALS),
    # Spamhaus Data Query Service: the key is the first label of the zone.
    "zen.dq.spamhaus.net": _zen("Spamhaus ZEN (DQS)", _ZEN_CODES, _DQS_REFUSALS),
    "dbl.dq.spamhaus.net": _dbl("Spamhaus DBL (DQS)", _DQS_REFUSALS),
    "bl.spamcop.net": _simple("SpamCop", "https://www.spamcop.net/bl.shtml", "blocklist-spamcop"),
    "psbl.surriel.com": _simple("PSBL", "https://psbl.org/", "blocklist-psbl"),
    "bl.mailspike.net": BlockList(
        "Mailspike",
        "ip",
        codes={
            "127.0.0.2": "zero-hour: seen sending spam or malware just now",
            "127.0.0.10": "reputation L5: worst",
            "127.0.0.11": "reputation L4: very bad",
            "127.0.0.12": "reputation L3: bad",
        },
        delist="https://mailspike.io/",
        kb="blocklist-mailspike",
    ),
    "z.mailspike.net": _simple("Mailspike zero-hour", "https://mailspike.io/", "blocklist-mailspike"),
    "dnsbl-1.uceprotect.net": _simple(
        "UCEPROTECT level 1", "https://www.uceprotect.net/en/rblcheck.php", "blocklist-uceprotect"
    ),
    # Levels 2 and 3 list whole allocations and networks: the neighbourhood, not this address.
    "dnsbl-2.uceprotect.net": _simple(
        "UCEPROTECT level 2",
        "https://www.uceprotect.net/en/rblcheck.php",
        "blocklist-uceprotect",
        Status.INFO,
    ),
    "dnsbl-3.uceprotect.net": _simple(
        "UCEPROTECT level 3",
        "https://www.uceprotect.net/en/rblcheck.php",
        "blocklist-uceprotect",
        Status.INFO,
    ),
    "all.s5h.net": _simple("s5h.net", "https://www.s5h.net/rblcheck", "blocklist-s5h"),
    "b.barracudacentral.org": _simple(
        "Barracuda BRBL", "https://www.barracudacentral.org/rbl/removal-request", "blocklist-barracuda"
    ),
    "multi.surbl.org": BlockList(
        "SURBL",
        "domain",
        bits={
            2: "SC: legacy SpamCop URI list",
            4: "DM: disposable or abused domain",
            8: "PH: phishing",
            16: "MW: malware",
            32: "CT: click-tracker",
            64: "ABUSE: spam",
            128: "CR: cracked site",
        },
        refusals=_BITMASK_REFUSAL,
        test_listed="test.surbl.org",
        test_clean="example.com",
        delist="https://www.surbl.org/surbl-analysis",
        kb="blocklist-surbl",
    ),
    "multi.uribl.com": BlockList(
        "URIBL",
        "domain",
        bits={2: "black", 4: "grey (may be legitimate bulk mail)", 8: "red (newly seen)", 16: "gold"},
        refusals=_BITMASK_REFUSAL,
        test_listed="test.uribl.com",
        test_clean="example.com",
        delist="https://admin.uribl.com/",
        kb="blocklist-uribl",
    ),
}
_GONE = "this list has shut down"
LISTS |= {
    "dnsbl.sorbs.net": BlockList("SORBS", "ip", retired=_DEAD_SORBS),
    "spam.dnsbl.sorbs.net": BlockList("SORBS spam", "ip", retired=_DEAD_SORBS),
    "dnsbl.njabl.org": BlockList("NJABL", "ip", retired=_GONE),
    "dnsbl.ahbl.org": BlockList("AHBL", "ip", retired=_GONE),
}

# Public Spamhaus zones and their Data Query Service equivalents, used when SPAMHAUS_DQS_KEY is set.
_DQS_EQUIVALENT = {
    "zen.spamhaus.org": "zen.dq.spamhaus.net",
    "sbl.spamhaus.org": "zen.dq.spamhaus.net",
    "xbl.spamhaus.org": "zen.dq.spamhaus.net",
    "pbl.spamhaus.org": "zen.dq.spamhaus.net",
    "sbl-xbl.spamhaus.org": "zen.dq.spamhaus.net",
    "dbl.spamhaus.org": "dbl.dq.spamhaus.net",
}
_DQS_ZONES = ("zen.dq.spamhaus.net", "dbl.dq.spamhaus.net")


def _generic(zone: str, kind: str) -> BlockList:
    # RFC 5782 §5: an IP list must list 127.0.0.2 and not 127.0.0.1; a domain list TEST and not INVALID.
    if kind == "domain":
        return BlockList(
            zone, "domain", refusals=_GENERIC_REFUSAL, test_listed="test", test_clean="invalid", generic=True
        )
    return BlockList(zone, "ip", refusals=_GENERIC_REFUSAL, generic=True)


@dataclass(frozen=True)
class Zone:
    """A list as queried (`query` may carry the DQS key) and as shown (`shown` never does)."""

    query: str
    shown: str
    spec: BlockList
    secret: str = ""  # the DQS key inside `query`, to be masked wherever it could surface


def zones(settings: Settings, kind: str) -> list[Zone]:
    """The lists to ask for one kind of item, with Spamhaus moved to DQS when a key is configured."""
    configured = settings.blocklists_ip if kind == "ip" else settings.blocklists_domain
    key = settings.spamhaus_dqs_key.strip()
    names = [z.strip().strip(".").lower() for z in configured if z.strip().strip(".")]
    if key:
        names = [_DQS_EQUIVALENT.get(z, z) for z in names]
        wanted = _DQS_ZONES[0] if kind == "ip" else _DQS_ZONES[1]
        if names and wanted not in names:
            names.append(wanted)  # the key buys ZEN and DBL: ask them even if the list names neither
    out: list[Zone] = []
    for name in dict.fromkeys(names):
        if name in _DQS_ZONES:
            if not key:
                continue  # a DQS zone needs a key in front of it
            out.append(Zone(f"{key}.{name}", name, LISTS[name], secret=key))
            continue
        base = name.split(".", 1)[1] if "." in name else name
        if base in _DQS_ZONES:  # a key written straight into the zone name
            if LISTS[base].kind == kind:
                out.append(Zone(name, base, LISTS[base], secret=name.split(".", 1)[0]))
            continue
        spec = LISTS.get(name) or _generic(name, kind)
        if spec.kind == kind:
            out.append(Zone(name, name, spec))
    return out


def _query_name(item: str, zone: str, kind: str) -> str:
    return blocklist_name(item, zone) if kind == "ip" else f"{item}.{zone}"


# -- reading answers ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reading:
    state: str  # "listed" | "refused" | "unexpected"
    meanings: dict[str, str] = field(default_factory=dict)  # listing code → meaning
    detail: str = ""
    unknown: tuple[str, ...] = ()  # answers beside a listing that are not documented codes


def meaning(spec: BlockList, answer: str) -> str | None:
    """What a listing code means on this list, or None when it is not one of its listing codes."""
    if answer in spec.codes:
        return spec.codes[answer]
    try:
        addr = ipaddress.ip_address(answer)
    except ValueError:
        return None
    if addr.version != 4 or not answer.startswith("127.0.0."):
        return None
    last = int(answer.rsplit(".", 1)[1])
    if spec.bits:
        allowed = sum(spec.bits)
        if last == 0 or last & ~allowed:
            return None
        return " + ".join(text for bit, text in sorted(spec.bits.items()) if last & bit)
    if spec.generic and last >= 2:
        return "listed"  # the code itself is shown beside the meaning
    return None


def read(spec: BlockList, answers: tuple[str, ...]) -> Reading:
    refused = [f"{spec.refusals[a]} (answered {a})" for a in answers if a in spec.refusals]
    if refused:
        return Reading("refused", detail="; ".join(refused))
    meanings = {a: m for a in answers if (m := meaning(spec, a)) is not None}
    unknown = tuple(a for a in answers if a not in meanings)
    if meanings:
        return Reading("listed", meanings, unknown=unknown)
    return Reading(
        "unexpected", detail=f"answer {', '.join(answers)} is outside {spec.name}'s documented codes"
    )


# -- test points ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """Whether a list can be trusted from this resolver, decided from its test points."""

    usable: bool
    conclusive: bool  # False when a test point lookup failed: decide again next time
    reason: str = ""
    refused: bool = False
    evidence: dict = field(default_factory=dict)


class TestPoints:
    """Each list's test points, asked once per nameservers and zone and `ttl` seconds, per process."""

    __test__ = False  # not a pytest test class, despite the name

    def __init__(self, ttl: float = TEST_POINT_TTL, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.clock = clock
        self._done: dict[tuple, tuple[float, Verdict]] = {}
        self._pending: dict[tuple, asyncio.Future[Verdict]] = {}

    def reset(self) -> None:
        self._done.clear()
        self._pending.clear()

    async def verdict(self, dns: Resolver, nameservers: tuple, zone: Zone) -> Verdict:
        key = (tuple(nameservers), zone.query)
        hit = self._done.get(key)
        if hit is not None and self.clock() - hit[0] < self.ttl:
            return hit[1]
        loop = asyncio.get_running_loop()
        pending = self._pending.get(key)
        if pending is None or pending.done() or pending.get_loop() is not loop:
            # Concurrent runs share one probe; the probe survives a run's deadline for the next run.
            pending = asyncio.ensure_future(probe(dns, zone))
            self._pending[key] = pending
            pending.add_done_callback(lambda f, key=key: self._settle(key, f))
        return await asyncio.shield(pending)

    def _settle(self, key: tuple, future: asyncio.Future[Verdict]) -> None:
        if self._pending.get(key) is future:
            del self._pending[key]
        if future.cancelled() or future.exception() is not None:
            return
        verdict = future.result()
        if verdict.conclusive:
            self._done[key] = (self.clock(), verdict)


TEST_POINTS = TestPoints()


async def probe(dns: Resolver, zone: Zone) -> Verdict:
    spec = zone.spec
    listed_point, clean_point = await asyncio.gather(
        dns.query(_query_name(spec.test_listed, zone.query, spec.kind), "A"),
        dns.query(_query_name(spec.test_clean, zone.query, spec.kind), "A"),
    )
    evidence = {
        "must_be_listed": {"point": spec.test_listed, **listed_point.evidence()},
        "must_not_be_listed": {"point": spec.test_clean, **clean_point.evidence()},
    }
    for point, result in ((spec.test_listed, listed_point), (spec.test_clean, clean_point)):
        if result.failed:
            reason = f"could not query its test point {point}: {result.describe()}"
            return Verdict(False, False, reason, False, evidence)
    for result in (listed_point, clean_point):
        if result.ok and (reading := read(spec, result.records)).state == "refused":
            return Verdict(False, True, reading.detail, True, evidence)
    if not listed_point.ok:
        return Verdict(
            False,
            True,
            f"unusable from this resolver: its test point {spec.test_listed} is not listed "
            f"({listed_point.describe()}), so a clean answer would mean nothing",
            False,
            evidence,
        )
    if read(spec, listed_point.records).state != "listed":
        return Verdict(
            False,
            True,
            f"unusable from this resolver: its test point {spec.test_listed} answered "
            f"{', '.join(listed_point.records)}, not one of the list's codes",
            False,
            evidence,
        )
    if clean_point.ok:
        return Verdict(
            False,
            True,
            f"unusable from this resolver: it lists everything (test point {spec.test_clean}, which must "
            f"not be listed, answered {', '.join(clean_point.records)})",
            False,
            evidence,
        )
    return Verdict(True, True, "", False, evidence)


# -- the check ------------------------------------------------------------------------------------------


@dataclass
class Lookup:
    """One item on one list."""

    item: str
    zone: Zone
    verdict: Verdict
    answer: Result
    reading: Reading | None = None
    txt: Result | None = None


async def _ask(ctx: Context, item: str, zone: Zone) -> Lookup:
    if zone.spec.retired:
        skipped = Result(_query_name(item, zone.query, zone.spec.kind), "A", Outcome.NODATA)
        return Lookup(item, zone, Verdict(False, True, zone.spec.retired), skipped)
    qname = _query_name(item, zone.query, zone.spec.kind)
    if ctx.limiter is not None:  # a watch round paces each list to BLOCKLIST_RATE queries per second
        await ctx.limiter.acquire(zone.query)
    verdict, answer = await asyncio.gather(
        TEST_POINTS.verdict(ctx.dns, ctx.settings.dns_nameservers, zone), ctx.dns.query(qname, "A")
    )
    outcome = Lookup(item, zone, verdict, answer)
    if verdict.usable and answer.ok:
        outcome.reading = read(zone.spec, answer.records)
        if outcome.reading.state == "listed":
            if ctx.limiter is not None:
                await ctx.limiter.acquire(zone.query)
            outcome.txt = await ctx.dns.query(qname, "TXT")
    return outcome


async def check(ctx: Context) -> list[Finding]:
    items: list[tuple[str, str]] = []
    if ctx.target.kind == "ip":
        items.append((ctx.target.value, "ip"))
    else:
        domain = ctx.target.value
        items.append((domain, "domain"))
        org = organizational_domain(domain)
        if org != domain:
            items.append((org, "domain"))  # URI lists hold registered domains, not host names
        if ctx.ip is not None:
            items.append((ctx.ip, "ip"))
    jobs = [(item, zone) for item, kind in items for zone in zones(ctx.settings, kind)]
    outcomes = await asyncio.gather(*(_ask(ctx, item, zone) for item, zone in jobs))
    findings = _findings(items, outcomes)
    secrets = {zone.secret for _, zone in jobs if zone.secret}
    return [_masked(f, secrets) for f in findings] if secrets else findings


def _findings(items: list[tuple[str, str]], outcomes: list[Lookup]) -> list[Finding]:
    findings: list[Finding] = []
    reported_zones: set[str] = set()
    for outcome in outcomes:
        zone = outcome.zone
        if not outcome.verdict.usable:
            if zone.query not in reported_zones:
                reported_zones.add(zone.query)
                findings.append(_unusable(outcome))
            continue
        finding = _judge(outcome)
        if finding is not None:
            findings.append(finding)
    for item, kind in items:
        mine = [o for o in outcomes if o.item == item]
        clean = [o for o in mine if o.verdict.usable and o.answer.absent]
        if not clean:
            continue
        names = ", ".join(o.zone.shown for o in clean)
        if len(clean) == len(mine):
            summary = f"{item} is not listed on any of the {len(mine)} {kind} lists checked ({names})"
        else:
            listed = sum(1 for o in mine if o.reading is not None and o.reading.state == "listed")
            others = [f"listed on {listed}"] if listed else []
            if len(mine) - len(clean) - listed:
                others.append(f"{len(mine) - len(clean) - listed} could not be checked")
            summary = (
                f"{item} is not listed on {len(clean)} of {len(mine)} {kind} lists ({names}); "
                + ", ".join(others)
            )
        findings.append(
            Finding(
                CHECK,
                Status.PASS,
                item,
                summary,
                {"lists": [{"list": o.zone.shown, **o.answer.evidence()} for o in clean]},
                kb="blocklist-clean",
            )
        )
    return findings


def _unusable(outcome: Lookup) -> Finding:
    zone, verdict = outcome.zone, outcome.verdict
    if verdict.refused:
        summary = f"{zone.shown} could not be used: {verdict.reason}"
        kb = "blocklist-refused"
    elif not verdict.conclusive:
        summary = f"could not check {zone.shown}: {verdict.reason}"
        kb = "dns-lookup-failed"
    else:
        summary = f"{zone.shown}: {verdict.reason}"
        kb = "blocklist-unusable"
    evidence = {"list": zone.shown, "list_name": zone.spec.name, "test_points": verdict.evidence}
    return Finding(CHECK, Status.ERROR, zone.shown, summary, evidence, kb=kb)


def _judge(outcome: Lookup) -> Finding | None:
    item, zone, answer = outcome.item, outcome.zone, outcome.answer
    spec = zone.spec
    evidence: dict = {"list": zone.shown, "list_name": spec.name, **answer.evidence()}
    if answer.absent:
        return None
    if answer.failed:
        return Finding(
            CHECK,
            Status.ERROR,
            item,
            f"could not check {item} on {zone.shown}: {answer.describe()}",
            evidence,
            kb="dns-lookup-failed",
        )
    reading = outcome.reading
    if reading is None:  # only a usable list's answers are read
        return None
    if reading.state == "refused":
        return Finding(
            CHECK,
            Status.ERROR,
            item,
            f"could not check {item} on {zone.shown}: {reading.detail}",
            evidence,
            kb="blocklist-refused",
        )
    if reading.state == "unexpected":
        return Finding(
            CHECK,
            Status.ERROR,
            item,
            f"could not check {item} on {zone.shown}: {reading.detail}, so it is not read as a listing",
            evidence,
            kb="blocklist-unusable",
        )
    evidence["meaning"] = reading.meanings
    if reading.unknown:
        evidence["undocumented_answers"] = list(reading.unknown)
    reason = ""
    if outcome.txt is not None:
        if outcome.txt.ok:
            evidence["reason"] = list(outcome.txt.records)
            reason = " ".join(outcome.txt.records)
        else:
            evidence["reason_lookup"] = outcome.txt.evidence()
    if spec.delist:
        evidence["delist"] = spec.delist
    if spec.kb:
        evidence["list_kb"] = spec.kb
    codes = "; ".join(f"{code} {text}" for code, text in reading.meanings.items())
    tail = f": {_clip(reason)}" if reason else ""
    if spec.kind == "domain":
        status, kb = spec.listed_status, "blocklist-domain-listed"
        summary = f"{item} is listed on {spec.name} ({codes}){tail}"
    elif set(reading.meanings) <= spec.policy:
        status, kb = Status.WARN, "blocklist-policy-listed"
        summary = (
            f"{item} is on {spec.name} ({codes}): a policy list of end-user ranges that should not send "
            "directly to MX hosts; a problem only if this is a mail server"
        )
    elif spec.listed_status is Status.INFO:
        status, kb = Status.INFO, "blocklist-ip-listed"
        summary = (
            f"{item}'s network is listed on {spec.name} ({codes}): the neighbourhood's reputation, "
            "not a listing of this address"
        )
    else:
        status, kb = spec.listed_status, "blocklist-ip-listed"
        summary = f"{item} is listed on {spec.name} ({codes}){tail}"
    return Finding(CHECK, status, item, summary, evidence, kb=kb)


def _clip(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _masked(finding: Finding, secrets: set[str]) -> Finding:
    """The DQS key is a secret that travels in query names: keep it out of everything we report."""

    def scrub(value):
        if isinstance(value, str):
            for secret in secrets:
                value = value.replace(secret, MASK)
            return value
        if isinstance(value, dict):
            return {scrub(k): scrub(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [scrub(v) for v in value]
        return value

    finding.about = scrub(finding.about)
    finding.summary = scrub(finding.summary)
    finding.evidence = scrub(finding.evidence)
    return finding
