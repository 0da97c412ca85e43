"""The store on real SQLite files: migrations, refusal of bad files, concurrency, crashes, Slack state."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import threading
from pathlib import Path

import pytest

from incidents.store import (
    KNOWN_MIGRATIONS,
    SCHEMA_VERSION,
    IncidentNotFound,
    InvalidStatus,
    SchemaTooNew,
    Store,
    StoreUnavailable,
)
from tests.conftest import START
from tests.incidents.conftest import observation, python

# The first schema as version 1 of the code wrote it; frozen here on purpose, independent of store.py.
V1_SCHEMA = """
CREATE TABLE incidents (
    id INTEGER PRIMARY KEY, workspace TEXT NOT NULL DEFAULT '', channel TEXT, thread_ts TEXT,
    permalink TEXT, reporter TEXT, subject TEXT NOT NULL, receiver TEXT NOT NULL, reason TEXT NOT NULL,
    reply_code TEXT, enhanced_code TEXT, kb_ids TEXT NOT NULL DEFAULT '[]',
    status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'investigating', 'resolved')),
    assignee TEXT, occurrences INTEGER NOT NULL DEFAULT 1, first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL, resolved_at TEXT, resolution_note TEXT
);
CREATE INDEX incidents_by_group ON incidents (workspace, receiver, reason, subject, status);
CREATE INDEX incidents_by_last_seen ON incidents (last_seen);
CREATE TABLE events (
    id INTEGER PRIMARY KEY, incident_id INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    at TEXT NOT NULL, kind TEXT NOT NULL, actor TEXT, text TEXT, status_from TEXT, status_to TEXT,
    channel TEXT, thread_ts TEXT, permalink TEXT, raw_text TEXT, data TEXT
);
CREATE INDEX events_by_incident ON events (incident_id, at);
CREATE INDEX events_by_time ON events (at, kind);
CREATE TABLE _sqlite_migrations (id INTEGER PRIMARY KEY, migration_set TEXT, name TEXT, applied_at TEXT);
CREATE UNIQUE INDEX idx__sqlite_migrations_migration_set_name ON _sqlite_migrations (migration_set, name);
INSERT INTO _sqlite_migrations (migration_set, name, applied_at)
    VALUES ('deliverability', 'm001_incidents', '2024-05-01 00:00:00+00:00');
INSERT INTO incidents
    (workspace, subject, receiver, reason, reply_code, kb_ids, occurrences, first_seen, last_seen)
    VALUES ('T1', '81.2.69.160', 'microsoft', 'blocked', '550', '["ms-blocklist"]', 4,
            '2024-05-08T01:00:00Z', '2024-05-08T08:00:00Z');
INSERT INTO events (incident_id, at, kind, actor, text)
    VALUES (1, '2024-05-08T01:00:00Z', 'created', 'U9', 'blocked at microsoft for 81.2.69.160');
