"""Bounces and raw messages pasted or uploaded in Slack: in a thread where the bot was mentioned, a triage
channel, or a DM. A bounce is diagnosed, a raw message analysed (bot.triage.route decides)."""

from __future__ import annotations

import asyncio
import logging
import sys
from urllib.parse import urlsplit

import aiohttp

from bot import triage
from bot.render_blocks import mrkdwn
from handlers.errors import later
from handlers.reply import Piece, post_in_thread, triage_messages

log = logging.getLogger(__name__)

MENTION_HINT = (
    "I'm following this thread: paste a bounce here and I'll say what it means and what to do; paste "
    "a raw message (or upload its .eml) and I'll check its DKIM, SPF and DMARC. "
    "`/deliverability help` lists the checks."
)


def register(app) -> None:
    app.event("app_mention")(on_mention)
    app.event("message")(on_message)


async def on_mention(event, body, client, context, services) -> None:
    later(mention(event, client, context, services), body=body, context=context)


async def on_message(event, body, client, context, services) -> None:
    later(message(event, client, context, services), body=body, context=context)


async def mention(event, client, context, services) -> None:
    """Follow the thread from now on; answer the mention itself when it carries a bounce or a message."""
    channel, root = event.get("channel"), triage.thread_root(event)
    if not channel:  # not a mention Slack sends; nowhere to answer
        return
    if services.store is not None:
        await asyncio.to_thread(services.store.remember_thread, channel, root)
    if event.get("bot_id") and channel not in services.settings.triage_channels:
        return
    pieces = await read_pieces(event, client, context, services)
    if await answer_into_thread(pieces, channel, root, client, services):
        return
    await client.chat_postMessage(
        channel=channel, thread_ts=root, text=MENTION_HINT, blocks=[mrkdwn(MENTION_HINT)]
    )


async def message(event, client, context, services) -> None:
    """Answer a bounce or a raw message in its thread when it was posted where the bot answers."""
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
    pieces = await read_pieces(event, client, context, services)
    await answer_into_thread(pieces, event["channel"], triage.thread_root(event), client, services)


async def answer_into_thread(pieces: list[Piece], channel: str, root: str, client, services) -> bool:
    """Post the diagnoses and analyses in the thread; False (and silence) when there is neither."""
    answers = await triage_messages(pieces, services, thread=(channel, root))
    for answer in answers:
        await post_in_thread(client, channel, root, answer)
    return bool(answers)


async def read_pieces(message, client, context, services) -> list[Piece]:
    """The message's text, and the bytes of its readable attached files (an .eml, a .txt, a snippet).

    A file larger than MAX_INPUT_BYTES is read up to one byte past the limit, so an analysis can say
    it was cut there instead of the file being passed over in silence.
    """
    text = triage.message_text(message, bot_user_id=context.bot_user_id)
    limit = services.settings.max_input_bytes
    pieces = [Piece("the pasted message", text, pasted=True)] if text else []
    for f in triage.readable_files(message, sys.maxsize)[:3]:
        data = await download(f, client, limit + 1)
        if data:
            # A snippet is text pasted into Slack's snippet box: as reflowed as any other paste.
            pasted = f.get("mode") == "snippet"
            name = str(f.get("name") or f.get("title") or f.get("id") or "the file")
            pieces.append(Piece(name, data, pasted=pasted, file_id=f.get("id")))
    return pieces


async def download(f, client, limit: int) -> bytes:
    """A Slack file's content (at most `limit` bytes), fetched with the bot token from Slack's own hosts."""
    url = f.get("url_private_download") or f.get("url_private")
    if not url and f.get("id"):
        info = await client.files_info(file=f["id"])
        url = (info.get("file") or {}).get("url_private_download")
    if not url or not _slack_host(url, client.base_url):
        return b""
    headers = {"Authorization": f"Bearer {client.token}"}
    timeout = aiohttp.ClientTimeout(total=20)
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.get(url, headers=headers) as resp,
        ):
            if resp.status != 200:
                log.warning("file %s: HTTP %s", f.get("id"), resp.status)
                return b""
            return await resp.content.read(limit)
    except (aiohttp.ClientError, TimeoutError) as exc:
        log.warning("file %s could not be read: %s", f.get("id"), exc)
        return b""


def _slack_host(url: str, api_base: str) -> bool:
    """The bot token goes only to Slack's file host or the configured Web API host (SLACK_API_URL)."""
    host = (urlsplit(url).hostname or "").lower()
    return host == "files.slack.com" or host == (urlsplit(api_base).hostname or "").lower()
