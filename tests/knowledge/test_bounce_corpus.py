"""The bounce parser against the labelled corpus in ../shared/bounces/ (skipped when it is absent).

Floors sit a little under what the parser reaches; raise them as it improves, never lower them to pass.
"""

from __future__ import annotations

from pathlib import Path

import pytest

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "bounces"

pytestmark = pytest.mark.skipif(
    not (CORPUS / "labels.tsv").exists(),
    reason=f"the labelled bounce corpus is not at {CORPUS} (it is kept outside the repository)",
)

FLOORS = {"reason": 0.99, "status": 0.995, "reply": 0.99, "recipient": 0.99}


@pytest.fixture(scope="module")
def outcomes():
    from bench.bounce_corpus import evaluate

    return evaluate(CORPUS)


def test_every_labelled_row_gets_a_result(outcomes):
    assert len(outcomes) >= 300
    missing = [o.row.file for o in outcomes if o.got is None]
    assert len(missing) <= 3, missing


@pytest.mark.parametrize("measure", sorted(FLOORS))
def test_agreement_floor(outcomes, measure):
    agree = sum(1 for o in outcomes if getattr(o, measure))
    share = agree / len(outcomes)
    misses = [o.row.file for o in outcomes if not getattr(o, measure)][:20]
    assert share >= FLOORS[measure], f"{measure}: {share:.1%} < {FLOORS[measure]:.0%}; e.g. {misses}"


def test_hard_bounce_matches_reason(outcomes):
    from knowledge.bounce.reasons import HARD_REASONS

    for o in outcomes:
        if o.got is not None and o.got.reason in HARD_REASONS:
            assert o.got.hard_bounce, o.row.file


def test_undefined_results_carry_a_note(outcomes):
    for o in outcomes:
        if o.got is not None and o.got.reason == "undefined":
            assert o.got.note, o.row.file
