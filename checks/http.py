"""A small HTTPS fetcher for policy files: bounded, no redirects, only to public addresses we resolved.

Every fetch resolves the host's A and AAAA records through the run's `Resolver` (never the system
resolver), drops addresses that are not globally routable, and hands aiohttp a resolver pinned to
what is left, so aiohttp cannot resolve the name by itself. TLS is verified against the host name,
which is also the SNI and the Host header.

Errors, translated here and nowhere else:

    FetchError          the resource could not be fetched; str() is a short phrase for a summary,
                        `evidence` holds the lookups and the address tried

`HttpPolicy` says where the fetcher may connect. Its defaults are production's and never allow a
private address; tests inject their own (loopback allowed, their port, their CA) through
`checks.runner.Context.http`.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import socket
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from checks.dns import Resolver, Result
from checks.target import TargetError, public_ip

USER_AGENT = "deliverability-bot (policy check)"


@dataclass(frozen=True)
class HttpPolicy:
    """Where and how the fetcher may connect."""

    allow_private: bool = False  # production never connects to loopback, RFC 1918 or other reserved space
    port: int = 443
    ca_file: str | None = None  # None: the system's trust store
    timeout: float = 5.0  # seconds for the whole fetch; callers shorten it to fit their deadline
    max_bytes: int = 64 * 1024  # RFC 8461 §3.3 suggests senders cap a policy at 64 KiB


class FetchError(Exception):
    """The resource could not be fetched."""

    def __init__(self, reason: str, evidence: dict | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.evidence = evidence or {}


@dataclass(frozen=True)
class Response:
    """What came back: any status (the caller judges it), with the body cut at `max_bytes`."""

    url: str
    status: int
    content_type: str  # the media type alone, lower-case ("text/plain")
    location: str | None
    body: bytes
    evidence: dict = field(default_factory=dict)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


class PinnedResolver(AbstractResolver):
    """aiohttp's resolver for one fetch: answers only for `host`, with the addresses we chose."""

    def __init__(self, host: str, addresses: Sequence[str]) -> None:
        self.host = host.rstrip(".").lower()
        self.addresses = list(addresses)

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        if host.rstrip(".").lower() != self.host:
            raise OSError(f"refusing to resolve {host}: only {self.host} may be fetched")
        results: list[ResolveResult] = []
        for address in self.addresses:
            af = socket.AF_INET6 if ipaddress.ip_address(address).version == 6 else socket.AF_INET
            if family not in (socket.AF_UNSPEC, af):
                continue
            results.append(
                ResolveResult(
                    hostname=host, host=address, port=port, family=af, proto=0, flags=socket.AI_NUMERICHOST
                )
            )
        if not results:
            raise OSError(f"no usable address for {host}")
        return results

    async def close(self) -> None:
        return None


def split_addresses(addresses: Sequence[str], policy: HttpPolicy) -> tuple[list[str], dict[str, str]]:
    """(addresses we may connect to, {refused address: why})."""
    allowed: list[str] = []
    refused: dict[str, str] = {}
    for address in addresses:
        if policy.allow_private:
            allowed.append(address)
            continue
        try:
            allowed.append(public_ip(address))
        except TargetError as exc:
            refused[address] = str(exc).rpartition(": ")[0] or str(exc)  # without "receivers never see it"
    return allowed, refused


async def resolve_host(dns: Resolver, host: str) -> tuple[list[str], list[Result]]:
    """The host's A and AAAA addresses, asked concurrently; FetchError when neither answers usefully."""
    results = list(await asyncio.gather(dns.query(host, "A"), dns.query(host, "AAAA")))
    lookups = [r.evidence() for r in results]
    addresses = [a for r in results if r.ok for a in r.records]
    if addresses:
        return addresses, results
    failed = [r for r in results if r.failed]
    if failed:
        why = "; ".join(f"{r.rdtype} {r.describe()}" for r in failed)
        raise FetchError(f"the address lookup for {host} failed ({why})", {"lookups": lookups})
    raise FetchError(f"{host} has no address (no A or AAAA record)", {"lookups": lookups})


@functools.lru_cache(maxsize=8)
def _ssl_context(ca_file: str | None) -> ssl.SSLContext:
    # Loading the trust store reads files; once per process and CA file is enough.
    return ssl.create_default_context(cafile=ca_file)


