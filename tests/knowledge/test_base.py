"""Every knowledge-base entry, whoever wrote it: well formed, linked, safe patterns, covered by a sample."""

from __future__ import annotations

import ast
import csv
import re
import tomllib
from pathlib import Path

import pytest

from checks.runner import REGISTRY
from knowledge.base import CATEGORIES, DATA_DIR, KnowledgeBase, KnowledgeError
from knowledge.matcher import match

ROOT = Path(__file__).resolve().parents[2]
CORPUS_LABELS = ROOT.parent / "shared" / "bounces" / "labels.tsv"
SAMPLES = tomllib.loads(Path(__file__).with_name("samples.toml").read_text(encoding="utf-8"))["sample"]

# Sisimai's reason vocabulary (see ../shared/bounces/README.md), including the newer names.
REASONS = {
    "userunknown", "mailboxfull", "filtered", "expired", "rejected", "blocked", "feedback", "hostunknown",
    "authfailure", "suspend", "networkerror", "requireptr", "policyviolation", "systemerror", "spamdetected",
    "securityerror", "notaccept", "mailererror", "vacation", "toomanyconn", "onhold", "norelaying",
    "delivered", "undefined", "notcompliantrfc", "mesgtoobig", "hasmoved", "contenterror", "badreputation",
    "virusdetected", "systemfull", "syntaxerror", "speeding", "exceedlimit", "ratelimited", "emailtoolarge",
    "failedstarttls", "suppressed",
}  # fmt: skip

# RFC 3463 and its registered additions (kb-facts section 3.3): each needs a 4.x and a 5.x fallback.
ENHANCED = (
    "0.0 1.0 1.1 1.2 1.3 1.4 1.5 1.6 1.7 1.8 1.10 2.0 2.1 2.2 2.3 2.4 3.0 3.1 3.2 3.3 3.4 3.5 "
    "4.0 4.1 4.2 4.3 4.4 4.5 4.6 4.7 5.0 5.1 5.2 5.3 5.4 5.5 6.0 6.1 6.2 6.3 6.4 6.5 "
    "7.0 7.1 7.2 7.3 7.4 7.5 7.6 7.7 7.8 7.9 7.10 7.11 7.13 7.20 7.21 7.22 7.23 7.24 7.25 7.26 7.27"
).split()
REPLY_CODES = ("421", "450", "451", "452", "454", "500", "501", "502", "503", "504", "521", "530", "535",
               "550", "551", "552", "553", "554", "555", "556")  # fmt: skip
RECEIVERS = ("proofpoint", "microsoft", "google", "yahoo", "apple", "mimecast", "barracuda", "cisco",
             "spamhaus", "cloudmark")  # fmt: skip
# Proofpoint's sender guidance (kb-facts section 0): the topics this project owns outside the DNS checks.
GUIDANCE = (
    "reputation-why-blocked", "outbound-spam-compromise", "infected-site-blocklist-removal",
    "new-ip-warmup", "dedicated-vs-shared-ip", "separate-mail-streams", "unsubscribe-one-click",
    "list-hygiene", "read-error-messages", "proofpoint-pdr-blocked", "proofpoint-pdr-deferred",
    "proofpoint-essentials-own-ip",
)  # fmt: skip

_REPEATS = {"MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"}


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return KnowledgeBase.from_dir(DATA_DIR)


def test_every_file_loads_and_ids_are_unique_across_files(kb):
    ids: dict[str, str] = {}
    for path in sorted(DATA_DIR.glob("*.toml")):
        for raw in tomllib.loads(path.read_text(encoding="utf-8")).get("entry", []):
            assert raw["id"] not in ids, f"{raw['id']} in {path.name} and {ids[raw['id']]}"
            ids[raw["id"]] = path.name
    assert set(ids) == set(kb.entries)
    assert len(kb) > 250


