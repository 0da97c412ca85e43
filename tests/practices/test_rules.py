"""The figures in knowledge/data/warmup.toml: well formed, sourced, and pointing at entries that exist."""

from __future__ import annotations

import pytest

from knowledge.base import load
from practices.rules import RULES_FILE, parse_rules


@pytest.fixture(scope="module")
def rules():
    return parse_rules(RULES_FILE.read_text(encoding="utf-8"))


def test_every_kb_id_the_rules_name_exists(rules):
    kb = load()
    named = {rules.ramp.kb, rules.hygiene.kb, rules.streams.kb, "separate-mail-streams"}
    named |= {t.kb for t in rules.thresholds}
    named |= {k for c in rules.cautions for k in c.kb}
    missing = sorted(k for k in named if k not in kb)
    assert not missing, missing


def test_every_figure_has_a_public_source(rules):
    assert rules.ramp.sources and all(s.startswith("https://") for s in rules.ramp.sources)
    for item in (*rules.thresholds, *rules.cautions):
        assert item.sources and all(s.startswith("https://") for s in item.sources), item


def test_the_published_thresholds_are_the_ones_the_issue_names(rules):
    complaints = {t.value: t.level for t in rules.thresholds_for("complaints")}
    assert complaints == {0.003: "fail", 0.001: "warn"}  # Gmail's 0.1% target, Gmail/Yahoo's 0.3% limit
    assert [t.value for t in rules.thresholds_for("bounces")] == [0.05, 0.02]  # worst first
    assert rules.ramp.max_target == 10_000_000 and rules.ramp.default_days == 30


def test_the_hygiene_rules_are_sisimai_reasons(rules):
    assert rules.hygiene.hard_reasons == {"userunknown", "hostunknown", "hasmoved", "notaccept"}
    assert rules.hygiene.repeated_reasons == {"mailboxfull", "suspend"}


def test_the_ramp_basis_names_its_figures(rules):
    text = rules.ramp.basis.format(first="50", days=30, factor="1.41")
    assert "50 on day 1" in text and "day 30" in text and "×1.41" in text
