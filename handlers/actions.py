"""Buttons on answers and incidents, and the note modal they open."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from slack_sdk.errors import SlackApiError

from bot import slash
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
from handlers.home import publish_home
from handlers.reply import attach_full_text, post_in_thread, post_or_respond


def register(app) -> None:
    app.action(ActionId.RERUN)(on_rerun)
    app.action(ActionId.CHECK_IP)(on_check_subject)
    app.action(ActionId.CHECK_DOMAIN)(on_check_subject)
    app.action(ActionId.SHOW_ALL)(on_show_all)
    app.action(ActionId.LOG_INCIDENT)(on_log_incident)
    app.action(ActionId.RESOLVE)(on_resolve)
    app.action(ActionId.ADD_NOTE)(on_add_note)
    app.view(CallbackId.ADD_NOTE)(on_note_submitted)


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


def _answer(answer, services):
    return render(answer, services.kb, incidents_enabled=services.store is not None, keep=services.kept.put)


async def on_rerun(ack, action, body, client, respond, services) -> None:
    await ack()
    request = slash.parse(action.get("value") or "")
    await respond(replace_original=True, **checking_message(request).payload())
    message = _answer(await slash.execute(request, services), services)
    await respond(replace_original=True, **message.payload())
    channel, root, ephemeral = where(body)
    if not ephemeral:
        await attach_full_text(client, channel, root, message)


async def on_check_subject(ack, action, body, client, respond, services) -> None:
    await ack()
    sub = "ip" if action["action_id"] == ActionId.CHECK_IP else "check"
    request = slash.Request(sub, target=action.get("value") or "")
    channel, root, ephemeral = where(body)
    ts = None
    if not ephemeral and channel:
        try:
            ts = await post_in_thread(client, channel, root, checking_message(request))
        except SlackApiError:
            ts = None  # not allowed to post there: answer through the response_url below
    message = _answer(await slash.execute(request, services), services)
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


async def on_show_all(ack, action, body, client, services) -> None:
    await ack()
    kept = services.kept.get(action.get("value") or "")
    title, text = kept if kept else ("Full answer", None)
    await client.views_open(trigger_id=body["trigger_id"], view=full_text_view(title, text))


async def on_log_incident(ack, action, body, client, respond, services) -> None:
    await ack()
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
        reporter=(body.get("user") or {}).get("id"),
    )
    incident, created = await asyncio.to_thread(services.store.record, observation)
    message = incident_message(incident, created=created)
    await post_or_respond(client, respond, channel, root, message, private=ephemeral)


async def on_resolve(ack, action, body, client, respond, services) -> None:
    await ack()
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


async def on_add_note(ack, action, body, client, services) -> None:
    await ack()
    metadata = {
        "response_url": body.get("response_url"),
        "home": (body.get("container") or {}).get("type") == "view",
    }
    await client.views_open(trigger_id=body["trigger_id"], view=note_view(int(action["value"]), metadata))


async def on_note_submitted(ack, view, body, client, services) -> None:
    value = view["state"]["values"].get(BlockId.NOTE_INPUT, {}).get(NOTE_ACTION, {}).get("value") or ""
    if not value.strip():
        await ack(response_action="errors", errors={BlockId.NOTE_INPUT: "Write the note first."})
        return
    await ack()
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
