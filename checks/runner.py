"""Run the checks for one target concurrently under one deadline and collect their findings."""

from __future__ import annotations

import asyncio
import importlib
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from bot.settings import Settings
from checks.dns import Resolver
from checks.model import Finding, Report, Status
from checks.target import Target, TargetError, public_ip

log = logging.getLogger(__name__)

# check id → module whose `async def check(ctx) -> list[Finding]` runs it.
REGISTRY: dict[str, str] = {
    "mx": "checks.mx",
    "spf": "checks.spf",
    "dkim": "checks.dkim",
    "dmarc": "checks.dmarc",
    "rdns": "checks.rdns",
    "blocklist": "checks.blocklist",
    "mta-sts": "checks.mta_sts",
    "tls-rpt": "checks.tls_rpt",
    "bimi": "checks.bimi",
}
DOMAIN_CHECKS = tuple(REGISTRY)
IP_CHECKS = ("rdns", "blocklist")


@dataclass
class Context:
    """What a check may use: the target, the run's resolver and the settings. Nothing global."""

    target: Target
    dns: Resolver
    settings: Settings
    ip: str | None = None  # with a domain target: the sending IP to evaluate (--ip)
    selectors: tuple[str, ...] = ()
    memo: dict = field(default_factory=dict)  # results shared between checks within a run
    http: object | None = None  # a checks.http.HttpPolicy; None: production (public addresses, port 443)
    limiter: object | None = None  # async acquire(zone) before each blocklist query (watch rounds)

    @property
    def domain(self) -> str | None:
        return self.target.value if self.target.kind == "domain" else None


def make_resolver(settings: Settings, *, concurrent: bool = True) -> Resolver:
    return Resolver(settings.dns_nameservers, settings.dns_timeout, concurrent=concurrent)


async def finished_by(tasks: Iterable[asyncio.Future], deadline: float) -> set[asyncio.Future]:
    """Wait for the tasks up to `deadline` seconds; cancel the rest and let them unwind; the finished ones."""
    done, pending = await asyncio.wait(tasks, timeout=deadline)
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.gather(*pending, return_exceptions=True)
    return done


async def run_checks(
    target: Target,
    settings: Settings,
    *,
    ip: str | None = None,
    selectors: tuple[str, ...] = (),
    only: tuple[str, ...] | None = None,
    resolver: Resolver | None = None,
    http: object | None = None,
    limiter: object | None = None,
) -> Report:
    """Every applicable check at once; when CHECK_DEADLINE passes, unfinished ones report `error`."""
    started = time.monotonic()
    if ip is not None:
        ip = public_ip(ip)
        if target.kind == "ip":
            raise TargetError("--ip goes with a domain target")
    resolver = resolver or make_resolver(settings)
    resolver.bind_loop()
    ctx = Context(target, resolver, settings, ip=ip, selectors=tuple(selectors), http=http, limiter=limiter)
    names = list(only or (DOMAIN_CHECKS if target.kind == "domain" else IP_CHECKS))
    tasks = {name: asyncio.create_task(_run_one(name, ctx), name=f"check:{name}") for name in names}
    done = await finished_by(tasks.values(), settings.check_deadline)
    findings: list[Finding] = []
    for name, task in tasks.items():
        if task in done:
            findings.extend(task.result())
        else:
            findings.append(
                Finding(
                    name,
                    Status.ERROR,
                    target.value,
                    f"could not check: timed out after {settings.check_deadline:g}s (CHECK_DEADLINE)",
                    {"deadline_s": settings.check_deadline},
                    kb="dns-lookup-failed",
                )
            )
    elapsed = int((time.monotonic() - started) * 1000)
    return Report(target.value, target.kind, findings, elapsed, queries=resolver.queries)


async def _run_one(name: str, ctx: Context) -> list[Finding]:
    try:
        module = importlib.import_module(REGISTRY[name])
        return list(await module.check(ctx))
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # one broken check must not hide the others' findings
        log.exception("check %s failed on %s", name, ctx.target.value)
        return [
            Finding(
                name,
                Status.ERROR,
                ctx.target.value,
                f"could not check: internal error ({type(exc).__name__})",
                {"error": str(exc)},
            )
        ]
