"""Block Kit for a raw message's analysis and for a comparison of two messages' streams.

The analysis: a header with the tally, the path (sending IP, HELO, envelope sender, From domain),
then the findings grouped by check, worst group first, each problem with its first step and a link
to its knowledge-base entry's source (every bulk-sender checklist item gets its link). A comparison is
a Report, so it goes through the `check` renderer. The buttons: "Compare with the earlier message",
"Check <IP>" and "Check <From domain>"; and on a diagnosis of text that could be a message,
"Analyse as a message".
"""

from __future__ import annotations

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement

from bot import render_text
from bot.ids import ActionId, BlockId
from bot.message_answers import AnalysisAnswer, ComparisonAnswer
from bot.render_blocks import (
    EMOJI,
    MAX_BLOCKS,
    MAX_FALLBACK,
    MAX_SECTION,
    Keep,
    Message,
    button,
    clip,
    context,
    fit,
    header,
    mrkdwn,
    pack,
    report_message,
)
from bot.slack_text import escape
from checks.model import Finding, Status, worst_first
from checks.target import TargetError, parse_target
from knowledge.base import KnowledgeBase

TITLES = {
    "input": "Input",
    "path": "Path",
    "dkim-signature": "DKIM",
    "spf": "SPF",
    "dmarc": "DMARC",
    "rdns": "Reverse DNS",
    "arc": "ARC",
    "auth-results": "Authentication-Results in the message",
    "bulk-requirements": "Bulk-sender requirements (Gmail and Yahoo 2024, Microsoft 2025)",
}
BAD = (Status.FAIL, Status.ERROR, Status.WARN)
PASTED_NOTE = (
    ":clipboard: Pasted text: Slack reflows it, so I can't verify the body from a paste. Upload the "
    "`.eml` (in a mail program: *Show original* or *View source*, then download) for a full DKIM verdict."
)


def _link(finding: Finding, kb: KnowledgeBase) -> str:
    entry = kb.get(finding.kb)
    if entry is None:
        return ""
    return f"<{entry.sources[0]}|{escape(entry.title)}>"


def _line(finding: Finding, kb: KnowledgeBase, *, checklist: bool) -> str:
    about = f" _({escape(finding.about)})_" if finding.about and not checklist else ""
    lead = f"*{escape(finding.about)}*: " if checklist and finding.about else ""
    line = f"{EMOJI[finding.status]} {lead}{escape(finding.summary)}{about}"
    entry = kb.get(finding.kb)
    if entry is not None and finding.status in BAD:
        line += f"\n      → {escape(entry.steps[0])} ({_link(finding, kb)})"
    elif entry is not None and checklist:
        line += f" ({_link(finding, kb)})"
    return line


def _path(answer: AnalysisAnswer) -> str:
    a = answer.analysis
    parts = [f"*{escape(answer.name)}*"]
    if a.sending_ip:
        helo = f" (HELO {escape(a.helo)})" if a.helo else ""
        parts.append(f"sent from {escape(a.sending_ip)}{helo}")
    else:
        parts.append("no sending IP found in Received")
    if a.envelope_sender is not None:
        parts.append(f"envelope sender {escape(a.envelope_sender or '<> (null sender)')}")
    parts.append(f"From domain {escape(a.from_domain)}" if a.from_domain else "no usable From domain")
    return " · ".join(parts)


def _subject_buttons(answer: AnalysisAnswer) -> list[ButtonElement]:
    buttons = []
    for value, action, kind in (
        (answer.analysis.sending_ip, ActionId.CHECK_IP, "ip"),
        (answer.analysis.from_domain, ActionId.CHECK_DOMAIN, "domain"),
    ):
        try:
            target = parse_target(value or "")
        except TargetError:
            continue
        if target.kind == kind:
            buttons.append(button(f"Check {target.value}", action, target.value))
    return buttons


def analysis_message(answer: AnalysisAnswer, kb: KnowledgeBase, *, keep: Keep | None = None) -> Message:
    a = answer.analysis
    findings = worst_first(a.findings)
    worst = findings[0].status if findings else Status.INFO
    subject = a.from_domain or answer.name
    title = f"Message from {subject}: {render_text.tally(findings, none='')}"
    body: list[Block] = [header(f"{EMOJI[worst]} {title}"), context(_path(answer))]
    if a.pasted:
        body.append(context(PASTED_NOTE))
    for check, group in render_text.by_check(findings).items():
        checklist = check == "bulk-requirements"
        lines = [f"*{escape(TITLES.get(check, check.upper()))}*"]
        lines += [_line(f, kb, checklist=checklist) for f in group]
        # A finding and its first step are one "line": they stay in the same section.
        body.extend(mrkdwn(chunk) for chunk in pack(lines, MAX_SECTION))
    body.append(context(f"message analysis · {a.elapsed_ms} ms · {a.queries} DNS queries"))
    buttons = []
    if answer.compare_value is not None:
        buttons.append(
            button("Compare with the earlier message", ActionId.COMPARE_MESSAGES, answer.compare_value)
        )
    buttons += _subject_buttons(answer)
    tail: list[Block] = [ActionsBlock(block_id=BlockId.MESSAGE_ACTIONS, elements=buttons)] if buttons else []
    blocks, shortened = fit(body, tail)
    message = Message(
        text=clip(title, MAX_FALLBACK),
        blocks=blocks,
        title=f"Message analysis: {subject}",
        filename="message-analysis.txt",
    )
    if shortened:
        message.full_text = render_text.render_analysis(a, answer.name)
        if keep is not None:
            key = keep(message.title, message.full_text)
            add_buttons(message, [button("Show everything", ActionId.SHOW_ALL, key)])
    return message


def comparison_message(answer: ComparisonAnswer, kb: KnowledgeBase, *, keep: Keep | None = None) -> Message:
    """The stream comparison, through the `check` renderer (its findings are a Report)."""
    message = report_message(answer.comparison.report(), kb, keep=keep)
    if len(message.blocks) < MAX_BLOCKS:
        message.blocks.insert(
            1, context("Stream separation: do these two messages share what carries sender reputation?")
        )
    return message


def add_buttons(message: Message, buttons: list[ButtonElement]) -> Message:
    """Buttons added to a message: in a new actions block while there is room for one, else in its
    last actions block (at most 25 elements), so Slack's 50-block limit holds."""
    actions = [b for b in message.blocks if isinstance(b, ActionsBlock)]
    if len(message.blocks) < MAX_BLOCKS:
        message.blocks.append(
            ActionsBlock(block_id=f"{BlockId.MESSAGE_ACTIONS}:{len(actions)}", elements=buttons)
        )
    elif actions and len(actions[-1].elements) + len(buttons) <= 25:
        actions[-1].elements.extend(buttons)
    return message


def offer_analysis(message: Message, value: str) -> Message:
    """A diagnosis of text that could also be a raw message gets an "Analyse as a message" button."""
    return add_buttons(message, [button("Analyse as a message", ActionId.ANALYZE_AS_MESSAGE, value)])
