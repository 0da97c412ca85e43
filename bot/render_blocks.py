"""Block Kit renderings of answers, built with slack_sdk's model classes and kept inside Slack's limits.

Every piece of user or DNS text goes through `slack_text.escape`. Slack's limits are enforced
here rather than discovered as `invalid_blocks`: at most 50 blocks a message (100 a view), 3,000
characters a section, 2,000 a field, 150 a header, 75 a button label, 2,000 a button value, and a
total text budget below the size at which Slack answers `msg_blocks_too_long`. An answer that does
not fit is shortened on purpose, says so, and carries the whole text for a file or a modal.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot import render_text
from bot.ids import COMMAND, NOTE_ACTION, ActionId, BlockId, CallbackId
from bot.message_answers import AnalysisAnswer, ComparisonAnswer
from bot.practice_answers import PracticeAnswer
from bot.slack_text import channel_mention, code_block, escape, inline_code, user_mention
from bot.slash import (
    SUBCOMMANDS,
    Answer,
    DiagnosisAnswer,
    HelpAnswer,
    IncidentsAnswer,
    ProblemAnswer,
    ReportAnswer,
    Request,
)
from bot.triage import is_bounce
from bot.watch_answers import WatchAnswer
from checks.model import Finding, Report, Status, worst_first
from incidents.digest import Count, Digest, format_duration
from incidents.model import Incident
from knowledge.base import KnowledgeBase

MAX_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_SECTION = 3000
MAX_FIELD = 2000
MAX_HEADER = 150
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_MESSAGE_TEXT = 10_000  # all block text together; Slack refuses somewhere around 12,000
MAX_FALLBACK = 3000  # the notification `text` beside the blocks
MAX_DIAGNOSES_SHOWN = 5
MAX_INCIDENTS_SHOWN = 15
MAX_FIELDS = 10  # fields in one section
MAX_DIGEST_LINES = 8  # incidents, trend rows or watch changes listed in a digest section
MAX_DIGEST_LINE = 240

EMOJI = {
    Status.FAIL: ":x:",
    Status.ERROR: ":grey_question:",
    Status.WARN: ":warning:",
    Status.INFO: ":information_source:",
    Status.PASS: ":white_check_mark:",
}

Keep = Callable[[str, str], str]  # (title, full text) -> key for the "Show everything" button


@dataclass
class Message:
    """A message ready to send: the blocks, the fallback text, and the whole answer when shortened."""

    text: str
    blocks: list[Block]
    full_text: str | None = None
    title: str = ""
    filename: str = "answer.txt"

    @property
    def shortened(self) -> bool:
        return self.full_text is not None

    def payload(self) -> dict[str, Any]:
        return {"text": self.text, "blocks": [b.to_dict() for b in self.blocks]}


# --- limits ---------------------------------------------------------------------------------------


_PARTIAL_ENTITY = re.compile(r"&[a-z]{0,4}$")


def clip(text: str, limit: int) -> str:
    """At most `limit` characters, ending in "…" when cut, never inside an `&amp;`-style entity."""
    if len(text) <= limit:
        return text
    cut = _PARTIAL_ENTITY.sub("", text[: limit - 1])
    return cut + "…"


def mrkdwn(text: str, limit: int = MAX_SECTION) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=clip(text, limit) or " "))


def context(text: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=clip(text, MAX_FIELD))])


def header(text: str) -> HeaderBlock:
    return HeaderBlock(text=PlainTextObject(text=clip(text, MAX_HEADER), emoji=True))


def button(label: str, action: str, value: str, *, style: str | None = None) -> ButtonElement:
    if len(value) > MAX_BUTTON_VALUE:
        raise ValueError(f"button value for {action} is {len(value)} characters (limit {MAX_BUTTON_VALUE})")
    return ButtonElement(
        text=PlainTextObject(text=clip(label, MAX_BUTTON_TEXT), emoji=True),
        action_id=action,
        value=value,
        style=style,
    )


def text_size(block: Block | dict) -> int:
    """Characters of text a block carries (what counts toward Slack's total message size)."""
    data = block.to_dict() if isinstance(block, Block) else block
    total = 0
    stack: list[Any] = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, value in item.items():
                if key in ("text", "value") and isinstance(value, str):
                    total += len(value)
                else:
                    stack.append(value)
        elif isinstance(item, list):
            stack.extend(item)
    return total


def fit(
    body: list[Block], tail: list[Block], *, max_blocks: int = MAX_BLOCKS, note: Block | None = None
) -> tuple[list[Block], bool]:
    """Body blocks dropped from the end until body + tail fit the block and text budgets.

    Returns the blocks (with `note`, by default "the full answer is attached", where the cut
    happened) and whether anything was dropped.
    """
    note_room = 1
    budget = MAX_MESSAGE_TEXT - sum(text_size(b) for b in tail) - 200
    kept: list[Block] = []
    used = 0
    for block in body:
        size = text_size(block)
        if len(kept) + len(tail) + note_room >= max_blocks or used + size > budget:
            return [*kept, note or _shortened_note(), *tail], True
        kept.append(block)
        used += size
    return [*kept, *tail], False


def _shortened_note() -> ContextBlock:
    return context(
        ":scissors: Shortened to fit in Slack: the full answer is in the attached file "
        "or behind *Show everything*."
    )


def _finish(message: Message, *, shortened: bool, keep: Keep | None, full_text: Callable[[], str]) -> Message:
    """Attach the whole text when the blocks were cut, and a "Show everything" button if we can keep it."""
    if not shortened:
        return message
    message.full_text = full_text()
    if keep is not None:
        key = keep(message.title, message.full_text)
        message.blocks.append(
            ActionsBlock(block_id="show_all", elements=[button("Show everything", ActionId.SHOW_ALL, key)])
        )
    return message


# --- answers --------------------------------------------------------------------------------------


def render(
    answer: Answer,
    kb: KnowledgeBase,
    *,
    incidents_enabled: bool = False,
    keep: Keep | None = None,
) -> Message:
    """The Block Kit message for any answer of bot.slash.execute."""
    if isinstance(answer, ReportAnswer):
        return report_message(
            answer.report, kb, request=answer.request, incidents_enabled=incidents_enabled, keep=keep
        )
    if isinstance(answer, DiagnosisAnswer):
        return diagnoses_message(answer.diagnoses, kb, incidents_enabled=incidents_enabled, keep=keep)
    if isinstance(answer, IncidentsAnswer):
        return incidents_message(answer.incidents)
    if isinstance(answer, HelpAnswer):
        return help_message(answer.problem)
    if isinstance(answer, ProblemAnswer):
        return problem_message(answer.problem, answer.request)
    if isinstance(answer, PracticeAnswer):
        from bot.render_practices import practice_message  # it builds on this module's helpers

        return practice_message(answer, keep=keep)
    if isinstance(answer, WatchAnswer):
        from bot.render_watch import watch_message  # it builds on this module's helpers

        return watch_message(answer)
    if isinstance(answer, AnalysisAnswer | ComparisonAnswer):
        from bot.render_message import analysis_message, comparison_message  # built on this module

        if isinstance(answer, AnalysisAnswer):
            return analysis_message(answer, kb, keep=keep)
        return comparison_message(answer, kb, keep=keep)
    raise TypeError(f"no rendering for {type(answer).__name__}")


def checking_message(request: Request) -> Message:
    if request.sub == "diagnose":
        text = "Diagnosing the bounce…"
    elif request.sub == "analyze":
        text = "Analysing the message…"
    else:
        text = f"Checking {request.command_text()}…"
    return Message(text=text, blocks=[context(f":hourglass_flowing_sand: {escape(text)}")])


def problem_message(problem: str, request: Request | None = None) -> Message:
    line = f":warning: {escape(problem)}"
    blocks: list[Block] = [mrkdwn(line)]
    if request is not None and request.sub not in ("help", "diagnose", "incidents"):
        usage = next((s.usage for s in SUBCOMMANDS if s.name == request.sub), "")
        if usage and usage not in problem:
            blocks.append(context(f"usage: {inline_code(f'{COMMAND} {usage}')}"))
    return Message(text=clip(problem, MAX_FALLBACK), blocks=blocks)


def help_message(problem: str = "") -> Message:
    blocks: list[Block] = []
    if problem:
        blocks.append(mrkdwn(f":warning: {escape(problem)}"))
    blocks.append(header("deliverability: checks and bounce diagnosis"))
    lines = [f"{inline_code(f'{COMMAND} {s.example}')}\n      {escape(s.what)}" for s in SUBCOMMANDS]
    blocks.append(mrkdwn("\n".join(lines)))
    blocks.append(
        mrkdwn(
            "Add `private` (only you see the answer) or `public` (everyone in the channel): "
            f"{inline_code(f'{COMMAND} private check example.com')}.\n"
            "Paste a bounce in a thread where I was mentioned, in a triage channel or in a direct "
            "message and I diagnose it there. On any message: *More actions → Diagnose bounce*.\n"
            "A raw message (its source, or the `.eml` uploaded) gets its DKIM, SPF and DMARC "
            "verdicts the same way; two in one thread can be compared. *More actions → Analyse "
            "message* on any message."
        )
    )
    text = "Sub-commands: " + ", ".join(s.name for s in SUBCOMMANDS)
    if problem:
        text = f"{problem}. {text}"
    return Message(text=clip(text, MAX_FALLBACK), blocks=blocks)


def _worst(findings: Sequence[Finding]) -> Status:
    return min((f.status for f in findings), key=lambda s: s.rank, default=Status.INFO)


def report_message(
    report: Report,
    kb: KnowledgeBase,
    *,
    request: Request | None = None,
    incidents_enabled: bool = False,
    keep: Keep | None = None,
) -> Message:
    findings = worst_first(report.findings)
    title = f"{report.target}: {render_text.tally(findings)}"
    body: list[Block] = [header(f"{EMOJI[_worst(findings)]} {title}")]
    groups = render_text.by_check(findings)
    for check, group in groups.items():
        lines = [f"*{escape(check.upper())}*"]
        for f in group:
            about = f" _({escape(f.about)})_" if f.about and f.about != report.target else ""
            lines.append(f"{EMOJI[f.status]} {escape(f.summary)}{about}")
            entry = kb.get(f.kb)
            if entry and f.status in (Status.FAIL, Status.ERROR, Status.WARN):
                lines.append(f"      → {escape(entry.steps[0])}")
        body.extend(_sections("\n".join(lines)))
    body.append(
        context(
            f"{escape(report.kind)} · {len(groups)} checks · {report.elapsed_ms} ms · "
            f"{report.queries} DNS queries"
        )
    )
    tail: list[Block] = []
    buttons: list[ButtonElement] = []
    if request is not None and request.is_check:
        buttons.append(button("Re-run checks", ActionId.RERUN, request.command_text()))
    if incidents_enabled and not report.ok:
        buttons.append(
            button("Log incident", ActionId.LOG_INCIDENT, encode_observation(report_observation(report)))
        )
    if buttons:
        tail.append(ActionsBlock(block_id=BlockId.RESULT_ACTIONS, elements=buttons))
    blocks, shortened = fit(body, tail)
    message = Message(
        text=clip(title, MAX_FALLBACK),
        blocks=blocks,
        title=f"deliverability {report.target}",
        filename=f"deliverability-{report.target}.txt",
    )
    return _finish(
        message, shortened=shortened, keep=keep, full_text=lambda: render_text.render_report(report)
    )


def pack(lines: Iterable[str], limit: int) -> list[str]:
    """Lines joined into as few texts of at most `limit` characters as keep each line whole (a line
    longer than `limit` is clipped to it)."""
    out: list[str] = []
    chunk: list[str] = []
    size = 0
    for line in lines:
        line = clip(line, limit)
        if chunk and size + len(line) + 1 > limit:
            out.append("\n".join(chunk))
            chunk, size = [], 0
        chunk.append(line)
        size += len(line) + 1
    if chunk:
        out.append("\n".join(chunk))
    return out


def _sections(text: str, limit: int = MAX_SECTION) -> list[SectionBlock]:
    """Text split on line boundaries into sections of at most `limit` characters each."""
    return [mrkdwn(chunk, limit) for chunk in pack(text.split("\n"), limit)]


# --- diagnoses ------------------------------------------------------------------------------------


def _attr(obj: Any, name: str, default: Any = None) -> Any:
    value = getattr(obj, name, default)
    return default if value is None else value


def _codes(d: Any) -> str:
    return " ".join(c for c in (_attr(d, "reply_code"), _attr(d, "enhanced_code")) if c)


def _kb_entries(d: Any, kb: KnowledgeBase) -> list[Any]:
    out = []
    for match in _attr(d, "kb_matches", ()) or ():
        entry = getattr(match, "entry", match)
        if isinstance(entry, str):
            entry = kb.get(entry)
        if entry is not None and hasattr(entry, "title"):
            out.append(entry)
    return out


def diagnosis_subjects(d: Any) -> tuple[str | None, str | None]:
    """The IP and the domain worth a "Check …" button: the targets of the diagnosis's next checks
    (the sending IP, the sender's own domain, never a receiver's), else the first public IP named."""
    from checks.target import TargetError, parse_target

    ip = domain = None
    candidates = [c.target for c in _attr(d, "next_checks", ()) or ()] + list(_attr(d, "ips", ()) or ())
    for text in candidates:
        try:
            target = parse_target(text)
        except TargetError:
            continue
        if target.kind == "ip" and ip is None:
            ip = target.value
        elif target.kind == "domain" and domain is None and text not in (_attr(d, "ips", ()) or ()):
            domain = target.value
    return ip, domain


def diagnosis_blocks(d: Any, kb: KnowledgeBase, index: int, *, incidents_enabled: bool) -> list[Block]:
    reason = _attr(d, "reason", "undefined")
    who = _attr(d, "recipient") or "the recipient"
    codes = _codes(d)
    head = f"*{escape(who)}*: {escape(reason)}" + (f" ({escape(codes)})" if codes else "")
    action = _attr(d, "action", "failed")
    icon = ":x:" if action == "failed" else ":hourglass:" if action == "delayed" else ":information_source:"
    blocks: list[Block] = [mrkdwn(f"{icon} {head}\n{escape(_attr(d, 'summary', '') or '')}")]
    why = _attr(d, "why", "")
    if why:
        blocks.append(mrkdwn(f"*Why:* {escape(why)}"))
    steps = list(_attr(d, "steps", ()) or ())[:5]
    if steps:
        blocks.append(
            mrkdwn("*What to do:*\n" + "\n".join(f"{n}. {escape(s)}" for n, s in enumerate(steps, 1)))
        )
    facts = []
    if _attr(d, "provider"):
        facts.append(f"receiver: {escape(d.provider)}")
    if _attr(d, "remote_mta"):
        facts.append(f"said by {escape(d.remote_mta)}")
    entries = _kb_entries(d, kb)
    if entries:
        facts.append("see: " + "; ".join(escape(e.title) for e in entries[:3]))
    next_checks = list(_attr(d, "next_checks", ()) or ())
    if next_checks:
        facts.append(
            "worth checking: " + ", ".join(f"{escape(c.check)} {escape(c.target)}" for c in next_checks[:6])
        )
    if facts:
        blocks.append(context(" · ".join(facts)))
    ip, domain = diagnosis_subjects(d)
    buttons: list[ButtonElement] = []
    if incidents_enabled and _is_problem(d):
        buttons.append(
            button("Log incident", ActionId.LOG_INCIDENT, encode_observation(diagnosis_observation(d)))
        )
    if ip:
        buttons.append(button(f"Check {ip}", ActionId.CHECK_IP, ip))
    if domain:
        buttons.append(button(f"Check {domain}", ActionId.CHECK_DOMAIN, domain))
    if buttons:
        blocks.append(ActionsBlock(block_id=f"{BlockId.DIAGNOSIS_ACTIONS}:{index}", elements=buttons))
    return blocks


def _is_problem(d: Any) -> bool:
    from incidents.model import Observation

    return Observation.is_problem(d)


def diagnoses_message(
    diagnoses: Sequence[Any],
    kb: KnowledgeBase,
    *,
    incidents_enabled: bool = False,
    keep: Keep | None = None,
) -> Message:
    if not any(is_bounce(d) for d in diagnoses):
        line = "I could not find a bounce in that text: no status code, no recipient, nothing I recognise."
        return Message(text=line, blocks=[mrkdwn(f":mag: {escape(line)}")])
    n = len(diagnoses)
    first = diagnoses[0]
    title = f"{n} recipient{'s' if n > 1 else ''}: {_attr(first, 'reason', 'undefined')}"
    if _codes(first):
        title += f" ({_codes(first)})"
    body: list[Block] = []
    for i, d in enumerate(diagnoses[:MAX_DIAGNOSES_SHOWN]):
        if i:
            body.append(DividerBlock())
        body.extend(diagnosis_blocks(d, kb, i, incidents_enabled=incidents_enabled))
    blocks, shortened = fit(body, [])
    if n > MAX_DIAGNOSES_SHOWN and not shortened:
        blocks += [context(f"…and {n - MAX_DIAGNOSES_SHOWN} more recipients."), _shortened_note()]
        shortened = True
    message = Message(
        text=clip(f"Bounce diagnosis: {title}", MAX_FALLBACK),
        blocks=blocks,
        title="Bounce diagnosis",
        filename="bounce-diagnosis.txt",
    )
    return _finish(
        message,
        shortened=shortened,
        keep=keep,
        full_text=lambda: render_text.render_diagnoses(list(diagnoses)),
    )


# --- incidents ------------------------------------------------------------------------------------


def incident_ref(incident: Any, *, channel: bool = True) -> str:
    """`#4` linking to the message the incident was raised from when its permalink is known, else
    `#4 in #channel` (a channel link) when only the channel is and `channel` is asked for, else `#4`."""
    ref = f"#{incident.id}"
    link = incident.permalink or ""
    if link.startswith(("https://", "http://")):
        return f"<{escape(link).replace('|', '%7C')}|{ref}>"
    return ref + (channel_mention(incident.channel, prefix=" in ") if channel and incident.channel else "")


def incident_blocks(incident: Any, *, with_buttons: bool = True) -> list[Block]:
    status = incident.status
    icon = {"open": ":red_circle:", "investigating": ":large_yellow_circle:"}.get(
        status, ":white_check_mark:"
    )
    seen = incident.last_seen.strftime("%Y-%m-%d %H:%M UTC") if incident.last_seen else "?"
    times = f"{incident.occurrences} time{'s' if incident.occurrences != 1 else ''}"
    lines = [
        f"{icon} *{incident_ref(incident, channel=False)} {escape(incident.title)}*",
        f"{escape(status)} · seen {times}, last {seen}"
        + (
            f" · {escape(incident.enhanced_code or incident.reply_code or '')}"
            if incident.enhanced_code or incident.reply_code
            else ""
        ),
    ]
    if incident.assignee:
        lines.append(f"assigned to {escape(incident.assignee)}")
    if incident.resolution_note:
        lines.append(f"resolution: {escape(incident.resolution_note)}")
    blocks: list[Block] = [mrkdwn("\n".join(lines))]
    if with_buttons:
        value = str(incident.id)
        buttons = [button("Add note", ActionId.ADD_NOTE, value)]
        if incident.active:
            buttons.insert(0, button("Resolve", ActionId.RESOLVE, value, style="primary"))
        blocks.append(ActionsBlock(block_id=f"{BlockId.INCIDENT_ACTIONS}:{incident.id}", elements=buttons))
    return blocks


def incident_message(incident: Any, *, created: bool | None = None) -> Message:
    if created is True:
        lead = f"Logged as incident #{incident.id}."
    elif created is False:
        lead = f"Added to incident #{incident.id} (seen {incident.occurrences} times)."
    else:
        lead = f"Incident #{incident.id}: {incident.status}."
    blocks: list[Block] = [context(escape(lead)), *incident_blocks(incident)]
    return Message(text=clip(f"{lead} {incident.title}", MAX_FALLBACK), blocks=blocks)


def incidents_message(incidents: Sequence[Any]) -> Message:
    if not incidents:
        return Message(text="No open incidents.", blocks=[mrkdwn(":white_check_mark: No open incidents.")])
    n = len(incidents)
    body: list[Block] = [header(f"{n} open incident{'s' if n != 1 else ''}")]
    for incident in incidents[:MAX_INCIDENTS_SHOWN]:
        body.extend(incident_blocks(incident))
    blocks, shortened = fit(body, [])
    if n > MAX_INCIDENTS_SHOWN and not shortened:
        blocks.append(
            context(f"…and {n - MAX_INCIDENTS_SHOWN} more: `deliverability incidents` lists them all.")
        )
    return Message(text=f"{n} open incident{'s' if n != 1 else ''}", blocks=blocks)


# --- the daily digest -----------------------------------------------------------------------------

DIGEST_SHORTENED = (
    ":scissors: Shortened to fit in Slack: `deliverability incidents --status all` lists every incident."
)


def digest_blocks(digest: Digest) -> list[Block]:
    """The daily digest (incidents.digest.Digest) as Block Kit, for `post_digest(render_blocks=...)`.

    Each list shows its first MAX_DIGEST_LINES entries and counts the rest ("…and N more"); counts by
    receiver and reason are section fields (ten at most); the trends are one code block. What still
    does not fit Slack's budgets is dropped from the end, with a note saying so.
    """
    zone = ZoneInfo(digest.tz)
    since = digest.since.astimezone(zone).strftime("%a %d %b %H:%M")
    body: list[Block] = [header(f"Deliverability digest for {digest.day}")]
    if digest.quiet:
        body.append(context(f"since {since} ({escape(digest.tz)})"))
        body.append(mrkdwn(":white_check_mark: No incidents: nothing new, nothing open."))
        return fit([*body, *_practices_blocks(digest)], [], note=context(DIGEST_SHORTENED))[0]
    body.append(
        context(
            f"{len(digest.new)} new · {len(digest.recurring)} recurring · {len(digest.open)} open · "
            f"{len(digest.resolved)} resolved · {digest.occurrences} occurrences since {since} "
            f"({escape(digest.tz)})"
        )
    )

    def when(moment: datetime, form: str) -> str:
        return moment.astimezone(zone).strftime(form)

    def new(i: Incident) -> str:
        again = f", again after #{digest.repeats[i.id]}" if i.id in digest.repeats else ""
        return f"×{i.occurrences}{again}"

    lists: list[tuple[str, list[Incident], Callable[[Incident], str]]] = [
        (":new: *New*", digest.new, new),
        (
            ":repeat: *Recurring*",
            digest.recurring,
            lambda i: (
                f"+{digest.period_occurrences.get(i.id, 0)} "
                f"(×{i.occurrences} since {when(i.first_seen, '%d %b')})"
            ),
        ),
        (
            ":red_circle: *Open*",
            digest.open,
            lambda i: f"×{i.occurrences}, last seen {when(i.last_seen, '%d %b %H:%M')}",
        ),
        (
            ":white_check_mark: *Resolved*",
            digest.resolved,
            lambda i: f"in {format_duration(i.resolved_at - i.first_seen)}" if i.resolved_at else "",
        ),
    ]
    for title, items, extra in lists:
        if items:
            body.append(_listed(f"{title} ({len(items)})", [_incident_line(i, extra(i)) for i in items]))
    if digest.mttr is not None:
        body.append(
            mrkdwn(
                f":stopwatch: Mean time to resolve: *{format_duration(digest.mttr)}* "
                f"({len(digest.resolved)} resolved)"
            )
        )
    for title, counts in (("By receiver", digest.by_receiver), ("By reason", digest.by_reason)):
        if counts:
            body.append(_count_fields(f"*{title}*", counts))
    if digest.top_subjects:
        subjects = " · ".join(f"{inline_code(c.name)} ({c.occurrences})" for c in digest.top_subjects)
        body.append(mrkdwn(f"*Top subjects:* {subjects}"))
    if digest.trends:
        body.append(_trend_block(digest))
    if digest.watch_changes:
        lines = [_watch_change_line(c) for c in digest.watch_changes]
        body.append(_listed(f":eyes: *Changes in watched targets* ({len(lines)})", lines))
    body += _practices_blocks(digest)
    return fit(body, [], note=context(DIGEST_SHORTENED))[0]


def _listed(title: str, lines: Sequence[str], *, shown: int = MAX_DIGEST_LINES) -> SectionBlock:
    """A titled list in one section: at most `shown` lines, fewer if the section would pass its
    3,000 characters, and the rest counted in a last "…and N more" line."""
    room = MAX_SECTION - len(title) - 40  # the "…and N more" line
    kept: list[str] = []
    for line in lines[:shown]:
        line = clip(line, MAX_DIGEST_LINE)
        if len(line) + 1 > room:
            break
        kept.append(line)
        room -= len(line) + 1
    if len(kept) < len(lines):
        kept.append(f"…and {len(lines) - len(kept)} more")
    return mrkdwn("\n".join([title, *kept]))


def _incident_line(incident: Incident, extra: str) -> str:
    """`• #4 authfailure at google for shop.example · investigating, U7 · ×3`, the id linking to
    where the incident was raised when that is known."""
    ref = incident_ref(incident)
    who = f", {user_mention(incident.assignee)}" if incident.assignee else ""
    return (
        f"• {ref} *{escape(incident.reason)}* at {escape(incident.receiver)} for "
        f"{inline_code(incident.subject)} · {escape(incident.status)}{who}" + (f" · {extra}" if extra else "")
    )


def _count_fields(title: str, counts: Sequence[Count]) -> SectionBlock:
    """Counts as section fields: ten at most, the last one counting the rest when there are more."""
    shown = counts if len(counts) <= MAX_FIELDS else counts[: MAX_FIELDS - 1]
    fields = [
        MarkdownTextObject(
            text=f"*{escape(clip(c.name, 100))}*\n{c.incidents} incident{'s' if c.incidents != 1 else ''}, "
            f"{c.occurrences} occurrence{'s' if c.occurrences != 1 else ''}"
        )
        for c in shown
    ]
    if len(shown) < len(counts):
        rest = counts[len(shown) :]
        fields.append(
            MarkdownTextObject(
                text=f"…and {len(rest)} more\n{sum(c.occurrences for c in rest)} occurrences between them"
            )
        )
    return SectionBlock(text=MarkdownTextObject(text=title), fields=fields)


def _trend_block(digest: Digest) -> SectionBlock:
    """Occurrences per day and reason over the last seven days, as sparklines in one code block."""
    first, last = digest.trend_days[0][5:], digest.trend_days[-1][5:]
    rows = digest.trends[:MAX_DIGEST_LINES]
    width = max(len(clip(t.reason, 30)) for t in rows)
    table = "\n".join(
        f"{clip(t.reason, 30).ljust(width)}  {t.spark}  {' '.join(str(n) for n in t.counts)}" for t in rows
    )
    more = len(digest.trends) - len(rows)
    tail = f"\n…and {more} more reason{'s' if more != 1 else ''}" if more else ""
    return mrkdwn(f"*Last 7 days* ({first} → {last}), occurrences per day\n{code_block(table)}{tail}")


def _watch_change_line(change: dict[str, Any]) -> str:
    icon = ":x:" if change["event"] == "change" else ":white_check_mark:"
    at = change["at"][5:16].replace("T", " ")
    incident = f" (#{change['incident_id']})" if change.get("incident_id") else ""
    what = f"{change['check']} {change['about'] or ''}".strip()
    return (
        f"{icon} {at} {inline_code(change['target'])} {escape(what)}: "
        f"{escape(str(change['before']))} → {escape(str(change['after']))}{incident}"
    )


def _practices_blocks(digest: Digest) -> list[Block]:
    """The sections practices adds (IPs in warm-up, list hygiene, warnings), from its own text lines:
    one section per paragraph, its first line as the title."""
    if digest.practices is None:
        return []
    from practices.digest import render_lines  # the core's wording, so the text and Slack agree

    blocks: list[Block] = []
    paragraph: list[str] = []
    for line in [*render_lines(digest.practices), ""]:
        if line.strip():
            paragraph.append(line.strip())
        elif paragraph:
            title, *rest = paragraph
            blocks.append(_listed(f"*{escape(title.rstrip(':'))}*", [escape(r) for r in rest]))
            paragraph = []
    return blocks


# --- views ----------------------------------------------------------------------------------------


def home_view(incidents: Sequence[Any] | None) -> View:
    """The App Home tab: how to use the bot, and the open incidents when the log exists."""
    blocks: list[Block] = [header("Postmaster triage")]
    blocks.extend(help_message().blocks[1:])
    if incidents is not None:
        blocks.append(DividerBlock())
        if incidents:
            blocks.append(header(f"Open incidents ({len(incidents)})"))
            room = MAX_VIEW_BLOCKS - len(blocks) - 1
            shown = list(incidents)[: max(0, room // 2)]
            for incident in shown:
                blocks.extend(incident_blocks(incident))
            if len(shown) < len(incidents):
                blocks.append(context(f"…and {len(incidents) - len(shown)} more."))
        else:
            blocks.append(mrkdwn(":white_check_mark: No open incidents."))
    return View(type="home", blocks=blocks)


def full_text_view(title: str, text: str | None) -> View:
    """A modal holding a whole answer as verbatim text, split into sections."""
    if text is None:
        blocks: list[Block] = [mrkdwn("That answer is no longer kept here: run the command again to see it.")]
    else:
        # Each section holds a fenced, escaped slice; escaping grows text, so slices leave room.
        blocks = []
        step = 2400
        for start in range(0, len(text), step):
            if len(blocks) >= MAX_VIEW_BLOCKS - 1:
                blocks.append(context("The rest did not fit in a Slack window."))
                break
            blocks.append(mrkdwn(code_block(text[start : start + step])))
    return View(
        type="modal",
        callback_id=CallbackId.SHOW_ALL,
        title=PlainTextObject(text=clip(title or "Full answer", 24)),
        close=PlainTextObject(text="Close"),
        blocks=blocks or [mrkdwn("(empty)")],
    )


def note_view(incident_id: int, metadata: dict[str, Any]) -> View:
    return View(
        type="modal",
        callback_id=CallbackId.ADD_NOTE,
        title=PlainTextObject(text=clip(f"Note on #{incident_id}", 24)),
        submit=PlainTextObject(text="Add note"),
        close=PlainTextObject(text="Cancel"),
        private_metadata=json.dumps({"incident": incident_id, **metadata})[:3000],
        blocks=[
            InputBlock(
                block_id=BlockId.NOTE_INPUT,
                label=PlainTextObject(text="What happened, what was done"),
                element=PlainTextInputElement(action_id=NOTE_ACTION, multiline=True, max_length=2900),
            )
        ],
    )


# --- what a "Log incident" button carries ---------------------------------------------------------


def report_observation(report: Report) -> Any:
    from incidents.model import Observation

    return Observation.from_report(report.to_dict())


def diagnosis_observation(d: Any) -> Any:
    from incidents.model import Observation

    return Observation.from_diagnosis(d)


_OBS_FIELDS = (
    "subject",
    "receiver",
    "reason",
    "reply_code",
    "enhanced_code",
    "kb_ids",
    "raw_text",
    "subject_kind",
    "source",
)


def encode_observation(obs: Any) -> str:
    """An Observation as a button value: its grouping fields, the quoted text cut to fit 2,000 characters."""
    data = {k: v for k, v in asdict(obs).items() if k in _OBS_FIELDS and v not in (None, "", [])}
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    while len(text) > MAX_BUTTON_VALUE and data.get("raw_text"):
        data["raw_text"] = data["raw_text"][
            : max(0, len(data["raw_text"]) - (len(text) - MAX_BUTTON_VALUE) - 10)
        ]
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    while len(text) > MAX_BUTTON_VALUE and data.get("kb_ids"):
        data["kb_ids"] = data["kb_ids"][:-1]
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text


def decode_observation(value: str, **where: Any) -> Any:
    """The Observation a "Log incident" button carried, with where and by whom it was logged."""
    from incidents.model import Observation

    data = json.loads(value)
    fields = {k: data[k] for k in _OBS_FIELDS if k in data}
    return Observation(**fields, **where)
