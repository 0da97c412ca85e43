"""Block Kit for the watch answers (bot.watch_answers): a header, the lines, and the list of watches."""

from __future__ import annotations

from slack_sdk.models.blocks import Block

from bot.render_blocks import (
    MAX_BLOCKS,
    MAX_FALLBACK,
    MAX_MESSAGE_TEXT,
    MAX_SECTION,
    Message,
    clip,
    header,
    mrkdwn,
)
from bot.slack_text import CHANNEL_ID, escape
from bot.watch_answers import WatchAnswer, watch_line


def _linked(text: str) -> str:
    """Escaped text with channel ids (C0123ABCD) as Slack channel links."""
    return CHANNEL_ID.sub(r"<#\1>", escape(text))


def watch_message(answer: WatchAnswer) -> Message:
    blocks: list[Block] = [header(answer.title)]  # header() clips to 150
    lines = list(answer.lines)
    if answer.request.sub == "watches":
        lines += [watch_line(w) for w in answer.watches]
    section: list[str] = []
    used = 0
    for index, line in enumerate(lines):
        text = _linked(clip(line, 500))
        if used + len(text) > MAX_MESSAGE_TEXT - 500 or len(blocks) >= MAX_BLOCKS - 2:
            section.append(f"… and {len(lines) - index} more (`deliverability watch list` shows them all)")
            break
        if section and len("\n".join([*section, text])) > MAX_SECTION - 100:
            blocks.append(mrkdwn("\n".join(section)))
            section = []
        section.append(text)
        used += len(text) + 1
    if section:
        blocks.append(mrkdwn("\n".join(section)))
    return Message(text=clip(answer.text(), MAX_FALLBACK), blocks=blocks)
