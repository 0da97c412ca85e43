"""The only importer of dnspython: bounded, cached, concurrent lookups that keep absent and failed apart.

Outcomes of a lookup:

    OK        the name has records of that type         -> the check judges them
    NXDOMAIN  the name does not exist                   -> absent
    NODATA    the name exists, no records of that type  -> absent
    TIMEOUT   no answer within DNS_TIMEOUT              -> failed ("could not check")
    SERVFAIL  the server said it failed                 -> failed
    REFUSED   the server refused to answer              -> failed
    ERROR     anything else (bad name, network error)   -> failed

A `Resolver` lives for one run: every (name, type) is asked once, concurrent askers share the
answer, and `queries` counts what was sent. An authoritative server (no recursion) answers a CNAME
whose target lies outside its zones with the CNAME alone; the resolver then asks for the target
itself, so such a chain ends in the target's real outcome (often REFUSED), never a false "no
record". pyspf and dkimpy are synchronous; they run in a worker thread and reach the same cache
through `blocking_query`, so no library ever uses another resolver.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass, replace
from enum import StrEnum

import dns.asyncresolver
import dns.exception
import dns.message
import dns.name
import dns.nameserver
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.resolver
import dns.reversename


class Outcome(StrEnum):
    OK = "ok"
    NXDOMAIN = "nxdomain"
    NODATA = "nodata"
    TIMEOUT = "timeout"
    SERVFAIL = "servfail"
    REFUSED = "refused"
    ERROR = "error"


_ABSENT = {Outcome.NXDOMAIN, Outcome.NODATA}
MAX_CHASE = 8  # servers asked along one CNAME chain that authoritative servers leave dangling


@dataclass(frozen=True)
class Result:
    """One lookup's answer. `records` are plain Python values (see `_values`)."""

    name: str
    rdtype: str
    outcome: Outcome
    records: tuple = ()
    cnames: tuple[str, ...] = ()
    ttl: int | None = None
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.OK

    @property
    def absent(self) -> bool:
        return self.outcome in _ABSENT

    @property
    def failed(self) -> bool:
        return not self.ok and not self.absent

    def describe(self) -> str:
        """A short phrase for evidence and summaries: `timed out`, `SERVFAIL`, `no such name`..."""
        text = self._outcome_text()
        if self.failed and self.cnames:
            # The name itself answered; the lookup failed further along its CNAME chain.
            text += f" at its CNAME target {self.cnames[-1]}"
        return text

    def _outcome_text(self) -> str:
        return {
            Outcome.OK: "answered",
            Outcome.NXDOMAIN: "no such name (NXDOMAIN)",
            Outcome.NODATA: f"no {self.rdtype} record",
            Outcome.TIMEOUT: "timed out",
            Outcome.SERVFAIL: "server failure (SERVFAIL)",
            Outcome.REFUSED: "query refused (REFUSED)",
            Outcome.ERROR: f"lookup error: {self.detail}" if self.detail else "lookup error",
        }[self.outcome]

    def evidence(self) -> dict:
        data: dict = {"query": f"{self.name} {self.rdtype}", "outcome": str(self.outcome)}
        if self.records:
            data["answer"] = [list(r) if isinstance(r, tuple) else r for r in self.records]
        if self.cnames:
            data["cnames"] = list(self.cnames)
        if self.detail:
            data["detail"] = self.detail
        return data


def _strip(name: object) -> str:
    return str(name).rstrip(".").lower()


def _txt(rdata) -> str:
    # RFC 7208 §3.3 and RFC 6376 §3.6.2.2: the character-strings of one record are joined with nothing.
    return b"".join(rdata.strings).decode("utf-8", errors="replace")


def _values(rdtype: str, rrset) -> tuple:
    """A/AAAA → address str; MX → (preference, host); TXT → joined text; PTR/CNAME/NS → host; else text."""
    out = []
    for rdata in rrset:
        if rdtype in ("A", "AAAA"):
            out.append(rdata.address)
        elif rdtype == "MX":
            out.append((rdata.preference, _strip(rdata.exchange)))
        elif rdtype in ("TXT", "SPF"):
            out.append(_txt(rdata))
        elif rdtype in ("PTR", "CNAME", "NS"):
            out.append(_strip(rdata.target))
        else:
            out.append(rdata.to_text())
    return tuple(out)


def reverse_name(ip: str) -> str:
    """`192.0.2.1` → `1.2.0.192.in-addr.arpa` (nibbles for IPv6)."""
    return _strip(dns.reversename.from_address(ip))


