"""The matcher's order (most specific first), its code fallbacks, and its bounded time on hostile input."""

from __future__ import annotations

import pytest

from knowledge.base import DATA_DIR, KnowledgeBase
from knowledge.matcher import MAX_TEXT, match, normalise_provider
from tests.knowledge.test_bounce import bounded

ENTRY = """
[[entry]]
id = "{id}"
title = "{id}"
category = "{category}"
receiver = "{receiver}"
explanation = "made up for the matcher tests"
steps = ["do something"]
sources = ["https://example.com/"]
{extra}
"""


def _kb(tmp_path, *entries: tuple[str, ...]) -> KnowledgeBase:
    """Entries as (id, receiver, extra TOML[, category]); the category defaults to "code"."""
    text = "".join(
        ENTRY.format(id=e[0], receiver=e[1], extra=e[2], category=e[3] if len(e) > 3 else "code")
        for e in entries
    )
    (tmp_path / "test.toml").write_text(text, encoding="utf-8")
    return KnowledgeBase.from_dir(tmp_path)


@pytest.fixture
def kb(tmp_path) -> KnowledgeBase:
    return _kb(
        tmp_path,
        ("class-5xx", "any", 'reply_codes = ["5xx"]\nenhanced_codes = ["5.*.*"]'),
        ("reply-550", "any", 'reply_codes = ["550"]'),
        ("subject-5-7", "any", 'enhanced_codes = ["5.7.*"]'),
        ("reason-blocked", "any", 'reasons = ["blocked"]'),
        ("exact-5-7-1", "any", 'enhanced_codes = ["5.7.1"]'),
        ("gmail-code-5-7-27", "google", 'enhanced_codes = ["5.7.27"]'),
        ("generic-blocked", "any", "patterns = ['blocked']"),
        ("spamhaus-listed", "spamhaus", "patterns = ['spamhaus']"),
        ("acme-blocked", "acme", "patterns = ['blocked using']"),
        ("generic-long", "any", "patterns = ['blocked using zen\\.spamhaus\\.org']"),
    )


def ids(entries) -> list[str]:
    return [e.id for e in entries]


def test_full_order_from_provider_pattern_to_class(kb):
    found = match(
        kb,
        diagnostic="550 5.7.1 client blocked using zen.spamhaus.org",
        reply_code="550",
        enhanced_code="5.7.1",
        provider="acme",
        reason="blocked",
    )
    assert ids(found) == [
        "acme-blocked",  # the refusing provider's own wording
        "spamhaus-listed",  # another receiver's wording named in the text
        "generic-long",  # general wordings, the longer match first
        "generic-blocked",
        "exact-5-7-1",  # then the exact enhanced code (the reason's entry is left out: wording matched)
        "reply-550",  # the exact reply code (the X.7.* subject is skipped: the exact code was found)
    ]


def test_reason_entry_comes_after_the_exact_code_when_no_wording_matched(kb):
    found = match(
        kb, diagnostic="550 5.7.1 go away", reply_code="550", enhanced_code="5.7.1", reason="blocked"
    )
    assert ids(found) == ["exact-5-7-1", "reason-blocked", "reply-550"]
    assert ids(match(kb, diagnostic="", reason="blocked")) == ["reason-blocked"]


def test_a_reason_without_its_own_entry_borrows_the_first_general_entry_naming_it(tmp_path):
    kb = _kb(
        tmp_path,
        ("status-fallback", "any", 'enhanced_codes = ["5.1.1"]\nreasons = ["userunknown"]'),
        ("vendor-unknown", "acme", "patterns = ['nobody here']\nreasons = ['userunknown']"),
        (
            "generic-unknown",
            "any",
            "patterns = ['user unknown']\nreasons = ['userunknown', 'filtered']",
            "recipient",
        ),
    )
    assert ids(match(kb, diagnostic="it bounced", reason="userunknown")) == ["generic-unknown"]
    assert match(kb, diagnostic="it bounced", reason="filtered") == []


