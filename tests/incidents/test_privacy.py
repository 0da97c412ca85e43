"""Privacy: recipient addresses masked in stored text unless STORE_RAW=1; old text purged, fields kept."""

from __future__ import annotations

import sqlite3

import pytest

from incidents.privacy import mask_addresses
from incidents.store import Store
from tests.incidents.conftest import observation

BOUNCE = (
    "Delivery to <john.doe@example.org> failed: 550 5.1.1 <mailto:j.smith+tag@mail.example.net|j.smith> "
    "unknown; reported by MAILER-DAEMON@mx.example.net, contact postmaster@example.org"
)


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        (
            BOUNCE,
            "Delivery to <j***@example.org> failed: 550 5.1.1 <mailto:j***@mail.example.net|j.smith> "
            "unknown; reported by MAILER-DAEMON@mx.example.net, contact postmaster@example.org",
        ),
        ("x@y.example", "x***@y.example"),
        ("already j***@example.org", "already j***@example.org"),
        ("no address here, only example.org", "no address here, only example.org"),
    ],
)
def test_mask_addresses(text, masked):
    assert mask_addresses(text) == masked


def test_stored_text_is_masked_by_default(store, db_path):
    incident, _ = store.record(observation(raw_text=BOUNCE))
    assert "john.doe" not in store.timeline(incident.id)[0].raw_text
    store.close()
    assert b"john.doe" not in db_path.read_bytes()
    for suffix in ("-wal", "-shm"):
        wal = db_path.with_name(db_path.name + suffix)
        assert not wal.exists() or b"john.doe" not in wal.read_bytes()


def test_store_raw_keeps_the_text(db_path, clock):
    with Store.open(db_path, clock=clock, store_raw=True) as store:
        incident, _ = store.record(observation(raw_text=BOUNCE))
        assert store.timeline(incident.id)[0].raw_text == BOUNCE


def test_purge_drops_old_text_and_keeps_the_fields(db_path, clock):
    with Store.open(db_path, clock=clock, retention_days=30) as store:
        old, _ = store.record(observation(raw_text=BOUNCE, reply_code="550"))
        store.claim_event("Ev-old")
        clock.advance(hours=12)
        store.record(observation(raw_text="seen again by bob@example.org"))  # the same incident
        clock.advance(days=20)
        recent, _ = store.record(observation(subject="shop.example", raw_text="fresh"))
        clock.advance(days=10, hours=-11)
        assert store.purge() == 1  # only the first sighting is over 30 days old
        assert [e.raw_text for e in store.timeline(old.id)] == [None, "seen again by b***@example.org"]
        clock.advance(hours=12)  # now the second sighting is too
        assert store.purge() == 1
        assert store.purge() == 0
        assert [e.raw_text for e in store.timeline(old.id)] == [None, None]
        assert store.timeline(recent.id)[0].raw_text == "fresh"
        kept = store.get(old.id)
        assert (kept.subject, kept.reason, kept.reply_code, kept.occurrences) == (
            "81.2.69.160",
            "blocked",
            "550",
            2,
        )
        # Slack event ids are forgotten after a week.
        assert store.claim_event("Ev-old") is True
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT count(*) FROM events WHERE raw_text IS NULL").fetchone()[0] == 2
