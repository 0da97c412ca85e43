"""List hygiene: diagnosed hard bounces suppress at once, soft ones when repeated, and the list exports."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from pathlib import Path

import pytest

from incidents.store import Store
from knowledge.diagnose import diagnose
from practices.suppressions import Policy, classify, from_csv, record_diagnoses, suppressed, to_csv
from tests.conftest import SHARED
from tests.practices.conftest import dsn, mailbox_full, user_unknown

CORPUS = SHARED / "bounces"


def test_a_user_unknown_bounce_suppresses_its_recipient_at_once(store, clock):
    results = record_diagnoses(store, user_unknown("Alice@Shop-Customers.example"))
    assert [(r.recipient, r.outcome) for r in results] == [("alice@shop-customers.example", "suppressed")]
    [row] = suppressed(store)
    assert row["address"] == "alice@shop-customers.example"  # the full address: the list's purpose
    assert row["reason"] == "userunknown" and row["domain"] == "shop-customers.example"
    assert row["last_bounce"] == "2026-12-01T09:00:00Z" and row["count"] == 1
    clock.advance(days=2)
    again = record_diagnoses(store, user_unknown("alice@shop-customers.example", message_id="m-2@x.example"))
    assert again[0].outcome == "again"
    [row] = suppressed(store)
    assert row["count"] == 2 and row["last_bounce"] == "2026-12-03T09:00:00Z"
    assert row["suppressed_at"] == "2026-12-01T09:00:00Z"


@pytest.mark.parametrize(
    ("status", "text", "reason"),
    [
        (
            "5.1.2",
            "Host or domain name not found. Name service error for name=nowhere.example type=MX",
            "hostunknown",
        ),
        ("5.1.6", "The recipient has moved and left no forwarding address", "hasmoved"),
    ],
)
def test_other_hard_bounces_suppress_too(store, status, text, reason):
    [d] = diagnose(dsn("carol@nowhere.example", status, text))
    assert d.reason == reason
    assert record_diagnoses(store, [d])[0].outcome == "suppressed"
    assert [r["reason"] for r in suppressed(store)] == [reason]


def test_repeated_mailbox_full_suppresses_at_the_threshold_within_the_window(store, clock):
    policy = Policy(window=timedelta(days=10), threshold=3)
    outcomes = []
    for n in range(3):
        outcomes.append(
            record_diagnoses(store, mailbox_full("bob@shop.example", message_id=f"m{n}@x"), policy=policy)[
                0
            ].outcome
        )
        clock.advance(days=4)
    assert outcomes == ["watching", "watching", "suppressed"]
    assert [r["reason"] for r in suppressed(store)] == ["mailboxfull"]


def test_soft_bounces_spread_beyond_the_window_never_suppress(store, clock):
    policy = Policy(window=timedelta(days=10), threshold=3)
    for n in range(5):
        result = record_diagnoses(
            store, mailbox_full("dan@shop.example", message_id=f"m{n}@x"), policy=policy
        )
        assert result[0].outcome == "watching"
        clock.advance(days=6)  # only two bounces ever fall in one 10-day window
    assert suppressed(store) == []
    assert [r["address"] for r in store.suppressions(watching=True)] == ["dan@shop.example"]


def test_the_same_soft_bounce_pasted_again_counts_once(store):
    policy = Policy(threshold=2)
    first = record_diagnoses(store, mailbox_full("erin@shop.example"), policy=policy)
    second = record_diagnoses(store, mailbox_full("erin@shop.example"), policy=policy)
    assert [first[0].outcome, second[0].outcome] == ["watching", "duplicate"]
    assert suppressed(store) == []


def test_what_is_not_a_bounce_is_left_alone(store):
    texts = [
        "421 4.7.0 [TSS04] Messages from 89.160.20.112 temporarily deferred due to unexpected volume",
        "",
    ]
    for text in texts:
        for result in record_diagnoses(store, diagnose(text)):
            assert result.outcome in ("ignored", "counted")
    assert suppressed(store) == [] and store.suppressions(watching=True) == []
    delayed = diagnose(
        dsn("fay@shop.example", "4.2.2", "Mailbox full").replace("Action: failed", "Action: delayed")
    )
    assert classify(delayed[0])[0] == "ignore"
    assert record_diagnoses(store, delayed)[0].outcome == "ignored"


def test_a_temporary_code_is_never_a_hard_bounce():
    [d] = diagnose("450 4.1.1 <gus@shop.example>: Recipient address rejected: unverified address")
    assert classify(d) != ("hard", True)


def test_suppressions_off_stores_no_address_but_still_counts(store):
    results = record_diagnoses(store, user_unknown("hal@shop.example"), policy=Policy(enabled=False))
    assert results[0].outcome == "counted"
    assert suppressed(store) == [] and store.suppressions(watching=True) == []
    assert [(r["domain"], r["hard"]) for r in store.diagnosed_bounces(store.now(), store.now())] == [
        ("shop.example", 1)
    ]


def test_retention_drops_addresses_after_their_last_bounce(store, clock):
    policy = Policy(retention=timedelta(days=365))
    record_diagnoses(store, user_unknown("ivy@shop.example"), policy=policy)
    clock.advance(days=200)
    record_diagnoses(store, user_unknown("jay@shop.example"), policy=policy)
    clock.advance(days=200)
    assert [r["address"] for r in suppressed(store, policy=policy)] == ["jay@shop.example"]
    assert store.diagnosed_bounces(clock.now - timedelta(days=1000), clock.now)[0]["domain"] == "shop.example"


def test_since_limits_the_export_to_newer_suppressions(store, clock):
    record_diagnoses(store, user_unknown("old@shop.example"))
    clock.advance(days=3)
    record_diagnoses(store, user_unknown("new@shop.example"))
    assert [r["address"] for r in suppressed(store, since=clock.now - timedelta(days=1))] == [
        "new@shop.example"
    ]


def test_csv_export_reads_back(store):
    for who in ("kim@a.example", "lee@b.example", 'odd,"name"@c.example'):
        record_diagnoses(store, user_unknown(who, message_id=f"{who}-m"))
    rows = suppressed(store)
    text = to_csv(rows)
    assert text.splitlines()[0].startswith("address,domain,reason,receiver")
    assert from_csv(text) == rows
    assert [r["address"] for r in csv.DictReader(io.StringIO(text))] == [r["address"] for r in rows]


def test_concurrent_stores_keep_one_row_per_address(db_path, clock):
    with Store.open(db_path, clock=clock) as one, Store.open(db_path, clock=clock) as two:
        record_diagnoses(one, user_unknown("max@shop.example"))
        record_diagnoses(two, user_unknown("max@shop.example", message_id="other@x"))
        [row] = suppressed(one)
        assert row["count"] == 2


# -- the shared corpus -------------------------------------------------------------------------------


def _corpus_files(reason: str) -> list[Path]:
    if not (CORPUS / "labels.tsv").exists():
        pytest.skip(f"the bounce corpus is not here ({CORPUS}): it lives outside the repository")
    rows = [line.split("\t") for line in (CORPUS / "labels.tsv").read_text(encoding="utf-8").splitlines()[1:]]
    return sorted({CORPUS / "eml" / row[0] for row in rows if row[6] == reason})


def test_corpus_user_unknown_bounces_fill_the_list_and_export(store):
    files = _corpus_files("userunknown")
    outcomes: list[str] = []
    for path in files:
        outcomes += [r.outcome for r in record_diagnoses(store, diagnose(path.read_bytes()))]
    rows = suppressed(store)
    # Most of these are read as user unknown; every suppressed row is a hard-bounce reason with an address.
    assert outcomes.count("suppressed") >= len(files) // 2, outcomes
    assert rows and all(
        "@" in r["address"] and r["reason"] in ("userunknown", "hostunknown", "hasmoved", "notaccept")
        for r in rows
    )
    assert from_csv(to_csv(rows)) == rows


def test_corpus_mailbox_full_bounces_are_watched_until_repeated(store, clock):
    files = _corpus_files("mailboxfull")
    policy = Policy(threshold=2, window=timedelta(days=30))
    first = [r for path in files for r in record_diagnoses(store, diagnose(path.read_bytes()), policy=policy)]
    counted: dict[str, int] = {}
    for r in first:
        if r.reason == "mailboxfull" and r.outcome != "duplicate":
            counted[r.recipient] = counted.get(r.recipient, 0) + 1
    # Only a recipient that bounced twice already (two different messages) is suppressed on this pass.
    assert all(
        counted[r.recipient] >= 2 for r in first if r.outcome == "suppressed" and r.reason == "mailboxfull"
    )
    watched = {r["address"] for r in store.suppressions(watching=True)}
    assert watched, "some mailbox-full recipients are being watched"
    # A second, different bounce for each watched recipient a week later suppresses them.
    clock.advance(days=7)
    for n, address in enumerate(sorted(watched)):
        record_diagnoses(store, mailbox_full(address, message_id=f"later-{n}@x"), policy=policy)
    suppressed_now = {r["address"] for r in suppressed(store)}
    assert watched <= suppressed_now
