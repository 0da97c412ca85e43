"""Benchmark the slash command's ack latency and time to the final answer under 100 concurrent commands.

Setup, all on loopback: the app runs as its own process (`python -m bot serve`), its Web API and
response_urls pointed at the Slack stand-in, its DNS at the loopback DNS server serving the zone of
bench/check_bench.py. This process is the load generator: an aiohttp client that sends N correctly
signed `/deliverability check …` commands at once (bodies and signatures computed beforehand) and
times, per command,
  ack    from just before the POST to its HTTP response (Slack needs it within 3 s), and
  final  from the same start to the arrival at the stand-in of the answer that replaces "Checking…".
The stand-in runs in this process (its event loop); the DNS server in a third process. All three
share the machine's cores, as Slack's side would not: the figures are a pessimistic bound.
Each run's p50/p99 are printed, then the medians over the runs. Target: p99 ack under 100 ms.

Run: `.venv/bin/python -m bench.slack_ack [--runs 5] [--concurrency 100] [--dns-delay 0.02]`.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import socket
import statistics
import sys
import time
from pathlib import Path
from tempfile import TemporaryDirectory

import aiohttp

from bench.check_bench import DOMAIN, DOMAIN_LISTS, IP_LISTS, build_zone
from tests.dnsserver import DnsTestServer
from tests.slack_standin import SlackSender, SlackStandin, sign

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-signing-secret"
COMMAND = f"check {DOMAIN} ip=81.2.69.160"


def serve_dns(delay: float, address: multiprocessing.Queue, stop: multiprocessing.Event) -> None:
    """The loopback DNS server in a process of its own, so its threads do not slow the load generator."""
    with DnsTestServer(delay=delay) as dns:
        build_zone(dns)
        address.put(dns.nameserver)
        stop.wait()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


async def start_app(slack: SlackStandin, nameserver: str, db: str) -> tuple[asyncio.subprocess.Process, str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DNS_", "BLOCKLISTS_"))}
    env.update(
        SLACK_BOT_TOKEN=slack.token,
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=slack.api_url,
        DNS_NAMESERVERS=nameserver,
        DNS_TIMEOUT="2",
        BLOCKLISTS_IP=",".join(IP_LISTS),
        BLOCKLISTS_DOMAIN=",".join(DOMAIN_LISTS),
        DATABASE_PATH=db,
        PYTHONPATH=str(ROOT),
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(port), env=env, cwd=ROOT
    )
    base = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as session:
        for _ in range(400):
            try:
                async with session.get(f"{base}/healthz") as resp:
                    if resp.status == 200:
                        return proc, f"{base}/slack/events"
            except aiohttp.ClientError:
                await asyncio.sleep(0.05)
    raise RuntimeError("the app did not start")


async def one_run(
    url: str, slack: SlackStandin, n: int, run: int, command: str = COMMAND
) -> tuple[list[float], list[float]]:
    sender = SlackSender(url, SECRET, slack)
    names = [f"b{run}x{i}" for i in range(n)]
    bodies = [sender.command_body(command, response_url=slack.response_url(name)) for name in names]
    stamp = str(int(time.time()))
    signed = [(body, sign(SECRET, stamp, body)) for body in bodies]
    started: dict[str, float] = {}
    acks: list[float] = []

    async def send(session: aiohttp.ClientSession, name: str, body: str, signature: str) -> None:
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": signature,
        }
        started[name] = time.monotonic()
        async with session.post(url, data=body.encode(), headers=headers) as resp:
            await resp.read()
            acks.append(time.monotonic() - started[name])
            if resp.status != 200:
                raise RuntimeError(f"ack status {resp.status}")

    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(send(session, name, *pair) for name, pair in zip(names, signed, strict=True)))
    finals = []
    for name in names:
        (answer,) = await slack.wait_for("response_url", name=name, within=60)
        if not answer.args.get("replace_original"):
            raise RuntimeError(f"unexpected answer {answer.args}")
        finals.append(answer.at - started[name])
    return acks, finals


async def main(runs: int, concurrency: int, dns_delay: float, command: str = COMMAND) -> None:
    address: multiprocessing.Queue = multiprocessing.Queue()
    stop = multiprocessing.Event()
    dns = multiprocessing.Process(target=serve_dns, args=(dns_delay, address, stop), daemon=True)
    dns.start()
    nameserver = address.get(timeout=30)
    with TemporaryDirectory() as tmp:
        async with SlackStandin() as slack:
            proc, url = await start_app(slack, nameserver, str(Path(tmp) / "bench.db"))
            try:
                await one_run(url, slack, 5, 0)  # warm-up: imports, auth.test, first connections
                rows = []
                for run in range(1, runs + 1):
                    acks, finals = await one_run(url, slack, concurrency, run, command)
                    row = (
                        percentile(acks, 50) * 1000,
                        percentile(acks, 99) * 1000,
                        percentile(finals, 50) * 1000,
                        percentile(finals, 99) * 1000,
                    )
                    rows.append(row)
                    print(
                        f"run {run}: {concurrency} commands  ack p50 {row[0]:6.1f} ms  p99 {row[1]:6.1f} ms  "
                        f"final p50 {row[2]:7.1f} ms  p99 {row[3]:7.1f} ms"
                    )
                    await asyncio.sleep(0.5)
                med = [statistics.median(col) for col in zip(*rows, strict=True)]
                print(
                    f"\nmedian of {runs} runs ({concurrency} concurrent `/deliverability {command}`, "
                    f"DNS answers delayed {dns_delay * 1000:.0f} ms, {os.cpu_count()} CPUs):\n"
                    f"  ack    p50 {med[0]:.1f} ms   p99 {med[1]:.1f} ms   (target p99 < 100 ms)\n"
                    f"  final  p50 {med[2]:.1f} ms   p99 {med[3]:.1f} ms"
                )
            finally:
                proc.terminate()
                await proc.wait()
                stop.set()
                dns.join(10)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--dns-delay", type=float, default=0.02, help="seconds added to every DNS answer")
    parser.add_argument("--command", default=COMMAND, help="the text after /deliverability")
    args = parser.parse_args()
    asyncio.run(main(args.runs, args.concurrency, args.dns_delay, args.command))
