"""The one place an unexpected exception meets the user: a short line with an error id, the trace
in the log under the same id, and a 200 so Slack does not retry the request into the same failure."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Coroutine
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse

from bot.triage import thread_root

log = logging.getLogger(__name__)


def register(app: AsyncApp) -> None:
    app.error(on_error)


def error_line(error_id: str) -> str:
    return (
        f":warning: Something went wrong on my side (error id `{error_id}`); it is logged. Try again later."
    )


async def on_error(error, body, context, client, response) -> BoltResponse | None:
    error_id = secrets.token_hex(4)
    kind = body.get("type") or ("command" if body.get("command") else "request")
    log.error("error %s while handling a %s", error_id, kind, exc_info=error)
    line = error_line(error_id)
    if response is not None and (
        body.get("command") or body.get("type") in ("block_actions", "message_action")
    ):
        # Not acknowledged yet: the line becomes the answer to Slack's request itself.
        return BoltResponse(status=200, body={"response_type": "ephemeral", "text": line})
    try:
        if context.response_url:
            await context.respond(response_type="ephemeral", replace_original=False, text=line)
        elif body.get("type") == "event_callback":
            event = body.get("event") or {}
            if event.get("channel") and event.get("type") in ("message", "app_mention"):
                await client.chat_postMessage(
                    channel=event["channel"], thread_ts=thread_root(event), text=line
                )
    except Exception:  # the error line itself could not be delivered: the log is all we have
        log.exception("error %s: could not tell the user", error_id)
    if response is not None:
        return BoltResponse(status=200, body="")
    return None


def later(work: Coroutine[Any, Any, Any], *, body, context) -> None:
    """Finish a listener's work after Slack has its answer: the task is tracked by the request's
    services (a shutdown waits for it) and an exception in it reaches the user like any other, with
    an id. The client and services are the request's own, as the listener received them."""

    async def run() -> None:
        try:
            await work
        except Exception as error:
            await on_error(error, body, context, context.client, None)

    context["services"].track(asyncio.ensure_future(run()))
