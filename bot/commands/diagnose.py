"""`deliverability diagnose [FILE ...|-] [--json] [--check]`: what a bounce means and what to do."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from dataclasses import dataclass

from bot.commands import fail, read_input
from bot.render_text import render_diagnosis
from bot.settings import Settings
from checks.model import Report
from checks.runner import run_checks
from checks.target import TargetError, parse_target
from incidents import StoreError, log_diagnoses
from knowledge.base import load
from knowledge.diagnose import Diagnosis, diagnose, unreadable
from practices import suppressions

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "diagnose",
        help="explain bounces: what happened, why, what to do",
        description="Read bounces (a whole message, a pasted NDR or a single SMTP reply) and say for each "
        "recipient what happened, why, and what to do, from the knowledge base. Exit status: 0 when every "
        "input was read, 1 when some could not be (missing, unreadable, empty or binary), 2 for usage "
        "errors.",
    )
    p.add_argument(
        "inputs",
        nargs="*",
        metavar="FILE",
        help="files to read; '-' or nothing reads standard input",
    )
    p.add_argument("--json", action="store_true", help="print JSON Lines: one object per recipient result")
    p.add_argument(
        "--check",
        action="store_true",
        help="also run the suggested live DNS checks and include their results",
    )
    p.add_argument(
        "--log",
        action="store_true",
        help="record each failure in the incident log, and hard bounces in the suppression list",
    )
    p.set_defaults(func=run)


@dataclass
class _Input:
    name: str
    diagnoses: list[Diagnosis]
    data: bytes | None = None


def run(args: argparse.Namespace, settings: Settings) -> int:
    names = args.inputs or ["-"]
    if names.count("-") > 1:
        return fail("diagnose", "standard input ('-') can be read only once")
    kb = load()
    inputs: list[_Input] = []
    for name in names:
        data, error = _read(name, settings.max_input_bytes)
        if error is not None:
            inputs.append(_Input(name, [unreadable(error)]))
            continue
        try:
            diagnoses = diagnose(data, kb=kb, max_bytes=settings.max_input_bytes)
        except Exception as exc:  # a parser bug must cost this input its diagnosis, not the whole run
            log.exception("diagnosing %s failed", name)
            diagnoses = [
                unreadable(f"{name}: the bounce could not be parsed (internal error: {type(exc).__name__})")
            ]
        inputs.append(_Input(name, diagnoses, data))

    reports: dict[tuple[str, tuple[str, ...]], Report] = {}
    if args.check:
        reports = asyncio.run(_run_checks(inputs, settings))
        for item in inputs:
            for d in item.diagnoses:
                d.checks = [reports[key].to_dict() for key in _plan(d) if key in reports]

    if args.log and not _log(inputs, settings):
        return 2
    for item in inputs:
        for d in item.diagnoses:
            if args.json:
                print(json.dumps(d.to_json(item.name), ensure_ascii=False))
            else:
                print(render_diagnosis(d, item.name, reports if args.check else None))
                print()
    return 0 if all(d.readable for item in inputs for d in item.diagnoses) else 1


def _log(inputs: list[_Input], settings: Settings) -> bool:
    """Record what was found; messages go to stderr so --json output stays JSON Lines."""
    try:
        for item in inputs:
            readable = [d for d in item.diagnoses if d.readable]
            raw = item.data.decode("utf-8", errors="replace") if item.data else None
            for incident, created in log_diagnoses(settings, readable, raw_text=raw):
                verb = "opened" if created else "added an occurrence to"
                print(f"{item.name}: {verb} incident #{incident.id}", file=sys.stderr)
            recorded = suppressions.log_diagnoses(settings, readable)
            if recorded:
                print(f"{item.name}: {suppressions.summary(recorded)}", file=sys.stderr)
    except StoreError as exc:
        fail("diagnose", f"not logged: {exc}")
        return False
    return True


def _read(name: str, limit: int) -> tuple[bytes | None, str | None]:
    """At most limit + 1 bytes (so the parser can tell the input was cut), or the reason it failed."""
    try:
        return read_input(name, limit), None
    except OSError as exc:
        return None, f"{name}: {exc.strerror or exc}"


def _plan(d: Diagnosis) -> list[tuple[str, tuple[str, ...]]]:
    """The diagnosis's next checks grouped by target, in order: one check run per target."""
    by_target: dict[str, list[str]] = {}
    for item in d.next_checks:
        by_target.setdefault(item.target, []).append(item.check)
    return [(target, tuple(checks)) for target, checks in by_target.items()]


async def _run_checks(inputs: list[_Input], settings: Settings) -> dict[tuple[str, tuple[str, ...]], Report]:
    keys: list[tuple[str, tuple[str, ...]]] = []
    for item in inputs:
        for d in item.diagnoses:
            keys.extend(k for k in _plan(d) if k not in keys)

    async def one(key: tuple[str, tuple[str, ...]]) -> Report | None:
        target, only = key
        try:
            return await run_checks(parse_target(target), settings, only=only)
        except TargetError:
            return None  # next checks are validated targets already; nothing sensible to run otherwise

    reports = await asyncio.gather(*(one(k) for k in keys))
    return {k: r for k, r in zip(keys, reports, strict=True) if r is not None}
