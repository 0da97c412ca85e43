"""The digest's practices section: IPs in warm-up, new suppressions, hard-bounce rates, stale lists."""

from __future__ import annotations

from datetime import timedelta

from incidents.digest import build_digest, render_text
from knowledge.diagnose import diagnose
from practices.digest import build_section, render_lines
from practices.suppressions import record_diagnoses
from practices.warmup import log_day, parse_request, run_request
from tests.practices.conftest import WARM_IP, mailbox_full, user_unknown


def test_a_quiet_day_adds_nothing_to_the_digest(store, clock):
    digest = build_digest(store, now=clock.now, since=clock.now - timedelta(days=1))
    assert digest.practices is not None and digest.practices.empty
    assert render_text(digest).endswith("No incidents: nothing new, nothing open.")
    assert digest.to_dict()["practices"]["warmups"] == []


def test_warmup_ips_show_todays_plan_and_yesterdays_actual_with_warnings(store, clock):
    plan = run_request(store, parse_request([WARM_IP, "100k", "days=20"]), today=clock.today)
    other = run_request(store, parse_request(["89.160.20.112", "5000", "days=10"]), today=clock.today)
    log_day(store, WARM_IP, plan.days[0].planned * 3, 0, 1, today=clock.today)  # over plan, 1 complaint
    clock.advance(days=1)

    section = build_section(store, now=clock.now, since=clock.now - timedelta(days=1))
    lines = {w.plan.ip: w for w in section.warmups}
    assert lines[WARM_IP].headline == "day 2 of 20" and lines[WARM_IP].today_planned == plan.days[1].planned
    assert lines[WARM_IP].yesterday.day.sent == plan.days[0].planned * 3
    assert lines[other.ip].yesterday.day.sent is None
    texts = [a.text for a in section.alerts]
    assert any(t.startswith(f"{WARM_IP} day 1: sent 150, 200% over the plan of 50") for t in texts), texts
    assert any(WARM_IP in t and "complaint rate" in t and "0.3%" in t for t in texts), texts
    assert any(t == "89.160.20.112: nothing logged for yesterday (day 1)" for t in texts)

    text = render_text(build_digest(store, now=clock.now, since=clock.now - timedelta(days=1)))
    assert "IPs in warm-up (2):" in text
    assert (
        f"{WARM_IP}: day 2 of 20, today's plan {plan.days[1].planned:,}; yesterday sent 150 of 50 planned"
        in text
    )
    assert "Practice warnings:" in text and "[spam-rate-thresholds]" in text


def test_a_finished_plan_drops_out_of_the_digest(store, clock):
    run_request(store, parse_request([WARM_IP, "5000", "days=3"]), today=clock.today)
    clock.advance(days=3)  # the day after the last: still reported (yesterday was its last day)
    assert [w.headline for w in build_section(store, now=clock.now, since=clock.now).warmups] == [
        "finished 2026-12-03 (3 days)"
    ]
    clock.advance(days=1)
    assert build_section(store, now=clock.now, since=clock.now).warmups == []


def test_new_suppressions_and_hard_bounce_rates_by_domain(store, clock):
    since = clock.now
    clock.advance(hours=1)
    # old-list.example: five unknown users and one full mailbox: a stale list.
    for n in range(5):
        record_diagnoses(store, user_unknown(f"user{n}@old-list.example", message_id=f"m{n}@x"))
    record_diagnoses(store, mailbox_full("full@old-list.example"))
    # fresh.example: one unknown user among blocked bounces: not a list problem.
    record_diagnoses(store, user_unknown("gone@fresh.example", message_id="g@x"))
    blocked = diagnose(
        "550 5.7.1 <someone@fresh.example>: Service unavailable, Client host [89.160.20.112] blocked "
        "using Spamhaus"
    )
    record_diagnoses(store, blocked * 3)

    section = build_section(store, now=clock.now, since=since)
    assert section.new_suppressions == 6
    assert section.suppressions_by_reason == {"userunknown": 6}
    rates = {d.domain: d for d in section.domains}
    assert (rates["old-list.example"].hard, rates["old-list.example"].bounces) == (5, 6)
    assert rates["old-list.example"].stale
    assert (rates["fresh.example"].hard, rates["fresh.example"].bounces) == (1, 4)
    assert not rates["fresh.example"].stale
    stale = [a for a in section.alerts if "stale or bought list" in a.text]
    assert [a.text.split(":")[0] for a in stale] == ["old-list.example"] and stale[0].kb == "list-hygiene"

    text = "\n".join(render_lines(section))
    assert "List hygiene: 6 new suppression(s) (userunknown 6)" in text
    assert "old-list.example: 5 of 6 (83.3%)  ← stale list?" in text
    assert "@" not in text  # the digest goes to a channel: no addresses in it

    # Outside the period, nothing is new.
    later = build_section(store, now=clock.now + timedelta(days=2), since=clock.now + timedelta(days=1))
    assert later.new_suppressions == 0 and later.domains == []
