"""Buttons, the message shortcut, the note modal and App Home, end to end."""

from __future__ import annotations

import json
import logging

import pytest

from tests.handlers.conftest import TRIAGE
from tests.handlers.test_threads import BOUNCE


def buttons(blocks):
    return {e["action_id"]: e for b in blocks if b["type"] == "actions" for e in b["elements"]}


async def diagnosis_in_thread(running, ts="1700000100.000001"):
    await running.sender.event(running.sender.message(BOUNCE, channel=TRIAGE, ts=ts))
    (post,) = await running.slack.wait_for("chat.postMessage")
    message = {
        "type": "message",
        "ts": "1700000100.000099",
        "thread_ts": ts,
        "blocks": post.blocks,
        "user": "UBOT",
    }
    return post, message


async def test_log_incident_from_a_diagnosis_then_resolve_it(running):
    post, message = await diagnosis_in_thread(running)
    log = buttons(post.blocks)["log_incident"]
    payload = running.sender.block_action("log_incident", log["value"], message=message, channel=TRIAGE)
    reply = await running.sender.interaction(payload)
    assert reply.status == 200
    posts = await running.slack.wait_for("chat.postMessage", 2)
    logged = posts[1]
    assert logged.args["thread_ts"] == "1700000100.000001"
    assert "Logged as incident #1" in logged.all_text()
    (incident,) = running.services.store.list("active")
    assert (incident.subject, incident.reason, incident.channel, incident.reporter) == (
        "89.160.20.112",
        "blocked",
        TRIAGE,
        "U0ALICE",
    )
    # A second press adds an occurrence; it never opens a second incident.
    await running.sender.interaction(
        running.sender.block_action("log_incident", log["value"], message=message, channel=TRIAGE)
    )
    posts = await running.slack.wait_for("chat.postMessage", 3)
    assert "Added to incident #1" in posts[2].all_text()
    assert len(running.services.store.list("all")) == 1
    # Resolve from the incident's own message: the message is replaced with its new state.
    card = {"type": "message", "ts": "1700000100.000200", "blocks": logged.blocks}
    resolve = buttons(logged.blocks)["resolve_incident"]
    url = running.slack.response_url("resolve")
    await running.sender.interaction(
        running.sender.block_action(
            "resolve_incident", resolve["value"], message=card, channel=TRIAGE, response_url=url
        )
    )
    (replaced,) = await running.slack.wait_for("response_url", name="resolve")
    assert replaced.args["replace_original"] is True
    assert "resolved" in replaced.all_text()
    assert "resolve_incident" not in buttons(replaced.blocks)
    assert running.services.store.list("active") == []


async def test_logged_incident_keeps_the_permalink_of_its_thread(running):
    post, message = await diagnosis_in_thread(running)
    log = buttons(post.blocks)["log_incident"]
    await running.sender.interaction(
        running.sender.block_action("log_incident", log["value"], message=message, channel=TRIAGE)
    )
    posts = await running.slack.wait_for("chat.postMessage", 2)
    (asked,) = running.slack.calls_to("chat.getPermalink")
    # The thread's root, where the bounce was pasted, not the bot's answer holding the button.
    assert (asked.args["channel"], asked.args["message_ts"]) == (TRIAGE, "1700000100.000001")
    link = f"https://standin.slack.com/archives/{TRIAGE}/p1700000100000001"
    (incident,) = running.services.store.list("active")
    assert incident.permalink == link
    assert (incident.channel, incident.thread_ts) == (TRIAGE, "1700000100.000001")
    (created,) = running.services.store.timeline(incident.id)
    assert created.permalink == link
    assert f"<{link}|#1>" in posts[1].all_text()
    # The App Home links the incident to its thread too.
    await running.sender.event(
        {"type": "app_home_opened", "user": "U0ALICE", "channel": "D0ALICE", "tab": "home"}
    )
    (published,) = await running.slack.wait_for("views.publish")
    assert f"<{link}|#1>" in published.all_text()


@pytest.mark.parametrize("error", ["not_in_channel", "channel_not_found"])
async def test_incident_is_logged_without_a_permalink_when_slack_gives_none(running, caplog, error):
    running.slack.fail("chat.getPermalink", error)
    post, message = await diagnosis_in_thread(running)
    log = buttons(post.blocks)["log_incident"]
    with caplog.at_level(logging.WARNING, logger="handlers.actions"):
        await running.sender.interaction(
            running.sender.block_action("log_incident", log["value"], message=message, channel=TRIAGE)
        )
        posts = await running.slack.wait_for("chat.postMessage", 2)
        await running.slack.settle()
    assert len(running.slack.calls_to("chat.getPermalink")) == 1
    (incident,) = running.services.store.list("active")
    assert incident.permalink is None
    assert (incident.channel, incident.thread_ts, incident.subject) == (
        TRIAGE,
        "1700000100.000001",
        "89.160.20.112",
    )
    assert "Logged as incident #1" in posts[1].all_text() and "slack.com/archives" not in posts[1].all_text()
    assert running.slack.responses() == []  # nothing went wrong as far as the user can tell
    warnings = [r for r in caplog.records if r.name == "handlers.actions"]
    assert len(warnings) == 1 and error in warnings[0].getMessage()


async def test_check_button_posts_checking_then_updates_it(running, dns_server):
    post, message = await diagnosis_in_thread(running)
    check = buttons(post.blocks)["check_ip"]
    assert check["value"] == "89.160.20.112"
    await running.sender.interaction(
        running.sender.block_action("check_ip", check["value"], message=message, channel=TRIAGE)
    )
    posts = await running.slack.wait_for("chat.postMessage", 2)
    assert posts[1].args["thread_ts"] == "1700000100.000001"
    assert posts[1].text == "Checking ip 89.160.20.112…"
    (update,) = await running.slack.wait_for("chat.update")
    assert update.args["channel"] == TRIAGE
    assert update.text.startswith("89.160.20.112")
    assert "RDNS" in update.all_text()


