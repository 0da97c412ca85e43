"""Plain-text renderings for the terminal and the console: findings grouped by check, worst first."""

from __future__ import annotations

from typing import Any

from checks.model import Finding, Report, Status, worst_first
from knowledge.base import load

ICON = {Status.FAIL: "✗", Status.ERROR: "?", Status.WARN: "!", Status.INFO: "i", Status.PASS: "✓"}


def render_report(report: Report) -> str:
    kb = load()
    lines = [f"{report.target} ({report.kind}): {_tally(report.findings)} in {report.elapsed_ms} ms"]
    groups: dict[str, list[Finding]] = {}
    for finding in worst_first(report.findings):
        groups.setdefault(finding.check, []).append(finding)
    for check, findings in groups.items():
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


def _tally(findings: list[Finding]) -> str:
    counts = {s: 0 for s in Status}
    for f in findings:
        counts[f.status] += 1
    parts = [f"{n} {s.value}" for s, n in sorted(counts.items(), key=lambda kv: kv[0].rank) if n]
    return ", ".join(parts) or "no findings"


def render_diagnoses(diagnoses: list) -> str:
    """Bounce diagnoses (knowledge.diagnose.Diagnosis) as text: what happened, why, what to do, what next."""
    blocks = []
    for d in diagnoses:
        codes = " ".join(c for c in (d.reply_code, d.enhanced_code) if c)
        icon = {"failed": "✗", "delayed": "!", "feedback": "!"}.get(d.action or "", "i")
        head = f"{icon} {d.recipient or 'the recipient'}: {d.reason}" + (f" ({codes})" if codes else "")
        where = ", ".join(
            p
            for p in (d.provider and f"receiver {d.provider}", d.remote_mta and f"said by {d.remote_mta}")
            if p
        )
        lines = [head + (f" — {where}" if where else ""), f"  {d.summary}"]
        if d.why:
            lines.append(f"  Why: {d.why}")
        if d.steps:
            lines.append("  What to do:")
            lines.extend(f"    {n}. {step}" for n, step in enumerate(d.steps, 1))
        if d.kb_matches:
            lines.append("  Knowledge base: " + "; ".join(f"{e.id} ({e.title})" for e in d.kb_matches[:5]))
        targets: dict[str, list[str]] = {}
        for c in d.next_checks:
            targets.setdefault(c.target, []).append(c.check)
        for target, checks in targets.items():
            lines.append(f"  Next: deliverability check {target}   ({', '.join(checks)})")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) if blocks else "No bounce found in the input."


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
