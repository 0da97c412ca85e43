"""How an answer reaches Slack: in a thread, through a response_url, or only to one person; a
shortened answer also gets its whole text as a file where everyone it was shown to can read it."""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import slash
from bot.render_blocks import Message, diagnoses_message, render
from bot.triage import is_bounce

log = logging.getLogger(__name__)


async def answer_message(request: slash.Request, services) -> Message:
    """Run a request and render its answer, on the core loop (never on the loop that acks Slack)."""

    async def work() -> Message:
        answer = await slash.execute(request, services)
        return render(
            answer, services.kb, incidents_enabled=services.store is not None, keep=services.kept.put
        )

    return await services.run(work())


async def diagnosis_message(text: str, services) -> Message | None:
    """The diagnosis of a pasted text as a message, or None when the text holds no bounce."""

    async def work() -> Message | None:
        diagnoses = await services.diagnose(text) if text.strip() else []
        if not any(is_bounce(d) for d in diagnoses):
            return None
        return diagnoses_message(
            diagnoses, services.kb, incidents_enabled=services.store is not None, keep=services.kept.put
        )

    return await services.run(work())


async def attach_full_text(
    client: AsyncWebClient, channel: str, thread_ts: str | None, message: Message
) -> None:
    """Upload a shortened answer's whole text beside it; the "Show everything" button covers a failure."""
    if not message.shortened or not channel:
        return
    try:
        await client.files_upload_v2(
            channel=channel,
            thread_ts=thread_ts or None,
            content=message.full_text,
            filename=message.filename,
            title=message.title or message.filename,
            snippet_type="text",
        )
    except SlackApiError as exc:
        log.warning("could not attach the full answer in %s: %s", channel, exc.response.get("error"))


async def post_in_thread(
    client: AsyncWebClient, channel: str, thread_ts: str | None, message: Message
) -> str:
    """Post in a thread (or the channel when `thread_ts` is None); returns the new message's ts."""
    response = await client.chat_postMessage(
        channel=channel, thread_ts=thread_ts or None, **message.payload()
    )
    await attach_full_text(client, channel, thread_ts, message)
    return str(response.get("ts") or "")


async def post_or_respond(
    client: AsyncWebClient,
    respond,
    channel: str,
    thread_ts: str | None,
    message: Message,
    *,
    private: bool,
) -> str | None:
    """In the thread for everyone, or through the response_url when private or when the bot may not
    post there (not a member of a private channel). Returns the posted ts when there is one."""
    if not private and channel:
        try:
            return await post_in_thread(client, channel, thread_ts, message)
        except SlackApiError as exc:
            if respond is None:
                raise
            log.info(
                "cannot post in %s (%s): answering through response_url", channel, exc.response.get("error")
            )
    await respond(
        response_type="ephemeral" if private else "in_channel",
        replace_original=False,
        thread_ts=thread_ts or None,
        **message.payload(),
    )
    return None
