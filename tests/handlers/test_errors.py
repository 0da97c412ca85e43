"""An exception in a handler: one short line with an error id for the user, the trace in the log."""

from __future__ import annotations

import logging
import re

from tests.handlers.conftest import TRIAGE
from tests.handlers.test_threads import BOUNCE


async def test_a_failing_handler_tells_the_user_and_the_app_keeps_serving(running, caplog, dns_server):
    caplog.set_level(logging.ERROR)
    running.services.store.close()  # the database goes away under the running app
    await running.sender.command("incidents", response_url=running.slack.response_url("broken"))
    calls = await running.slack.wait_for("response_url", name="broken")
    line = calls[-1].text
    match = re.search(r"error id `([0-9a-f]{8})`", line)
    assert match, line
    assert calls[-1].args["response_type"] == "ephemeral" and len(line) < 200
    logged = [r for r in caplog.records if match.group(1) in r.getMessage()]
    assert logged and logged[0].exc_info is not None
    # Everyone else is still served.
    reply = await running.sender.command("help")
    assert reply.status == 200 and "/deliverability check" in reply.text
    await running.sender.command("dmarc example.com", response_url=running.slack.response_url("ok"))
    (answer,) = await running.slack.wait_for("response_url", name="ok")
    assert "DMARC" in answer.all_text()


async def test_a_failing_event_gets_the_line_in_its_thread_and_a_200(running, caplog):
    caplog.set_level(logging.ERROR)
    running.services.store.close()
    event = running.sender.message(BOUNCE, channel=TRIAGE, ts="1700000900.000001")
    reply = await running.sender.event(event)
    assert reply.status == 200  # a 5xx would only make Slack retry into the same failure
    (post,) = await running.slack.wait_for("chat.postMessage")
    assert post.args["thread_ts"] == "1700000900.000001"
    assert re.search(r"error id `[0-9a-f]{8}`", post.text)
