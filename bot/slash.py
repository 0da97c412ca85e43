"""`/deliverability …` as data: parse the text into a Request, run it against the core, return an Answer.

Slack and the console both come through here, so a sub-command behaves the same in either; the
renderers (bot/render_blocks.py, bot/render_text.py) turn the Answer into Block Kit or plain text.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot import message_answers, practice_answers, watch_answers
from checks.model import Report
from checks.runner import run_checks
from checks.target import TargetError, parse_target

if TYPE_CHECKING:
    from bot.services import Services


@dataclass(frozen=True)
class Subcommand:
    name: str
    usage: str
    example: str
    what: str


SUBCOMMANDS: tuple[Subcommand, ...] = (
    Subcommand(
        "check",
        "check <domain|ip|email> [ip=<sending ip>] [selector=<dkim selector>]",
        "check example.com ip=81.2.69.160 selector=s1",
        "every check: MX, SPF, DKIM, DMARC, rDNS, blocklists, MTA-STS, TLS-RPT, BIMI",
    ),
    Subcommand("ip", "ip <address>", "ip 81.2.69.160", "reverse DNS and blocklists for a sending IP"),
    Subcommand(
        "spf",
        "spf <domain> [ip]",
        "spf example.com 81.2.69.160",
        "the SPF record, and whether it allows the IP",
    ),
    Subcommand("dkim", "dkim <domain> <selector>", "dkim example.com s1", "the DKIM key under a selector"),
    Subcommand("dmarc", "dmarc <domain>", "dmarc example.com", "the DMARC policy and where reports go"),
    Subcommand(
        "diagnose",
        "diagnose <pasted bounce>",
        "diagnose 550 5.7.1 Service unavailable; client host [81.2.69.160] blocked",
        "what a bounce means and what to do about it",
    ),
    Subcommand(
        "analyze",
        "analyze <pasted raw message>",
        "analyze Received: from mail.example.com … (the whole source)",
        "a raw message's DKIM, SPF and DMARC verdicts and bulk-sender requirements (upload the .eml "
        "in a thread to have its body checked too)",
    ),
    Subcommand("incidents", "incidents", "incidents", "the open incidents"),
    Subcommand(
        "warmup",
        "warmup <ip> <target per day> [days=N] [start=YYYY-MM-DD] | warmup status <ip> | "
        "warmup log <ip> <sent> [bounced] [complaints] [YYYY-MM-DD] | warmup list",
        "warmup 81.2.69.160 200k days=30",
        "a warm-up plan for a new sending IP; its status; what was sent each day",
    ),
    Subcommand(
        "suppressions",
        "suppressions [since=YYYY-MM-DD]",
        "suppressions",
        "how many recipients are suppressed after hard bounces, with the list as a CSV file",
    ),
    Subcommand(
        "watch",
        "watch <domain|ip> [#channel]",
        "watch example.com #deliverability",
        "re-check it every few hours and post here (or in #channel) when something changes",
    ),
    Subcommand("unwatch", "unwatch <domain|ip>", "unwatch example.com", "stop watching it"),
    Subcommand("watches", "watches", "watches", "what this workspace watches"),
    Subcommand("help", "help", "help", "this list"),
)
NAMES = tuple(s.name for s in SUBCOMMANDS)
PRIVATE_WORDS = {"private", "--private"}
PUBLIC_WORDS = {"public", "--public"}
# Sub-commands taking pasted text (everything after the word, as typed), and what is to be pasted.
PASTED = {"diagnose": "bounce", "analyze": "raw message"}
# The checks each narrow sub-command runs (ids from checks.runner.REGISTRY).
ONLY = {"spf": ("spf",), "dkim": ("dkim",), "dmarc": ("dmarc",)}


@dataclass(frozen=True)
class Request:
    """One parsed command. `problem` says, in one line, why it could not be understood."""

    sub: str
    target: str = ""
    ip: str | None = None
    selectors: tuple[str, ...] = ()
    text: str = ""
    private: bool | None = None  # None: the RESPONSE_PRIVATE default
    problem: str = ""
    caller: watch_answers.Caller | None = None  # who asked, from where (Slack); None in the console

    def command_text(self) -> str:
        """The canonical text of a check request, used to run it again from a button."""
        parts = [self.sub, self.target]
        if self.sub == "check":
            if self.ip:
                parts.append(f"ip={self.ip}")
            parts.extend(f"selector={s}" for s in self.selectors)
        elif self.sub == "spf" and self.ip:
            parts.append(self.ip)
        elif self.sub == "dkim":
            parts.extend(self.selectors)
        return " ".join(p for p in parts if p)

    def is_private(self, default: bool) -> bool:
        return default if self.private is None else self.private

    @property
    def is_check(self) -> bool:
        return self.sub in ("check", "ip", "spf", "dkim", "dmarc")


def parse(text: str) -> Request:
    """A Request from the text after `/deliverability` (already unescaped from Slack's forms)."""
    text = (text or "").strip()
    private: bool | None = None
    # Flags may lead (`private diagnose …`); inside a check's arguments they may go anywhere.
    first, rest = _split_first(text)
    while first.lower() in PRIVATE_WORDS | PUBLIC_WORDS:
        private = first.lower() in PRIVATE_WORDS
        text = rest
        first, rest = _split_first(text)
    if not text:
        return Request("help", private=private)
    sub = first.lower()
    if sub in PASTED:
        if not rest.strip():
            return Request(sub, private=private, problem=f"paste the {PASTED[sub]} after `{sub}`")
        return Request(sub, text=rest, private=private)
    if sub not in NAMES:
        hint = f"`{first}` is not a sub-command"
        try:
            parse_target(first)
            hint += f": did you mean `check {first}`?"
        except TargetError:
            pass
        return Request("help", private=private, problem=hint)
    args: list[str] = []
    for token in rest.split():
        low = token.lower()
        if low in PRIVATE_WORDS | PUBLIC_WORDS:
            private = low in PRIVATE_WORDS
        else:
            args.append(token)
    if sub in ("help", "incidents"):
        return Request(sub, private=private)
    if sub in practice_answers.SUBCOMMANDS or sub in watch_answers.SUBCOMMANDS:
        return Request(sub, text=" ".join(args), private=private)
    return _check_request(sub, args, private)


def _split_first(text: str) -> tuple[str, str]:
    parts = text.split(None, 1)
    if not parts:
        return "", ""
    return parts[0], (parts[1] if len(parts) > 1 else "")


def _check_request(sub: str, args: list[str], private: bool | None) -> Request:
    usage = next(s.usage for s in SUBCOMMANDS if s.name == sub)
    ip: str | None = None
    selectors: list[str] = []
    positional: list[str] = []
    it = iter(args)
    for token in it:
        key, eq, value = token.partition("=")
        key = key.lower().lstrip("-")
        if eq and key in ("ip", "selector", "selectors", "s"):
            if key == "ip":
                ip = value
            else:
                selectors.extend(v for v in value.split(",") if v)
        elif token.lower() in ("--ip", "--selector"):
            value = next(it, "")
            if token.lower() == "--ip":
                ip = value
            else:
                selectors.append(value)
        else:
            positional.append(token)
    bad = Request(sub, private=private, problem=f"usage: `{usage}`")
    if not positional:
        return bad
    target = positional[0]
    extra = positional[1:]
    if sub == "spf" and extra and ip is None:
        ip, extra = extra[0], extra[1:]
    if sub == "dkim":
        selectors.extend(extra)
        extra = []
        if not selectors:
            return bad
    if extra or (ip is not None and not ip) or (ip and sub not in ("check", "spf")):
        return bad
    if selectors and sub not in ("check", "dkim"):
        return bad
    return Request(sub, target=target, ip=ip, selectors=tuple(selectors), private=private)


# --- answers -------------------------------------------------------------------------------------


@dataclass
class ReportAnswer:
    request: Request
    report: Report


@dataclass
class DiagnosisAnswer:
    request: Request
    diagnoses: list[Any]  # knowledge.diagnose.Diagnosis
    text: str = ""  # what was diagnosed, as pasted


@dataclass
class IncidentsAnswer:
    request: Request
    incidents: list[Any]  # incidents.model.Incident


@dataclass
class HelpAnswer:
    request: Request
    problem: str = ""


@dataclass
class ProblemAnswer:
    """The input could not be used (a bad domain, a private IP…): one line saying why."""

    request: Request
    problem: str


Answer = (
    ReportAnswer
    | DiagnosisAnswer
    | IncidentsAnswer
    | HelpAnswer
    | ProblemAnswer
    | practice_answers.PracticeAnswer
    | watch_answers.WatchAnswer
    | message_answers.AnalysisAnswer
    | message_answers.ComparisonAnswer
)


async def execute(request: Request, services: Services) -> Answer:
    """Run one request against the core. Bad input is an answer, not an exception."""
    if request.sub == "help":
        return HelpAnswer(request, request.problem)
    if request.problem:
        return ProblemAnswer(request, request.problem)
    if request.sub == "diagnose":
        return DiagnosisAnswer(request, await services.diagnose(request.text), request.text)
    if request.sub == "incidents":
        if services.store is None:
            return ProblemAnswer(request, "the incident log is not available in this installation")
        return IncidentsAnswer(request, await asyncio.to_thread(services.store.list, "active"))
    if request.sub in practice_answers.SUBCOMMANDS:
        return await practice_answers.execute(request, services)
    if request.sub in watch_answers.SUBCOMMANDS:
        return await watch_answers.execute(request, services)
    if request.sub in message_answers.SUBCOMMANDS:
        return await message_answers.execute(request, services)
    try:
        target = parse_target(request.target)
        if request.sub == "ip" and target.kind != "ip":
            return ProblemAnswer(
                request, f"`ip` needs an IP address; for a domain use `check {target.value}`"
            )
        if request.sub in ONLY and target.kind != "domain":
            return ProblemAnswer(
                request, f"`{request.sub}` needs a domain; for an IP use `ip {target.value}`"
            )
        report = await run_checks(
            target,
            services.settings,
            ip=request.ip,
            selectors=request.selectors,
            only=ONLY.get(request.sub),
            resolver=services.resolver(),
        )
    except TargetError as exc:
        return ProblemAnswer(request, str(exc))
    return ReportAnswer(request, report)