def test_without_the_provider_receiver_patterns_still_beat_general_ones(kb):
    found = match(kb, diagnostic="client blocked using zen.spamhaus.org")
    first_general = min(i for i, e in enumerate(found) if e.receiver == "any")
    assert all(e.receiver != "any" for e in found[:first_general])
    assert {e.id for e in found[:first_general]} == {"acme-blocked", "spamhaus-listed"}


def test_subject_fallback_when_no_exact_code(kb):
    assert ids(match(kb, diagnostic="", enhanced_code="5.7.99")) == ["subject-5-7"]


def test_class_fallback_only_when_nothing_more_specific(kb):
    assert ids(match(kb, diagnostic="", enhanced_code="5.3.99")) == ["class-5xx"]
    assert ids(match(kb, diagnostic="", reply_code="599")) == ["class-5xx"]
    assert ids(match(kb, diagnostic="", reply_code="550", enhanced_code="5.3.99")) == ["reply-550"]


def test_receiver_codes_count_only_for_that_provider(kb):
    assert "gmail-code-5-7-27" not in ids(match(kb, diagnostic="", enhanced_code="5.7.27"))
    assert ids(match(kb, diagnostic="", enhanced_code="5.7.27", provider="google"))[0] == "gmail-code-5-7-27"
    assert ids(match(kb, diagnostic="", enhanced_code="5.7.27", provider="Gmail"))[0] == "gmail-code-5-7-27"


def test_nothing_given_matches_nothing_and_garbage_codes_are_ignored(kb):
    assert match(kb, diagnostic="") == []
    assert match(kb, diagnostic=None, reply_code="hello", enhanced_code="5.x.1") == []


def test_provider_aliases():
    assert normalise_provider("GMAIL") == "google"
    assert normalise_provider(" aol ") == "yahoo"
    assert normalise_provider("mimecast") == "mimecast"
    assert normalise_provider("") is None


def test_icloud_bounce_with_an_ipcheck_link_is_proofpoint_first():
    kb = KnowledgeBase.from_dir(DATA_DIR)
    found = match(
        kb,
        diagnostic="554 5.7.1 Blocked - see https://ipcheck.proofpoint.com/?ip=81.2.69.160",
        reply_code="554",
        enhanced_code="5.7.1",
        provider="apple",
    )
    assert found[0].id == "proofpoint-pdr-blocked"
    assert [e.id for e in found][-2:] == ["status-x-7-1", "reply-554"]


def test_pattern_beyond_the_text_bound_is_not_seen(kb):
    assert match(kb, diagnostic="x" * MAX_TEXT + " blocked") == []


ADVERSARIAL = [
    "a" * 1_000_000,
    "550 " * 250_000,
    "spf " * 250_000,
    "blocked using " * 80_000,
    "listed in " * 100_000,
    "5.7.27 " + " " * 1_000_000 + "gsmtp",
    "dmarc " * 200_000,
    "\n" * 1_000_000,
    "(" * 500_000 + ")" * 500_000,
    "é😀\x00" * 300_000,
    "domain of sender address " + "x" * 1_000_000,
    "<mailto:a@b|a@b> " * 60_000,
]


@pytest.mark.parametrize("text", ADVERSARIAL, ids=lambda t: repr(t[:12]))
def test_hostile_long_text_finishes(text):
    kb = KnowledgeBase.from_dir(DATA_DIR)
    # bounded() fails the test when the call has not returned within the timeout.
    bounded(
        match, kb, diagnostic=text, reply_code="550", enhanced_code="5.7.1", provider="google", timeout=60.0
    )


def test_each_pattern_alone_finishes_on_hostile_text_at_the_bound():
    kb = KnowledgeBase.from_dir(DATA_DIR)
    texts = [t[:MAX_TEXT] for t in ADVERSARIAL]

    def run_all() -> None:
        for entry in kb:
            for pattern in entry.patterns:
                for text in texts:
                    pattern.search(text)

    bounded(run_all, timeout=120.0)  # fails the test when it has not finished by then
