"""Bounces pasted in Slack, end to end: where the bot answers, where it keeps quiet, and only once."""

from __future__ import annotations

from tests.handlers.conftest import TRIAGE

BOUNCE = (
    "host mx.example.org[81.2.69.160] said: 550 5.7.1 Service unavailable; Client host "
    "[89.160.20.112] blocked using zen.spamhaus.org (in reply to RCPT TO command)"
)
# The same bounce as Slack delivers it: angle brackets and ampersands escaped, hosts auto-linked.
SLACK_BOUNCE = (
    "&lt;<mailto:bob@example.org|bob@example.org>&gt;: host "
    "<http://mx.example.org|mx.example.org>[81.2.69.160] said: 550 5.7.1 Service unavailable; "
    "Client host [89.160.20.112] blocked using "
    "<http://zen.spamhaus.org|zen.spamhaus.org> (in reply to RCPT TO command)"
)


async def test_bounce_in_a_triage_channel_is_diagnosed_in_its_thread(running):
    event = running.sender.message(SLACK_BOUNCE, channel=TRIAGE, ts="1700000000.000100")
    reply = await running.sender.event(event)
    assert reply.status == 200
    (post,) = await running.slack.wait_for("chat.postMessage")
    assert post.args["channel"] == TRIAGE
    assert post.args["thread_ts"] == "1700000000.000100"
    text = post.all_text()
    assert "blocked" in text and "550 5.7.1" in text
    assert "bob@example.org" in text  # unescaped from Slack's mailto form
    buttons = [e["action_id"] for b in post.blocks if b["type"] == "actions" for e in b["elements"]]
    assert buttons == ["log_incident", "check_ip"]


async def test_chatter_in_a_triage_channel_is_ignored(running):
    await running.sender.event(running.sender.message("anyone up for lunch? 12:30", channel=TRIAGE))
    await running.sender.event(running.sender.message("we moved to 5.2.1 of the mailer", channel=TRIAGE))
    await running.slack.settle()
    assert running.slack.calls_to("chat.postMessage") == []


async def test_outside_triage_only_threads_where_the_bot_was_mentioned(running):
    sender = running.sender
    # Not mentioned: a bounce in an ordinary channel is not the bot's business.
    await sender.event(sender.message(BOUNCE, channel="C0OTHER", ts="1700000001.000001"))
    await running.slack.settle()
    assert running.slack.calls_to("chat.postMessage") == []
    # Mentioned at the top of a thread: the bot says it is following, then answers bounces in it.
    mention = {
        "type": "app_mention",
        "channel": "C0OTHER",
        "user": "U0ALICE",
        "text": "<@UBOT> can you look at this thread?",
        "ts": "1700000002.000001",
    }
    await sender.event(mention)
    (hint,) = await running.slack.wait_for("chat.postMessage")
    assert hint.args["thread_ts"] == "1700000002.000001" and "paste a bounce" in hint.text
    await sender.event(sender.message(BOUNCE, channel="C0OTHER", thread_ts="1700000002.000001"))
    posts = await running.slack.wait_for("chat.postMessage", 2)
    assert posts[1].args["thread_ts"] == "1700000002.000001"
    assert "blocked" in posts[1].all_text()
    # A reply without a bounce in that thread gets nothing.
    await sender.event(sender.message("thanks, looking", channel="C0OTHER", thread_ts="1700000002.000001"))
    await running.slack.settle()
    assert len(running.slack.calls_to("chat.postMessage")) == 2


async def test_a_mention_carrying_a_bounce_is_answered_once(running):
    sender = running.sender
    text = f"<@UBOT> {SLACK_BOUNCE}"
    ts = "1700000003.000001"
    # Slack sends both a message event and an app_mention for it.
    await sender.event(sender.message(text, channel="C0OTHER", ts=ts))
    await sender.event(
        {"type": "app_mention", "channel": "C0OTHER", "user": "U0ALICE", "text": text, "ts": ts}
    )
    (post,) = await running.slack.wait_for("chat.postMessage")
    await running.slack.settle()
    assert len(running.slack.calls_to("chat.postMessage")) == 1
    assert post.args["thread_ts"] == ts and "blocked" in post.all_text()


async def test_direct_message(running):
    event = running.sender.message(BOUNCE, channel="D0ALICE", channel_type="im", ts="1700000004.000001")
    await running.sender.event(event)
    (post,) = await running.slack.wait_for("chat.postMessage")
    assert post.args["channel"] == "D0ALICE" and post.args["thread_ts"] == "1700000004.000001"


async def test_never_answers_itself_and_other_bots_only_in_triage(running):
    sender = running.sender
    mine = sender.message(BOUNCE, channel=TRIAGE, user="UBOT", bot_id="BBOT")
    await sender.event(mine)
    other_elsewhere = sender.message(
        BOUNCE, channel="D0ALICE", channel_type="im", user=None, bot_id="BMAILER"
    )
    await sender.event(other_elsewhere)
    await running.slack.settle()
    assert running.slack.calls_to("chat.postMessage") == []
    other_in_triage = sender.message(
        BOUNCE, channel=TRIAGE, user=None, bot_id="BMAILER", ts="1700000005.000001"
    )
    await sender.event(other_in_triage)
    (post,) = await running.slack.wait_for("chat.postMessage")
    assert post.args["thread_ts"] == "1700000005.000001"


