"""Block Kit for the practices answers (bot.practice_answers): a header, the text in code blocks, and
the attachment (the CSV list, or the whole text when it is too long) for Slack to upload beside it."""

from __future__ import annotations

from slack_sdk.models.blocks import ActionsBlock, Block

from bot.ids import ActionId
from bot.practice_answers import PracticeAnswer
from bot.render_blocks import (
    MAX_BLOCKS,
    MAX_FALLBACK,
    MAX_MESSAGE_TEXT,
    Keep,
    Message,
    button,
    clip,
    context,
    mrkdwn,
    pack,
)
from bot.render_blocks import header as header_block
from bot.slack_text import code_block

CHUNK = 2800  # characters of text per code block, leaving room for the fence and escaping


def practice_message(answer: PracticeAnswer, *, keep: Keep | None = None) -> Message:
    blocks: list[Block] = [header_block(answer.title)]
    used = 0
    shortened = False
    for chunk in pack(answer.text.split("\n"), CHUNK):
        block = mrkdwn(code_block(chunk))
        size = len(chunk)
        if len(blocks) >= MAX_BLOCKS - 3 or used + size > MAX_MESSAGE_TEXT - 1000:
            shortened = True
            break
        blocks.append(block)
        used += size
    message = Message(
        text=clip(answer.text.split("\n", 1)[0], MAX_FALLBACK),
        blocks=blocks,
        title=answer.title,
        filename=answer.filename,
    )
    full = answer.attachment if answer.attachment is not None else (answer.text if shortened else None)
    if shortened:
        blocks.append(
            context(":scissors: Shortened to fit in Slack: the whole answer is in the attached file.")
        )
    if full is not None:
        message.full_text = full
        if keep is not None:
            key = keep(answer.title, full)
            label = "Show the list" if answer.attachment is not None else "Show everything"
            blocks.append(ActionsBlock(block_id="show_all", elements=[button(label, ActionId.SHOW_ALL, key)]))
    return message