def blocklist_name(ip: str, zone: str) -> str:
    """The RFC 5782 query name for an IP on an IP list: reversed octets or nibbles, then the zone."""
    rev = reverse_name(ip)
    suffix = ".in-addr.arpa" if ipaddress.ip_address(ip).version == 4 else ".ip6.arpa"
    return rev[: -len(suffix)] + "." + zone.strip(".")


def valid_hostname(name: str) -> bool:
    try:
        dns.name.from_text(name)
    except (dns.exception.DNSException, ValueError):
        return False
    return True


@dataclass(frozen=True)
class _Sent:
    """One server's answer; `dangling` when it ended on a CNAME without answering for the target."""

    result: Result
    dangling: bool = False


class Resolver:
    """Asks the configured nameservers (or the system's), once per name and type, within a timeout."""

    def __init__(
        self,
        nameservers: Iterable[tuple[str, int]] = (),
        timeout: float = 3.0,
        *,
        concurrent: bool = True,
    ) -> None:
        nameservers = list(nameservers)
        self._resolver = dns.asyncresolver.Resolver(configure=not nameservers)
        self._unusable = ""
        if nameservers:
            servers = [
                dns.nameserver.Do53Nameserver(address, port)
                for host, port in nameservers
                for address in _addresses(host)
            ]
            if servers:
                self._resolver.nameservers = servers
            else:
                names = ", ".join(host for host, _ in nameservers)
                self._unusable = f"no address for the nameserver(s) in DNS_NAMESERVERS ({names})"
        self._resolver.cache = None
        self._resolver.use_edns(0, 0, 1232)
        # Each server gets a share of the lookup's time, so a dead first server leaves time to ask
        # the next one (and a lost UDP packet is retried) within DNS_TIMEOUT.
        self._resolver.timeout = max(0.2, timeout / max(2, len(nameservers) + 1))
        self.timeout = timeout
        self._plain: dns.asyncresolver.Resolver | None = None
        self._cache: dict[tuple[str, str], asyncio.Future[Result]] = {}
        self._serial = None if concurrent else asyncio.Semaphore(1)
        self._loop: asyncio.AbstractEventLoop | None = None
        self.queries = 0

    async def query(self, name: str, rdtype: str) -> Result:
        rdtype = rdtype.upper()
        key = (_strip(name), rdtype)
        self._loop = asyncio.get_running_loop()
        future = self._cache.get(key)
        if future is None:
            future = self._loop.create_future()
            self._cache[key] = future
            try:
                result = await self._follow(await self._ask(*key))
            except BaseException as exc:  # cancelled by a deadline: let later askers try again
                del self._cache[key]
                future.cancel()
                raise exc
            future.set_result(result)
            return result
        return await asyncio.shield(future)

    async def _ask(self, name: str, rdtype: str) -> _Sent:
        if self._serial is not None:
            async with self._serial:
                return await self._send(name, rdtype)
        return await self._send(name, rdtype)

    async def _follow(self, sent: _Sent) -> Result:
        """Ask for the target of a CNAME chain the server left dangling, until a server ends it."""
        result, seen = sent.result, {sent.result.name}
        for _ in range(MAX_CHASE):
            if not sent.dangling:
                return result
            target = result.cnames[-1]
            if target in seen:
                return replace(result, outcome=Outcome.ERROR, records=(), detail=f"CNAME loop at {target}")
            seen.add(target)
            done = self._cache.get((target, result.rdtype))
            if done is not None and done.done() and not done.cancelled():
                sent = _Sent(done.result())  # a finished lookup has already followed its own chain
            else:
                sent = await self._ask(target, result.rdtype)
            step = sent.result
            result = replace(step, name=result.name, cnames=result.cnames + step.cnames)
        detail = f"CNAME chain longer than {MAX_CHASE} servers"
        return replace(result, outcome=Outcome.ERROR, records=(), detail=detail)

    async def _send(self, name: str, rdtype: str) -> _Sent:
        if self._unusable:
            return _Sent(Result(name, rdtype, Outcome.ERROR, detail=self._unusable))
        self.queries += 1
        try:
            qname = dns.name.from_text(name)
        except (dns.exception.DNSException, ValueError) as exc:
            return _Sent(Result(name, rdtype, Outcome.ERROR, detail=f"invalid name: {exc}"))
        try:
            try:
                answer = await self._resolver.resolve(
                    qname, rdtype, lifetime=self.timeout, raise_on_no_answer=False, search=False
                )
            except dns.resolver.NoNameservers as exc:
                if not _formerr(exc):
                    raise
                # An old server that does not speak EDNS answers FORMERR (RFC 6891 §7): ask it plainly.
                answer = await self._without_edns().resolve(
                    qname, rdtype, lifetime=self.timeout, raise_on_no_answer=False, search=False
                )
        except dns.resolver.NXDOMAIN as exc:
            # The name may be an alias whose target does not exist: keep the chain to say so.
            response = exc.kwargs.get("responses", {}).get(qname)
            cnames = _cname_chain(response, qname) if response is not None else ()
            return _Sent(Result(name, rdtype, Outcome.NXDOMAIN, cnames=cnames))
        except dns.resolver.LifetimeTimeout:
            detail = f"no answer within {self.timeout:g}s"
            return _Sent(Result(name, rdtype, Outcome.TIMEOUT, detail=detail))
        except dns.resolver.NoNameservers as exc:
            return _Sent(Result(name, rdtype, _rcode_outcome(exc), detail=str(exc)))
        except dns.resolver.YXDOMAIN:
            detail = "name too long after DNAME substitution"
            return _Sent(Result(name, rdtype, Outcome.ERROR, detail=detail))
        except (dns.exception.DNSException, OSError, ValueError) as exc:
            return _Sent(Result(name, rdtype, Outcome.ERROR, detail=f"{type(exc).__name__}: {exc}"))
        cnames = _cname_chain(answer.response, qname)
        if answer.rrset is None:
            dangling = bool(cnames) and not _negative_for(answer.response, cnames[-1])
            return _Sent(Result(name, rdtype, Outcome.NODATA, cnames=cnames), dangling)
        values = _values(rdtype, answer.rrset)
        return _Sent(Result(name, rdtype, Outcome.OK, values, cnames=cnames, ttl=answer.rrset.ttl))

    def _without_edns(self) -> dns.asyncresolver.Resolver:
        if self._plain is None:
            plain = dns.asyncresolver.Resolver(configure=False)
            plain.nameservers = list(self._resolver.nameservers)
            plain.timeout = self._resolver.timeout
            plain.cache = None
            plain.use_edns(-1)
            self._plain = plain
        return self._plain

    def blocking_query(self, name: str, rdtype: str, timeout: float | None = None) -> Result:
        """For synchronous libraries in a worker thread: the same cached lookup, run on the event loop."""
        if self._loop is None:
            raise RuntimeError("blocking_query needs a running Resolver (call query() first)")
        future = asyncio.run_coroutine_threadsafe(self.query(name, rdtype), self._loop)
        return future.result(timeout=(timeout or self.timeout) * 2 + 1)

    def bind_loop(self) -> None:
        """Record the running loop so worker threads can call `blocking_query` before any query."""
        self._loop = asyncio.get_running_loop()