PRAGMA user_version = 1;
"""


def in_threads(work, count: int = 8) -> list[BaseException]:
    """Run work(0) ... work(count - 1) in threads at once; what they raised."""
    errors: list[BaseException] = []

    def run(n: int) -> None:
        try:
            work(n)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def _tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def test_a_new_file_gets_every_migration_in_wal_mode(db_path, clock):
    with Store.open(db_path, clock=clock) as store:
        assert store.schema_version == SCHEMA_VERSION == len(KNOWN_MIGRATIONS)
        assert store.db.journal_mode == "wal"
        assert store.db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert store.db.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000
    assert {"incidents", "events", "slack_events", "watched_threads", "digest_posts"} <= _tables(db_path)
    with sqlite3.connect(db_path) as conn:
        fks = conn.execute("PRAGMA foreign_key_list(events)").fetchall()
        assert [(fk[2], fk[3], fk[4]) for fk in fks] == [("incidents", "incident_id", "id")]
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_a_v1_database_is_migrated_and_keeps_its_incidents(db_path, clock):
    with sqlite3.connect(db_path) as conn:
        conn.executescript(V1_SCHEMA)
    assert "digest_posts" not in _tables(db_path)

    with Store.open(db_path, clock=clock) as store:
        assert store.schema_version == SCHEMA_VERSION
        old = store.get(1)
        assert (old.subject, old.receiver, old.occurrences, old.kb_ids) == (
            "81.2.69.160",
            "microsoft",
            4,
            ["ms-blocklist"],
        )
        assert (old.subject_kind, old.source) == ("", "diagnose")  # the new columns' defaults
        # The migrated incident is still grouped into: it was last seen an hour ago.
        incident, created = store.record(observation(workspace="T1"))
        assert (incident.id, created, incident.occurrences) == (1, False, 5)
        assert [e.kind for e in store.timeline(1)] == ["created", "seen_again"]
        assert store.claim_digest("C1", "2024-05-08")  # a table from a later migration works
    with sqlite3.connect(db_path) as conn:
        names = [r[0] for r in conn.execute("SELECT name FROM _sqlite_migrations ORDER BY id")]
    assert names == list(KNOWN_MIGRATIONS)


def test_reopening_is_idempotent(db_path, clock):
    with Store.open(db_path, clock=clock) as store:
        store.record(observation())
    for _ in range(3):
        with Store.open(db_path, clock=clock) as store:
            assert store.schema_version == SCHEMA_VERSION
            assert len(store.list("all")) == 1
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT count(*) FROM _sqlite_migrations").fetchone()[0] == SCHEMA_VERSION


def test_a_newer_schema_is_refused_and_left_untouched(db_path, clock):
    with Store.open(db_path, clock=clock) as store:
        store.record(observation())
    with sqlite3.connect(db_path) as conn:
        conn.execute(
            "INSERT INTO _sqlite_migrations (migration_set, name, applied_at) "
            "VALUES ('deliverability', 'm099_from_the_future', '2030-01-01')"
        )
    before = db_path.read_bytes()
    with pytest.raises(SchemaTooNew, match=r"newer version.*m099_from_the_future"):
        Store.open(db_path, clock=clock)
    assert db_path.read_bytes() == before


def test_a_newer_user_version_is_refused_too(db_path, clock):
    Store.open(db_path, clock=clock).close()
    with sqlite3.connect(db_path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    before = db_path.read_bytes()
    with pytest.raises(SchemaTooNew, match="not changed"):
        Store.open(db_path, clock=clock)
    assert db_path.read_bytes() == before


@pytest.mark.parametrize(
    "content",
    [b"this is a text file, not a database\n" * 50, b"SQLite format 3\x00" + b"\xff" * 4000],
    ids=["text", "bad-sqlite-body"],
)
def test_a_garbage_file_is_refused_and_left_untouched(db_path, clock, content):
    db_path.write_bytes(content)
    with pytest.raises(StoreUnavailable, match=r"not .*SQLite database"):
        Store.open(db_path, clock=clock)
    assert db_path.read_bytes() == content


def test_a_directory_or_missing_directory_is_a_clear_error(tmp_path, clock):
    with pytest.raises(StoreUnavailable, match="is a directory"):
        Store.open(tmp_path, clock=clock)
    with pytest.raises(StoreUnavailable, match="does not exist"):
        Store.open(tmp_path / "nowhere" / "x.db", clock=clock)
    assert not (tmp_path / "nowhere").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_an_unreadable_file_is_a_clear_error(db_path, clock):
    Store.open(db_path, clock=clock).close()
    db_path.chmod(0)
    try:
        with pytest.raises(StoreUnavailable, match="cannot read"):
            Store.open(db_path, clock=clock)
    finally:
        db_path.chmod(0o600)


def test_many_threads_with_their_own_connections_group_exactly(db_path, clock):
    Store.open(db_path, clock=clock).close()
    created: list[int] = []

    def writer(n: int) -> None:
        with Store.open(db_path, clock=clock) as store:
            for i in range(50):
                incident, new = store.record(observation(subject=("a.example", "b.example")[i % 2]))
                if new:
                    created.append(incident.id)

    assert in_threads(writer) == []
    with Store.open(db_path, clock=clock) as store:
        incidents = store.list("all")
        # Two keys → exactly two incidents: no two writers both found "no match" and inserted.
        assert sorted(i.subject for i in incidents) == ["a.example", "b.example"]
        assert [i.occurrences for i in incidents] == [200, 200]
        assert len(created) == 2
        assert sum(len(store.timeline(i.id)) for i in incidents) == 400


def test_threads_sharing_one_store(store):
    def writer(n: int) -> None:
        for i in range(50):
            store.record(observation(subject=f"s{n}.example", reason=("blocked", "spamdetected")[i % 2]))
            store.claim_event(f"Ev{n}-{i % 10}")

    assert in_threads(writer) == []
    incidents = store.list("all")
    assert len(incidents) == 16
    assert {i.occurrences for i in incidents} == {25}
    assert store.db.execute("SELECT count(*) FROM slack_events").fetchone()[0] == 80


WRITER = """
import sys, time
from pathlib import Path
from incidents.store import Store
from incidents.model import Observation
path, barrier, count = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
while not barrier.exists():
    time.sleep(0.005)
with Store.open(path) as store:
    for i in range(count):
        subject = ("a.example", "b.example")[i % 2]
        store.record(Observation(subject=subject, receiver="google", reason="blocked"))
print("done")
"""


def test_two_processes_on_a_fresh_file(tmp_path, db_path):
    barrier = tmp_path / "go"
    children = [python(WRITER, str(db_path), str(barrier), "150", stdout=subprocess.PIPE) for _ in range(2)]
    barrier.touch()  # both open the not-yet-existing file (and migrate it) at the same moment
    outputs = [c.communicate(timeout=120)[0] for c in children]
    assert [c.returncode for c in children] == [0, 0], outputs
    with Store.open(db_path) as store:
        incidents = store.list("all")
        assert [i.occurrences for i in incidents] == [150, 150]
        assert store.schema_version == SCHEMA_VERSION


KILLED_WRITER = """
import sys
from incidents.store import Store
from incidents.model import Observation
with Store.open(sys.argv[1]) as store:
    i = 0
    while True:
        incident, _ = store.record(Observation(subject=f"{i}.example", receiver="google", reason="blocked"))
        print(incident.id, flush=True)  # printed only once committed
        i += 1
