"""Plain-text renderings for the terminal and the console: findings grouped by check, worst first."""

from __future__ import annotations

import textwrap
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from checks.model import Finding, Report, Status, worst_first
from knowledge.base import load

WIDTH = 100
ICON = {Status.FAIL: "✗", Status.ERROR: "?", Status.WARN: "!", Status.INFO: "i", Status.PASS: "✓"}


def render_report(report: Report) -> str:
    kb = load()
    lines = [f"{report.target} ({report.kind}): {tally(report.findings)} in {report.elapsed_ms} ms"]
    for check, findings in by_check(worst_first(report.findings)).items():
        lines.append("")
        lines.append(f"{check.upper()}")
        for f in findings:
            about = f" [{f.about}]" if f.about and f.about != report.target else ""
            lines.append(f"  {ICON[f.status]} {f.status.value:<5} {f.summary}{about}")
            entry = kb.get(f.kb)
            if entry and f.status in (Status.FAIL, Status.ERROR, Status.WARN):
                lines.append(f"          what to do: {entry.steps[0]}")
                if len(entry.steps) > 1:
                    lines.append(f"          more: {entry.id} ({len(entry.steps)} steps)")
    return "\n".join(lines)


def tally(findings: Iterable[Finding], *, none: str = "no findings") -> str:
    """`1 fail, 2 warn, 5 pass`: how many findings have each status, the worst first (`none` if none)."""
    counts = Counter(f.status for f in findings)
    return (
        ", ".join(f"{counts[s]} {s.value}" for s in sorted(Status, key=lambda s: s.rank) if counts[s]) or none
    )


def by_check(findings: Iterable[Finding]) -> dict[str, list[Finding]]:
    """Findings grouped by the check that made them, groups and findings in the order given."""
    groups: dict[str, list[Finding]] = {}
    for finding in findings:
        groups.setdefault(finding.check, []).append(finding)
    return groups


def render_diagnoses(diagnoses: list, name: str = "", reports: Mapping[tuple, Report] | None = None) -> str:
    """Bounce diagnoses (knowledge.diagnose.Diagnosis) as text, blank-line separated."""
    blocks = [render_diagnosis(d, name, reports) for d in diagnoses]
    return "\n\n".join(blocks) if blocks else "No bounce found in the input."


def render_diagnosis(d: Any, name: str = "", reports: Mapping[tuple, Report] | None = None) -> str:
    """One diagnosis in the order a postmaster acts on it: what happened, why, what to do, then details.

    `reports` are live check results keyed by (target, checks), as `diagnose --check` runs them.
    """
    codes = " ".join(c for c in (d.reply_code, d.enhanced_code) if c)
    icon = {"failed": "✗", "delayed": "!", "feedback": "!"}.get(d.action or "", "i")
    head = f"{icon} {d.recipient or 'the recipient'}: {d.reason}" + (f" ({codes})" if codes else "")
    said = [
        p for p in (d.provider and f"receiver {d.provider}", d.remote_mta and f"said by {d.remote_mta}") if p
    ]
    lines = [(f"{name}: " if name else "") + head + (f" — {', '.join(said)}" if said else "")]
    lines += _wrap("What happened: ", d.summary)
    if d.why:
        lines += _wrap("Why: ", d.why)
    if d.steps:
        lines.append("  What to do:")
        for n, step in enumerate(d.steps, 1):
            lines += textwrap.wrap(step, WIDTH, initial_indent=f"    {n}. ", subsequent_indent="       ")
    if d.next_checks:
        lines += _wrap("Checks to run: ", ", ".join(f"{c.check} {c.target}" for c in d.next_checks))
    targets: dict[str, list[str]] = {}
    for c in d.next_checks:
        targets.setdefault(c.target, []).append(c.check)
    for target, checks in targets.items():
        report = (reports or {}).get((target, tuple(checks)))
        if report is not None:
            lines += ["    " + line for line in render_report(report).splitlines()]
    details = ["hard bounce" if d.hard_bounce else "", *(f"IP {ip}" for ip in d.ips)]
    if any(details):
        lines += _wrap("Details: ", ", ".join(x for x in details if x))
    if d.kb_matches:
        lines += _wrap("Knowledge base: ", "; ".join(f"{e.id} ({e.title})" for e in d.kb_matches[:5]))
    return "\n".join(lines)


def _wrap(label: str, text: str) -> list[str]:
    return textwrap.wrap(text, WIDTH, initial_indent=f"  {label}", subsequent_indent=" " * (len(label) + 2))


def render_analysis(analysis: Any, name: str = "") -> str:
    """A raw message's analysis (checks.message.MessageAnalysis): where it came from, then the findings."""
    a = analysis
    lines = [f"Message: {name}"] if name else []
    sent = f"sent from {a.sending_ip}" + (f" (HELO {a.helo})" if a.helo else "") if a.sending_ip else ""
    path = [
        sent or "no sending IP found in Received",
        f"envelope sender {a.envelope_sender or '<> (null sender)'}" if a.envelope_sender is not None else "",
        f"From domain {a.from_domain}" if a.from_domain else "no usable From domain",
    ]
    lines.append(", ".join(p for p in path if p))
    if a.pasted:
        lines.append(
            "Pasted text: the body can't be verified from a paste (line breaks change); "
            "`deliverability analyze FILE.eml` verifies it."
        )
    lines.append("")
    lines.append(render_report(a.as_report()))
    return "\n".join(lines)
