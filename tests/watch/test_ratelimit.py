"""The per-list pace: one slot per 1/rate seconds per zone, taken at the head of the line, never ahead."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from bot.settings import Settings
from checks.target import Target
from watch.ratelimit import RateLimiter, demand


class VirtualTime:
    """A clock and a sleep that moves it: the limiter's waits, observed without waiting."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def limiter(rate: float, margin: float = 0.0) -> tuple[RateLimiter, VirtualTime]:
    time = VirtualTime()
    return RateLimiter(rate, margin=margin, clock=time.clock, sleep=time.sleep), time


def most_in_one_second(times: list[float]) -> int:
    return max(sum(1 for s in times if t <= s < t + 1) for t in times)


async def sends(pace: RateLimiter, time: VirtualTime, demands: list[dict[str, int]]) -> list[float]:
    out = []
    for wanted in demands:
        await pace.reserve(wanted)
        out.append(time.now)
    return out


async def test_slots_on_one_zone_are_one_over_rate_apart():
    pace, time = limiter(8)  # 1/8 s is exact in binary, so the windows below are exact too
    starts = await sends(pace, time, [{"bl.example": 1}] * 25)
    assert [s - 100.0 for s in starts[:3]] == [0.0, 0.125, 0.25]
    assert most_in_one_second(starts) == 8


async def test_the_margin_widens_the_gap():
    pace, time = limiter(10, margin=0.02)
    starts = await sends(pace, time, [{"a": 1}] * 3)
    assert round(starts[2] - starts[0], 6) == 0.204


async def test_a_target_waits_until_all_its_zones_are_free_at_once():
    pace, time = limiter(8)
    await sends(pace, time, [{"a": 1}, {"a": 1}])  # a's next slot is now at 0.25
    [start] = await sends(pace, time, [{"a": 1, "b": 1}])
    assert start - 100.0 == 0.25  # b was free, but both are taken together
    [after] = await sends(pace, time, [{"b": 1}])
    assert after - 100.0 == 0.375


async def test_unforeseen_queries_never_wait_and_the_next_target_pays_for_them():
    pace, time = limiter(8)
    permit = await pace.reserve({"a": 1})
    await permit.acquire("a")  # the slot taken
    await permit.acquire("a")  # a TXT after a listing: sent now
    assert time.slept == [] and permit.extra == 1
    times = [time.now, time.now] + await sends(pace, time, [{"a": 1}] * 8)
    assert times[2] - 100.0 == 0.25  # the next target waited two gaps, not one
    assert most_in_one_second(times) == 8


async def test_concurrent_targets_go_one_at_a_time():
    pace, time = limiter(8)
    order: list[tuple[int, float]] = []

    async def target(n: int) -> None:
        await pace.reserve({"a": 1})
        order.append((n, time.now))

    await asyncio.gather(*(target(n) for n in range(10)))
    assert [n for n, _ in order] == list(range(10))  # in line, first come first served
    assert most_in_one_second([t for _, t in order]) == 8


async def test_rate_zero_means_no_limit():
    pace, time = limiter(0)
    await sends(pace, time, [{"a": 1}] * 100)
    assert time.slept == []


def test_demand_counts_the_queries_one_run_sends_to_each_list():
    settings = replace(
        Settings.from_env({}),
        blocklists_ip=("zen.spamhaus.org", "bl.spamcop.net", "dnsbl.sorbs.net"),
        blocklists_domain=("dbl.spamhaus.org",),
    )
    assert demand(settings, Target("ip", "81.2.69.160")) == {"zen.spamhaus.org": 1, "bl.spamcop.net": 1}
    # A host name is asked with its registered domain: two queries on the domain list.
    assert demand(settings, Target("domain", "mail.example.com")) == {"dbl.spamhaus.org": 2}
    assert demand(settings, Target("domain", "example.com")) == {"dbl.spamhaus.org": 1}
