"""Scheduled rounds on a controllable clock against the loopback DNS server, zones changed between rounds."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import timedelta

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from incidents.digest import build_digest, render_text
from incidents.store import Store
from tests.checks.test_dkim import RSA_1024
from tests.slack_standin import SlackStandin
from tests.watch.conftest import DOMAIN, IP, MX_HOST, REV, ZONE, serve_domain, serve_ip
from watch import manage
from watch.model import Watch
from watch.scheduler import Scheduler, run_forever, start_background

CHANNEL = "C0ALERTS"


async def add(store, settings, target=IP, **kwargs):
    kwargs = {"workspace": "T1", "channel": CHANNEL, "created_by": "U1"} | kwargs
    return await manage.add(store, settings, target, **kwargs)


def summary(result) -> list[tuple[str, str, str, str, str]]:
    return [
        (a.change.check, a.change.about, a.change.before_status, a.change.after_status, a.event)
        for a in result.alerts
    ]


async def test_newly_listed_alerts_and_opens_an_incident_then_recovery_resolves_it(
    dns_server, store, wsettings, scheduler, client, clock
):
    serve_ip(dns_server)
    added = await add(store, wsettings)
    assert added.created and added.first_run.baseline and not added.first_run.alerts
    assert added.first_run.tally == "2 pass"

    clock.advance(hours=6)
    dns_server.set(f"{REV}.{ZONE}", "A", "127.0.0.2")
    [result] = await scheduler.tick()
    assert summary(result) == [("blocklist", f"{IP} on {ZONE}", "pass", "fail", "change")]
    incident = store.get(result.alerts[0].incident_id)
    assert (incident.receiver, incident.reason, incident.subject, incident.status) == (
        "dns",
        "blocklist",
        IP,
        "open",
    )
    assert incident.source == "watch" and incident.workspace == "T1" and incident.channel == CHANNEL
    [post] = client.posts
    assert post["channel"] == CHANNEL
    assert f"{IP} on {ZONE}: pass → *fail*" in post["text"]
    assert f"{IP} is not listed on {ZONE}" in post["text"]  # the before
    assert f"Incident #{incident.id} opened" in post["text"]

    clock.advance(hours=6)
    dns_server.remove(f"{REV}.{ZONE}")
    [result] = await scheduler.tick()
    assert summary(result) == [("blocklist", f"{IP} on {ZONE}", "fail", "pass", "recovery")]
    assert store.get(incident.id).status == "resolved"
    assert [e.actor for e in store.timeline(incident.id)][-1] == "watch"
    assert len(client.posts) == 2 and f"Incident #{incident.id} resolved" in client.posts[1]["text"]

    clock.advance(hours=6)
    [result] = await scheduler.tick()
    assert result.alerts == [] and len(client.posts) == 2


async def test_ptr_gone_then_not_confirming_are_two_changes(dns_server, store, wsettings, scheduler, clock):
    serve_ip(dns_server)
    await add(store, wsettings)
    clock.advance(hours=6)
    dns_server.remove(f"{REV}.in-addr.arpa")
    [result] = await scheduler.tick()
    assert summary(result) == [("rdns", IP, "pass", "fail", "change")]
    assert "no PTR" in result.alerts[0].change.after_summary

    clock.advance(hours=6)
    dns_server.set(f"{REV}.in-addr.arpa", "PTR", "elsewhere.sender.example")
    dns_server.set("elsewhere.sender.example", "A", "89.160.20.112")
    [result] = await scheduler.tick()
    # Still `fail`, but another problem: a PTR that does not lead back is news too.
    assert summary(result) == [("rdns", IP, "fail", "fail", "change")]
    # Both changes went to the same open incident.
    assert result.alerts[0].incident_created is False
    assert store.get(result.alerts[0].incident_id).occurrences == 2


async def test_a_single_transient_failure_is_retried_and_raises_nothing(
    dns_server, store, wsettings, scheduler, client, clock
):
    serve_ip(dns_server)
    added = await add(store, wsettings)
    clock.advance(hours=6)
    dns_server.log.clear()
    dns_server.fail_next(f"{REV}.in-addr.arpa")  # SERVFAIL once, then answers again
    [result] = await scheduler.tick()
    assert result.alerts == [] and client.posts == []
    assert result.retried == ["rdns"]
    assert len(dns_server.queries_for(f"{REV}.in-addr.arpa")) == 2
    [_, run] = store.watch_runs([added.watch.id])
    assert run["retried"] == ["rdns"] and run["summary"]["rdns"]["status"] == "pass"


async def test_a_failed_lookup_is_never_a_change_and_failed_then_ok_is_no_recovery(
    dns_server, store, wsettings, scheduler, client, clock
):
    serve_ip(dns_server)
    await add(store, wsettings)
    dns_server.fault(f"{REV}.in-addr.arpa", "servfail")  # every time, retry included
    clock.advance(hours=6)
    [result] = await scheduler.tick()
    assert result.alerts == [] and result.retried == ["rdns"]
    assert any(f["check"] == "rdns" and f["status"] == "error" for f in result.findings)

    dns_server.clear_faults()
    clock.advance(hours=6)
    [result] = await scheduler.tick()
    assert result.alerts == []  # error → pass: the PTR never changed

    dns_server.fault(f"{REV}.in-addr.arpa", "servfail")
    clock.advance(hours=6)
    [result] = await scheduler.tick()
    assert result.alerts == []
    dns_server.clear_faults()
    dns_server.remove(f"{REV}.in-addr.arpa")
    clock.advance(hours=6)
    [result] = await scheduler.tick()
    # pass → error → fail: compared with the last known status, one change.
    assert summary(result) == [("rdns", IP, "pass", "fail", "change")]
    assert client.posts and "no PTR" in client.posts[-1]["text"]


async def test_domain_dkim_key_missing_or_weakened_dmarc_lowered_mx_gone_spf_broken(
    dns_server, store, wsettings, scheduler, clock
):
    serve_domain(dns_server)
    added = await add(store, wsettings, DOMAIN)
    assert added.watch.selectors == ["s1"]  # found by probing: asked by name from now on
    assert added.first_run.baseline

    clock.advance(hours=6)
    dns_server.set(f"s1._domainkey.{DOMAIN}", "TXT", f"v=DKIM1; k=rsa; p={RSA_1024}")
    dns_server.set(f"_dmarc.{DOMAIN}", "TXT", "v=DMARC1; p=quarantine")
    [result] = await scheduler.tick()
    assert summary(result) == [
        ("dkim", f"s1._domainkey.{DOMAIN}", "pass", "warn", "change"),
        ("dmarc", f"_dmarc.{DOMAIN}", "pass", "pass", "change"),  # p=reject → p=quarantine
    ]
    assert "1024 bits" in result.alerts[0].change.after_summary
    assert "p=quarantine" in result.alerts[1].change.after_summary

    clock.advance(hours=6)
    dns_server.remove(f"s1._domainkey.{DOMAIN}")
    dns_server.remove(DOMAIN, "MX")
    dns_server.set(DOMAIN, "TXT", f"v=spf1 ip4:{IP} foo:bar -all")  # receivers: permerror
    [result] = await scheduler.tick()
    events = {(c, before, after) for c, _, before, after, event in summary(result) if event == "change"}
    assert ("dkim", "warn", "fail") in events  # the key is gone
    assert ("mx", "pass", "fail") in events
    assert ("spf", "pass", "fail") in events
    reasons = {i.reason for i in store.list("active")}
    assert {"dkim", "dmarc", "mx", "spf"} <= reasons

    clock.advance(hours=6)
    serve_domain(dns_server)
    [result] = await scheduler.tick()
    assert {(c, e) for c, _, _, _, e in summary(result)} >= {
        ("dkim", "recovery"),
        ("dmarc", "recovery"),
        ("mx", "recovery"),
        ("spf", "recovery"),
    }
    assert {i.reason for i in store.list("active")} & {"dkim", "dmarc", "mx", "spf"} == set()


async def test_two_processes_never_check_the_same_target(dns_server, db_path, wsettings, clock):
    ips = [f"81.2.69.{n}" for n in range(150, 156)]
    with Store.open(db_path, clock=clock) as one, Store.open(db_path, clock=clock) as two:
        for ip in ips:
            await add(one, wsettings, ip, check=False)
        first, second = Scheduler(one, wsettings, retry_delay=0), Scheduler(two, wsettings, retry_delay=0)
        a, b = await asyncio.gather(first.run_round(), second.run_round())
        checked = [r.watch.target for r in a + b]
        assert sorted(checked) == sorted(ips)  # each exactly once, between them
        for ip in ips:
            reverse = ".".join(reversed(ip.split("."))) + ".in-addr.arpa"
            assert len(dns_server.queries_for(reverse)) == 1  # one run, not one per process

        # A lease left by a process that died: skipped until it expires, then taken over.
        [held] = one.claim_watches("crashed-host:1", timedelta(minutes=10), due_only=False, ids=[1])
        assert all(r.watch.id != held["id"] for r in await first.run_round())
        clock.advance(minutes=11)
        assert held["id"] in [r.watch.id for r in await first.run_round()]


async def test_runs_spread_over_the_interval_and_a_restart_does_not_burst(store, wsettings, scheduler, clock):
    ips = [f"81.2.{n // 200}.{n % 200 + 10}" for n in range(60)]
    for ip in ips:
        await add(store, wsettings, ip, check=False)
    interval = timedelta(seconds=wsettings.watch_interval)
    before = {w.target: w.next_run_at for w in manage.listing(store)}
    assert all(clock.now < t <= clock.now + interval for t in before.values())
    sixths = {int((t - clock.now) / (interval / 6)) for t in before.values()}
    assert sixths == set(range(6))  # spread over the interval, not bunched

    # Down for two days: every run is overdue. Resuming spreads them over one interval, in order.
    clock.advance(days=2)
    assert await scheduler.resume() == len(ips)
    after = {w.target: w.next_run_at for w in manage.listing(store)}
    assert all(clock.now <= t <= clock.now + interval for t in after.values())
    assert sorted(after, key=lambda t: (before[t], t)) == sorted(after, key=lambda t: (after[t], t))
    due = [t for t, moment in after.items() if moment <= clock.now]
    assert len(due) == 1
    assert len(await scheduler.tick()) == 1


async def test_a_short_stop_shifts_the_missed_runs_by_its_length(store, wsettings, scheduler, clock):
    for n in range(30):
        await add(store, wsettings, f"89.160.20.{n + 10}", check=False)
    before = {w.id: w.next_run_at for w in manage.listing(store)}
    clock.advance(hours=1)
    missed = {i: t for i, t in before.items() if t <= clock.now}
    assert missed, "some runs fall in the first hour"
    await scheduler.resume()
    after = {w.id: w.next_run_at for w in manage.listing(store)}
    oldest = min(missed.values())
    for watch_id, moment in missed.items():
        assert after[watch_id] == clock.now + (moment - oldest)
    assert all(after[i] == t for i, t in before.items() if i not in missed)


async def test_alerts_reach_slack_through_the_web_api(dns_server, store, wsettings, clock):
    serve_ip(dns_server)
    await add(store, wsettings)
    async with SlackStandin() as slack:
        client = AsyncWebClient(token=slack.token, base_url=slack.api_url)
        scheduler = Scheduler(store, wsettings, client=client, retry_delay=0.05)
        clock.advance(hours=6)
        dns_server.set(f"{REV}.{ZONE}", "A", "127.0.0.2")
        assert len(await scheduler.tick()) == 1
        [call] = slack.calls_to("chat.postMessage")
    assert call.args["channel"] == CHANNEL
    assert "pass → *fail*" in call.text and f"{IP} on {ZONE}" in call.text
    [row] = store.watch_alerts()
    assert row["posted_at"] and row["message_ts"] and row["error"] is None


async def test_a_failed_post_is_kept_with_its_reason(dns_server, store, wsettings, clock):
    class Down:
        async def chat_postMessage(self, **kwargs):
            raise ConnectionError("slack is down")

    serve_ip(dns_server)
    await add(store, wsettings)
    clock.advance(hours=6)
    dns_server.set(f"{REV}.{ZONE}", "A", "127.0.0.2")
    [result] = await Scheduler(store, wsettings, client=Down(), retry_delay=0).tick()
    assert len(result.alerts) == 1
    [row] = store.watch_alerts()
    assert row["posted_at"] is None and "slack is down" in row["error"]


async def test_the_digest_lists_the_changes(dns_server, store, wsettings, scheduler, clock):
    serve_ip(dns_server)
    await add(store, wsettings)
    since = clock.now
    clock.advance(hours=6)
    dns_server.set(f"{REV}.{ZONE}", "A", "127.0.0.2")
    await scheduler.tick()
    digest = build_digest(store, now=clock.now, since=since)
    [change] = digest.watch_changes
    assert (change["target"], change["check"], change["before"], change["after"], change["event"]) == (
        IP,
        "blocklist",
        "pass",
        "fail",
        "change",
    )
    text = render_text(digest)
    assert "Changes in watched targets (1):" in text
    assert f"{IP} blocklist {IP} on {ZONE}: pass → fail" in text
    assert json.dumps(digest.to_dict())  # the JSON form carries them too


async def test_rate_limit_waits_outside_the_check_deadline(dns_server, store, wsettings, clock):
    ips = [f"89.160.21.{n}" for n in range(10, 22)]
    dns_server.set(f"2.0.0.127.{ZONE}", "A", "127.0.0.2")
    for ip in ips:
        await add(store, wsettings, ip, check=False)
    # 12 queries at 4 a second take about 3 s, three times the deadline: no run may time out.
    settings = replace(wsettings, blocklist_rate=4.0, check_deadline=1.0)
    results = await Scheduler(store, settings, retry_delay=0).run_round()
    assert len(results) == len(ips)
    for result in results:
        blocklist = [f for f in result.findings if f["check"] == "blocklist"]
        assert [f["status"] for f in blocklist] == ["pass"], blocklist
        assert result.retried == []
    asked = {name for name, rdtype, _ in dns_server.log if name.endswith(ZONE) and rdtype == "A"}
    assert len(asked) == len(ips) + 2  # every IP once, and the list's two test points


async def test_removed_watches_are_not_run_but_keep_their_history(
    dns_server, store, wsettings, scheduler, clock
):
    serve_ip(dns_server)
    await add(store, wsettings)
    removed = await manage.remove(store, IP, workspace="T1")
    assert isinstance(removed, Watch) and removed.target == IP
    clock.advance(hours=6)
    assert await scheduler.tick() == []
    timeline = manage.history(store, IP)
    assert len(timeline.runs) == 1 and timeline.watches[0].removed_at is not None
    with pytest.raises(manage.NotWatched):
        await manage.remove(store, IP, workspace="T1")


async def test_serving_processes_run_the_scheduler_unless_switched_off(store, wsettings):
    class Services:
        def __init__(self, settings):
            self.settings, self.store = settings, store

    assert start_background(Services(replace(wsettings, watch_scheduler=False)), None) is None
    task = start_background(Services(wsettings), None)
    assert task is not None and not task.done()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_run_forever_resumes_then_ticks(dns_server, store, wsettings, clock):
    serve_ip(dns_server)
    await add(store, wsettings, check=False)
    clock.advance(days=1)
    ticks = []

    async def stop_after_one(_seconds):
        ticks.append(clock.now)
        raise asyncio.CancelledError

    with pytest.raises(asyncio.CancelledError):
        await run_forever(store, wsettings, None, sleep=stop_after_one)
    [watch] = manage.listing(store)
    assert len(ticks) == 1 and watch.last_run_at == clock.now  # the overdue run was resumed at once
    assert MX_HOST  # (the domain fixtures are shared with the other tests)
