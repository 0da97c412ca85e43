"""The "Diagnose bounce" message shortcut: diagnose any message, answer in its thread."""

from __future__ import annotations

from bot import triage
from bot.ids import CallbackId
from bot.render_blocks import problem_message
from handlers.errors import later
from handlers.reply import diagnosis_message, post_or_respond
from handlers.threads import bounce_text


def register(app) -> None:
    app.shortcut(CallbackId.DIAGNOSE_BOUNCE)(on_diagnose_bounce)


async def on_diagnose_bounce(ack, shortcut, body, client, context, respond, services) -> None:
    await ack()
    later(
        diagnose(shortcut, client, context, respond, services),
        body=body,
        context=context,
        client=client,
        services=services,
    )


async def diagnose(shortcut, client, context, respond, services) -> None:
    message = shortcut.get("message") or {}
    channel = (shortcut.get("channel") or {}).get("id") or ""
    text = await bounce_text(message, client, context, services)
    answer = await diagnosis_message(text, services)
    if answer is None:
        await respond(
            response_type="ephemeral",
            replace_original=False,
            **problem_message(
                "I found no bounce in that message: no status code, recipient or error I know."
            ).payload(),
        )
        return
    await post_or_respond(
        client,
        respond,
        channel,
        triage.thread_root(message),
        answer,
        private=services.settings.response_private,
    )
