"""The one storage module: the SQLite schema, its migrations, and every read and write of the incident log.

Errors raised here, all `StoreError`:

    StoreError
    ├── StoreUnavailable    the file cannot be opened or is not an SQLite database (nothing was written)
    ├── SchemaTooNew        the file was migrated by a newer version of this code (nothing was written)
    ├── IncidentNotFound    no incident has that id
    └── InvalidStatus       a status or filter that does not exist

Concurrency: one connection per `Store`, shared by its threads under a lock; across stores and
processes, WAL lets readers run beside the writer, and every write transaction starts with
`BEGIN IMMEDIATE`, so it waits (up to `BUSY_TIMEOUT`) for the write lock instead of failing later with
"database is locked" when a read turns into a write.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sized
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from incidents.grouping import group_key
from incidents.model import (
    ACTIVE,
    ASSIGNED,
    CHECKS_RERUN,
    CREATED,
    FILTERS,
    NOTE_ADDED,
    SEEN_AGAIN,
    STATUS_CHANGED,
    STATUSES,
    Event,
    Incident,
    Observation,
    from_row,
    from_text,
    summarise_report,
    to_text,
)
from incidents.privacy import mask_addresses

if TYPE_CHECKING:
    from bot.settings import Settings

BUSY_TIMEOUT = 30.0  # seconds a writer waits for another's transaction before giving up
DIGEST_CLAIM_TIMEOUT = timedelta(minutes=10)  # an unposted digest claim older than this is taken over
SLACK_EVENT_MEMORY = timedelta(days=7)  # Slack retries within minutes; a week is plenty
_SQLITE_MAGIC = b"SQLite format 3\x00"


class StoreError(Exception):
    """Any failure of the incident store, with a message fit for the user."""


class StoreUnavailable(StoreError):
    """The database file cannot be opened, read, or is not an SQLite database."""


class SchemaTooNew(StoreError):
    """The database was written by a newer version of this code; it is left untouched."""


class IncidentNotFound(StoreError, LookupError):
    """No incident has the given id."""


class InvalidStatus(StoreError, ValueError):
    """A status or list filter that does not exist."""


# ---------------------------------------------------------------------------------------------------
# Schema. Migrations are append-only: never edit one that has shipped, add the next one instead.
# Each runs in a transaction together with the record of it having run (sqlite-utils' Migrations).

MIGRATIONS = Migrations("deliverability")


@MIGRATIONS()
def m001_incidents(db: Database) -> None:
    db.executescript(
        """
        CREATE TABLE incidents (
            id              INTEGER PRIMARY KEY,
            workspace       TEXT NOT NULL DEFAULT '',
            channel         TEXT,
            thread_ts       TEXT,
            permalink       TEXT,
            reporter        TEXT,
            subject         TEXT NOT NULL,
            receiver        TEXT NOT NULL,
            reason          TEXT NOT NULL,
            reply_code      TEXT,
            enhanced_code   TEXT,
            kb_ids          TEXT NOT NULL DEFAULT '[]',
            status          TEXT NOT NULL DEFAULT 'open'
                            CHECK (status IN ('open', 'investigating', 'resolved')),
            assignee        TEXT,
            occurrences     INTEGER NOT NULL DEFAULT 1,
            first_seen      TEXT NOT NULL,
            last_seen       TEXT NOT NULL,
            resolved_at     TEXT,
            resolution_note TEXT
        );
        CREATE INDEX incidents_by_group ON incidents (workspace, receiver, reason, subject, status);
        CREATE INDEX incidents_by_last_seen ON incidents (last_seen);
        CREATE TABLE events (
            id          INTEGER PRIMARY KEY,
            incident_id INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
            at          TEXT NOT NULL,
            kind        TEXT NOT NULL,
            actor       TEXT,
            text        TEXT,
            status_from TEXT,
            status_to   TEXT,
            channel     TEXT,
            thread_ts   TEXT,
            permalink   TEXT,
            raw_text    TEXT,
            data        TEXT
        );
        CREATE INDEX events_by_incident ON events (incident_id, at);
        CREATE INDEX events_by_time ON events (at, kind);
        """
    )


@MIGRATIONS()
def m002_slack_reliability(db: Database) -> None:
    # Slack delivers an event again on retries: the first delivery claims its id, the rest are dropped.
    db.executescript(
        """
        CREATE TABLE slack_events (
            event_id TEXT PRIMARY KEY,
            seen_at  TEXT NOT NULL
        );
        CREATE INDEX slack_events_by_time ON slack_events (seen_at);
        CREATE TABLE watched_threads (
            channel   TEXT NOT NULL,
            thread_ts TEXT NOT NULL,
            since     TEXT NOT NULL,
            PRIMARY KEY (channel, thread_ts)
        );
        """
    )


@MIGRATIONS()
def m003_digest_and_sources(db: Database) -> None:
    db.executescript(
        """
        CREATE TABLE digest_posts (
            channel    TEXT NOT NULL,
            day        TEXT NOT NULL,
            claimed_at TEXT NOT NULL,
            claimed_by TEXT NOT NULL,
            posted_at  TEXT,
            message_ts TEXT,
            PRIMARY KEY (channel, day)
        );
        """
    )
    incidents = db.table("incidents")
    incidents.add_column("subject_kind", str, not_null_default="")
    incidents.add_column("source", str, not_null_default="diagnose")


@MIGRATIONS()
def m004_watches(db: Database) -> None:
    # Watched domains and IPs (watch/): the schedule and its leases, every run's findings, the alerts.
    # A removed watch keeps its row (removed_at) so its history and alerts stay readable.
    db.executescript(
        """
        CREATE TABLE watches (
            id          INTEGER PRIMARY KEY,
            workspace   TEXT NOT NULL DEFAULT '',
            target      TEXT NOT NULL,
            kind        TEXT NOT NULL CHECK (kind IN ('domain', 'ip')),
            channel     TEXT,
            created_by  TEXT,
            created_at  TEXT NOT NULL,
            removed_at  TEXT,
            selectors   TEXT NOT NULL DEFAULT '[]',
            state       TEXT NOT NULL DEFAULT '{}',
            next_run_at TEXT NOT NULL,
            last_run_at TEXT,
            lease_owner TEXT,
            lease_until TEXT,
            UNIQUE (workspace, target)
        );
        CREATE INDEX watches_by_next_run ON watches (next_run_at);
        CREATE TABLE watch_runs (
            id         INTEGER PRIMARY KEY,
            watch_id   INTEGER NOT NULL REFERENCES watches (id) ON DELETE CASCADE,
            ran_at     TEXT NOT NULL,
            elapsed_ms INTEGER,
            summary    TEXT NOT NULL DEFAULT '{}',
            findings   TEXT NOT NULL DEFAULT '[]',
            retried    TEXT NOT NULL DEFAULT '[]'
        );
        CREATE INDEX watch_runs_by_watch ON watch_runs (watch_id, ran_at);
        CREATE TABLE watch_alerts (
            id             INTEGER PRIMARY KEY,
            watch_id       INTEGER NOT NULL REFERENCES watches (id) ON DELETE CASCADE,
            run_id         INTEGER REFERENCES watch_runs (id) ON DELETE SET NULL,
            at             TEXT NOT NULL,
            check_name     TEXT NOT NULL,
            about          TEXT NOT NULL,
            event          TEXT NOT NULL CHECK (event IN ('change', 'recovery')),
            before_status  TEXT,
            after_status   TEXT,
            before_summary TEXT,
            after_summary  TEXT,
            incident_id    INTEGER REFERENCES incidents (id) ON DELETE SET NULL,
            channel        TEXT,
            posted_at      TEXT,
            message_ts     TEXT,
            error          TEXT
        );
        CREATE INDEX watch_alerts_by_time ON watch_alerts (at);
        CREATE INDEX watch_alerts_by_watch ON watch_alerts (watch_id, at);
        """
    )


@MIGRATIONS()
def m005_practices(db: Database) -> None:
    # Sender practices (practices/): warm-up plans and their days (planned against what was sent); the
    # suppression list, which keeps full addresses by design (its own retention, SUPPRESSIONS=off);
    # and every diagnosed bounce counted by recipient domain and sending IP, without the address.
    db.executescript(
        """
        CREATE TABLE warmup_plans (
            id          INTEGER PRIMARY KEY,
            ip          TEXT NOT NULL,
            target      INTEGER NOT NULL CHECK (target > 0),
            days        INTEGER NOT NULL CHECK (days > 0),
            start_date  TEXT NOT NULL,
            shape       TEXT NOT NULL,
            status      TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'replaced')),
            created_at  TEXT NOT NULL,
            created_by  TEXT
        );
        CREATE UNIQUE INDEX warmup_plans_one_active ON warmup_plans (ip) WHERE status = 'active';
        CREATE TABLE warmup_days (
            plan_id     INTEGER NOT NULL REFERENCES warmup_plans (id) ON DELETE CASCADE,
            day         INTEGER NOT NULL,
            date        TEXT NOT NULL,
            planned     INTEGER NOT NULL CHECK (planned >= 0),
            sent        INTEGER CHECK (sent >= 0),
            bounced     INTEGER CHECK (bounced >= 0),
            complaints  INTEGER CHECK (complaints >= 0),
            logged_at   TEXT,
            logged_by   TEXT,
            PRIMARY KEY (plan_id, day)
        );
        CREATE INDEX warmup_days_by_date ON warmup_days (date);
        CREATE TABLE suppressions (
            address       TEXT PRIMARY KEY,
            domain        TEXT NOT NULL,
            reason        TEXT NOT NULL,
            receiver      TEXT NOT NULL,
            first_seen    TEXT NOT NULL,
            last_bounce   TEXT NOT NULL,
            count         INTEGER NOT NULL DEFAULT 1,
            suppressed_at TEXT,
            soft_bounces  TEXT NOT NULL DEFAULT '[]'
        );
        CREATE INDEX suppressions_by_suppressed_at ON suppressions (suppressed_at);
        CREATE INDEX suppressions_by_last_bounce ON suppressions (last_bounce);
        CREATE TABLE diagnosed_bounces (
            id        INTEGER PRIMARY KEY,
            at        TEXT NOT NULL,
            domain    TEXT NOT NULL DEFAULT '',
            receiver  TEXT NOT NULL,
            reason    TEXT NOT NULL,
            hard      INTEGER NOT NULL DEFAULT 0,
            complaint INTEGER NOT NULL DEFAULT 0,
            ip        TEXT
        );
        CREATE INDEX diagnosed_bounces_by_time ON diagnosed_bounces (at);
        CREATE INDEX diagnosed_bounces_by_ip ON diagnosed_bounces (ip, at);
        """
    )


SCHEMA_VERSION = len(MIGRATIONS._migrations)
KNOWN_MIGRATIONS = tuple(m.name for m in MIGRATIONS._migrations)


def _set_user_version(db: Database) -> None:
    # Mirrors the migration count for tools that only read PRAGMA user_version.
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


# ---------------------------------------------------------------------------------------------------


def _preflight(path: Path) -> None:
    """Refuse, before SQLite touches anything, a path that cannot hold our database."""
    if path.is_dir():
        raise StoreUnavailable(f"{path} is a directory, not a database file (check DATABASE_PATH)")
    if not path.parent.is_dir():
        raise StoreUnavailable(f"{path}: directory {path.parent} does not exist (check DATABASE_PATH)")
    if not path.exists():
        return
    try:
        with path.open("rb") as handle:
            header = handle.read(len(_SQLITE_MAGIC))
    except OSError as exc:
        raise StoreUnavailable(f"{path}: cannot read the database file: {exc.strerror or exc}") from exc
    if header and header != _SQLITE_MAGIC:
        raise StoreUnavailable(f"{path} is not an SQLite database; refusing to use it (check DATABASE_PATH)")


class Store:
    """The incident log and the bot's small bits of state, in one SQLite file."""

    def __init__(
        self,
        db: Database,
        path: Path,
        *,
        clock: Callable[[], datetime],
        window: timedelta,
        store_raw: bool,
        retention: timedelta,
    ) -> None:
        self.db = db
        self.path = path
        self.window = window
        self.store_raw = store_raw
        self.retention = retention
        self._clock = clock
        self._lock = threading.RLock()
        self._owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    # -- opening ------------------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        path: str | Path,
        *,
        clock: Callable[[], datetime] | None = None,
        window: timedelta | float = timedelta(hours=24),
        store_raw: bool = False,
        retention_days: int = 30,
    ) -> Store:
        """Open (creating if needed) and migrate the database; a bad or newer file is left untouched."""
        path = Path(path)
        _preflight(path)
        try:
            conn = sqlite3.connect(
                str(path), timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"{path}: cannot open the database: {exc}") from exc
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT * 1000)}")
            # Read-only checks first: a garbage or newer file must come out of this byte-for-byte equal.
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            _refuse_newer(conn, path)
            db = Database(conn)
            _patiently(db.enable_wal)
            conn.execute("PRAGMA foreign_keys = ON")
            # Every commit reaches the disk before it returns: a committed incident survives a crash.
            conn.execute("PRAGMA synchronous = FULL")
            if MIGRATIONS.pending(db):
                _patiently(lambda: _migrate(db, path))
        except StoreError:
            conn.close()
            raise
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise StoreUnavailable(f"{path}: not a usable SQLite database: {exc}") from exc
        if isinstance(window, int | float):
            window = timedelta(seconds=window)
        return cls(
            db,
            path,
            clock=clock or (lambda: datetime.now(UTC)),
            window=window,
            store_raw=store_raw,
            retention=timedelta(days=retention_days),
        )

    @classmethod
    def from_settings(cls, settings: Settings, *, clock: Callable[[], datetime] | None = None) -> Store:
        """Open the database a `bot.settings.Settings` names, with its window, privacy and retention."""
        return cls.open(
            settings.database_path,
            clock=clock,
            window=settings.incident_window,
            store_raw=settings.store_raw,
            retention_days=settings.retention_days,
        )

    def close(self) -> None:
        with self._lock:
            self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        return len(MIGRATIONS.applied(self.db))

    # -- plumbing -----------------------------------------------------------------------------------

    def now(self) -> datetime:
        moment = self._clock()
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC).replace(microsecond=0)

    @contextmanager
    def _write(self) -> Iterator[Database]:
        with self._lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                self.db.rollback()
                raise
            else:
                self.db.execute("COMMIT")

    def _rows(self, sql: str, params: Any = ()) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.db.query(sql, params))

    # -- Slack reliability --------------------------------------------------------------------------

    def claim_event(self, event_id: str) -> bool:
        """True the first time a Slack event id is seen, False on every later delivery of it."""
        with self._write() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO slack_events (event_id, seen_at) VALUES (?, ?)",
                [event_id, to_text(self.now())],
            )
            return cursor.rowcount == 1

    def remember_thread(self, channel: str, thread_ts: str) -> None:
        with self._write() as db:
            db.execute(
                "INSERT OR IGNORE INTO watched_threads (channel, thread_ts, since) VALUES (?, ?, ?)",
                [channel, thread_ts, to_text(self.now())],
            )

    def thread_watched(self, channel: str, thread_ts: str) -> bool:
        return bool(
            self._rows(
                "SELECT 1 AS found FROM watched_threads WHERE channel = ? AND thread_ts = ?",
                [channel, thread_ts],
            )
        )

    # -- incidents ----------------------------------------------------------------------------------

    def record(self, obs: Observation) -> tuple[Incident, bool]:
        """Add an occurrence to the matching open incident seen within the window, or open a new one."""
        now = self.now()
        workspace, receiver, reason, subject = group_key(obs.workspace, obs.receiver, obs.reason, obs.subject)
        raw = obs.raw_text if self.store_raw or not obs.raw_text else mask_addresses(obs.raw_text)
        with self._write() as db:
            match = next(
                db.query(
                    "SELECT id, kb_ids, reply_code, enhanced_code FROM incidents"
                    " WHERE workspace = ? AND receiver = ? AND reason = ? AND subject = ?"
                    " AND status IN ('open', 'investigating') AND last_seen >= ?"
                    " ORDER BY last_seen DESC, id DESC LIMIT 1",
                    [workspace, receiver, reason, subject, to_text(now - self.window)],
                ),
                None,
            )
            if match:
                incident_id = match["id"]
                kb_ids = list(dict.fromkeys([*json.loads(match["kb_ids"]), *obs.kb_ids]))
                db.execute(
                    "UPDATE incidents SET occurrences = occurrences + 1, last_seen = ?, kb_ids = ?,"
                    " reply_code = coalesce(reply_code, ?), enhanced_code = coalesce(enhanced_code, ?)"
                    " WHERE id = ?",
                    [to_text(now), json.dumps(kb_ids), obs.reply_code, obs.enhanced_code, incident_id],
                )
            else:
                incident_id = (
                    db.table("incidents")
                    .insert(
                        {
                            "workspace": workspace,
                            "channel": obs.channel,
                            "thread_ts": obs.thread_ts,
                            "permalink": obs.permalink,
                            "reporter": obs.reporter,
                            "subject": subject,
                            "subject_kind": obs.subject_kind,
                            "receiver": receiver,
                            "reason": reason,
                            "reply_code": obs.reply_code,
                            "enhanced_code": obs.enhanced_code,
                            "kb_ids": json.dumps(list(dict.fromkeys(obs.kb_ids))),
                            "status": "open",
                            "occurrences": 1,
                            "first_seen": to_text(now),
                            "last_seen": to_text(now),
                            "source": obs.source,
                        }
                    )
                    .last_pk
                )
            self._event(
                db,
                incident_id,
                now,
                SEEN_AGAIN if match else CREATED,
                obs.reporter,
                text=None if match else f"{reason} at {receiver} for {subject}",
                channel=obs.channel,
                thread_ts=obs.thread_ts,
                permalink=obs.permalink,
                raw_text=raw,
            )
        return self._require(incident_id), not match

    def get(self, incident_id: int) -> Incident | None:
        rows = self._rows("SELECT * FROM incidents WHERE id = ?", [int(incident_id)])
        return _incident(rows[0]) if rows else None

    def get_many(self, ids: list[int]) -> dict[int, Incident]:
        if not ids:
            return {}
        rows = self._rows(f"SELECT * FROM incidents WHERE id IN ({_marks(ids)})", [int(i) for i in ids])
        return {row["id"]: _incident(row) for row in rows}

    def list(self, status: str = "active", *, workspace: str | None = None) -> list[Incident]:
        """Incidents by filter (open|investigating|resolved|active|all), the most recently seen first."""
        if status not in FILTERS:
            raise InvalidStatus(f"unknown status {status!r} (use {', '.join(FILTERS)})")
        statuses = {"active": ACTIVE, "all": STATUSES}.get(status, (status,))
        sql = f"SELECT * FROM incidents WHERE status IN ({_marks(statuses)})"
        params: list[Any] = list(statuses)
        if workspace is not None:
            sql += " AND workspace = ?"
            params.append(workspace)
        return [_incident(r) for r in self._rows(sql + " ORDER BY last_seen DESC, id DESC", params)]

    def earlier_incident(self, incident: Incident) -> Incident | None:
        """The latest older incident with the same grouping key: this problem has happened before."""
        rows = self._rows(
            "SELECT * FROM incidents WHERE workspace = ? AND receiver = ? AND reason = ? AND subject = ?"
            " AND id < ? ORDER BY id DESC LIMIT 1",
            [incident.workspace, incident.receiver, incident.reason, incident.subject, incident.id],
        )
        return _incident(rows[0]) if rows else None

    def set_status(
        self, incident_id: int, status: str, *, actor: str | None, note: str | None = None
    ) -> Incident:
        """Move an incident to open, investigating or resolved; resolving keeps the note as its resolution."""
        if status not in STATUSES:
            raise InvalidStatus(f"unknown status {status!r} (use {', '.join(STATUSES)})")
        now = self.now()
        with self._write() as db:
            current = self._current(db, incident_id)
            if current["status"] == status:
                if note:
                    self._event(db, incident_id, now, NOTE_ADDED, actor, text=note)
            else:
                changes: dict[str, Any] = {"status": status}
                if status == "resolved":
                    changes |= {"resolved_at": to_text(now), "resolution_note": note}
                else:
                    changes |= {"resolved_at": None}
                db.table("incidents").update(incident_id, changes)
                self._event(
                    db,
                    incident_id,
                    now,
                    STATUS_CHANGED,
                    actor,
                    text=note,
                    status_from=current["status"],
                    status_to=status,
                )
        return self._require(incident_id)

    def add_note(self, incident_id: int, text: str, *, actor: str | None) -> Incident:
        with self._write() as db:
            self._current(db, incident_id)
            self._event(db, incident_id, self.now(), NOTE_ADDED, actor, text=text)
        return self._require(incident_id)

    def assign(self, incident_id: int, assignee: str | None, *, actor: str | None) -> Incident:
        with self._write() as db:
            self._current(db, incident_id)
            db.table("incidents").update(incident_id, {"assignee": assignee or None})
            text = f"assigned to {assignee}" if assignee else "unassigned"
            self._event(db, incident_id, self.now(), ASSIGNED, actor, text=text)
        return self._require(incident_id)

    def add_check_run(self, incident_id: int, report_dict: Mapping[str, Any], *, actor: str | None) -> None:
        """Put a check run's result (counts and non-passing findings) on the incident's timeline."""
        line, kept = summarise_report(report_dict)
        with self._write() as db:
            self._current(db, incident_id)
            self._event(db, incident_id, self.now(), CHECKS_RERUN, actor, text=line, data=kept)

    def timeline(self, incident_id: int) -> list[Event]:
        rows = self._rows("SELECT * FROM events WHERE incident_id = ? ORDER BY at, id", [int(incident_id)])
        return [_event(r) for r in rows]

    def events_between(self, start: datetime, end: datetime, kinds: tuple[str, ...] = ()) -> list[Event]:
        """Every incident's events from `start` to `end` (both included), oldest first."""
        sql = "SELECT * FROM events WHERE at >= ? AND at <= ?"
        params: list[Any] = [to_text(start), to_text(end)]
        if kinds:
            sql += f" AND kind IN ({_marks(kinds)})"
            params += list(kinds)
        return [_event(r) for r in self._rows(sql + " ORDER BY at, id", params)]

    def purge(self) -> int:
        """Drop stored bounce text older than RETENTION_DAYS (structured fields stay); returns how many."""
        now = self.now()
        with self._write() as db:
            cursor = db.execute(
                "UPDATE events SET raw_text = NULL WHERE raw_text IS NOT NULL AND at < ?",
                [to_text(now - self.retention)],
            )
            db.execute("DELETE FROM slack_events WHERE seen_at < ?", [to_text(now - SLACK_EVENT_MEMORY)])
            return cursor.rowcount

    # -- the daily digest's once-per-day guard -------------------------------------------------------

    def claim_digest(self, channel: str, day: str) -> bool:
        """Claim (channel, day) before posting; False if posted, or claimed under 10 minutes ago."""
        now = self.now()
        with self._write() as db:
            row = next(
                db.query(
                    "SELECT claimed_at, posted_at FROM digest_posts WHERE channel = ? AND day = ?",
                    [channel, day],
                ),
                None,
            )
            if row is None:
                db.execute(
                    "INSERT INTO digest_posts (channel, day, claimed_at, claimed_by) VALUES (?, ?, ?, ?)",
                    [channel, day, to_text(now), self._owner],
                )
                return True
            claimed_at = from_text(row["claimed_at"])
            if row["posted_at"] or (claimed_at and now - claimed_at < DIGEST_CLAIM_TIMEOUT):
                return False
            # A claim left behind by a crash: take it over, so the digest is late but not lost.
            db.execute(
                "UPDATE digest_posts SET claimed_at = ?, claimed_by = ? WHERE channel = ? AND day = ?",
                [to_text(now), self._owner, channel, day],
            )
            return True

    def mark_digest_posted(self, channel: str, day: str, ts: str | None) -> None:
        with self._write() as db:
            db.execute(
                "UPDATE digest_posts SET posted_at = ?, message_ts = ? WHERE channel = ? AND day = ?",
                [to_text(self.now()), ts, channel, day],
            )

    def release_digest(self, channel: str, day: str) -> None:
        """Give up an unposted claim (the post failed), so the next attempt need not wait 10 minutes."""
        with self._write() as db:
            db.execute(
                "DELETE FROM digest_posts WHERE channel = ? AND day = ? AND posted_at IS NULL"
                " AND claimed_by = ?",
                [channel, day, self._owner],
            )

    def digest_posted(self, channel: str, day: str) -> bool:
        return bool(
            self._rows(
                "SELECT 1 AS found FROM digest_posts WHERE channel = ? AND day = ? AND posted_at IS NOT NULL",
                [channel, day],
            )
        )

    def last_digest_at(self, channel: str) -> datetime | None:
        rows = self._rows(
            "SELECT max(posted_at) AS last FROM digest_posts WHERE channel = ? AND posted_at IS NOT NULL",
            [channel],
        )
        return from_text(rows[0]["last"]) if rows else None

    # -- helpers --------------------------------------------------------------------------------------

    def _current(self, db: Database, incident_id: int) -> dict[str, Any]:
        row = next(db.query("SELECT id, status FROM incidents WHERE id = ?", [int(incident_id)]), None)
        if row is None:
            raise IncidentNotFound(f"no incident #{incident_id}")
        return row

    def _require(self, incident_id: int) -> Incident:
        incident = self.get(incident_id)
        if incident is None:
            raise IncidentNotFound(f"no incident #{incident_id}")
        return incident

    @staticmethod
    def _event(
        db: Database,
        incident_id: int,
        at: datetime,
        kind: str,
        actor: str | None,
        *,
        data: Mapping[str, Any] | None = None,
        **columns: Any,
    ) -> None:
        db.table("events").insert(
            {
                "incident_id": incident_id,
                "at": to_text(at),
                "kind": kind,
                "actor": actor,
                **columns,
                "data": json.dumps(data, ensure_ascii=False) if data is not None else None,
            }
        )

    # -- watches --
    # Storage of watched domains and IPs; the watch/ package schedules, checks and judges them. Rows are
    # returned as dicts with their JSON columns decoded. A lease (lease_owner, lease_until), claimed
    # under BEGIN IMMEDIATE, keeps two processes from checking one target at once; it expires so a
    # crashed process delays a target's run but never stops it.

    def add_watch(
        self,
        workspace: str,
        target: str,
        kind: str,
        *,
        channel: str | None,
        created_by: str | None,
        next_run_at: datetime,
        selectors: list[str] | None = None,
    ) -> tuple[dict[str, Any], bool]:
        """Watch a target in a workspace (again); True when it was not being watched before."""
        now = to_text(self.now())
        with self._write() as db:
            row = next(
                db.query("SELECT * FROM watches WHERE workspace = ? AND target = ?", [workspace, target]),
                None,
            )
            if row is None:
                watch_id = (
                    db.table("watches")
                    .insert(
                        {
                            "workspace": workspace,
                            "target": target,
                            "kind": kind,
                            "channel": channel,
                            "created_by": created_by,
                            "created_at": now,
                            "selectors": json.dumps(list(dict.fromkeys(selectors or []))),
                            "next_run_at": to_text(next_run_at),
                        }
                    )
                    .last_pk
                )
                created = True
            else:
                watch_id, created = row["id"], row["removed_at"] is not None
                known = json.loads(row["selectors"] or "[]")
                changes: dict[str, Any] = {
                    "channel": channel or row["channel"],
                    "selectors": json.dumps(list(dict.fromkeys([*known, *(selectors or [])]))),
                    "removed_at": None,
                }
                if created:
                    changes |= {
                        "created_by": created_by,
                        "created_at": now,
                        "next_run_at": to_text(next_run_at),
                    }
                db.table("watches").update(watch_id, changes)
        return self.get_watch(watch_id), created  # type: ignore[return-value]

    def remove_watch(self, workspace: str, target: str) -> bool:
        """Stop watching; the history stays. False when the target was not watched in that workspace."""
        with self._write() as db:
            cursor = db.execute(
                "UPDATE watches SET removed_at = ?, lease_owner = NULL, lease_until = NULL"
                " WHERE workspace = ? AND target = ? AND removed_at IS NULL",
                [to_text(self.now()), workspace, target],
            )
            return cursor.rowcount == 1

    def get_watch(self, watch_id: int) -> dict[str, Any] | None:
        rows = self._rows("SELECT * FROM watches WHERE id = ?", [int(watch_id)])
        return _watch_row(rows[0]) if rows else None

    def list_watches(self, workspace: str | None = None) -> list[dict[str, Any]]:
        """The watches in force, by workspace and target."""
        sql, params = "SELECT * FROM watches WHERE removed_at IS NULL", []
        if workspace is not None:
            sql += " AND workspace = ?"
            params.append(workspace)
        return [_watch_row(r) for r in self._rows(sql + " ORDER BY workspace, target", params)]

    def find_watches(self, target: str, workspace: str | None = None) -> list[dict[str, Any]]:
        """Every watch of a target, removed ones too (their history is kept)."""
        sql, params = "SELECT * FROM watches WHERE target = ?", [target]
        if workspace is not None:
            sql += " AND workspace = ?"
            params.append(workspace)
        return [_watch_row(r) for r in self._rows(sql + " ORDER BY workspace, id", params)]

    def claim_watches(
        self,
        owner: str,
        lease: timedelta,
        *,
        due_only: bool = True,
        limit: int | None = None,
        ids: list[int] | None = None,
        exclude: list[int] | None = None,
    ) -> list[dict[str, Any]]:
        """Lease the watches due now (or all, `due_only=False`; or these `ids`; not those in `exclude`)
        that no one holds a lease on."""
        now = self.now()
        sql = "SELECT * FROM watches WHERE removed_at IS NULL AND (lease_until IS NULL OR lease_until <= ?)"
        params: list[Any] = [to_text(now)]
        if due_only:
            sql += " AND next_run_at <= ?"
            params.append(to_text(now))
        if ids is not None:
            sql += f" AND id IN ({_marks(ids)})"
            params += [int(i) for i in ids]
        if exclude:
            sql += f" AND id NOT IN ({_marks(exclude)})"
            params += [int(i) for i in exclude]
        sql += " ORDER BY next_run_at, id"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        with self._write() as db:
            rows = list(db.query(sql, params))
            for row in rows:
                row["lease_owner"], row["lease_until"] = owner, to_text(now + lease)
                db.execute(
                    "UPDATE watches SET lease_owner = ?, lease_until = ? WHERE id = ?",
                    [owner, row["lease_until"], row["id"]],
                )
        return [_watch_row(r) for r in rows]

    def release_watch(self, watch_id: int, owner: str) -> None:
        """Give a lease back without a run (the run was cancelled), so another process may take it."""
        with self._write() as db:
            db.execute(
                "UPDATE watches SET lease_owner = NULL, lease_until = NULL WHERE id = ? AND lease_owner = ?",
                [int(watch_id), owner],
            )

    def finish_watch_run(
        self,
        watch_id: int,
        owner: str,
        *,
        run: Mapping[str, Any],
        state: Mapping[str, Any],
        selectors: list[str],
        next_run_at: datetime,
        alerts: list[Mapping[str, Any]],
    ) -> tuple[int, list[int]] | None:
        """Store a run, the new state and its alerts, and release the lease, in one transaction.

        None, storing nothing, when the lease was lost (it expired and another process took the
        watch): that process's run counts, so its alerts are not raised twice.
        """
        now = to_text(self.now())
        with self._write() as db:
            cursor = db.execute(
                "UPDATE watches SET state = ?, selectors = ?, last_run_at = ?, next_run_at = ?,"
                " lease_owner = NULL, lease_until = NULL WHERE id = ? AND lease_owner = ?",
                [
                    json.dumps(state, ensure_ascii=False),
                    json.dumps(selectors),
                    to_text(run["ran_at"]),
                    to_text(next_run_at),
                    int(watch_id),
                    owner,
                ],
            )
            if cursor.rowcount != 1:
                return None
            run_id = (
                db.table("watch_runs")
                .insert(
                    {
                        "watch_id": watch_id,
                        "ran_at": to_text(run["ran_at"]),
                        "elapsed_ms": run.get("elapsed_ms"),
                        "summary": json.dumps(run.get("summary") or {}, ensure_ascii=False),
                        "findings": json.dumps(run.get("findings") or [], ensure_ascii=False),
                        "retried": json.dumps(run.get("retried") or []),
                    }
                )
                .last_pk
            )
            alert_ids = [
                db.table("watch_alerts")
                .insert({**alert, "watch_id": watch_id, "run_id": run_id, "at": now})
                .last_pk
                for alert in alerts
            ]
        return run_id, alert_ids

    def reschedule_watches(
        self, plan: Callable[[list[dict[str, Any]]], Mapping[int, datetime]], *, before: datetime
    ) -> int:
        """Move the unleased watches due before `before` to the times `plan` gives them; how many moved."""
        now = to_text(self.now())
        with self._write() as db:
            rows = list(
                db.query(
                    "SELECT * FROM watches WHERE removed_at IS NULL AND next_run_at < ?"
                    " AND (lease_until IS NULL OR lease_until <= ?) ORDER BY next_run_at, id",
                    [to_text(before), now],
                )
            )
            moves = plan([_watch_row(r) for r in rows])
            for watch_id, moment in moves.items():
                db.execute(
                    "UPDATE watches SET next_run_at = ? WHERE id = ?", [to_text(moment), int(watch_id)]
                )
            return len(moves)

    def set_watch_next_run(self, watch_id: int, moment: datetime) -> None:
        with self._write() as db:
            db.execute("UPDATE watches SET next_run_at = ? WHERE id = ?", [to_text(moment), int(watch_id)])

    def link_watch_alerts(self, alert_ids: list[int], incident_id: int) -> None:
        if not alert_ids:
            return
        with self._write() as db:
            db.execute(
                f"UPDATE watch_alerts SET incident_id = ? WHERE id IN ({_marks(alert_ids)})",
                [incident_id, *alert_ids],
            )

    def mark_watch_alerts(
        self, alert_ids: list[int], *, channel: str | None, ts: str | None = None, error: str | None = None
    ) -> None:
        """Record where alerts were posted (the message ts), or why they were not."""
        if not alert_ids:
            return
        posted = to_text(self.now()) if error is None else None
        with self._write() as db:
            db.execute(
                f"UPDATE watch_alerts SET channel = ?, posted_at = ?, message_ts = ?, error = ?"
                f" WHERE id IN ({_marks(alert_ids)})",
                [channel, posted, ts, error, *alert_ids],
            )

    def watch_runs(self, watch_ids: list[int], *, limit: int | None = None) -> list[dict[str, Any]]:
        """Runs of these watches, oldest first (the newest `limit` of them)."""
        if not watch_ids:
            return []
        sql = f"SELECT * FROM watch_runs WHERE watch_id IN ({_marks(watch_ids)})"
        sql += " ORDER BY ran_at DESC, id DESC"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        rows = self._rows(sql, [int(i) for i in watch_ids])
        for row in rows:
            for key in ("summary", "findings", "retried"):
                row[key] = json.loads(row[key] or "null")
        return rows[::-1]

    def watch_alerts(
        self,
        *,
        watch_ids: list[int] | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> list[dict[str, Any]]:
        """Alerts raised on watched targets, oldest first, with their target and workspace."""
        sql = (
            "SELECT a.*, w.target, w.kind, w.workspace FROM watch_alerts a"
            " JOIN watches w ON w.id = a.watch_id WHERE 1 = 1"
        )
        params: list[Any] = []
        if watch_ids is not None:
            sql += f" AND a.watch_id IN ({_marks(watch_ids)})"
            params += [int(i) for i in watch_ids]
        if start is not None:
            sql += " AND a.at >= ?"
            params.append(to_text(start))
        if end is not None:
            sql += " AND a.at <= ?"
            params.append(to_text(end))
        return self._rows(sql + " ORDER BY a.at, a.id", params)

    def watch_changes_between(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """What the digest lists: each change and recovery on a watched target from `start` to `end`."""
        return [
            {
                "at": row["at"],
                "workspace": row["workspace"],
                "target": row["target"],
                "check": row["check_name"],
                "about": row["about"],
                "event": row["event"],
                "before": row["before_status"],
                "after": row["after_status"],
                "summary": row["after_summary"],
                "incident_id": row["incident_id"],
            }
            for row in self.watch_alerts(start=start, end=end)
        ]

    def find_active_incident(
        self, workspace: str, receiver: str, reason: str, subject: str
    ) -> Incident | None:
        """The open or investigating incident with this grouping key, the most recently seen."""
        key = group_key(workspace, receiver, reason, subject)
        rows = self._rows(
            "SELECT * FROM incidents WHERE workspace = ? AND receiver = ? AND reason = ? AND subject = ?"
            " AND status IN ('open', 'investigating') ORDER BY last_seen DESC, id DESC LIMIT 1",
            list(key),
        )
        return _incident(rows[0]) if rows else None

    def purge_watch_runs(self, before: datetime) -> int:
        """Drop runs older than `before`, keeping each watch's latest; returns how many went."""
        with self._write() as db:
            cursor = db.execute(
                "DELETE FROM watch_runs WHERE ran_at < ?"
                " AND id NOT IN (SELECT max(id) FROM watch_runs GROUP BY watch_id)",
                [to_text(before)],
            )
            return cursor.rowcount

    # -- practices ------------------------------------------------------------------------------------
    # Warm-up plans, the suppression list and the tally of diagnosed bounces (practices/). What a plan
    # looks like and what suppresses an address are decided in practices/; these read and write them,
    # each change in one transaction.

    def add_warmup_plan(
        self,
        ip: str,
        target: int,
        start_date: str,
        shape: str,
        days: list[tuple[int, str, int]],
        *,
        by: str | None = None,
        replace: bool = False,
    ) -> int | None:
        """Store a plan with its (day, date, planned) rows; None when the IP has one and not `replace`."""
        now = self.now()
        with self._write() as db:
            active = next(
                db.query("SELECT id FROM warmup_plans WHERE ip = ? AND status = 'active'", [ip]), None
            )
            if active and not replace:
                return None
            if active:
                db.execute("UPDATE warmup_plans SET status = 'replaced' WHERE id = ?", [active["id"]])
            plan_id = (
                db.table("warmup_plans")
                .insert(
                    {
                        "ip": ip,
                        "target": target,
                        "days": len(days),
                        "start_date": start_date,
                        "shape": shape,
                        "status": "active",
                        "created_at": to_text(now),
                        "created_by": by,
                    }
                )
                .last_pk
            )
            for day, date, planned in days:
                db.execute(
                    "INSERT INTO warmup_days (plan_id, day, date, planned) VALUES (?, ?, ?, ?)",
                    [plan_id, day, date, planned],
                )
        return plan_id

    def warmup_plans(self, ip: str | None = None) -> list[dict[str, Any]]:
        """Active plans (one IP's, or all, by IP), each with its `day_rows` in day order."""
        sql = "SELECT * FROM warmup_plans WHERE status = 'active'"
        params: list[Any] = []
        if ip is not None:
            sql += " AND ip = ?"
            params.append(ip)
        with self._lock:
            plans = list(self.db.query(sql + " ORDER BY ip", params))
            for plan in plans:
                plan["day_rows"] = list(
                    self.db.query("SELECT * FROM warmup_days WHERE plan_id = ? ORDER BY day", [plan["id"]])
                )
        return plans

    def log_warmup_day(
        self,
        plan_id: int,
        day: int,
        sent: int,
        bounced: int | None,
        complaints: int | None,
        *,
        by: str | None = None,
    ) -> dict[str, Any] | None:
        """Record what was sent on a plan's day (replacing an earlier log); returns the row as it was."""
        with self._write() as db:
            before = next(
                db.query("SELECT * FROM warmup_days WHERE plan_id = ? AND day = ?", [plan_id, day]), None
            )
            if before is None:
                return None
            db.execute(
                "UPDATE warmup_days SET sent = ?, bounced = ?, complaints = ?, logged_at = ?, logged_by = ?"
                " WHERE plan_id = ? AND day = ?",
                [sent, bounced, complaints, to_text(self.now()), by, plan_id, day],
            )
        return before

    def record_bounce(
        self,
        *,
        domain: str,
        receiver: str,
        reason: str,
        hard: bool,
        complaint: bool = False,
        ips: tuple[str, ...] = (),
        address: str | None = None,
        suppress: str | None = None,
        window: timedelta = timedelta(days=30),
        threshold: int = 3,
        message_id: str | None = None,
    ) -> tuple[str, str | None]:
        """Count one diagnosed bounce, and suppress its address: at once (`suppress="hard"`) or after
        `threshold` bounces within `window` (`"repeated"`). Returns (what happened to the address, the
        IP in warm-up it was counted for): `suppressed`, `again`, `watching`, `duplicate` or `counted`."""
        now = self.now()
        with self._write() as db:
            ip = None
            if ips:
                found = next(
                    db.query(
                        "SELECT ip FROM warmup_plans WHERE status = 'active'"
                        f" AND ip IN ({_marks(ips)}) LIMIT 1",
                        list(ips),
                    ),
                    None,
                )
                ip = found["ip"] if found else None
            row = None
            if address and suppress in ("hard", "repeated"):
                row = next(db.query("SELECT * FROM suppressions WHERE address = ?", [address]), None)
            soft: list[list[Any]] = json.loads(row["soft_bounces"]) if row else []
            if suppress == "repeated" and message_id and any(len(s) > 1 and s[1] == message_id for s in soft):
                return "duplicate", ip  # the same bounce pasted again: neither counted nor suppressed twice
            db.table("diagnosed_bounces").insert(
                {
                    "at": to_text(now),
                    "domain": domain,
                    "receiver": receiver,
                    "reason": reason,
                    "hard": int(hard),
                    "complaint": int(complaint),
                    "ip": ip,
                }
            )
            if not address or suppress not in ("hard", "repeated"):
                return "counted", ip
            if suppress == "repeated":
                cutoff = to_text(now - window)
                soft = [s for s in soft if s[0] >= cutoff][-max(threshold, 1) :]
                soft.append([to_text(now), message_id])
            suppress_now = suppress == "hard" or len(soft) >= threshold
            if row is None:
                db.table("suppressions").insert(
                    {
                        "address": address,
                        "domain": domain,
                        "reason": reason,
                        "receiver": receiver,
                        "first_seen": to_text(now),
                        "last_bounce": to_text(now),
                        "count": 1,
                        "suppressed_at": to_text(now) if suppress_now else None,
                        "soft_bounces": json.dumps(soft),
                    }
                )
                return ("suppressed" if suppress_now else "watching"), ip
            newly = row["suppressed_at"] is None and suppress_now
            db.execute(
                "UPDATE suppressions SET count = count + 1, last_bounce = ?, receiver = ?, soft_bounces = ?,"
                " reason = ?, suppressed_at = ? WHERE address = ?",
                [
                    to_text(now),
                    receiver,
                    json.dumps(soft),
                    reason if newly or row["suppressed_at"] is None else row["reason"],
                    to_text(now) if newly else row["suppressed_at"],
                    address,
                ],
            )
            if row["suppressed_at"] is not None:
                return "again", ip
            return ("suppressed" if newly else "watching"), ip

    def suppressions(self, since: datetime | None = None, *, watching: bool = False) -> list[dict[str, Any]]:
        """Suppressed addresses (suppressed since `since`), oldest first; `watching`: those not yet."""
        if watching:
            return self._rows("SELECT * FROM suppressions WHERE suppressed_at IS NULL ORDER BY first_seen")
        sql = "SELECT * FROM suppressions WHERE suppressed_at IS NOT NULL"
        params: list[Any] = []
        if since is not None:
            sql += " AND suppressed_at >= ?"
            params.append(to_text(since))
        return self._rows(sql + " ORDER BY suppressed_at, address", params)

    def diagnosed_bounces(
        self, start: datetime, end: datetime, *, ip: str | None = None
    ) -> list[dict[str, Any]]:
        """Bounces diagnosed from `start` to `end` (both included), for one IP in warm-up or all."""
        sql = "SELECT * FROM diagnosed_bounces WHERE at >= ? AND at <= ?"
        params: list[Any] = [to_text(start), to_text(end)]
        if ip is not None:
            sql += " AND ip = ?"
            params.append(ip)
        return self._rows(sql + " ORDER BY at, id", params)

    def purge_practices(self, retention: timedelta) -> int:
        """Drop suppressions whose last bounce, and bounce counts, are older than `retention`."""
        cutoff = to_text(self.now() - retention)
        with self._write() as db:
            cursor = db.execute("DELETE FROM suppressions WHERE last_bounce < ?", [cutoff])
            db.execute("DELETE FROM diagnosed_bounces WHERE at < ?", [cutoff])
            return cursor.rowcount


def _marks(values: Sized) -> str:
    """The placeholders of an `IN (...)` for these values: one ? each, or NULL (matching nothing) for none."""
    return ", ".join("?" * len(values)) or "NULL"


def _refuse_newer(conn: sqlite3.Connection, path: Path) -> None:
    """Raise SchemaTooNew, without writing, when the file knows migrations this code does not."""
    has_table = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", [MIGRATIONS.migrations_table]
    ).fetchone()
    unknown: list[str] = []
    if has_table:
        rows = conn.execute(
            f"SELECT name FROM {MIGRATIONS.migrations_table} WHERE migration_set = ?", [MIGRATIONS.name]
        ).fetchall()
        unknown = [name for (name,) in rows if name not in KNOWN_MIGRATIONS]
    (user_version,) = conn.execute("PRAGMA user_version").fetchone()
    if unknown or user_version > SCHEMA_VERSION:
        what = f"migrations {', '.join(unknown)}" if unknown else f"schema version {user_version}"
        raise SchemaTooNew(
            f"{path} was written by a newer version of deliverability ({what}; this version knows "
            f"{SCHEMA_VERSION}); upgrade deliverability or point DATABASE_PATH elsewhere. "
            "The file was not changed."
        )


def _patiently(step: Callable[[], Any]) -> Any:
    """Run a step that SQLite may refuse with "locked" without waiting for the busy handler.

    Switching a fresh file to WAL, or upgrading a read lock to a write lock, is answered SQLITE_BUSY at
    once when another process does the same at that moment (SQLite returns rather than deadlock), so
    two processes opening a new database together retry here instead of failing.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT
    while True:
        try:
            return step()
        except sqlite3.OperationalError as exc:
            text = str(exc).lower()
            if ("locked" not in text and "busy" not in text) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _migrate(db: Database, path: Path) -> None:
    # BEGIN IMMEDIATE serialises processes opening a fresh file together: the second waits, then finds
    # nothing pending. Each migration nests in a savepoint inside this transaction.
    db.execute("BEGIN IMMEDIATE")
    try:
        MIGRATIONS.apply(db)
        _set_user_version(db)
    except BaseException:
        db.rollback()
        raise
    db.execute("COMMIT")


def _incident(row: Mapping[str, Any]) -> Incident:
    return from_row(
        Incident,
        row,
        times=("first_seen", "last_seen", "resolved_at"),
        subject_kind=row.get("subject_kind") or "",
        kb_ids=json.loads(row["kb_ids"] or "[]"),
        source=row.get("source") or "diagnose",
    )


def _watch_row(row: Mapping[str, Any]) -> dict[str, Any]:
    decoded = dict(row)
    decoded["selectors"] = json.loads(row["selectors"] or "[]")
    decoded["state"] = json.loads(row["state"] or "{}")
    return decoded


def _event(row: Mapping[str, Any]) -> Event:
    return from_row(Event, row, times=("at",), data=json.loads(row["data"]) if row["data"] else None)
