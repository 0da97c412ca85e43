"""Benchmark one watch round: N IPs against 10 blocklists on the loopback DNS server, 50 ms per answer.

The round runs through the real scheduler (leases, rDNS and blocklist checks, the per-list pace,
storing every run) against a server, in its own process, that answers every query after `--delay`
seconds and notes when each query arrived. Printed: the time of the round, the ideal time (IPs /
rate: every list is asked once per IP, lists in parallel), their ratio, and per list the queries it
received and the most it received in any one second (the limit is `--rate`).
Run: `.venv/bin/python -m bench.watch_bench` (`--ips 1000` for the full scale: about 100 s).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import statistics
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from bot.settings import Settings
from incidents.store import Store
from tests.dnsserver import DnsTestServer
from watch.scheduler import Scheduler

LISTS = tuple(f"bl{n}.bench.example" for n in range(10))


class TimedDnsServer(DnsTestServer):
    """The loopback server, noting when each query arrived (before its answer's delay)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.arrivals: list[tuple[float, str, str]] = []
        self._arrivals_lock = threading.Lock()

    def answer(self, query, transport="udp"):
        question = query.question[0]
        with self._arrivals_lock:
            self.arrivals.append(
                (time.monotonic(), question.name.to_text().rstrip(".").lower(), str(question.rdtype))
            )
        return super().answer(query, transport)


def ips(count: int) -> list[str]:
    return [f"81.2.{n // 250}.{n % 250 + 1}" for n in range(count)]


def build_zones(server: DnsTestServer, addresses: list[str], listed_every: int) -> None:
    for zone in LISTS:
        server.add(f"2.0.0.127.{zone}", "A", "127.0.0.2")  # RFC 5782 test point
    for n, ip in enumerate(addresses):
        reverse = ".".join(reversed(ip.split(".")))
        host = f"out{n}.sender.example"
        server.add(f"{reverse}.in-addr.arpa", "PTR", host)
        server.add(host, "A", ip)
        if listed_every and n % listed_every == 0:
            server.add(f"{reverse}.{LISTS[n % len(LISTS)]}", "A", "127.0.0.2")


def peak_per_second(times: list[float]) -> int:
    """The most arrivals in any one-second window [t, t + 1)."""
    times = sorted(times)
    best, start = 0, 0
    for end, moment in enumerate(times):
        while times[start] <= moment - 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best


def serve(conn, delay: float, count: int, listed_every: int) -> None:
    """The DNS server, in its own process so the round's event loop never delays its clock."""
    with TimedDnsServer(delay=delay) as server:
        build_zones(server, ips(count), listed_every)
        conn.send(server.address)
        conn.recv()  # the round is over
        conn.send(server.arrivals)


async def one_round(settings: Settings, count: int) -> tuple[float, int, int]:
    with tempfile.TemporaryDirectory() as tmp, Store.open(Path(tmp) / "bench.db") as store:
        now = datetime.now(UTC)
        for ip in ips(count):
            store.add_watch("bench", ip, "ip", channel=None, created_by="bench", next_run_at=now)
        scheduler = Scheduler(store, settings, retry_delay=1.0)
        started = time.perf_counter()
        results = await scheduler.run_round()
        elapsed = time.perf_counter() - started
    errors = sum(1 for r in results for f in r.findings if f["status"] == "error")
    return elapsed, len(results), errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--ips", type=int, default=300, help="watched IPs (default 300; the target scale is 1000)"
    )
    parser.add_argument("--rate", type=float, default=10.0, help="queries per second per list (default 10)")
    parser.add_argument(
        "--delay", type=float, default=0.05, help="seconds before every answer (default 0.05)"
    )
    parser.add_argument(
        "--listed-every",
        type=int,
        default=50,
        help="one IP in N is listed somewhere (a TXT query more); 0: none",
    )
    parser.add_argument(
        "--runs", type=int, default=3, help="rounds to time; the median is reported (default 3)"
    )
    args = parser.parse_args()

    parent, child = multiprocessing.Pipe()
    server = multiprocessing.Process(
        target=serve, args=(child, args.delay, args.ips, args.listed_every), daemon=True
    )
    server.start()
    address = parent.recv()
    settings = replace(
        Settings.from_env({}),
        dns_nameservers=(address,),
        dns_timeout=2.0,
        check_deadline=10.0,
        blocklists_ip=LISTS,
        blocklists_domain=(),
        blocklist_rate=args.rate,
    )
    rounds = [asyncio.run(one_round(settings, args.ips)) for _ in range(max(1, args.runs))]
    elapsed = statistics.median(r[0] for r in rounds)
    checked = rounds[0][1]
    errors = max(r[2] for r in rounds)
    parent.send("done")
    arrivals = parent.recv()
    server.join(timeout=10)
    per_list: dict[str, list[float]] = defaultdict(list)
    for moment, name, _ in arrivals:
        for zone in LISTS:
            if name.endswith("." + zone):
                per_list[zone].append(moment)

    ideal = args.ips / args.rate if args.rate > 0 else None
    print(
        f"watch round: {checked} IPs × {len(LISTS)} lists, {args.delay * 1000:g} ms per answer, "
        f"rate {args.rate:g}/s per list"
    )
    print(
        f"  time of the round      {elapsed:8.1f} s (median of {len(rounds)}: "
        f"{', '.join(f'{r[0]:.1f}' for r in rounds)})"
    )
    if ideal is not None:
        print(f"  ideal (IPs / rate)     {ideal:8.1f} s")
        print(f"  actual / ideal         {elapsed / ideal:8.2f}")
    print(f"  findings in error      {errors:8d}   (a run that timed out or could not look something up)")
    peaks = {zone: peak_per_second(times) for zone, times in per_list.items()}
    peak = max(peaks.values(), default=0)
    print(f"  peak per list          {peak:8d} queries in one second (limit {args.rate:g})")
    for zone in LISTS:
        per_round = len(per_list[zone]) / len(rounds)
        print(f"    {zone:<22} {per_round:6.0f} queries a round, peak {peaks.get(zone, 0)}/s")


if __name__ == "__main__":
    main()
