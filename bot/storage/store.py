"""SQLite store: question log (stats and inbox of unanswered questions), feedback, user prefs.

Privacy: many users are minors. No table holds a Telegram user id; `user_prefs` is keyed by
an HMAC of it (see `bot.storage.privacy.UserKeyer`). Question text is kept only for the inbox
(status suggest/fallback) and is masked with `mask_personal_data` first; answered questions
keep only status, entry id and date. `purge` enforces the retention period on every table
and `secure_delete` plus a WAL checkpoint make deletions reach the disk, not just the index.

Concurrency: one sqlite3 connection opened with check_same_thread=False and guarded by a
threading.Lock, so any thread may call any method. Every method blocks on disk I/O (each
commit is fsynced), so the Telegram layer must call them through
``await asyncio.to_thread(store.record_question, ...)`` so the event loop never blocks; the
lock serialises those worker threads.

Durability: WAL journal with synchronous=FULL: once a write method returns, its row survives
a SIGKILL of the process and a power loss.

Schema: versioned with ``PRAGMA user_version``. ``MIGRATIONS[i]`` upgrades version i to i+1
and pending ones run in one transaction at start-up. To change the schema, append a script;
never edit one that has shipped.

Timestamps are timezone-aware UTC, stored as fixed-width ISO 8601 text (so that text order
is time order); every method takes `now` so tests control time.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.storage.privacy import UserKeyer, mask_personal_data

DB_FILE = "bot.sqlite3"
STATUSES = frozenset({"answer", "service", "ask_location", "suggest", "fallback"})
# Questions the bot could not answer directly: the only ones whose text is worth keeping.
INBOX_STATUSES = ("suggest", "fallback")
BUSY_TIMEOUT_MS = 5000

MIGRATIONS: list[str] = [
    # 1: initial schema.
    """
    CREATE TABLE questions (
        id          INTEGER PRIMARY KEY,
        asked_at    TEXT NOT NULL,
        status      TEXT NOT NULL
                    CHECK (status IN ('answer', 'service', 'ask_location', 'suggest', 'fallback')),
        entry_id    TEXT,
        text        TEXT,
        normalised  TEXT,
        suggestions TEXT,
        -- Defence in depth: text of answered questions must never be stored.
        CHECK (status IN ('suggest', 'fallback')
               OR (text IS NULL AND normalised IS NULL AND suggestions IS NULL))
    );
    CREATE INDEX questions_asked_at ON questions (asked_at);

    CREATE TABLE feedback (
        id       INTEGER PRIMARY KEY,
        at       TEXT NOT NULL,
        entry_id TEXT NOT NULL,
        positive INTEGER NOT NULL CHECK (positive IN (0, 1))
    );
    CREATE INDEX feedback_at ON feedback (at);

    CREATE TABLE user_prefs (
        user_key      TEXT PRIMARY KEY,
        commune_insee TEXT NOT NULL,
        updated_at    TEXT NOT NULL
    ) WITHOUT ROWID;
    """,
]


@dataclass(frozen=True)
class Stats:
    questions_last_day: int
    questions_last_week: int
    by_status: dict[str, int]  # every status, over 7 days, zero included
    declined: list[tuple[str, int]]  # (text, count), most frequent first, retention window
    feedback: list[tuple[str, int, int]]  # (entry_id, up, down), most down first


def _utc(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    if now.utcoffset() is None:
        raise ValueError("naive datetime: pass a timezone-aware one")
    return now.astimezone(UTC)


def _ts(moment: datetime) -> str:
    # Fixed width (microseconds, +00:00) so string comparison in SQL is time comparison.
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _statements(script: str) -> list[str]:
    """Split a script into statements (executescript would commit our transaction)."""
    statements: list[str] = []
    pending = ""
    for piece in script.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \t\r\n;"):
                statements.append(pending.strip())
            pending = ""
    if pending.strip(" \t\r\n;"):
        raise ValueError(f"incomplete SQL statement: {pending!r}")
    return statements


def migrate(conn: sqlite3.Connection, migrations: Sequence[str] | None = None) -> int:
    """Bring the database to the latest schema version; return that version.

    All pending migrations run in one IMMEDIATE transaction, so a failure leaves the file
    at its previous version and a concurrent start-up waits instead of migrating twice.
    """
    migrations = MIGRATIONS if migrations is None else migrations
    latest = len(migrations)
    conn.execute("BEGIN IMMEDIATE")
    try:
        current = conn.execute("PRAGMA user_version").fetchone()[0]
        if current > latest:
            raise RuntimeError(f"database schema v{current} is newer than this code (v{latest})")
        for version in range(current + 1, latest + 1):
            for statement in _statements(migrations[version - 1]):
                conn.execute(statement)
        if current != latest:
            conn.execute(f"PRAGMA user_version = {latest:d}")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return latest


class Store:
    def __init__(self, conn: sqlite3.Connection, keyer: UserKeyer, retention_days: int) -> None:
        self._conn: sqlite3.Connection | None = conn
        self._keyer = keyer
        self.retention = timedelta(days=retention_days)
        self._lock = threading.Lock()

    @classmethod
    def open(cls, data_dir: Path, retention_days: int = 90) -> Store:
        if retention_days < 1:
            raise ValueError("retention_days must be at least 1")
        data_dir = Path(data_dir)
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        keyer = UserKeyer.from_dir(data_dir)
        path = data_dir / DB_FILE
        # Create the file 0600 ourselves: SQLite gives -wal/-shm the database's permissions.
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
        # isolation_level=None: we issue BEGIN/COMMIT ourselves; single statements autocommit.
        conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS:d}")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode.lower() != "wal":
                raise RuntimeError(f"cannot enable WAL on {path} (journal_mode={mode})")
            # FULL: the WAL is fsynced at every commit, so an acknowledged write is durable.
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
            # Overwrite deleted rows so forgotten/purged data does not linger in free pages.
            conn.execute("PRAGMA secure_delete = ON")
            migrate(conn)
        except BaseException:
            conn.close()
            raise
        return cls(conn, keyer, retention_days)

    # -- plumbing ---------------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            if self._conn is None:
                raise RuntimeError("store is closed")
            yield self._conn

    @contextlib.contextmanager
    def _transaction(self, mode: str = "IMMEDIATE") -> Iterator[sqlite3.Connection]:
        with self._locked() as conn:
            conn.execute(f"BEGIN {mode}")
            try:
                yield conn
            except BaseException:
                if conn.in_transaction:  # some errors make SQLite roll back by itself
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _wipe_wal(self, conn: sqlite3.Connection) -> None:
        # Old page images of deleted rows stay in the WAL until it is checkpointed.
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()

    # -- writes -----------------------------------------------------------------------------

    def record_question(
        self,
        status: str,
        entry_id: str | None,
        text: str,
        normalised: str,
        suggestions: list[str],
        now: datetime | None = None,
    ) -> None:
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}")
        kept_text = kept_normalised = kept_suggestions = None
        if status in INBOX_STATUSES:
            kept_text = mask_personal_data(text)
            kept_normalised = mask_personal_data(normalised)
            kept_suggestions = json.dumps(list(suggestions), ensure_ascii=False)
        with self._locked() as conn:
            conn.execute(
                "INSERT INTO questions (asked_at, status, entry_id, text, normalised, suggestions)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (_ts(_utc(now)), status, entry_id, kept_text, kept_normalised, kept_suggestions),
            )

    def record_feedback(self, entry_id: str, positive: bool, now: datetime | None = None) -> None:
        with self._locked() as conn:
            conn.execute(
                "INSERT INTO feedback (at, entry_id, positive) VALUES (?, ?, ?)",
                (_ts(_utc(now)), entry_id, int(bool(positive))),
            )

    def save_commune(self, user_id: int, insee: str, now: datetime | None = None) -> None:
        """Remember the user's commune; retention counts from the last save."""
        with self._locked() as conn:
            conn.execute(
                "INSERT INTO user_prefs (user_key, commune_insee, updated_at) VALUES (?, ?, ?)"
                " ON CONFLICT (user_key) DO UPDATE SET"
                " commune_insee = excluded.commune_insee, updated_at = excluded.updated_at",
                (self._keyer.key(user_id), insee, _ts(_utc(now))),
            )

    def get_commune(self, user_id: int) -> str | None:
        with self._locked() as conn:
            row = conn.execute(
                "SELECT commune_insee FROM user_prefs WHERE user_key = ?",
                (self._keyer.key(user_id),),
            ).fetchone()
        return None if row is None else row[0]

    def forget_user(self, user_id: int) -> int:
        """Delete everything tied to this user (only their prefs row: nothing else is
        linkable to a user); return the number of rows deleted."""
        with self._transaction() as conn:
            deleted = conn.execute(
                "DELETE FROM user_prefs WHERE user_key = ?", (self._keyer.key(user_id),)
            ).rowcount
        if deleted:
            with self._locked() as conn:
                self._wipe_wal(conn)
        return deleted

    def purge(self, now: datetime | None = None) -> int:
        """Delete every row older than the retention period, in every table; return count."""
        cutoff = _ts(_utc(now) - self.retention)
        with self._transaction() as conn:
            deleted = sum(
                conn.execute(sql, (cutoff,)).rowcount
                for sql in (
                    "DELETE FROM questions WHERE asked_at < ?",
                    "DELETE FROM feedback WHERE at < ?",
                    "DELETE FROM user_prefs WHERE updated_at < ?",
                )
            )
        if deleted:
            with self._locked() as conn:
                self._wipe_wal(conn)
        return deleted

    # -- reads ------------------------------------------------------------------------------

    def stats(self, now: datetime | None = None) -> Stats:
        moment = _utc(now)
        end = _ts(moment)
        day_ago = _ts(moment - timedelta(days=1))
        week_ago = _ts(moment - timedelta(days=7))
        window = _ts(moment - self.retention)
        inbox = ", ".join("?" * len(INBOX_STATUSES))
        # One read transaction so all figures come from the same snapshot.
        with self._transaction("DEFERRED") as conn:
            last_day = conn.execute(
                "SELECT COUNT(*) FROM questions WHERE asked_at > ? AND asked_at <= ?",
                (day_ago, end),
            ).fetchone()[0]
            by_status = dict.fromkeys(sorted(STATUSES), 0)
            by_status.update(
                conn.execute(
                    "SELECT status, COUNT(*) FROM questions"
                    " WHERE asked_at > ? AND asked_at <= ? GROUP BY status",
                    (week_ago, end),
                ).fetchall()
            )
            # Group by normalised form so spelling variants of one question add up; show the
            # most recent wording (SQLite takes bare columns from the MAX() row).
            declined = conn.execute(
                f"SELECT text, MAX(asked_at), COUNT(*) AS n FROM questions"
                f" WHERE status IN ({inbox}) AND asked_at >= ? AND asked_at <= ?"
                f" GROUP BY COALESCE(NULLIF(normalised, ''), text)"
                f" ORDER BY n DESC, MAX(asked_at) DESC",
                (*INBOX_STATUSES, window, end),
            ).fetchall()
            feedback = conn.execute(
                "SELECT entry_id, SUM(positive) AS up, SUM(1 - positive) AS down FROM feedback"
                " WHERE at >= ? AND at <= ? GROUP BY entry_id"
                " ORDER BY down DESC, up ASC, entry_id",
                (window, end),
            ).fetchall()
        return Stats(
            questions_last_day=last_day,
            questions_last_week=sum(by_status.values()),
            by_status=by_status,
            declined=[(text, count) for text, _, count in declined],
            feedback=[(entry_id, up, down) for entry_id, up, down in feedback],
        )

    def declined_questions(self, since: datetime | None = None) -> list[tuple[str, str, list[str]]]:
        """(text, normalised, suggestions) of inbox questions, oldest first."""
        inbox = ", ".join("?" * len(INBOX_STATUSES))
        sql = f"SELECT text, normalised, suggestions FROM questions WHERE status IN ({inbox})"
        params: list[str] = list(INBOX_STATUSES)
        if since is not None:
            sql += " AND asked_at >= ?"
            params.append(_ts(_utc(since)))
        with self._locked() as conn:
            rows = conn.execute(sql + " ORDER BY asked_at, id", params).fetchall()
        return [
            (text or "", normalised or "", json.loads(suggestions) if suggestions else [])
            for text, normalised, suggestions in rows
        ]

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