def test_loader_refuses_duplicates_and_bad_patterns(tmp_path):
    entry = 'id = "x-one"\ntitle = "t"\ncategory = "code"\nreceiver = "any"\nexplanation = "e"\n'
    entry += 'steps = ["s"]\nsources = ["https://example.com/"]\n'
    (tmp_path / "a.toml").write_text(f"[[entry]]\n{entry}")
    (tmp_path / "b.toml").write_text(f"[[entry]]\n{entry}")
    with pytest.raises(KnowledgeError, match="duplicate id"):
        KnowledgeBase.from_dir(tmp_path)
    (tmp_path / "b.toml").write_text(
        f"[[entry]]\n{entry.replace('x-one', 'x-two')}patterns = ['(unclosed']\n"
    )
    with pytest.raises(KnowledgeError, match="does not compile"):
        KnowledgeBase.from_dir(tmp_path)


def test_required_fields_are_meaningful(kb):
    for e in kb:
        assert e.category in CATEGORIES
        assert e.title and "\n" not in e.title and len(e.title) <= 140, e.id
        assert len(e.explanation) >= 40, f"{e.id}: explanation too thin"
        assert all(step.strip() for step in e.steps), e.id
        assert e.receiver == e.receiver.strip().lower() and e.receiver, e.id
        for url in e.sources + tuple(link.url for link in e.links):
            assert re.match(r"https?://[a-z0-9.-]+\.[a-z]{2,}(/|$)", url), f"{e.id}: {url}"


def test_links_between_entries_resolve(kb):
    for e in kb:
        for other in e.related:
            assert other in kb, f"{e.id} relates to unknown entry {other!r}"
            assert other != e.id, f"{e.id} relates to itself"


def test_next_checks_are_known_checks(kb):
    for e in kb:
        unknown = set(e.next_checks) - set(REGISTRY)
        assert not unknown, f"{e.id}: unknown checks {unknown}"


def test_reasons_use_sisimai_vocabulary(kb):
    for e in kb:
        unknown = set(e.reasons) - REASONS
        assert not unknown, f"{e.id}: unknown reasons {unknown}"


def kb_literals(source: str) -> set[str]:
    """String constants a module gives as `kb=...` keywords, or assigns to a name `kb` (alone, annotated
    or in a tuple such as `status, kb = Status.PASS, "spf-ok"`)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        values = []
        if isinstance(node, ast.keyword) and node.arg == "kb":
            values.append(node.value)
        elif isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                if isinstance(target, ast.Name) and target.id == "kb":
                    values.append(node.value)
                elif isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple):
                    for name, value in zip(target.elts, node.value.elts, strict=False):
                        if isinstance(name, ast.Name) and name.id == "kb":
                            values.append(value)
        for value in values:
            for sub in ast.walk(value):
                if isinstance(sub, ast.Constant) and isinstance(sub.value, str) and sub.value:
                    found.add(sub.value)  # "" is a default that means no entry (BlockList.kb)
    # Plain `kb="..."` written some other way (in a dict built by hand, say) still counts.
    found.update(re.findall(r"""\bkb\s*=\s*["']([a-z0-9]+(?:-[a-z0-9]+)*)["']""", source))
    return found


def test_every_kb_id_the_checks_reference_exists(kb):
    referenced: dict[str, str] = {}
    for path in sorted((ROOT / "checks").glob("*.py")):
        for kb_id in kb_literals(path.read_text(encoding="utf-8")):
            referenced.setdefault(kb_id, path.name)
    assert "dns-lookup-failed" in referenced  # the runner's own reference: proves the scan sees them
    missing = {k: v for k, v in referenced.items() if k not in kb}
    assert not missing, f"checks reference entries that do not exist: {missing}"


def _nested_repeat(tree, inside: bool = False) -> bool:
    """True when a repeat (*, +, {m,n} with n > 1) sits inside another: the shape that backtracks badly."""
    for op, arg in tree:
        name = str(op)
        if name in _REPEATS:
            _low, high, sub = arg
            repeats = high is re._constants.MAXREPEAT or high > 1
            if repeats and inside:
                return True
            if _nested_repeat(sub, inside or repeats):
                return True
        elif name == "SUBPATTERN":
            if _nested_repeat(arg[-1], inside):
                return True
        elif name == "BRANCH":
            if any(_nested_repeat(branch, inside) for branch in arg[1]):
                return True
        elif name in {"ASSERT", "ASSERT_NOT"}:
            if _nested_repeat(arg[1], inside):
                return True
    return False


def test_nested_repeat_detector_works():
    assert _nested_repeat(re._parser.parse(r"(a+)+b"))
    assert _nested_repeat(re._parser.parse(r"(?:x|(\w+\s?)*)y"))
    assert not _nested_repeat(re._parser.parse(r"blocked\s{0,3}-?\s{0,3}see\s+https?://"))
    assert not _nested_repeat(re._parser.parse(r"(ab)?c+"))


def test_patterns_have_no_nested_quantifiers(kb):
    for e in kb:
        for p in e.patterns:
            assert not _nested_repeat(re._parser.parse(p.pattern)), f"{e.id}: {p.pattern!r} nests quantifiers"


def test_every_entry_with_patterns_matches_a_sample(kb):
    texts = [s["text"] for s in SAMPLES]
    for e in kb:
        if e.patterns:
            assert any(p.search(t) for p in e.patterns for t in texts), (
                f"{e.id}: no sample in samples.toml matches"
            )


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: s["text"][:50])
def test_sample_gets_the_expected_entry_first(kb, sample):
    found = match(
        kb,
        diagnostic=sample["text"],
        reply_code=sample.get("reply"),
        enhanced_code=sample.get("enhanced"),
        provider=sample.get("provider"),
    )
    assert found, "a sample that matches nothing is dead weight"
    if "expect" in sample:
        assert sample["expect"] in kb, f"unknown expected entry {sample['expect']}"
        assert found[0].id == sample["expect"], [e.id for e in found]


