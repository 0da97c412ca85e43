"""`/deliverability warmup …` and `/deliverability suppressions …`: the practices features as answers.

bot/slash.py hands these sub-commands here; the answer is plain text (the console prints it, Slack
shows it in a code block) plus, for `suppressions`, the list as a CSV attachment: Slack uploads it
beside the answer, so "the count and a download" is one message.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from incidents.store import Store, StoreError
from practices import PracticeError
from practices.suppressions import Policy, suppressed, to_csv
from practices.warmup import day_bounds, local_today, parse_day, parse_request, render_result, run_request

SUBCOMMANDS = ("warmup", "suppressions")


@dataclass
class PracticeAnswer:
    request: Any  # bot.slash.Request
    title: str
    text: str
    attachment: str | None = None  # the whole of something too long for a message (the CSV list)
    filename: str = "answer.txt"


async def execute(request: Any, services: Any) -> Any:
    """A PracticeAnswer, or a bot.slash.ProblemAnswer for input that cannot be used."""
    from bot.slash import ProblemAnswer  # slash imports this module: import at call time

    work = _warmup if request.sub == "warmup" else _suppressions
    try:
        return await asyncio.to_thread(_with_store, work, request, services)
    except (PracticeError, StoreError) as exc:
        return ProblemAnswer(request, str(exc))


def _with_store(work: Any, request: Any, services: Any) -> PracticeAnswer:
    # The console opens no database until one is needed; the Slack app always has one.
    if services.store is not None:
        return work(request, services.store, services.settings)
    with Store.from_settings(services.settings) as store:
        return work(request, store, services.settings)


def _warmup(request: Any, store: Any, settings: Any) -> PracticeAnswer:
    words = request.text.split()
    parsed = parse_request(words)
    today = local_today(store.now(), settings.digest_tz)
    result = run_request(store, parsed, today=today, tz=settings.digest_tz)
    title = {"plan": "Warm-up plan", "status": "Warm-up status", "log": "Warm-up day logged"}.get(
        parsed.action, "IPs in warm-up"
    )
    if parsed.ip:
        title += f" for {parsed.ip}"
    return PracticeAnswer(request, title, render_result(result, today=today), filename="warmup.txt")


def _suppressions(request: Any, store: Any, settings: Any) -> PracticeAnswer:
    since = None
    label = ""
    for word in request.text.split():
        key, eq, value = word.partition("=")
        if not eq or key.lower().lstrip("-") != "since":
            raise PracticeError("usage: suppressions [since=YYYY-MM-DD]")
        since = day_bounds(parse_day(value), settings.digest_tz)[0]
        label = f" since {value}"
    policy = Policy.from_settings(settings)
    rows = suppressed(store, since=since, policy=policy)
    by_reason: dict[str, int] = {}
    for row in rows:
        by_reason[row["reason"]] = by_reason.get(row["reason"], 0) + 1
    lines = [f"{len(rows)} suppressed address{'es' if len(rows) != 1 else ''}{label}"]
    if by_reason:
        lines[0] += ": " + ", ".join(f"{reason} {n}" for reason, n in sorted(by_reason.items()))
        lines.append("The list is attached as suppressions.csv (address first), for the sending platform.")
    if not policy.enabled:
        lines.append("SUPPRESSIONS=off: no address is being added; this is what was stored before.")
    lines.append(
        f"Addresses are kept {policy.retention.days} days after their last bounce "
        "(SUPPRESSION_RETENTION_DAYS)."
    )
    return PracticeAnswer(
        request,
        "Suppression list",
        "\n".join(lines),
        attachment=to_csv(rows) if rows else None,
        filename="suppressions.csv",
    )
