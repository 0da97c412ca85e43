"""The message shortcuts: "Diagnose bounce" (a bounce diagnosed, a raw message analysed, as in threads)
and "Analyse message" (analysed as a raw message whatever it looks like); answers go in its thread."""

from __future__ import annotations

from bot import triage
from bot.ids import CallbackId
from handlers.errors import later
from handlers.reply import post_or_respond, tell_privately, triage_messages
from handlers.threads import read_pieces

NOTHING = {
    CallbackId.DIAGNOSE_BOUNCE: "I found no bounce in that message: no status code, recipient or error I "
    "know, and no raw message (header fields such as Received, DKIM-Signature, From).",
    CallbackId.ANALYZE_MESSAGE: "There is no raw message in that message: no header fields such as "
    "Received or From. Paste the whole source (in most mail programs: Show original, or View source) or "
    "upload the .eml.",
}


def register(app) -> None:
    app.shortcut(CallbackId.DIAGNOSE_BOUNCE)(on_shortcut)
    app.shortcut(CallbackId.ANALYZE_MESSAGE)(on_shortcut)


async def on_shortcut(ack, shortcut, body, client, context, respond, services) -> None:
    await ack()
    later(answer(shortcut, client, context, respond, services), body=body, context=context)


async def answer(shortcut, client, context, respond, services) -> None:
    message = shortcut.get("message") or {}
    channel = (shortcut.get("channel") or {}).get("id") or ""
    root = triage.thread_root(message)
    pieces = await read_pieces(message, client, context, services)
    analyse_all = shortcut.get("callback_id") == CallbackId.ANALYZE_MESSAGE
    answers = await triage_messages(pieces, services, thread=(channel, root), analyse_all=analyse_all)
    if not answers:
        line = NOTHING[CallbackId.ANALYZE_MESSAGE if analyse_all else CallbackId.DIAGNOSE_BOUNCE]
        await tell_privately(respond, line)
        return
    for reply in answers:
        await post_or_respond(
            client, respond, channel, root, reply, private=services.settings.response_private
        )