def _addresses(host: str) -> list[str]:
    """A nameserver given by name (`localhost`) as addresses: dnspython talks to IP addresses only,
    and given a name it retries until the timeout, which would read as "timed out" for every query."""
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        pass
    try:
        # Once per run and only for a configured name: how to reach the nameserver, not a check's lookup.
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_DGRAM)
    except OSError:
        return []
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _formerr(exc: dns.resolver.NoNameservers) -> bool:
    return any(
        isinstance(error, tuple)
        and isinstance(error[-1], dns.message.Message)
        and error[-1].rcode() == dns.rcode.FORMERR
        for error in exc.kwargs.get("errors") or []
    )


def _rcode_outcome(exc: dns.resolver.NoNameservers) -> Outcome:
    errors = exc.kwargs.get("errors") or []
    for error in errors:
        answer = error[-1] if isinstance(error, tuple) else None
        if isinstance(answer, dns.message.Message):
            if answer.rcode() == dns.rcode.REFUSED:
                return Outcome.REFUSED
            if answer.rcode() == dns.rcode.SERVFAIL:
                return Outcome.SERVFAIL
    text = str(exc)
    if "REFUSED" in text:
        return Outcome.REFUSED
    if "SERVFAIL" in text:
        return Outcome.SERVFAIL
    return Outcome.ERROR


def _negative_for(response: dns.message.Message, target: str) -> bool:
    """Whether the response says `target` has no records (an SOA of a zone holding it, RFC 2308)."""
    name = dns.name.from_text(target)
    return any(
        rrset.rdtype == dns.rdatatype.SOA and name.is_subdomain(rrset.name) for rrset in response.authority
    )


def _cname_chain(response: dns.message.Message, qname: dns.name.Name) -> tuple[str, ...]:
    chain = []
    current = qname
    for _ in range(16):
        try:
            rrset = response.find_rrset(response.answer, current, dns.rdataclass.IN, dns.rdatatype.CNAME)
        except KeyError:
            break
        current = rrset[0].target
        chain.append(_strip(current))
    return tuple(chain)
