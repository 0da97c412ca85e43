"""Per-blocklist query pacing for watch rounds: at most BLOCKLIST_RATE queries a second to each list zone.

Each list zone has a next free send slot, `1/rate` seconds after the check last asked it (10 % more:
an event loop busy for a few tens of milliseconds between the check asking and the packet leaving
must not put `rate + 1` queries in one second, and the benchmark counts arrivals). A
target waits, before its checks start, until every zone it will query is free at the same instant
and takes its slots there: the wait is the lists' pace, not DNS being slow, so it never eats into
CHECK_DEADLINE. Targets wait in line (one at the head per set of zones) and a slot is only ever taken
by the target at the head, never booked ahead. Inside the run the blocklist check calls
`Permit.acquire(zone)`, which spends the target's slot at once. A query nobody could foresee (the TXT
reason asked after a listing is found) is sent at once too and moves the zone's next slot back by one
gap: the next target waits that much longer, so no second ever holds more than `rate` queries, and
the deadline of the run that found the listing is untouched.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping

from bot.settings import Settings
from checks.blocklist import Zone, zones
from checks.psl import organizational_domain
from checks.target import Target

PACE_MARGIN = 0.1


class RateLimiter:
    """Send slots per zone, `1/rate` seconds apart (plus `margin`); `rate` 0 means no limit."""

    def __init__(
        self,
        rate: float,
        *,
        margin: float = PACE_MARGIN,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.rate = rate
        self.margin = margin
        self.clock = clock
        self.sleep = sleep
        self._next: dict[str, float] = {}  # zone → its next free slot
        self._heads: dict[frozenset[str], asyncio.Lock] = {}  # one waiter at a time per set of zones

    @property
    def gap(self) -> float:
        return (1.0 + self.margin) / self.rate if self.rate > 0 else 0.0

    async def reserve(self, demand: Mapping[str, int]) -> Permit:
        """Wait until every zone in `demand` is free at once, take `n` slots on each, and return them."""
        wanted = {zone: n for zone, n in demand.items() if n > 0}
        if wanted and self.rate > 0:
            async with self._heads.setdefault(frozenset(wanted), asyncio.Lock()):
                # Checked again after each sleep: a query sent meanwhile may have moved a zone's slot.
                while (wait := max(self._next.get(z, 0.0) for z in wanted) - self.clock()) > 0:
                    await self.sleep(wait)
                now = self.clock()
                for zone, n in wanted.items():
                    self._next[zone] = now + n * self.gap
        return Permit(self, wanted)

    async def acquire(self, zone: str, n: int = 1) -> None:
        """Wait for `n` slots on one zone (outside any deadline: test points, benchmarks)."""
        await self.reserve({zone: n})

    def take(self, zone: str) -> None:
        """A query sent now without waiting: the zone's next slot moves one gap later."""
        if self.rate > 0:
            now = self.clock()
            self._next[zone] = max(now, self._next.get(zone, now)) + self.gap

    def sent(self, zone: str, left: int = 0) -> None:
        """A slot used now, with `left` more of its target's to come: the next is a gap after the last.

        A query leaves a little after its slot (the run starts, the check gets to it); counting the gap
        from when it really left keeps that lag from bringing two queries closer than a gap.
        """
        if self.rate > 0:
            now = self.clock()
            self._next[zone] = max(self._next.get(zone, now), now + (left + 1) * self.gap)


class Permit:
    """One target's slots: `acquire(zone)` never waits (the `ctx.limiter` of its check run)."""

    def __init__(self, limiter: RateLimiter, slots: dict[str, int]) -> None:
        self.limiter = limiter
        self.slots = dict(slots)
        self.extra = 0  # queries sent beyond the slots taken, each moving its zone's next slot back

    async def acquire(self, zone: str) -> None:
        if self.slots.get(zone, 0) > 0:
            self.slots[zone] -= 1
            self.limiter.sent(zone, self.slots[zone])
            return
        self.extra += 1
        self.limiter.take(zone)


def zones_for(settings: Settings, kind: str) -> list[Zone]:
    """The list zones queried for one kind of item (ip or domain), retired ones left out."""
    return [z for z in zones(settings, kind) if not z.spec.retired]


def demand(settings: Settings, target: Target) -> Counter[str]:
    """How many queries one run of the blocklist check sends to each list zone for this target."""
    items = [("ip", target.value)] if target.kind == "ip" else [("domain", target.value)]
    if target.kind == "domain" and organizational_domain(target.value) != target.value:
        items.append(("domain", organizational_domain(target.value)))
    counts: Counter[str] = Counter()
    for kind, _ in items:
        for zone in zones_for(settings, kind):
            counts[zone.query] += 1
    return counts
