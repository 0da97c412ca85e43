"""`/deliverability` end to end: signed requests over HTTP, answers read from the Slack stand-in."""

from __future__ import annotations

import json

from bot.ids import ActionId


def actions_of(blocks):
    return [e for b in blocks if b["type"] == "actions" for e in b["elements"]]


async def test_check_acks_at_once_then_replaces_the_message(running, dns_server):
    dns_server.add("_dmarc.example.com", "TXT", "v=DMARC1; p=reject; rua=mailto:dmarc@example.com")
    reply = await running.sender.command("dmarc example.com", response_url=running.slack.response_url("r1"))
    assert reply.status == 200
    ack = reply.json()
    assert ack["response_type"] == "in_channel"
    assert ack["text"] == "Checking dmarc example.com…"
    (answer,) = await running.slack.wait_for("response_url", name="r1")
    assert answer.args["replace_original"] is True
    assert answer.args["response_type"] == "in_channel"
    assert "DMARC" in answer.all_text() and "example.com" in answer.text
    assert next(a["action_id"] for a in actions_of(answer.blocks)) == ActionId.RERUN
    await running.slack.settle()
    assert len(running.slack.responses("r1")) == 1


async def test_private_flag_and_default(running, dns_server):
    reply = await running.sender.command(
        "private dmarc example.com", response_url=running.slack.response_url("p")
    )
    assert reply.json()["response_type"] == "ephemeral"
    (answer,) = await running.slack.wait_for("response_url", name="p")
    assert answer.args["response_type"] == "ephemeral"


async def test_slack_link_forms_in_the_command_are_understood(running, dns_server):
    dns_server.add("_dmarc.example.org", "TXT", "v=DMARC1; p=none")
    text = "dmarc <http://example.org|example.org>"
    await running.sender.command(text, response_url=running.slack.response_url("l"))
    (answer,) = await running.slack.wait_for("response_url", name="l")
    assert answer.text.startswith("example.org")
    await running.sender.command(
        "check <mailto:pm@example.org|pm@example.org>", response_url=running.slack.response_url("m")
    )
    (answer,) = await running.slack.wait_for("response_url", name="m")
    assert answer.text.startswith("example.org")


async def test_unknown_subcommand_gets_help_listing_everything(running):
    reply = await running.sender.command("frobnicate example.com")
    body = reply.json()
    assert reply.status == 200 and body["response_type"] == "ephemeral"
    text = json.dumps(body)
    for name in ("check", "ip", "spf", "dkim", "dmarc", "diagnose", "incidents", "help"):
        assert f"/deliverability {name}" in text
    assert "frobnicate" in text
    await running.slack.settle()
    assert running.slack.responses() == []


async def test_bad_target_is_one_line_not_an_error(running):
    reply = await running.sender.command("ip 10.1.2.3")
    # A private address is still looked at after the ack; the answer says why it cannot be checked.
    assert reply.status == 200
    (answer,) = await running.slack.wait_for("response_url")
    assert "not a public address" in answer.text


async def test_incidents_lists_the_log(running):
    from incidents.model import Observation

    running.services.store.record(Observation(subject="81.2.69.160", receiver="microsoft", reason="blocked"))
    await running.sender.command("incidents", response_url=running.slack.response_url("i"))
    (answer,) = await running.slack.wait_for("response_url", name="i")
    assert "1 open incident" in answer.text
    ids = [a["action_id"] for a in actions_of(answer.blocks)]
    assert ids == [ActionId.RESOLVE, ActionId.ADD_NOTE]


async def test_long_public_answer_is_shortened_and_attached_as_a_file(running, dns_server):
    # Many selectors make a long DKIM answer: each gets its own finding.
    selectors = " ".join(f"selector=s{i:03d}longselectorname" for i in range(90))
    await running.sender.command(
        f"dkim example.com {selectors}", response_url=running.slack.response_url("big")
    )
    (answer,) = await running.slack.wait_for("response_url", name="big")
    assert answer.status == 200, answer.args
    assert len(answer.blocks) <= 50
    assert "Shortened to fit" in answer.all_text()
    assert ActionId.SHOW_ALL in [a["action_id"] for a in actions_of(answer.blocks)]
    (complete,) = await running.slack.wait_for("files.completeUploadExternal")
    assert complete.args["channel_id"] == "C0GENERAL"
    (upload,) = running.slack.calls_to("upload")
    assert upload.args["size"] > 10_000
    assert "s089longselectorname" in running.slack.uploads[upload.name].decode()


async def test_long_private_answer_is_not_uploaded(running):
    selectors = " ".join(f"selector=s{i:03d}longselectorname" for i in range(90))
    await running.sender.command(
        f"private dkim example.com {selectors}", response_url=running.slack.response_url("pb")
    )
    (answer,) = await running.slack.wait_for("response_url", name="pb")
    assert "Shortened to fit" in answer.all_text()
    await running.slack.settle()
    assert running.slack.calls_to("files.getUploadURLExternal") == []


async def test_rate_limited_response_is_retried_after_retry_after(running):
    running.slack.rate_limit("response_url", times=1, retry_after=1)
    await running.sender.command("ip 81.2.69.160", response_url=running.slack.response_url("rl"))
    calls = await running.slack.wait_for("response_url", 2, name="rl")
    assert [c.status for c in calls] == [429, 200]
    assert calls[1].at - calls[0].at >= 0.9


async def test_diagnose_subcommand_replaces_the_placeholder_with_the_diagnosis(running):
    # As Slack sends it: the angle brackets around the address arrive as entities.
    text = (
        "diagnose host mx.example.org said: 550 5.1.1 &lt;bob@example.org&gt;: "
        "Recipient address rejected: User unknown"
    )
    reply = await running.sender.command(text, response_url=running.slack.response_url("d"))
    assert reply.json()["text"] == "Diagnosing the bounce…"
    (answer,) = await running.slack.wait_for("response_url", name="d")
    assert answer.args["replace_original"] is True
    assert "userunknown" in answer.all_text() and "5.1.1" in answer.all_text()
    assert "bob@example.org" in answer.all_text()
    assert "&amp;lt;" not in answer.all_text()  # unescaped once on the way in, escaped once on the way out
