"""Buttons on answers and incidents, and the note modal they open."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Coroutine
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError

from bot import message_answers, slash
from bot.app import Respond
from bot.ids import NOTE_ACTION, ActionId, BlockId, CallbackId
from bot.render_blocks import (
    checking_message,
    decode_observation,
    full_text_view,
    incident_message,
    incidents_message,
    note_view,
    problem_message,
    render,
)
from handlers.errors import later
from handlers.home import publish_home
from handlers.reply import (
    PASTE_TITLE,
    analysis_message,
    answer_message,
    attach_full_text,
    post_in_thread,
    post_or_respond,
    tell_privately,
)
from handlers.threads import download

log = logging.getLogger(__name__)

Work = Callable[..., Coroutine[Any, Any, None]]
# A permalink is a nicety: waiting longer than this for one would only delay the incident.
PERMALINK_TIMEOUT = 5.0


def register(app) -> None:
    app.action(ActionId.RERUN)(acked(rerun))
    app.action(ActionId.CHECK_IP)(acked(check_subject))
    app.action(ActionId.CHECK_DOMAIN)(acked(check_subject))
    app.action(ActionId.SHOW_ALL)(acked(show_all))
    app.action(ActionId.LOG_INCIDENT)(acked(log_incident))
    app.action(ActionId.RESOLVE)(acked(resolve))
    app.action(ActionId.ADD_NOTE)(acked(add_note))
    app.action(ActionId.ANALYZE_AS_MESSAGE)(acked(analyze_as_message))
    app.action(ActionId.COMPARE_MESSAGES)(acked(compare_messages))
    app.view(CallbackId.ADD_NOTE)(on_note_submitted)


def acked(work: Work) -> Callable[..., Coroutine[Any, Any, None]]:
    """A button listener: ack at once, then `work(action, body, client, respond, services)` in the
    background (a modal's trigger_id is valid for 3 seconds, which the work has from here)."""

    async def listener(ack, action, body, context, client, respond, services) -> None:
        await ack()
        later(work(action, body, client, respond, services), body=body, context=context)

    listener.__name__ = f"on_{work.__name__}"
    return listener


def where(body: dict[str, Any]) -> tuple[str, str | None, bool]:
    """(channel, thread root, is_ephemeral) of the message whose button was pressed."""
    container = body.get("container") or {}
    message = body.get("message") or {}
    channel = (body.get("channel") or {}).get("id") or container.get("channel_id") or ""
    root = (
        message.get("thread_ts")
        or container.get("thread_ts")
        or message.get("ts")
        or container.get("message_ts")
    )
    return channel, root, bool(container.get("is_ephemeral"))


async def rerun(action, body, client, respond, services) -> None:
    request = slash.parse(action.get("value") or "")
    await respond(replace_original=True, **checking_message(request).payload())
    message = await answer_message(request, services)
    await respond(replace_original=True, **message.payload())
    channel, root, ephemeral = where(body)
    if not ephemeral:
        await attach_full_text(client, channel, root, message)


async def check_subject(action, body, client, respond, services) -> None:
    sub = "ip" if action["action_id"] == ActionId.CHECK_IP else "check"
    request = slash.Request(sub, target=action.get("value") or "")
    channel, root, ephemeral = where(body)
    ts = None
    if not ephemeral and channel:
        try:
            ts = await post_in_thread(client, channel, root, checking_message(request))
        except SlackApiError:
            ts = None  # not allowed to post there: answer through the response_url below
    message = await answer_message(request, services)
    if ts:
        await client.chat_update(channel=channel, ts=ts, **message.payload())
        await attach_full_text(client, channel, root, message)
    else:
        await respond(
            response_type="ephemeral" if ephemeral else "in_channel",
            replace_original=False,
            thread_ts=root,
            **message.payload(),
        )


async def show_all(action, body, client, respond, services) -> None:
    kept = services.kept.get(action.get("value") or "")
    title, text = kept if kept else ("Full answer", None)
    await client.views_open(trigger_id=body["trigger_id"], view=full_text_view(title, text))


async def log_incident(action, body, client, respond, services) -> None:
    channel, root, ephemeral = where(body)
    if services.store is None:
        await respond(
            replace_original=False, **problem_message("The incident log is not available.").payload()
        )
        return
    observation = decode_observation(
        action["value"],
        workspace=(body.get("team") or {}).get("id") or "",
        channel=channel or None,
        thread_ts=root,
        permalink=await permalink(client, channel, root),
        reporter=(body.get("user") or {}).get("id"),
    )
    incident, created = await asyncio.to_thread(services.store.record, observation)
    message = incident_message(incident, created=created)
    await post_or_respond(client, respond, channel, root, message, private=ephemeral)


async def permalink(client, channel: str | None, ts: str | None) -> str | None:
    """The link to the message an incident was raised from, or None when Slack will not give one
    (the bot is not in the channel, a message it cannot see, Slack unreachable): the incident is
    recorded all the same, pointing at its channel and thread instead."""
    if not channel or not ts:
        return None
    try:
        answer = await asyncio.wait_for(
            client.chat_getPermalink(channel=channel, message_ts=ts), PERMALINK_TIMEOUT
        )
    except SlackApiError as exc:
        log.warning("no permalink for %s %s: %s", channel, ts, exc.response.get("error"))
        return None
    except (SlackClientError, aiohttp.ClientError, OSError, TimeoutError) as exc:
        log.warning("no permalink for %s %s: %s", channel, ts, type(exc).__name__)
        return None
    link = answer.get("permalink")
    return link if isinstance(link, str) and link.startswith("https://") else None


async def resolve(action, body, client, respond, services) -> None:
    user = (body.get("user") or {}).get("id")
    incident = await asyncio.to_thread(
        services.store.set_status, int(action["value"]), "resolved", actor=user
    )
    await _refresh(body, incident, client, respond, services)


async def _refresh(body, incident, client, respond, services) -> None:
    """Show an incident's new state where its button was: the Home tab, a list, or its own message."""
    if (body.get("container") or {}).get("type") == "view":
        await publish_home(client, services, body["user"]["id"])
        return
    blocks = (body.get("message") or {}).get("blocks") or []
    listed = sum(1 for b in blocks if str(b.get("block_id", "")).startswith(BlockId.INCIDENT_ACTIONS))
    if listed > 1:
        message = incidents_message(await asyncio.to_thread(services.store.list, "active"))
    else:
        message = incident_message(incident)
    await respond(replace_original=True, **message.payload())


async def add_note(action, body, client, respond, services) -> None:
    metadata = {
        "response_url": body.get("response_url"),
        "home": (body.get("container") or {}).get("type") == "view",
    }
    await client.views_open(trigger_id=body["trigger_id"], view=note_view(int(action["value"]), metadata))


async def on_note_submitted(ack, view, body, context, client, services) -> None:
    value = view["state"]["values"].get(BlockId.NOTE_INPUT, {}).get(NOTE_ACTION, {}).get("value") or ""
    if not value.strip():
        await ack(response_action="errors", errors={BlockId.NOTE_INPUT: "Write the note first."})
        return
    await ack()
    later(save_note(view, body, value, client, services), body=body, context=context)


async def save_note(view, body, value: str, client, services) -> None:
    metadata = json.loads(view.get("private_metadata") or "{}")
    user = (body.get("user") or {}).get("id")
    incident = await asyncio.to_thread(
        services.store.add_note, int(metadata["incident"]), value.strip(), actor=user
    )
    if metadata.get("home"):
        await publish_home(client, services, user)
    elif metadata.get("response_url"):
        await Respond(response_url=metadata["response_url"])(
            response_type="ephemeral", replace_original=False, text=f"Note added to incident #{incident.id}."
        )


async def analyze_as_message(action, body, client, respond, services) -> None:
    """The text (or file) a diagnosis was made of, analysed as a raw message, in the same thread."""
    channel, root, ephemeral = where(body)
    try:
        value = json.loads(action.get("value") or "")
    except ValueError:
        value = {}
    if value.get("f"):
        # A file is fetched again: its own bytes, so the body hash can be verified.
        data: bytes | str = await download({"id": value["f"]}, client, services.settings.max_input_bytes + 1)
        pasted, name = False, str(value.get("n") or "the file")
        gone = "I could not fetch that file again from Slack: upload it once more."
    else:
        kept = services.kept.get(str(value.get("k") or ""))
        data = kept[1] if kept is not None and kept[0] == PASTE_TITLE else ""
        pasted, name = True, ""
        gone = "I no longer hold that text (pastes are kept in memory for a day): paste it again."
    if not data:
        await tell_privately(respond, gone)
        return
    thread = (channel, root) if channel and root else None
    message = await analysis_message(data, services, pasted=pasted, name=name, thread=thread)
    await post_or_respond(client, respond, channel, root, message, private=ephemeral)


async def compare_messages(action, body, client, respond, services) -> None:
    """Two messages analysed in one thread, compared: do they share an IP, Return-Path or DKIM domain?"""
    channel, root, ephemeral = where(body)
    answer = message_answers.compare_kept(action.get("value") or "", services)
    if isinstance(answer, slash.ProblemAnswer):
        await tell_privately(respond, answer.problem)
        return
    message = await services.run(_render(answer, services))
    await post_or_respond(client, respond, channel, root, message, private=ephemeral)


async def _render(answer, services):
    return render(answer, services.kb, keep=services.kept.put)
