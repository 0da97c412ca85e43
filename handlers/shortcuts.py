"""The "Diagnose bounce" message shortcut: diagnose any message, answer in its thread."""

from __future__ import annotations

from bot import triage
from bot.ids import CallbackId
from bot.render_blocks import diagnoses_message, problem_message
from bot.triage import is_bounce
from handlers.reply import post_or_respond
from handlers.threads import bounce_text


def register(app) -> None:
    app.shortcut(CallbackId.DIAGNOSE_BOUNCE)(on_diagnose_bounce)


async def on_diagnose_bounce(ack, shortcut, client, context, respond, services) -> None:
    await ack()
    message = shortcut.get("message") or {}
    channel = (shortcut.get("channel") or {}).get("id") or ""
    text = await bounce_text(message, client, context, services)
    diagnoses = await services.diagnose(text) if text.strip() else []
    if not any(is_bounce(d) for d in diagnoses):
        await respond(
            response_type="ephemeral",
            replace_original=False,
            **problem_message(
                "I found no bounce in that message: no status code, recipient or error I know."
            ).payload(),
        )
        return
    answer = diagnoses_message(
        diagnoses, services.kb, incidents_enabled=services.store is not None, keep=services.kept.put
    )
    await post_or_respond(
        client,
        respond,
        channel,
        triage.thread_root(message),
        answer,
        private=services.settings.response_private,
    )