async def test_retries_and_duplicate_deliveries_are_answered_once(running):
    sender = running.sender
    event = sender.message(BOUNCE, channel=TRIAGE, ts="1700000006.000001")
    first = await sender.event(event, event_id="Ev0DUP")
    assert first.status == 200
    await running.slack.wait_for("chat.postMessage")
    for retry in (1, 2, 3):
        again = await sender.event(event, event_id="Ev0DUP", retry_num=retry)
        assert again.status == 200
    duplicate = await sender.event(event, event_id="Ev0DUP")
    assert duplicate.status == 200
    await running.slack.settle(0.5)
    assert len(running.slack.calls_to("chat.postMessage")) == 1


async def test_a_retry_of_an_event_never_seen_is_handled(running):
    # The first delivery never reached us (a timeout on Slack's side): its retry is the only copy.
    event = running.sender.message(BOUNCE, channel=TRIAGE, ts="1700000007.000001")
    reply = await running.sender.event(event, event_id="Ev0LOST", retry_num=1)
    assert reply.status == 200
    await running.slack.wait_for("chat.postMessage")


async def test_bounce_in_an_attached_eml_file_is_read(running):
    eml = (
        "From: MAILER-DAEMON@mx.example.net\r\nTo: sender@example.com\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\nContent-Type: text/plain\r\n\r\n"
        "<bob@example.org>: host mx.example.org[81.2.69.160] said: 550 5.1.1 <bob@example.org>: "
        "Recipient address rejected: User unknown (in reply to RCPT TO command)\r\n"
    )
    f = running.slack.add_file(eml)
    event = running.sender.message("", channel=TRIAGE, files=[f], ts="1700000008.000001")
    await running.sender.event(event)
    (post,) = await running.slack.wait_for("chat.postMessage")
    assert "userunknown" in post.all_text() or "5.1.1" in post.all_text()
    (download,) = running.slack.calls_to("file")
    assert download.headers["Authorization"] == f"Bearer {running.slack.token}"


async def test_rate_limited_post_is_retried_after_retry_after(running):
    running.slack.rate_limit("chat.postMessage", times=1, retry_after=1)
    await running.sender.event(running.sender.message(BOUNCE, channel=TRIAGE))
    calls = await running.slack.wait_for("chat.postMessage", 2)
    assert [c.status for c in calls] == [429, 200]
    assert calls[1].at - calls[0].at >= 0.9


async def test_dedup_survives_a_restart(running, tmp_path):
    """The seen event ids live in DATABASE_PATH: a new process sharing it drops the redelivery."""
    from dataclasses import replace

    from aiohttp import web

    from bot.app import build_app, web_app
    from bot.services import Services
    from tests.slack_standin import SlackSender

    event = running.sender.message(BOUNCE, channel=TRIAGE)
    await running.sender.event(event, event_id="Ev0RESTART")
    await running.slack.wait_for("chat.postMessage")
    services = Services.create(replace(running.settings))
    runner = web.AppRunner(web_app(build_app(running.settings, services), services))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    other = SlackSender(f"http://127.0.0.1:{port}/slack/events", running.sender.secret, running.slack)
    try:
        reply = await other.event(event, event_id="Ev0RESTART", retry_num=1)
        assert reply.status == 200
        await running.slack.settle(0.5)
        assert len(running.slack.calls_to("chat.postMessage")) == 1
    finally:
        await other.close()
        await runner.cleanup()
        services.close()


USER_UNKNOWN = (
    "&lt;<mailto:gone.away@example.org|gone.away@example.org>&gt;: host "
    "<http://mx.example.org|mx.example.org>[81.2.69.160] said: 550 5.1.1 &lt;gone.away@example.org&gt;: "
    "Recipient address rejected: User unknown in virtual mailbox table (in reply to RCPT TO command)"
)


async def test_a_hard_bounce_diagnosed_in_slack_feeds_the_suppression_list(running):
    event = running.sender.message(USER_UNKNOWN, channel=TRIAGE, ts="1700000009.000100")
    await running.sender.event(event)
    (post,) = await running.slack.wait_for("chat.postMessage")
    assert "userunknown" in post.all_text()
    rows = running.services.store.suppressions(None)
    assert [r["address"] for r in rows] == ["gone.away@example.org"]
    assert rows[0]["reason"] == "userunknown"


async def test_suppressions_off_keeps_addresses_out(running):
    from dataclasses import replace

    running.services.settings = replace(running.services.settings, suppressions=False)
    await running.sender.event(running.sender.message(USER_UNKNOWN, channel=TRIAGE, ts="1700000010.000100"))
    await running.slack.wait_for("chat.postMessage")
    assert running.services.store.suppressions(None) == []
