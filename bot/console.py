"""The bot without Slack: type `/deliverability …` commands or paste a bounce, read the answers as text.

Input, one piece at a time (from a terminal or a pipe):

    /deliverability check example.com     a command, as in Slack (`deliverability …` or a bare
                                          sub-command such as `dmarc example.com` work too)
    /deliverability diagnose              then the bounce on the following lines, ended by a line
                                          holding only `.` (blank lines allowed) or end of input
    /deliverability analyze               the same for a raw message, analysed (DKIM, SPF, DMARC…)
    anything else                         a pasted bounce, ended by a blank line or end of input;
                                          a whole email (it starts with headers) runs to a line
                                          holding only `.`, the next command, or end of input
    analyze last                          the last paste, diagnosed as a bounce, analysed as a message
    compare                               the last two messages analysed: do they share a stream?
    quit / exit                           leave

A paste is routed as in Slack (bot.triage.route): a bounce is diagnosed, a raw message analysed,
and a message that reads like a bounce diagnosed with `analyze last` suggested. Everything typed is
a paste (`pasted=True`): line endings and wrapping may have changed, so a body that doesn't match its
DKIM hash is "unverifiable", never "fail"; `deliverability analyze FILE.eml` verifies the bytes.

Answers go through the same bot.slash.execute as Slack's and are rendered by bot.render_text.
"""

from __future__ import annotations

import asyncio
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from bot import render_text, slash, triage
from bot.message_answers import AnalysisAnswer, ComparisonAnswer
from bot.practice_answers import PracticeAnswer
from bot.services import Services
from bot.slash import (
    SUBCOMMANDS,
    Answer,
    DiagnosisAnswer,
    HelpAnswer,
    IncidentsAnswer,
    ProblemAnswer,
    ReportAnswer,
)
from bot.triage import is_bounce
from bot.watch_answers import WatchAnswer, watch_line
from practices import PracticeError
from practices.streams import compare

PROMPT = "deliverability> "
_COMMAND = re.compile(r"^\s*/?deliverability(?:\s+|$)", re.IGNORECASE)
_HEADER = re.compile(r"^(?:From |[A-Za-z][A-Za-z0-9-]*:\s)")
_BOUNDARY = re.compile(r"boundary=\"?([^\";\s]+)\"?", re.IGNORECASE)
BANNER = (
    "deliverability console: type a command like `/deliverability check example.com`, "
    "`help`, or paste a bounce and end it with a blank line (a raw message: with a line holding "
    "only `.`). `quit` leaves."
)
COMPARE_WORDS = {"compare", "/deliverability compare", "deliverability compare"}
LAST_WORDS = {"analyze last", "/deliverability analyze last", "deliverability analyze last"}


class Console:
    def __init__(self, services: Services, stdin: TextIO, stdout: TextIO, *, interactive: bool) -> None:
        self.services = services
        self.stdin = stdin
        self.stdout = stdout
        self.interactive = interactive
        self._pending: str | None = None  # a line read ahead that belongs to the next piece
        self._last_paste: str | None = None  # for `analyze last`
        self._messages: list[str] = []  # the raw messages analysed, for `compare` (the last two)

    async def run(self) -> int:
        if self.interactive:
            self._say(BANNER)
        while True:
            line = await self._next_line(prompt=True)
            if line is None:
                return 0
            stripped = line.strip()
            if not stripped:
                continue
            if stripped.lower() in ("quit", "exit", ":q"):
                return 0
            if stripped == ".":
                continue  # the end marker of an email whose closing MIME boundary already ended it
            if " ".join(stripped.lower().split()) in COMPARE_WORDS:
                self._compare()
                continue
            if " ".join(stripped.lower().split()) in LAST_WORDS:
                await self._analyze_last()
                continue
            command = _as_command(stripped)
            if command is not None:
                request = slash.parse(command)
                if request.sub in slash.PASTED and request.problem:
                    text = await self._read_until_dot("bounce" if request.sub == "diagnose" else "message")
                    request = slash.parse(f"{request.sub}\n" + text) if text.strip() else request
                await self._answer(request)
            else:
                await self._answer_paste(await self._read_paste(line))

    async def _answer_paste(self, paste: str) -> None:
        """Issue 6's routing: a raw message is analysed, anything else diagnosed; a message that reads
        like a bounce is diagnosed (analysed instead when no bounce is found) with `analyze last` offered."""
        route = triage.route(paste)
        if route is triage.Route.MESSAGE:
            await self._answer(slash.Request("analyze", text=paste))
            return
        request = slash.Request("diagnose", text=paste)
        if route is triage.Route.UNSURE:
            answer = await slash.execute(request, self.services)
            if not any(is_bounce(d) for d in answer.diagnoses):
                await self._answer(slash.Request("analyze", text=paste))
                return
            self._last_paste = paste
            self._say(render(answer))
            self._say("It could also be a raw message: type `analyze last` to analyse it as one.")
            self._say("")
            return
        await self._answer(request)

    async def _analyze_last(self) -> None:
        if self._last_paste is None:
            self._say("! nothing to analyse yet: `analyze last` follows a diagnosis that offered it\n")
            return
        await self._answer(slash.Request("analyze", text=self._last_paste))

    def _compare(self) -> None:
        if len(self._messages) < 2:
            self._say("! `compare` needs two raw messages analysed first: paste two, then type `compare`\n")
            return
        earlier, latest = self._messages[-2:]
        limit = self.services.settings.max_input_bytes
        try:
            comparison = compare(
                ("the earlier message", earlier), ("the latest message", latest), pasted=True, limit=limit
            )
        except PracticeError as exc:
            self._say(f"! {exc}\n")
            return
        self._say(render(ComparisonAnswer(slash.Request("analyze"), comparison)))
        self._say("")

    async def _answer(self, request: slash.Request) -> None:
        if self.interactive and request.is_check:
            self._say(f"Checking {request.command_text()}…")
        if request.sub == "incidents" and self.services.store is None:
            self.services.store = _existing_store(self.services)
        answer = await slash.execute(request, self.services)
        self._say(render(answer))
        if isinstance(answer, AnalysisAnswer):
            self._messages = [*self._messages[-1:], request.text]
            if len(self._messages) == 2:
                self._say("Type `compare` to see whether this message and the one before share a stream.")
        self._say("")

    # -- reading --------------------------------------------------------------------------------------

    async def _next_line(self, *, prompt: bool = False) -> str | None:
        if self._pending is not None:
            line, self._pending = self._pending, None
            return line
        if prompt and self.interactive:
            self.stdout.write(PROMPT)
            self.stdout.flush()
        line = await asyncio.to_thread(self.stdin.readline)
        return None if line == "" else line.rstrip("\n").rstrip("\r")

    async def _read_until_dot(self, what: str = "bounce") -> str:
        if self.interactive:
            self._say(f"Paste the {what}; end with a line holding only `.` (or Ctrl-D).")
        lines: list[str] = []
        while (line := await self._next_line()) is not None and line.strip() != ".":
            lines.append(line)
        return "\n".join(lines)

    async def _read_paste(self, first: str) -> str:
        """A pasted bounce starting with `first`: up to a blank line, or, for a whole email, up to
        a `.` line, the next command or end of input (an email's blank lines are part of it)."""
        lines = [first]
        email = bool(_HEADER.match(first))
        while True:
            line = await self._next_line()
            if line is None:
                break
            if email:
                if line.strip() == ".":
                    break
                if _COMMAND.match(line):
                    self._pending = line
                    break
            elif not line.strip():
                break
            lines.append(line)
            if email and _closes_outer_multipart(lines):
                break
        return "\n".join(lines)

    def _say(self, text: str) -> None:
        self.stdout.write(text + "\n")
        self.stdout.flush()