"""


def test_killing_a_writer_loses_no_committed_incident(db_path):
    child = python(KILLED_WRITER, str(db_path), stdout=subprocess.PIPE)
    committed = []
    for line in child.stdout:
        committed.append(int(line))
        if len(committed) == 200:
            child.send_signal(signal.SIGKILL)  # mid-stream: it is writing the next one
            break
    committed += [int(line) for line in child.stdout.read().split()]
    child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    with Store.open(db_path) as store:
        assert store.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        stored = {i.id for i in store.list("all")}
        assert set(committed) <= stored
        assert len(stored) - len(committed) in (0, 1)  # at most the one committed but not yet printed
        assert all(len(store.timeline(i)) == 1 for i in committed[:5])


def test_slack_event_ids_are_claimed_once_across_reopen(db_path, clock):
    with Store.open(db_path, clock=clock) as store:
        assert store.claim_event("Ev01") is True
        assert store.claim_event("Ev01") is False
        store.remember_thread("C1", "1715158800.000100")
    with Store.open(db_path, clock=clock) as store:  # a restart
        assert store.claim_event("Ev01") is False
        assert store.claim_event("Ev02") is True
        assert store.thread_watched("C1", "1715158800.000100")
        assert not store.thread_watched("C1", "1715158800.000200")
        assert not store.thread_watched("C2", "1715158800.000100")


def test_status_notes_assignment_and_check_runs(store, clock):
    incident, _ = store.record(observation(reply_code="550", enhanced_code="5.7.1"))
    clock.advance(minutes=5)
    store.set_status(incident.id, "investigating", actor="U2")
    store.assign(incident.id, "U3", actor="U2")
    store.add_note(incident.id, "asked Microsoft via SNDS", actor="U3")
    report = {
        "target": "81.2.69.160",
        "kind": "ip",
        "findings": [
            {
                "check": "blocklist",
                "status": "fail",
                "about": "bl.example",
                "summary": "listed",
                "evidence": {},
            },
            {"check": "rdns", "status": "pass", "about": "81.2.69.160", "summary": "ok", "evidence": {}},
        ],
        "elapsed_ms": 12,
    }
    store.add_check_run(incident.id, report, actor="U3")
    clock.advance(hours=3)
    resolved = store.set_status(incident.id, "resolved", actor="U3", note="delisted")
    assert (resolved.status, resolved.assignee, resolved.resolution_note) == ("resolved", "U3", "delisted")
    assert resolved.resolved_at == START.replace(hour=12, minute=5)
    timeline = store.timeline(incident.id)
    assert [e.kind for e in timeline] == [
        "created",
        "status_changed",
        "assigned",
        "note_added",
        "checks_rerun",
        "status_changed",
    ]
    check = timeline[4]
    assert check.text == "checks re-run on 81.2.69.160: 1 fail, 1 pass"
    assert check.data["findings"] == [
        {"check": "blocklist", "status": "fail", "about": "bl.example", "summary": "listed", "kb": None}
    ]
    assert (timeline[5].status_from, timeline[5].status_to, timeline[5].text) == (
        "investigating",
        "resolved",
        "delisted",
    )

    reopened = store.set_status(incident.id, "open", actor="U1")
    assert (reopened.status, reopened.resolved_at) == ("open", None)
    assert [i.id for i in store.list("active")] == [incident.id]
    assert store.list("resolved") == []
    # Setting the status it already has records nothing.
    store.set_status(incident.id, "open", actor="U1")
    assert len(store.timeline(incident.id)) == 7


def test_unknown_ids_and_statuses(store):
    with pytest.raises(IncidentNotFound, match="#42"):
        store.set_status(42, "resolved", actor="U1")
    with pytest.raises(IncidentNotFound):
        store.add_note(42, "x", actor="U1")
    with pytest.raises(InvalidStatus):
        store.list("closed")
    incident, _ = store.record(observation())
    with pytest.raises(InvalidStatus):
        store.set_status(incident.id, "done", actor="U1")
    assert store.get(42) is None
    assert store.timeline(incident.id)[0].kind == "created"


def test_rows_are_readable_in_plain_sqlite(db_path, store):
    store.record(observation(kb_ids=["ms-blocklist", "ms-snds"]))
    store.close()
    with sqlite3.connect(db_path) as conn:
        conn.row_factory = sqlite3.Row
        row = conn.execute("SELECT * FROM incidents").fetchone()
    assert row["first_seen"] == "2024-05-08T09:00:00Z"
    assert json.loads(row["kb_ids"]) == ["ms-blocklist", "ms-snds"]
    assert row["status"] == "open"