async def fetch(
    dns: Resolver, host: str, path: str, policy: HttpPolicy, budget: float | None = None
) -> Response:
    """GET https://host/path under `policy`. Redirects are returned, never followed."""
    host = host.rstrip(".").lower()
    url = URL.build(scheme="https", host=host, port=policy.port, path=path)
    try:
        addresses, results = await resolve_host(dns, host)
    except FetchError as exc:
        exc.evidence = {"url": str(url), **exc.evidence}
        raise
    evidence: dict = {"url": str(url), "lookups": [r.evidence() for r in results]}
    allowed, refused = split_addresses(addresses, policy)
    if refused:
        evidence["refused_addresses"] = refused
    if not allowed:
        first = next(iter(refused.values()))
        raise FetchError(f"refusing to connect to {host}: {first}", evidence)
    evidence["addresses"] = allowed
    limit = policy.timeout if budget is None else min(budget, policy.timeout)
    try:
        async with asyncio.timeout(limit + 0.5):  # a backstop: aiohttp's own timeout closes cleanly
            return await _get(url, host, allowed, policy, limit, evidence)
    except TimeoutError as exc:
        raise FetchError(f"no answer from {host} within {limit:g}s", evidence) from exc
    except aiohttp.ClientConnectorCertificateError as exc:
        error = exc.certificate_error
        why = getattr(error, "verify_message", None) or str(error)
        raise FetchError(f"the TLS certificate of {host} was not accepted ({why})", evidence) from exc
    except aiohttp.ClientConnectorSSLError as exc:
        raise FetchError(f"the TLS handshake with {host} failed ({exc.os_error})", evidence) from exc
    except aiohttp.ClientConnectorError as exc:
        why = exc.os_error.strerror or str(exc.os_error) or type(exc.os_error).__name__
        raise FetchError(f"could not connect to {host} port {policy.port} ({why})", evidence) from exc
    except aiohttp.ClientError as exc:
        why = str(exc) or type(exc).__name__
        raise FetchError(f"the HTTPS exchange with {host} failed ({why})", evidence) from exc
    except (ssl.SSLError, OSError) as exc:
        raise FetchError(f"the connection to {host} failed ({exc})", evidence) from exc


class _Connector(aiohttp.TCPConnector):
    """Remembers the connection's transport: its peer goes in the evidence, and `abort` ends it at once."""

    peer: str | None = None
    _transport: asyncio.BaseTransport | None = None

    async def connect(self, *args, **kwargs):
        connection = await super().connect(*args, **kwargs)
        self._transport = connection.transport
        peername = self._transport.get_extra_info("peername") if self._transport else None
        if peername:
            self.peer = peername[0]
        return connection

    def abort(self) -> None:
        # A connection closed mid-response (timeout, too large) starts a TLS shutdown that outlives
        # the fetch; one fetch is one connection, so it is dropped instead.
        if self._transport is not None:
            self._transport.abort()
            self._transport = None


async def _get(
    url: URL, host: str, addresses: list[str], policy: HttpPolicy, limit: float, evidence: dict
) -> Response:
    connector = _Connector(
        resolver=PinnedResolver(host, addresses),
        ssl=_ssl_context(policy.ca_file),
        use_dns_cache=False,
    )
    try:
        return await _exchange(url, connector, policy, limit, evidence)
    finally:
        connector.abort()


async def _exchange(
    url: URL, connector: _Connector, policy: HttpPolicy, limit: float, evidence: dict
) -> Response:
    async with (
        aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=limit),
            trust_env=False,  # no proxy from the environment: we connect to the address we checked
            headers={"User-Agent": USER_AGENT},
        ) as session,
        session.get(url, allow_redirects=False) as resp,
    ):
        if connector.peer:
            evidence["connected_to"] = connector.peer
        evidence["http_status"] = resp.status
        declared = resp.content_length
        if declared is not None and declared > policy.max_bytes:
            raise FetchError(
                f"the response declares {declared} bytes, more than the {policy.max_bytes} allowed", evidence
            )
        body = bytearray()
        async for chunk in resp.content.iter_chunked(16 * 1024):
            body += chunk
            if len(body) > policy.max_bytes:
                raise FetchError(f"the response is larger than {policy.max_bytes} bytes", evidence)
        content_type = resp.headers.get("Content-Type", "")
        evidence["content_type"] = content_type
        return Response(
            url=str(url),
            status=resp.status,
            content_type=content_type.split(";")[0].strip().lower(),
            location=resp.headers.get("Location"),
            body=bytes(body),
            evidence=evidence,
        )