def _as_command(line: str) -> str | None:
    """The command text when the line is one (`/deliverability …`, or a bare sub-command name)."""
    if _COMMAND.match(line):
        return _COMMAND.sub("", line, count=1)
    first = line.split(None, 1)[0].lower()
    if first in slash.NAMES or first in ("private", "public"):
        return line
    return None


def _closes_outer_multipart(lines: list[str]) -> bool:
    """Whether the last line closes the first multipart boundary the pasted email declared."""
    for line in lines[:60]:
        match = _BOUNDARY.search(line)
        if match:
            return lines[-1].strip() == f"--{match.group(1)}--"
    return False


def _existing_store(services: Services):
    """The incident log, if there is one: the console never creates a database just to list it."""
    if not Path(services.settings.database_path).exists():
        return None
    from bot.services import open_store

    return open_store(services.settings)


# -- text rendering -------------------------------------------------------------------------------


def render(answer: Answer) -> str:
    renderers: dict[type, Callable[[Answer], str]] = {
        ReportAnswer: lambda a: render_text.render_report(a.report),
        DiagnosisAnswer: lambda a: render_diagnoses(a.diagnoses),
        IncidentsAnswer: lambda a: render_incidents(a.incidents),
        HelpAnswer: lambda a: render_help(a.problem),
        ProblemAnswer: lambda a: f"! {a.problem}",
        PracticeAnswer: lambda a: a.text,
        AnalysisAnswer: lambda a: render_text.render_analysis(a.analysis),
        ComparisonAnswer: lambda a: render_text.render_report(a.comparison.report()),
        WatchAnswer: lambda a: (
            a.text() + "".join(f"\n  {watch_line(w)}" for w in a.watches if a.request.sub == "watches")
        ),
    }
    return renderers[type(answer)](answer)


def render_diagnoses(diagnoses: list) -> str:
    if not any(is_bounce(d) for d in diagnoses):
        return (
            "No bounce found in that text: no status code, no recipient, nothing recognised. "
            "Type `help` for the commands."
        )
    return render_text.render_diagnoses(diagnoses)


def render_help(problem: str = "") -> str:
    lines = [f"! {problem}", ""] if problem else []
    lines.append("Sub-commands (type them after /deliverability, or on their own):")
    width = max(len(s.example) for s in SUBCOMMANDS)
    for s in SUBCOMMANDS:
        lines.append(f"  {s.example:<{width}}  {s.what}")
    lines.append("")
    lines.append("Or paste a bounce and end it with a blank line, or a raw message (headers and body)")
    lines.append("and end it with a line holding only `.`: it is analysed (DKIM, SPF, DMARC, bulk-sender")
    lines.append("requirements). `compare` then compares the last two messages analysed.")
    return "\n".join(lines)


def render_incidents(incidents: list) -> str:
    if not incidents:
        return "No open incidents."
    lines = [f"{len(incidents)} open incident{'s' if len(incidents) != 1 else ''}:"]
    for i in incidents:
        lines.append(
            f"  #{i.id} {i.title} · {i.status} · seen {i.occurrences}x, last {i.last_seen:%Y-%m-%d %H:%M} UTC"
        )
    return "\n".join(lines)


def main(services: Services, stdin: TextIO | None = None, stdout: TextIO | None = None) -> int:
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    console = Console(services, stdin, stdout, interactive=stdin.isatty())
    return asyncio.run(console.run())
