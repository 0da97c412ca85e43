"""Measure the bounce parser against the labelled corpus in ../shared/bounces/.

Prints agreement with the labels (reason, enhanced status, reply code, recipient) per reason and
overall, then messages per second on one core: the median of 5 runs over the whole corpus, parsing
from bytes already in memory. Run: `.venv/bin/python -m bench.bounce_corpus [--show-misses]`.
"""

from __future__ import annotations

import argparse
import csv
import re
import statistics
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from knowledge.bounce import BounceResult, parse, smtp
from knowledge.bounce.reasons import internal_code

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "bounces"
# Sisimai's stand-in when a report names no recipient.
NO_RECIPIENT = "undisclosed-recipient-in-headers@libsisimai.org.invalid"


@dataclass
class Row:
    file: str
    status: str
    reply: str
    reason: str
    recipient: str


@dataclass
class Outcome:
    row: Row
    got: BounceResult | None

    @property
    def reason(self) -> bool:
        return self.got is not None and self.got.reason == self.row.reason

    @property
    def status(self) -> bool:
        return status_of(self.got) == self.row.status

    @property
    def reply(self) -> bool:
        return reply_of(self.got) == self.row.reply

    @property
    def recipient(self) -> bool:
        got = (self.got.recipient or "").lower() if self.got else ""
        want = self.row.recipient.lower()
        return got == want or (want == NO_RECIPIENT and not got)


_TEMPORARY_WORDS = re.compile(r" temporar| persistent", re.I)


def _temporary(r: BounceResult) -> bool:
    """Sisimai's test for a temporary failure: the first code quoted is a 4xx, or the text says so
    (OpenSMTPD's "this is only a temporary failure report" is outside the part Sisimai reads)."""
    reply, status = smtp.find_codes(r.diagnostic)
    first = status or reply or r.reply_code or ""
    worded = r.reported_by != "opensmtpd" and bool(_TEMPORARY_WORDS.search(" " + r.diagnostic))
    return first.startswith("4") or worded


def status_of(r: BounceResult | None) -> str:
    """The enhanced code as the labels give it: when the bounce states none, Sisimai's internal code for
    the reason, worked out as Sisimai does (comparison only; the parser reports what the bounce says)."""
    if r is None:
        return ""
    if r.reason in ("feedback", "vacation"):
        return ""
    code = r.enhanced_code
    if r.reported_by == "opensmtpd":
        # Sisimai reads OpenSMTPD's notification text only, not its delivery-status part.
        code = smtp.find_status(r.diagnostic)
    if r.reported_by == "exim" and not code:
        # Sisimai's Exim reader sets a code from its own first verdict: "onhold" for a reply to MAIL
        # FROM, "blocked" for one to HELO/EHLO; its expiry and full-mailbox verdicts are temporary.
        temporary = (r.reply_code or "").startswith("4") or r.reason in ("expired", "mailboxfull")
        first = {"MAIL": "onhold", "HELO": "blocked", "EHLO": "blocked"}.get(r.command or "", r.reason)
        return internal_code(first, temporary) or code or ""
    if code:
        return code
    return internal_code(r.reason, _temporary(r)) or ""


def reply_of(r: BounceResult | None) -> str:
    """The reply code as the labels give it: Sisimai drops one whose class disagrees with the status,
    unless the text quotes another of the right class."""
    if r is None or not r.reply_code or r.reason in ("feedback", "vacation"):
        return ""
    status = status_of(r)
    if status and status[0] != r.reply_code[0]:
        other = next((c for c in _REPLY.findall(r.diagnostic) if c[0] == status[0]), "")
        return other if other in smtp.REPLY_CODES else ""
    return r.reply_code


_REPLY = re.compile(r"(?<![\w.])([245]\d\d)(?![\w.])")


def load_rows(corpus: Path = CORPUS) -> dict[str, list[Row]]:
    rows: dict[str, list[Row]] = defaultdict(list)
    with (corpus / "labels.tsv").open(newline="", encoding="utf-8") as fh:
        for rec in csv.DictReader(fh, delimiter="\t"):
            rows[rec["file"]].append(
                Row(rec["file"], rec["status"], rec["replycode"], rec["reason"], rec["recipient"])
            )
    return rows


def evaluate(corpus: Path = CORPUS) -> list[Outcome]:
    outcomes: list[Outcome] = []
    for name, rows in sorted(load_rows(corpus).items()):
        results = parse((corpus / "eml" / name).read_bytes()).results
        used: set[int] = set()
        for row in rows:
            match = None
            for i, r in enumerate(results):
                if i not in used and (r.recipient or "").lower() == row.recipient.lower():
                    match = i
                    break
            if match is None:
                match = next((i for i in range(len(results)) if i not in used), None)
            if match is not None:
                used.add(match)
            outcomes.append(Outcome(row, results[match] if match is not None else None))
    return outcomes


def table(outcomes: list[Outcome]) -> str:
    by_reason: dict[str, list[Outcome]] = defaultdict(list)
    for o in outcomes:
        by_reason[o.row.reason].append(o)
    lines = [f"{'reason':<16} {'rows':>5} {'reason%':>8} {'status%':>8} {'reply%':>7} {'rcpt%':>6}"]

    def pct(xs: list[bool]) -> str:
        return f"{100 * sum(xs) / len(xs):.1f}" if xs else "-"

    for reason in sorted(by_reason, key=lambda r: (-len(by_reason[r]), r)):
        os_ = by_reason[reason]
        lines.append(
            f"{reason:<16} {len(os_):>5} {pct([o.reason for o in os_]):>8} {pct([o.status for o in os_]):>8} "
            f"{pct([o.reply for o in os_]):>7} {pct([o.recipient for o in os_]):>6}"
        )
    lines.append(
        f"{'ALL':<16} {len(outcomes):>5} {pct([o.reason for o in outcomes]):>8} "
        f"{pct([o.status for o in outcomes]):>8} {pct([o.reply for o in outcomes]):>7} "
        f"{pct([o.recipient for o in outcomes]):>6}"
    )
    return "\n".join(lines)


def speed(corpus: Path = CORPUS, runs: int = 5) -> float:
    blobs = [p.read_bytes() for p in sorted((corpus / "eml").glob("*.eml"))]
    rates = []
    for _ in range(runs):
        start = time.perf_counter()
        for b in blobs:
            parse(b)
        rates.append(len(blobs) / (time.perf_counter() - start))
    return statistics.median(rates)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--show-misses", action="store_true", help="list every row that disagrees")
    ap.add_argument("--no-speed", action="store_true")
    args = ap.parse_args(argv)
    if not (CORPUS / "labels.tsv").exists():
        print(f"corpus not found at {CORPUS}", file=sys.stderr)
        return 1
    outcomes = evaluate()
    if args.show_misses:
        for o in outcomes:
            if not (o.reason and o.status and o.reply and o.recipient):
                g = o.got
                print(
                    f"{o.row.file:<30} want {o.row.reason}/{o.row.status}/{o.row.reply}/{o.row.recipient}\n"
                    f"{'':<30} got  {g.reason if g else '-'}/{status_of(g)}/{reply_of(g)}/"
                    f"{g.recipient if g else '-'}  [{(g.diagnostic if g else '')[:150]}]"
                )
    print(table(outcomes))
    if not args.no_speed:
        print(
            f"\n{speed():.0f} messages/s (median of 5 runs, one core, "
            f"{len(list((CORPUS / 'eml').glob('*.eml')))} messages)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