@pytest.mark.parametrize("code", ENHANCED)
def test_every_enhanced_status_code_has_a_fallback_in_both_classes(kb, code):
    for klass in "45":
        full = f"{klass}.{code}"
        found = match(kb, diagnostic="", enhanced_code=full)
        assert found and full in found[0].enhanced_codes, f"no fallback entry for {full}"
        assert found[0].receiver == "any"


@pytest.mark.parametrize("subject", "01234567")
def test_every_status_subject_has_a_fallback(kb, subject):
    for klass in "45":
        found = match(kb, diagnostic="", enhanced_code=f"{klass}.{subject}.99")
        assert found and f"{klass}.{subject}.*" in found[0].enhanced_codes


@pytest.mark.parametrize("code", REPLY_CODES)
def test_common_reply_codes_have_an_entry(kb, code):
    found = match(kb, diagnostic="", reply_code=code)
    assert found and code in found[0].reply_codes


@pytest.mark.parametrize("klass", "245")
def test_every_reply_class_has_an_entry(kb, klass):
    found = match(kb, diagnostic="", reply_code=f"{klass}99")
    assert found and f"{klass}xx" in found[0].reply_codes


def test_every_receiver_in_the_issue_has_entries_with_lookup_or_delisting_help(kb):
    for receiver in RECEIVERS:
        entries = [e for e in kb if e.receiver == receiver]
        assert len(entries) >= 1, receiver
        assert any(e.patterns for e in entries), f"{receiver}: nothing recognises its wording"
    for receiver in ("proofpoint", "microsoft", "spamhaus", "barracuda", "cloudmark", "cisco"):
        assert any(e.links for e in kb if e.receiver == receiver), f"{receiver}: no lookup or delisting link"


def test_proofpoint_guidance_topics_are_covered(kb):
    for entry_id in GUIDANCE:
        assert entry_id in kb, entry_id
    assert "ipcheck.proofpoint.com" in " ".join(link.url for link in kb["proofpoint-pdr-blocked"].links)


def test_samples_are_not_copied_from_the_bounce_corpus():
    if not CORPUS_LABELS.exists():
        pytest.skip(f"the labelled bounce corpus is not here ({CORPUS_LABELS})")
    with CORPUS_LABELS.open(encoding="utf-8", newline="") as fh:
        corpus = [" ".join(row["diagnostic"].split()).lower() for row in csv.DictReader(fh, delimiter="\t")]
    for sample in SAMPLES:
        text = " ".join(sample["text"].split()).lower()
        for diagnostic in corpus:
            if len(diagnostic) >= 40:
                assert diagnostic not in text and text not in diagnostic, sample["text"]
