"""Raw messages as answers: `/deliverability analyze <pasted message>`, and messages pasted or uploaded.

bot/slash.py hands `analyze` here; the Slack handlers call `analyse()` for what they read in a thread
or a shortcut, with `pasted=False` for an uploaded file (its bytes are the message) and `pasted=True`
for text (Slack reflows it, so a body hash proves nothing and a mismatch is never a DKIM `fail`).

Stream comparison (issue 8) needs two messages: each one analysed in a thread leaves its stream facts
(practices.streams.Facts, headers only, no text) in `services.kept` and its key in `services.threads`;
the next different message analysed in that thread gets a "Compare with the earlier message" button
whose value names both keys, and `compare_kept()` runs the comparison when it is pressed.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from dataclasses import dataclass
from typing import Any

from checks.message import MessageAnalysis, MessageError, analyze
from practices import PracticeError
from practices.streams import Comparison, Facts, compare_facts, read_facts

log = logging.getLogger(__name__)

SUBCOMMANDS = ("analyze",)
FACTS_TITLE = "stream facts"  # the title under which a message's Facts are kept


@dataclass
class AnalysisAnswer:
    request: Any  # bot.slash.Request
    analysis: MessageAnalysis
    name: str  # what the message is called in answers: "the pasted message", "offer.eml"
    compare_value: str | None = None  # the "Compare with the earlier message" button's value


@dataclass
class ComparisonAnswer:
    request: Any
    comparison: Comparison


async def execute(request: Any, services: Any) -> Any:
    """`/deliverability analyze <pasted message>`: text typed or pasted, so `pasted=True`."""
    return await analyse(request.text, services, pasted=True, request=request)


async def analyse(
    data: bytes | str,
    services: Any,
    *,
    pasted: bool,
    name: str = "",
    request: Any = None,
    thread: tuple[str, str] | None = None,
) -> Any:
    """An AnalysisAnswer, or a bot.slash.ProblemAnswer whose one line says why the input is not a message.

    With `thread` (channel, root ts), the message is remembered there for a later comparison, and
    the answer offers one with the latest different message analysed in the thread before it.
    """
    from bot.slash import ProblemAnswer, Request  # slash imports this module: import at call time

    request = request if request is not None else Request("analyze")
    try:
        analysis = await analyze(data, dns=services.resolver(), settings=services.settings, pasted=pasted)
    except MessageError as exc:
        return ProblemAnswer(request, f"{name}: {exc}" if name else str(exc))
    name = name or ("the pasted message" if pasted else "the message")
    answer = AnalysisAnswer(request, analysis, name)
    if thread is not None:
        answer.compare_value = _remember(data, name, pasted, thread, services)
    return answer


def _remember(
    data: bytes | str, name: str, pasted: bool, thread: tuple[str, str], services: Any
) -> str | None:
    """Keep this message's stream facts; the Compare button's value when the thread had another message."""
    limit = services.settings.max_input_bytes
    try:
        facts = read_facts(name, data, pasted=pasted, limit=limit)
    except PracticeError:  # analysed, yet unreadable as a stream: nothing to compare
        return None
    subject = " ".join((facts.subject or "").split())
    if pasted and subject:
        # Two pastes are both "the pasted message": in a comparison they are named by their subject.
        facts.name = f"the message “{subject[:60]}{'…' if len(subject) > 60 else ''}”"
    key = services.kept.put(FACTS_TITLE, json.dumps(dataclasses.asdict(facts)))
    for earlier in reversed(services.threads.add(thread, key)):
        other = load_facts(earlier, services)
        if other is not None and not _same(other, facts):
            return json.dumps({"a": earlier, "b": key})
    return None


def _same(a: Facts, b: Facts) -> bool:
    return a.digest == b.digest or bool(a.message_id and a.message_id == b.message_id)


def load_facts(key: str, services: Any) -> Facts | None:
    kept = services.kept.get(key)
    if kept is None or kept[0] != FACTS_TITLE:
        return None
    try:
        return Facts(**json.loads(kept[1]))
    except (TypeError, ValueError):
        return None


def compare_kept(value: str, services: Any) -> Any:
    """A ComparisonAnswer for a Compare button's value, or a ProblemAnswer saying why there is none."""
    from bot.slash import ProblemAnswer, Request

    request = Request("analyze")
    try:
        keys = json.loads(value)
        a, b = load_facts(str(keys["a"]), services), load_facts(str(keys["b"]), services)
    except (ValueError, KeyError, TypeError):
        return ProblemAnswer(request, "that button carries nothing I can compare")
    if a is None or b is None:
        return ProblemAnswer(
            request,
            "I no longer hold those messages (they are kept in memory for a day, and a restart forgets "
            "them): upload both again, or run `deliverability analyze A.eml B.eml --compare`",
        )
    try:
        findings = compare_facts(a, b)
    except PracticeError as exc:
        return ProblemAnswer(request, str(exc))
    return ComparisonAnswer(request, Comparison(a, b, findings))
