"""Warm-up plans: the schedule keeps its stated rule, bad input stores nothing, days are tracked."""

from __future__ import annotations

import math
from datetime import date, timedelta
from itertools import pairwise

import pytest

from knowledge.diagnose import diagnose
from practices import PracticeError
from practices.rules import load_rules
from practices.suppressions import record_diagnoses
from practices.warmup import (
    days_needed,
    load_plan,
    log_day,
    make_plan,
    parse_count,
    parse_request,
    render_plan,
    run_request,
    save_plan,
    schedule,
    status,
)
from tests.practices.conftest import WARM_IP

RAMP = load_rules().ramp


@pytest.mark.parametrize(
    ("target", "days"),
    [(1_000_000, 30), (200_000, 20), (10_000, 30), (50_000, 7), (10_000_000, 120), (51, 2), (5_000, 45)],
)
def test_schedule_follows_its_stated_rule(target, days):
    volumes = schedule(target, days, RAMP.first_day)
    assert len(volumes) == days
    assert volumes[0] == min(RAMP.first_day, target)
    assert volumes[-1] == target
    assert all(later >= earlier for earlier, later in pairwise(volumes)), volumes
    assert max(volumes) == target
    # Geometric: every step is the stated daily factor, give or take the two-figure rounding.
    factor = (target / volumes[0]) ** (1 / (days - 1))
    for n, volume in enumerate(volumes):
        exact = volumes[0] * factor**n
        assert abs(volume - exact) <= max(1.0, exact * 0.06), (n, volume, exact)


def test_default_plan_is_thirty_days_from_today_and_states_its_basis(clock):
    plan = make_plan(WARM_IP, "200k", today=clock.today)
    assert plan.length == RAMP.default_days == 30
    assert plan.start == clock.today and plan.end == clock.today + timedelta(days=29)
    assert [d.date for d in plan.days] == [clock.today + timedelta(days=n) for n in range(30)]
    assert plan.days[-1].planned == 200_000
    assert "same multiple of the previous day" in plan.basis and "×" in plan.basis
    assert plan.shape == "geometric" and not plan.warnings
    text = render_plan(plan)
    assert "Outlook.com" in text and "Yahoo" in text and "Gmail" in text
    assert {c.receiver for c in plan.cautions} >= {"microsoft", "yahoo", "google"}


def test_a_start_date_moves_every_day():
    today = date(2026, 12, 1)
    plan = make_plan(WARM_IP, 10_000, days="10", start="2026-12-24", today=today)
    assert plan.start == date(2026, 12, 24)
    assert [d.date for d in plan.days] == [date(2026, 12, 24) + timedelta(days=n) for n in range(10)]
    assert plan.day_on(today) is None and plan.day_on(date(2026, 12, 26)).day == 3


def test_too_steep_a_plan_says_how_many_days_it_needs():
    plan = make_plan(WARM_IP, 1_000_000, days=5, today=date(2026, 12, 1))
    needed = days_needed(1_000_000, RAMP.first_day, RAMP.max_daily_factor)
    assert needed == math.ceil(math.log2(1_000_000 / 50)) + 1 == 16
    assert any("too steep" in w and f"days={needed}" in w for w in plan.warnings)
    # With the days it asks for, the ramp no longer more than doubles.
    assert not make_plan(WARM_IP, 1_000_000, days=needed, today=date(2026, 12, 1)).warnings


