"""Bounces pasted in Slack: in a thread where the bot was mentioned, a triage channel, or a DM."""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import urlsplit

import aiohttp

from bot import triage
from bot.render_blocks import mrkdwn
from handlers.errors import later
from handlers.reply import diagnosis_message, post_in_thread

log = logging.getLogger(__name__)

MENTION_HINT = (
    "I'm following this thread: paste a bounce here and I'll say what it means and what to do. "
    "`/deliverability help` lists the checks."
)


def register(app) -> None:
    app.event("app_mention")(on_mention)
    app.event("message")(on_message)


async def on_mention(event, body, client, context, services) -> None:
    later(
        mention(event, client, context, services),
        body=body,
        context=context,
        client=client,
        services=services,
    )


async def on_message(event, body, client, context, services) -> None:
    later(
        message(event, client, context, services),
        body=body,
        context=context,
        client=client,
        services=services,
    )


async def mention(event, client, context, services) -> None:
    """Follow the thread from now on; diagnose the mention itself when it carries a bounce."""
    channel, root = event["channel"], triage.thread_root(event)
    if services.store is not None:
        await asyncio.to_thread(services.store.remember_thread, channel, root)
    if event.get("bot_id") and channel not in services.settings.triage_channels:
        return
    text = await bounce_text(event, client, context, services)
    if await diagnose_into_thread(text, channel, root, client, services):
        return
    await client.chat_postMessage(
        channel=channel, thread_ts=root, text=MENTION_HINT, blocks=[mrkdwn(MENTION_HINT)]
    )


async def message(event, client, context, services) -> None:
    """Diagnose the message in its thread when it is a bounce posted where the bot answers."""
    watched = False
    if event.get("thread_ts") and services.store is not None:
        watched = await asyncio.to_thread(
            services.store.thread_watched, event.get("channel", ""), event["thread_ts"]
        )
    where = triage.classify(
        event,
        bot_user_id=context.bot_user_id,
        bot_id=context.bot_id,
        triage_channels=services.settings.triage_channels,
        thread_watched=watched,
    )
    if not where.diagnose:
        log.debug("message %s ignored: %s", event.get("ts"), where.why)
        return
    text = await bounce_text(event, client, context, services)
    await diagnose_into_thread(text, event["channel"], triage.thread_root(event), client, services)


async def diagnose_into_thread(text: str, channel: str, root: str, client, services) -> bool:
    """Post a diagnosis in the thread when the text is a bounce; False (and silence) when it is not."""
    if not triage.looks_like_bounce(text):
        return False
    message = await diagnosis_message(text, services)
    if message is None:
        return False
    await post_in_thread(client, channel, root, message)
    return True


async def bounce_text(message, client, context, services) -> str:
    """The message's text and the text of its readable attached files (an .eml, a pasted .txt)."""
    text = triage.message_text(message, bot_user_id=context.bot_user_id)
    limit = services.settings.max_input_bytes
    parts = [text]
    for f in triage.readable_files(message, limit)[:3]:
        body = await download(f, client, limit)
        if body:
            parts.append(body)
    return "\n\n".join(p for p in parts if p)


async def download(f, client, limit: int) -> str:
    """A Slack file's content, fetched with the bot token from Slack's own hosts only."""
    url = f.get("url_private_download") or f.get("url_private")
    if not url and f.get("id"):
        info = await client.files_info(file=f["id"])
        url = (info.get("file") or {}).get("url_private_download")
    if not url or not _slack_host(url, client.base_url):
        return ""
    headers = {"Authorization": f"Bearer {client.token}"}
    timeout = aiohttp.ClientTimeout(total=20)
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.get(url, headers=headers) as resp,
        ):
            if resp.status != 200:
                log.warning("file %s: HTTP %s", f.get("id"), resp.status)
                return ""
            data = await resp.content.read(limit)
    except (aiohttp.ClientError, TimeoutError) as exc:
        log.warning("file %s could not be read: %s", f.get("id"), exc)
        return ""
    return data.decode("utf-8", errors="replace")


def _slack_host(url: str, api_base: str) -> bool:
    """The bot token goes only to Slack's file host or the configured Web API host (SLACK_API_URL)."""
    host = (urlsplit(url).hostname or "").lower()
    return host == "files.slack.com" or host == (urlsplit(api_base).hostname or "").lower()
