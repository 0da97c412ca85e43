"""Where runs fall in the interval, the run after a run, and spreading runs missed during a stop."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from watch.model import advance, next_slot, phase, respread, summarise, tally

NOW = datetime(2024, 5, 8, 9, 0, tzinfo=UTC)
SIX_HOURS = 6 * 3600.0


def test_phase_is_stable_and_spreads_targets():
    assert phase("example.com", SIX_HOURS) == phase("EXAMPLE.com", SIX_HOURS)
    phases = [phase(f"host{n}.example", SIX_HOURS) for n in range(600)]
    per_hour = [sum(1 for p in phases if h * 3600 <= p < (h + 1) * 3600) for h in range(6)]
    assert all(60 <= n <= 140 for n in per_hour), per_hour


def test_next_slot_is_the_targets_phase_after_the_moment():
    slot = next_slot("example.com", NOW, SIX_HOURS)
    assert NOW < slot <= NOW + timedelta(hours=6)
    assert next_slot("example.com", slot, SIX_HOURS) == slot + timedelta(hours=6)
    assert next_slot("example.com", slot - timedelta(seconds=1), SIX_HOURS) == slot


def test_advance_keeps_the_rhythm_and_skips_what_is_past():
    scheduled = NOW - timedelta(minutes=5)
    assert advance("x.example", scheduled, NOW, SIX_HOURS) == scheduled + timedelta(hours=6)
    long_ago = NOW - timedelta(days=3)
    later = advance("x.example", long_ago, NOW, SIX_HOURS)
    assert later == next_slot("x.example", NOW, SIX_HOURS)
    ahead = NOW + timedelta(hours=1)
    assert advance("x.example", ahead, NOW, SIX_HOURS) == ahead  # run early: the schedule stands


def test_respread_keeps_order_and_spacing_and_never_exceeds_one_interval():
    rows = [{"id": n, "next_run_at": (NOW - timedelta(minutes=50 - n)).isoformat()} for n in range(10)]
    moved = respread(rows, NOW, SIX_HOURS)
    assert [moved[n] for n in range(10)] == [NOW + timedelta(minutes=n) for n in range(10)]
    days = [
        {"id": n, "next_run_at": (NOW - timedelta(days=3) + timedelta(hours=n)).isoformat()}
        for n in range(72)
    ]
    moved = respread(days, NOW, SIX_HOURS)
    assert min(moved.values()) == NOW and max(moved.values()) <= NOW + timedelta(hours=6)
    assert sorted(moved, key=moved.get) == list(range(72))
    assert respread([], NOW, SIX_HOURS) == {}


def test_summary_and_tally():
    findings = [
        {"check": "rdns", "status": "pass"},
        {"check": "blocklist", "status": "pass"},
        {"check": "blocklist", "status": "fail"},
    ]
    assert summarise(findings) == {
        "rdns": {"counts": {"pass": 1}, "status": "pass"},
        "blocklist": {"counts": {"pass": 1, "fail": 1}, "status": "fail"},
    }
    assert tally(findings) == "1 fail, 2 pass"
