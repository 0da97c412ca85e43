"""`/deliverability …`: ack with "checking…" at once, then replace it with the answer."""

from __future__ import annotations

from dataclasses import replace

from slack_bolt.async_app import AsyncApp

from bot import slash
from bot.ids import COMMAND
from bot.render_blocks import checking_message, render
from bot.slack_text import unescape
from bot.watch_answers import Caller
from handlers.errors import later
from handlers.reply import answer_message, attach_full_text


def register(app: AsyncApp) -> None:
    app.command(COMMAND)(on_command)


async def on_command(ack, command, body, context, respond, client, services) -> None:
    request = replace(slash.parse(unescape(command.get("text") or "")), caller=Caller.of_command(command))
    private = request.is_private(services.settings.response_private)
    response_type = "ephemeral" if private else "in_channel"
    if request.sub == "help" or request.problem:
        # Nothing to look up: the answer is the ack, and only the caller sees it.
        answer = await slash.execute(request, services)
        await ack(response_type="ephemeral", **render(answer, services.kb).payload())
        return
    await ack(response_type=response_type, **checking_message(request).payload())

    async def finish() -> None:
        message = await answer_message(request, services)
        await respond(response_type=response_type, replace_original=True, **message.payload())
        if not private:
            await attach_full_text(client, command.get("channel_id") or "", None, message)

    later(finish(), body=body, context=context)