@pytest.mark.parametrize(
    ("text", "expected"),
    [("50000", 50_000), ("50,000", 50_000), ("50k", 50_000), ("1.5m", 1_500_000), ("2M", 2_000_000), (7, 7)],
)
def test_volumes_people_write(text, expected):
    assert parse_count(text, what="target", maximum=10_000_000) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0", "more than zero"),
        ("-5", "cannot be negative"),
        ("-50k", "cannot be negative"),
        ("20000000", "more than 10,000,000"),
        ("10000001", "more than 10,000,000"),
        ("abc", "whole number"),
        ("1.5", "whole number"),
        ("12e3", "whole number"),
        ("", "whole number"),
    ],
)
def test_bad_target_volumes_are_refused(text, message, store, clock):
    with pytest.raises(PracticeError, match=message):
        make_plan(WARM_IP, text, today=clock.today)
    assert store.warmup_plans() == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"start": "2026-11-30"}, "in the past"),
        ({"start": "2026-13-01"}, "not a date"),
        ({"start": "01/12/2026"}, "not a date"),
        ({"start": "2026-02-30"}, "not a date"),
        ({"start": "2030-01-01"}, "more than 365 days away"),
        ({"days": "1"}, "days must be"),
        ({"days": "ten"}, "days must be"),
        ({"days": "500"}, "days must be"),
    ],
)
def test_bad_dates_and_lengths_are_refused(kwargs, message, store, clock):
    with pytest.raises(PracticeError, match=message):
        words = ["plan", WARM_IP, "10000", *(f"{k}={v}" for k, v in kwargs.items())]
        run_request(store, parse_request(words), today=clock.today)
    assert store.warmup_plans() == []


@pytest.mark.parametrize(
    ("ip", "message"),
    [
        ("10.0.0.1", "not a public address"),
        ("192.0.2.10", "not a public address"),
        ("127.0.0.1", "not a public address"),
        ("mail.example.com", "not an IP address"),
    ],
)
def test_only_public_ips_are_warmed(ip, message, store, clock):
    with pytest.raises(PracticeError, match=message):
        run_request(store, parse_request([ip, "10000"]), today=clock.today)
    assert store.warmup_plans() == []


def test_ipv6_is_accepted_in_canonical_form(store, clock):
    plan = run_request(store, parse_request(["2A02:CF40:0::1", "5000"]), today=clock.today)
    assert plan.ip == "2a02:cf40::1"
    assert load_plan(store, "2a02:cf40::1").id == plan.id


def test_a_second_plan_needs_replace_and_the_first_is_kept_until_then(store, clock):
    first = save_plan(store, make_plan(WARM_IP, 10_000, today=clock.today), today=clock.today)
    with pytest.raises(PracticeError, match=r"already has a warm-up plan \(day 1 of 30\)"):
        save_plan(store, make_plan(WARM_IP, 90_000, today=clock.today), today=clock.today)
    assert load_plan(store, WARM_IP).target == 10_000
    second = run_request(store, parse_request([WARM_IP, "90000", "replace"]), today=clock.today)
    assert second.id != first.id and load_plan(store, WARM_IP).target == 90_000
    assert len(store.warmup_plans()) == 1


