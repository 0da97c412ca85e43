"""How an answer reaches Slack: in a thread, through a response_url, or only to one person; a
shortened answer also gets its whole text as a file where everyone it was shown to can read it."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import message_answers, slash, triage
from bot.render_blocks import Message, diagnoses_message, problem_message, render
from bot.render_message import offer_analysis
from bot.triage import Route, is_bounce

log = logging.getLogger(__name__)


async def answer_message(request: slash.Request, services) -> Message:
    """Run a request and render its answer, on the core loop (never on the loop that acks Slack)."""

    async def work() -> Message:
        answer = await slash.execute(request, services)
        message = render(
            answer, services.kb, incidents_enabled=services.store is not None, keep=services.kept.put
        )
        if isinstance(answer, slash.DiagnosisAnswer) and (
            triage.route(answer.text) in (Route.MESSAGE, Route.UNSURE)
        ):
            offer_analysis(message, _keep_paste(answer.text, services))
        return message

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


async def tell_privately(respond, problem: str) -> None:
    """One line that only the person who acted sees, added beside the message they acted on."""
    await respond(response_type="ephemeral", replace_original=False, **problem_message(problem).payload())


# --- what a Slack message carries: bounces to diagnose, raw messages to analyse ----------------------

PASTE_TITLE = "pasted text"  # the title under which text offered for "Analyse as a message" is kept


@dataclass
class Piece:
    """One thing a Slack message carries: its text, or one attached file's bytes."""

    name: str  # "the pasted message", or the file's name
    data: bytes | str
    pasted: bool  # text Slack may have reflowed (typed, pasted, a snippet): a body hash proves nothing
    file_id: str | None = None

    @property
    def text(self) -> str:
        data = self.data
        return data if isinstance(data, str) else data.decode("utf-8", errors="replace")


def _keep_paste(text: str, services) -> str:
    return json.dumps({"k": services.kept.put(PASTE_TITLE, text)})


def _offer_value(piece: Piece, services) -> str:
    """What the "Analyse as a message" button carries: a file's id (its bytes are fetched again), or
    the key of the pasted text kept in memory (a button value holds 2,000 characters, a message more)."""
    if piece.file_id:
        return json.dumps({"f": piece.file_id, "n": piece.name[:200]})
    return _keep_paste(piece.text, services)


async def analysis_message(
    data: bytes | str, services, *, pasted: bool, name: str = "", thread: tuple[str, str] | None = None
) -> Message:
    """A raw message's analysis (or the one line saying why it can't be analysed), rendered."""

    async def work() -> Message:
        answer = await message_answers.analyse(data, services, pasted=pasted, name=name, thread=thread)
        return render(answer, services.kb, keep=services.kept.put)

    return await services.run(work())


async def triage_messages(
    pieces: list[Piece], services, *, thread: tuple[str, str], analyse_all: bool = False
) -> list[Message]:
    """The answers for what a Slack message carries (issue 6's rule): bounces diagnosed together, as
    before; each raw message analysed on its own; a message that reads like a bounce diagnosed with
    "Analyse as a message" offered (and analysed when no bounce is found in it). `analyse_all` (the
    "Analyse message" shortcut): every piece with header fields is analysed. Nothing found: []."""
    out: list[Message] = []
    bounces: list[str] = []

    async def analysed(piece: Piece) -> Message:
        name = piece.name if piece.file_id else ""
        return await analysis_message(piece.data, services, pasted=piece.pasted, name=name, thread=thread)

    if analyse_all:
        return [await analysed(p) for p in pieces if triage.header_block(p.text)[0]]
    for piece in pieces:
        route = triage.route(piece.text)
        if route is Route.MESSAGE:
            out.append(await analysed(piece))
        elif route is Route.UNSURE:
            diagnosis = await diagnosis_message(piece.text, services)
            if diagnosis is not None:
                out.append(offer_analysis(diagnosis, _offer_value(piece, services)))
            else:
                out.append(await analysed(piece))
        elif piece.text.strip():
            bounces.append(piece.text)
    text = "\n\n".join(bounces)
    if triage.looks_like_bounce(text):
        diagnosis = await diagnosis_message(text, services)
        if diagnosis is not None:
            out.insert(0, diagnosis)
    return out
