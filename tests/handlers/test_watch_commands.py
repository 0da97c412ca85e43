"""`/deliverability watch|unwatch|watches` end to end: signed commands over HTTP, answers and alerts read
from the Slack stand-in; the scheduler's round posts to the channel the watch was created in."""

from __future__ import annotations

from dataclasses import replace

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.slash import parse
from tests.watch.conftest import IP, REV, ZONE, serve_ip
from watch.scheduler import Scheduler, start_background

OTHER_IP = "89.160.20.112"


@pytest.fixture
def settings(settings):
    """One emulated IP list instead of the public ones."""
    return replace(settings, blocklists_ip=(ZONE,), blocklists_domain=())


async def answer(running, text: str, name: str, **kwargs):
    await running.sender.command(text, response_url=running.slack.response_url(name), **kwargs)
    (reply,) = await running.slack.wait_for("response_url", name=name)
    return reply


async def test_watch_answers_then_alerts_the_channel_it_was_created_in(running, dns_server):
    serve_ip(dns_server)
    reply = await answer(running, f"watch {IP}", "w1", channel="C0DELIV")
    text = reply.all_text()
    assert f"Watching {IP}" in text and "Now: 2 pass" in text
    assert "Alerts go to <#C0DELIV>" in text  # a channel id becomes a link

    [watch] = running.services.store.list_watches()
    assert (watch["workspace"], watch["channel"], watch["created_by"]) == (
        running.sender.team_id,
        "C0DELIV",
        "U0ALICE",
    )

    dns_server.set(f"{REV}.{ZONE}", "A", "127.0.0.2")
    client = AsyncWebClient(token=running.slack.token, base_url=running.slack.api_url)
    await Scheduler(running.services.store, running.settings, client=client, retry_delay=0).run_round()
    [post] = running.slack.calls_to("chat.postMessage")
    assert post.args["channel"] == "C0DELIV"
    assert f"{IP} on {ZONE}: pass → *fail*" in post.text


async def test_watch_to_a_named_channel_list_and_unwatch(running, dns_server):
    serve_ip(dns_server, OTHER_IP, "112.20.160.89")
    reply = await answer(running, f"watch {OTHER_IP} #deliverability", "n1")
    assert "Alerts go to #deliverability" in reply.all_text()

    listed = (await answer(running, "watches", "l1")).all_text()
    assert "1 watched target" in listed and f"{OTHER_IP} (ip) → #deliverability" in listed

    gone = (await answer(running, f"unwatch {OTHER_IP}", "u1")).all_text()
    assert f"No longer watching {OTHER_IP}" in gone
    again = (await answer(running, f"unwatch {OTHER_IP}", "u2")).all_text()
    assert "is not watched" in again
    assert "Nothing is watched" in (await answer(running, "watches", "l2")).all_text()


async def test_bad_watch_input_is_answered_not_raised(running):
    private = (await answer(running, "watch 10.0.0.1", "b1")).all_text()
    assert "not a public address" in private
    usage = (await answer(running, "watch", "b2")).all_text()
    assert "usage" in usage and "watch <domain|ip> [#channel]" in usage


async def test_the_serving_process_scheduler_posts_when_a_watch_comes_due(running, dns_server):
    serve_ip(dns_server)
    await answer(running, f"watch {IP}", "s1", channel="C0DELIV")
    store = running.services.store
    [watch] = store.list_watches()
    store.set_watch_next_run(watch["id"], store.now())  # due now
    dns_server.set(f"{REV}.{ZONE}", "A", "127.0.0.2")
    client = AsyncWebClient(token=running.slack.token, base_url=running.slack.api_url)
    task = start_background(running.services, client)  # what `serve` and `socket` start
    try:
        [post] = await running.slack.wait_for("chat.postMessage")
    finally:
        task.cancel()
    assert post.args["channel"] == "C0DELIV" and "pass → *fail*" in post.text
    assert (
        start_background(
            replace(running.services, settings=replace(running.settings, watch_scheduler=False)), client
        )
        is None
    )


def test_parse_keeps_the_words_for_the_watch_answers():
    request = parse(f"private watch {IP} #ops")
    assert (request.sub, request.text, request.private) == ("watch", f"{IP} #ops", True)
    assert parse("watches").sub == "watches"