async def test_rerun_replaces_the_result_twice(running, dns_server):
    dns_server.add("_dmarc.example.com", "TXT", "v=DMARC1; p=none")
    message = {"type": "message", "ts": "1700000200.000001", "blocks": []}
    url = running.slack.response_url("rerun")
    await running.sender.interaction(
        running.sender.block_action("rerun_checks", "dmarc example.com", message=message, response_url=url)
    )
    first, second = await running.slack.wait_for("response_url", 2, name="rerun")
    assert first.args["replace_original"] and "Checking dmarc example.com" in first.text
    assert second.args["replace_original"] and second.text.startswith("example.com")


async def test_add_note_opens_a_modal_and_saves_the_note(running):
    from incidents.model import Observation

    incident, _ = running.services.store.record(
        Observation(subject="example.com", receiver="gmail", reason="authfailure")
    )
    message = {"type": "message", "ts": "1700000300.000001", "blocks": []}
    url = running.slack.response_url("note")
    await running.sender.interaction(
        running.sender.block_action("add_note", str(incident.id), message=message, response_url=url)
    )
    (opened,) = await running.slack.wait_for("views.open")
    view = json.loads(opened.args["view"]) if isinstance(opened.args["view"], str) else opened.args["view"]
    assert view["callback_id"] == "add_note_view"
    # Empty submission: Slack is told which field is wrong and nothing is saved.
    submission = {
        "type": "view_submission",
        "team": {"id": running.slack.team_id},
        "user": {"id": "U0ALICE"},
        "view": {
            **view,
            "id": "V1",
            "state": {"values": {"note_input": {"note_text": {"type": "plain_text_input", "value": "  "}}}},
        },
    }
    reply = await running.sender.interaction(submission)
    assert reply.json()["response_action"] == "errors"
    submission["view"]["state"]["values"]["note_input"]["note_text"]["value"] = "asked Gmail postmaster tools"
    reply = await running.sender.interaction(submission)
    assert reply.status == 200 and not reply.text
    (said,) = await running.slack.wait_for("response_url", name="note")
    assert f"Note added to incident #{incident.id}" in said.text
    notes = [e.text for e in running.services.store.timeline(incident.id) if e.kind == "note_added"]
    assert notes == ["asked Gmail postmaster tools"]


async def test_show_everything_opens_the_kept_answer(running):
    key = running.services.kept.put("deliverability example.com", "first line\n" + "x" * 9000 + "\nlast line")
    message = {"type": "message", "ts": "1700000400.000001", "blocks": []}
    await running.sender.interaction(
        running.sender.block_action("show_all", key, message=message, ephemeral=True)
    )
    (opened,) = await running.slack.wait_for("views.open")
    assert "last line" in opened.all_text()
    await running.sender.interaction(running.sender.block_action("show_all", "forgotten", message=message))
    second = await running.slack.wait_for("views.open", 2)
    assert "no longer kept" in second[1].all_text()


async def test_message_shortcut_diagnoses_in_the_thread(running):
    message = {"type": "message", "user": "U0BOB", "ts": "1700000500.000001", "text": BOUNCE}
    reply = await running.sender.interaction(running.sender.message_shortcut(message, channel="C0OTHER"))
    assert reply.status == 200
    (post,) = await running.slack.wait_for("chat.postMessage")
    assert post.args["channel"] == "C0OTHER" and post.args["thread_ts"] == "1700000500.000001"
    assert "blocked" in post.all_text()


async def test_message_shortcut_falls_back_to_response_url_where_it_cannot_post(running):
    running.slack.fail("chat.postMessage", "not_in_channel")
    message = {"type": "message", "user": "U0BOB", "ts": "1700000600.000001", "text": BOUNCE}
    payload = running.sender.message_shortcut(message, channel="G0PRIVATE")
    await running.sender.interaction(payload)
    (answer,) = await running.slack.wait_for("response_url")
    assert answer.args["response_type"] == "in_channel" and "blocked" in answer.all_text()


async def test_message_shortcut_on_chatter_says_so_privately(running):
    message = {"type": "message", "user": "U0BOB", "ts": "1700000700.000001", "text": "see you at lunch"}
    await running.sender.interaction(running.sender.message_shortcut(message))
    (answer,) = await running.slack.wait_for("response_url")
    assert answer.args["response_type"] == "ephemeral" and "no bounce" in answer.text
    assert running.slack.calls_to("chat.postMessage") == []


async def test_app_home_shows_usage_and_open_incidents(running):
    from incidents.model import Observation

    running.services.store.record(Observation(subject="81.2.69.160", receiver="microsoft", reason="blocked"))
    await running.sender.event(
        {"type": "app_home_opened", "user": "U0ALICE", "channel": "D0ALICE", "tab": "home"}
    )
    (published,) = await running.slack.wait_for("views.publish")
    assert published.args["user_id"] == "U0ALICE"
    text = published.all_text()
    assert "/deliverability check" in text and "Open incidents (1)" in text
    assert "blocked at microsoft for 81.2.69.160" in text
    # Resolving from Home publishes Home again, without the incident.
    view_payload = running.sender.block_action("resolve_incident", "1", message={})
    view_payload["container"] = {"type": "view", "view_id": "V1"}
    view_payload.pop("response_url")
    view_payload.pop("channel")
    view_payload.pop("message")
    await running.sender.interaction(view_payload)
    second = await running.slack.wait_for("views.publish", 2)
    assert "No open incidents" in second[1].all_text()
