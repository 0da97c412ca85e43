"""Benchmark a full domain check against the loopback DNS server with a fixed delay on every answer.

Prints wall time, the critical path (the longest chain of dependent lookups in the served zone data,
times the delay), their ratio (target: at most 1.3), the queries sent, and the same run with
concurrency disabled. Medians of several runs. Run: `.venv/bin/python -m bench.check_bench`.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from dataclasses import replace

from bot.settings import Settings
from checks.runner import make_resolver, run_checks
from checks.target import Target
from tests.dnsserver import DnsTestServer

DOMAIN = "shop.example"
MX_HOSTS = {"mx1.shop.example": "81.2.69.160", "mx2.shop.example": "81.2.69.161"}
SPF = {
    DOMAIN: "v=spf1 mx include:_spf.esp.example include:_spf.crm.example -all",
    "_spf.esp.example": "v=spf1 include:_a.esp.example include:_b.esp.example ~all",
    "_a.esp.example": "v=spf1 ip4:89.160.20.0/24 -all",
    "_b.esp.example": "v=spf1 ip4:89.160.21.0/24 -all",
    "_spf.crm.example": "v=spf1 ip4:89.160.22.0/24 a:out.crm.example -all",
}
IP_LISTS = ("zen.bl.example", "spamcop.bl.example", "psbl.bl.example")
DOMAIN_LISTS = ("dbl.bl.example",)


def build_zone(server: DnsTestServer) -> None:
    server.add(DOMAIN, "MX", *(f"{i * 10} {h}" for i, h in enumerate(MX_HOSTS, 1)))
    for n, (host, ip) in enumerate(MX_HOSTS.items(), 1):
        server.add(host, "A", ip)
        rev = ".".join(reversed(ip.split("."))) + ".in-addr.arpa"
        # The PTR names a different host than the MX does (as at most hosting providers), so forward
        # confirmation is a fourth lookup in the chain rather than a cache hit.
        server.add(rev, "PTR", f"out-{n}.shop.example")
        server.add(f"out-{n}.shop.example", "A", ip)
    for name, text in SPF.items():
        server.add(name, "TXT", text)
    server.add("out.crm.example", "A", "89.160.22.9")
    server.add(f"google._domainkey.{DOMAIN}", "TXT", "v=DKIM1; k=rsa; p=" + _KEY)
    server.add(f"_dmarc.{DOMAIN}", "TXT", "v=DMARC1; p=reject; rua=mailto:dmarc@reports.example")
    server.add(f"{DOMAIN}._report._dmarc.reports.example", "TXT", "v=DMARC1")
    server.add(f"_smtp._tls.{DOMAIN}", "TXT", "v=TLSRPTv1; rua=mailto:tls@shop.example")
    for zone in IP_LISTS:
        server.add(f"2.0.0.127.{zone}", "A", "127.0.0.2")
    for zone in DOMAIN_LISTS:
        server.add(f"test.{zone}", "A", "127.0.0.2")  # RFC 5782 test point


def critical_path() -> int:
    """Longest chain of dependent lookups in the zone above, counted from the data, not the code."""

    def spf_depth(name: str) -> int:
        terms = SPF[name].split()
        deeper = [spf_depth(t.split(":", 1)[1]) for t in terms if t.startswith("include:")]
        # `mx` needs MX then the hosts' addresses; `a:host` one address lookup.
        extra = [2 if t == "mx" else 1 for t in terms if t == "mx" or t.startswith("a:")]
        return 1 + max(deeper + extra + [0])

    chains = {
        "spf": spf_depth(DOMAIN),
        "rdns": 4,  # MX → host A → PTR → the PTR name's A (forward confirmation; a different name)
        "mx": 2,  # MX → host A/AAAA
        "dmarc": 2,  # _dmarc → external report authorisation
        "dkim": 1,
        "blocklist": 1,
        "mta-sts": 1,
        "tls-rpt": 1,
        "bimi": 2,  # BIMI record, and the DMARC record it depends on (parallel or after)
    }
    return max(chains.values())


async def one_run(settings: Settings, concurrent: bool) -> tuple[float, int, int]:
    resolver = make_resolver(settings, concurrent=concurrent)
    start = time.perf_counter()
    report = await run_checks(Target("domain", DOMAIN), settings, resolver=resolver)
    wall = time.perf_counter() - start
    errors = sum(1 for f in report.findings if f.status == "error")
    return wall, report.queries, errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--delay", type=float, default=0.05)
    args = parser.parse_args()
    with DnsTestServer(delay=args.delay) as server:
        build_zone(server)
        settings = replace(
            Settings.from_env({}),
            dns_nameservers=(server.address,),
            dns_timeout=5.0,
            check_deadline=120.0,
            blocklists_ip=IP_LISTS,
            blocklists_domain=DOMAIN_LISTS,
        )
        results = {}
        for label, concurrent, runs in (
            ("concurrent", True, args.runs),
            ("serial", False, max(1, args.runs // 2)),
        ):
            walls, queries, errors = [], [], []
            for _ in range(runs):
                wall, sent, errs = asyncio.run(one_run(settings, concurrent))
                walls.append(wall)
                queries.append(sent)
                errors.append(errs)
            results[label] = (statistics.median(walls), statistics.median(queries), max(errors))
    path = critical_path()
    ideal = path * args.delay
    conc, serial = results["concurrent"], results["serial"]
    print(f"delay per answer      {args.delay * 1000:.0f} ms")
    print(f"critical path         {path} dependent lookups = {ideal * 1000:.0f} ms")
    print(
        f"concurrent wall       {conc[0] * 1000:.0f} ms (median of {args.runs}), {conc[1]} queries, "
        f"{conc[2]} error findings"
    )
    print(f"ratio wall/critical   {conc[0] / ideal:.2f}x (target <= 1.3x)")
    print(f"serial wall           {serial[0] * 1000:.0f} ms, {serial[1]} queries")
    print(f"serial/concurrent     {serial[0] / conc[0]:.1f}x")


# A made-up 2048-bit RSA public key, generated for this benchmark.
_KEY = (
    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAudGE9HHiIr5aUUmuknDWJp5w7wFIvHQN8yp5GVQnIw8W35XSV9uQ"
    "2ZQKg4Sy1/3AOJWyI7bBL7JApBU3uxG811c8+3Fn021ke64GJYmSSXNHOOD51VYo9PMD3nx7GBPt4mssVhCu+Wuj7YNo/Quk"
    "9P1T+bMYNVxVCz6htKuk6BjeVo6YrA3WtU8iQixVVMNxsjARKsS4qMnJ8Asp4bA7+o3tsIadiaaKLtHiKjS3vrdyV0350kS3"
    "dfVUyF6YQ7gV2745JYznl2bMb+b99jFO0ZJ3JnORhs69iqWzeqsSBp5lU3LUksAvne/JU7m9LQ/Y3v7x33cM9QZoDkszAbqA"
    "vwIDAQAB"
)

if __name__ == "__main__":
    main()
