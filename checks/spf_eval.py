"""The SPF result for one IP, sender and HELO: pyspf's evaluation fed by our resolver, in a worker thread.

pyspf resolves through a module-level `DNSLookup` function; replacing it would change every
evaluation in the process at once. Instead each evaluation uses its own `query` subclass whose
`dns` method asks the run's `Resolver` (its cache, its nameservers, its timeout), so concurrent
runs never share state and no lookup reaches the system resolver. A lookup that fails (timeout,
SERVFAIL, REFUSED) is a `TempError`, so the result is `temperror`, never `none`.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field

import spf as pyspf

from checks.dns import Resolver, Result

RESULTS = ("pass", "fail", "softfail", "neutral", "none", "permerror", "temperror")


@dataclass(frozen=True)
class Evaluation:
    """What a receiver would conclude for this IP and identity, and why."""

    ip: str
    sender: str
    helo: str
    result: str  # one of RESULTS
    explanation: str = ""
    mechanism: str | None = None  # the term that matched, when one did
    problem: str | None = None  # pyspf's reason for permerror/temperror
    lookups: int = 0
    void_lookups: int = 0
    queries: list[str] = field(default_factory=list)

    def evidence(self) -> dict:
        data: dict = {
            "ip": self.ip,
            "sender": self.sender,
            "helo": self.helo,
            "result": self.result,
            "lookups": self.lookups,
            "void_lookups": self.void_lookups,
            "queries": self.queries,
        }
        if self.mechanism:
            data["mechanism"] = self.mechanism
        if self.problem:
            data["problem"] = self.problem
        if self.explanation:
            data["explanation"] = self.explanation
        return data


class _Cancelled(Exception):
    """The async caller gave up (deadline): stop asking DNS."""


class _Query(pyspf.query):
    """A pyspf query whose every DNS lookup goes through one run's Resolver."""

    def __init__(self, resolver: Resolver, stop: threading.Event, *args, **kwargs) -> None:
        self._resolver = resolver
        self._stop = stop
        self.asked: list[str] = []
        super().__init__(*args, **kwargs)

    def dns(self, name, qtype, cnames=None, ignore_void=False):
        # Same contract as pyspf's own method (list of values, void-lookup accounting), minus its
        # CNAME handling: our resolver already follows CNAME chains.
        if not name:
            raise Exception("Invalid query")
        name = str(name).rstrip(".").lower()
        if not all(0 < len(label) < 64 for label in name.split(".")):
            return []
        key = (name, qtype)
        if key not in self.cache:
            self.cache[key] = self._lookup(name, qtype)
        result = self.cache[key]
        if not result and not ignore_void:
            self.void_lookups += 1
            if self.void_lookups > pyspf.MAX_VOID_LOOKUPS:
                raise pyspf.PermError(f"Void lookup limit of {pyspf.MAX_VOID_LOOKUPS} exceeded")
        return result

    def validated_ptrs(self):
        # RFC 7208 §5.5: when the PTR lookup fails the mechanism just does not match, and a PTR name
        # whose address lookup fails is skipped; pyspf would turn either into temperror.
        try:
            names = self.dns_ptr(self.i)[: pyspf.MAX_PTR]
        except pyspf.TempError:
            return []
        validated = []
        for name in names:
            try:
                if self.cidrmatch(self.dns_a(name, self.A), self.cidrmax):
                    validated.append(name)
            except pyspf.TempError:
                continue
        return validated

    def _lookup(self, name: str, qtype: str) -> list:
        if self._stop.is_set():
            raise pyspf.TempError("DNS evaluation abandoned (deadline)")
        self.asked.append(f"{name} {qtype}")
        try:
            answer: Result = self._resolver.blocking_query(name, qtype)
        except Exception as exc:  # the loop went away or never answered: a temporary failure
            raise pyspf.TempError(f"DNS {type(exc).__name__}: {exc}") from exc
        if answer.failed:
            if answer.detail.startswith("invalid name"):
                return []  # a name DNS cannot hold has no records
            raise pyspf.TempError(f"DNS {answer.describe()} for {name} {qtype}")
        if qtype in ("TXT", "SPF"):
            # pyspf expects each record as a list of byte strings; ours are already joined.
            return [[text.encode("utf-8")] for text in answer.records]
        return list(answer.records)


def evaluate_blocking(
    resolver: Resolver,
    ip: str,
    sender: str,
    helo: str,
    *,
    default_explanation: str | None = None,
    stop: threading.Event | None = None,
) -> Evaluation:
    """Run pyspf in the calling (worker) thread; DNS is answered on the resolver's event loop."""
    query = _Query(resolver, stop or threading.Event(), i=ip, s=sender, h=helo)
    if default_explanation is not None:
        query.set_default_explanation(default_explanation)
    try:
        result, _code, explanation = query.check()
    except Exception as exc:  # a pyspf bug must not hide the rest of the check: report "could not check"
        query.prob = f"evaluation failed: {type(exc).__name__}: {exc}"
        result, explanation = "temperror", ""
    problem = getattr(query, "prob", None) if result in ("permerror", "temperror") else None
    return Evaluation(
        ip=ip,
        sender=sender,
        helo=helo,
        result=result,
        explanation=explanation,
        mechanism=query.mechanism,
        problem=problem,
        lookups=query.lookups,
        void_lookups=query.void_lookups,
        queries=query.asked,
    )


async def evaluate(
    resolver: Resolver, ip: str, sender: str, helo: str, *, default_explanation: str | None = None
) -> Evaluation:
    """The SPF result for `ip` sending as `sender` (or, when empty, as `postmaster@helo`)."""
    resolver.bind_loop()
    stop = threading.Event()
    try:
        return await asyncio.to_thread(
            evaluate_blocking, resolver, ip, sender, helo, default_explanation=default_explanation, stop=stop
        )
    finally:
        stop.set()  # on cancellation the thread finishes its current lookup and then gives up