def test_tracking_through_simulated_days(store, clock):
    """Plan, then live through the first days: status follows the clock, logs are judged against the plan."""
    plan = run_request(store, parse_request([WARM_IP, "100k", "days=20"]), today=clock.today)
    assert status(store, WARM_IP, today=clock.today).headline == "day 1 of 20"

    # Day 1: on plan, clean.
    day1 = log_day(store, WARM_IP, plan.days[0].planned, 0, 0, today=clock.today)
    assert day1.report.alerts == [] and day1.replaced is None

    # Day 2: over plan, with bounces above SES's 2% and complaints at Gmail's 0.1% target.
    clock.advance(days=1)
    sent = plan.days[1].planned * 2
    report = log_day(store, WARM_IP, sent, sent * 3 // 100, max(1, sent // 1000), today=clock.today).report
    texts = " | ".join(a.text for a in report.alerts)
    assert "over the plan" in texts and "bounce rate" in texts and "complaint rate" in texts
    assert {a.kb for a in report.alerts} == {"warmup-ramp", "bounce-rate-guidance", "spam-rate-thresholds"}
    # Each warning says what to do next, not only what was crossed.
    by_kb = {a.kb: a.text for a in report.alerts}
    assert "keep the next days at their planned volume" in by_kb["warmup-ramp"]
    assert "suppress the hard bounces" in by_kb["bounce-rate-guidance"]
    assert "recently engaged recipients" in by_kb["spam-rate-thresholds"]

    # Day 3: logged again the next morning for yesterday's date; the later log replaces the first.
    clock.advance(days=1)
    st = status(store, WARM_IP, today=clock.today)
    assert st.headline == "day 3 of 20" and st.today_day.planned == plan.days[2].planned
    assert st.yesterday.day.sent == sent
    fixed = log_day(store, WARM_IP, plan.days[1].planned, 0, 0, on=str(clock.today - timedelta(days=1)),
                    today=clock.today)  # fmt: skip
    assert fixed.replaced is not None and fixed.replaced.sent == sent and fixed.report.alerts == []
    assert (
        status(store, WARM_IP, today=clock.today).totals["sent"]
        == plan.days[0].planned + plan.days[1].planned
    )

    # After the last day the plan is finished and no more days can be logged.
    clock.advance(days=30)
    assert status(store, WARM_IP, today=clock.today).headline == f"finished {plan.end} (20 days)"
    with pytest.raises(PracticeError, match=r"after .* plan ended"):
        log_day(store, WARM_IP, 10, today=clock.today)


def test_complaints_over_the_limit_fail_and_the_worst_threshold_is_reported(store, clock):
    run_request(store, parse_request([WARM_IP, "100k"]), today=clock.today)
    report = log_day(store, WARM_IP, 1000, 0, 3, today=clock.today).report  # 0.3%
    complaint = [a for a in report.alerts if "complaint" in a.text]
    assert len(complaint) == 1 and complaint[0].level == "fail" and "0.3%" in complaint[0].text
    assert report.worst == "fail"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-5"], "cannot be negative"),
        (["many"], "whole number"),
        (["20000000"], "more than 10,000,000"),
        (["100", "101"], r"bounced \(101\) cannot be more than sent"),
        (["100", "0", "200"], "complaints"),
        (["100", "2026-12-05"], "in the future"),
        (["100", "2026-11-30"], "before"),
        (["100", "2026-1-3"], "not a date"),
    ],
)
def test_bad_logs_are_refused_and_store_nothing(args, message, store, clock):
    run_request(store, parse_request([WARM_IP, "100k"]), today=clock.today)
    with pytest.raises(PracticeError, match=message):
        run_request(store, parse_request(["log", WARM_IP, *args]), today=clock.today)
    assert all(row["sent"] is None for row in store.warmup_plans()[0]["day_rows"])


def test_logging_or_status_without_a_plan_says_how_to_make_one(store, clock):
    for words in (["log", WARM_IP, "100"], ["status", WARM_IP]):
        with pytest.raises(PracticeError, match="has no warm-up plan; create one"):
            run_request(store, parse_request(words), today=clock.today)


def test_bounces_diagnosed_for_the_ip_count_toward_its_rates(store, clock):
    run_request(store, parse_request([WARM_IP, "100k"]), today=clock.today)
    bounce = f"550 5.7.1 Service unavailable, Client host [{WARM_IP}] blocked using Spamhaus"
    results = record_diagnoses(store, diagnose(bounce) * 3)
    assert [r.warmup_ip for r in results] == [WARM_IP] * 3
    record_diagnoses(store, diagnose("550 5.7.1 Client host [89.160.20.112] blocked using Spamhaus"))
    report = log_day(store, WARM_IP, 50, today=clock.today).report  # no bounced count logged
    assert report.diagnosed_bounces == 3 and report.bounces == 3  # the other IP's bounce is not counted
    assert any("bounce rate 6%" in a.text and a.level == "fail" for a in report.alerts)
    # A logged count larger than the diagnosed sample is taken instead; the two are never added.
    assert log_day(store, WARM_IP, 50, 4, today=clock.today).report.bounces == 4


@pytest.mark.parametrize(
    ("words", "action"),
    [
        (["81.2.69.160", "50k"], "plan"),
        (["plan", "81.2.69.160", "50k", "days=10", "start=2026-12-02"], "plan"),
        (["status", "81.2.69.160"], "status"),
        (["log", "81.2.69.160", "100", "1", "0", "2026-12-01"], "log"),
        (["list"], "list"),
    ],
)
def test_request_words(words, action):
    request = parse_request(words)
    assert request.action == action
    if action == "log":
        assert request.numbers == ("100", "1", "0") and request.on == "2026-12-01"


@pytest.mark.parametrize(
    "words", [[], ["status"], ["log", WARM_IP], ["plan", WARM_IP, "1", "2"], ["list", "x"]]
)
def test_request_words_that_make_no_sense_get_the_usage(words):
    with pytest.raises(PracticeError, match="usage"):
        parse_request(words)
