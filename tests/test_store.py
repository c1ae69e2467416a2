from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cli_runner import clean_env

from bot.storage import store as store_module
from bot.storage.privacy import PHONE, UserKeyer
from bot.storage.store import DB_FILE, MIGRATIONS, Store, migrate

REPO = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)
ALICE = 5550001234  # Telegram ids, long enough to be recognisable in raw bytes
BOB = 5550009876


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(tmp_path / "data")
    yield opened
    opened.close()


@contextlib.contextmanager
def raw(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    """A separate, plain connection to inspect the file as any other reader would."""
    conn = sqlite3.connect(tmp_path / "data" / DB_FILE, isolation_level=None)
    try:
        yield conn
    finally:
        conn.close()


def all_cells(conn: sqlite3.Connection) -> list[str]:
    """Every value of every row of every table, as text."""
    tables = [
        name
        for (name,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    ]
    assert {"questions", "feedback", "user_prefs"} <= set(tables)
    return [str(cell) for t in tables for row in conn.execute(f"SELECT * FROM {t}") for cell in row]


def counts(conn: sqlite3.Connection) -> dict[str, int]:
    return {
        t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
        for t in ("questions", "feedback", "user_prefs")
    }


# -- schema, migrations, pragmas ------------------------------------------------------------


def test_open_creates_files_with_private_permissions(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    Store.open(data_dir).close()
    assert stat.S_IMODE((data_dir / DB_FILE).stat().st_mode) == 0o600
    assert stat.S_IMODE((data_dir / "secret.key").stat().st_mode) == 0o600
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700


def test_wal_full_sync_and_latest_version(store: Store, tmp_path: Path) -> None:
    with raw(tmp_path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    # synchronous and foreign_keys are per connection: check the store's own.
    conn = store._conn
    assert conn is not None
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA secure_delete").fetchone()[0] == 1


def test_empty_v0_file_opens_to_latest(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / DB_FILE).touch()
    with raw(tmp_path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 0
    Store.open(data_dir).close()
    with raw(tmp_path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        assert counts(conn) == {"questions": 0, "feedback": 0, "user_prefs": 0}


def _make_v1_file(tmp_path: Path) -> Path:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    conn = sqlite3.connect(data_dir / DB_FILE, isolation_level=None)
    assert migrate(conn, MIGRATIONS[:1]) == 1
    conn.execute(
        "INSERT INTO feedback (at, entry_id, positive) VALUES (?, 'e1', 1)",
        (NOW.isoformat(timespec="microseconds"),),
    )
    conn.close()
    return data_dir


def test_v1_file_opens_to_latest(tmp_path: Path) -> None:
    data_dir = _make_v1_file(tmp_path)
    with Store.open(data_dir) as store:
        assert store.stats(NOW).feedback == [("e1", 1, 0)]
    with raw(tmp_path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)


def test_adding_a_migration_is_one_list_item(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = _make_v1_file(tmp_path)
    v2 = """
    ALTER TABLE feedback ADD COLUMN note TEXT;
    CREATE INDEX feedback_entry ON feedback (entry_id);
    """
    monkeypatch.setattr(store_module, "MIGRATIONS", [*MIGRATIONS[:1], v2])
    Store.open(data_dir).close()
    with raw(tmp_path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 2
        assert conn.execute("SELECT entry_id, note FROM feedback").fetchall() == [("e1", None)]
    Store.open(data_dir).close()  # already at v2: nothing re-applied


def test_failed_migration_leaves_previous_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = _make_v1_file(tmp_path)
    broken = "CREATE TABLE half_done (a); INSERT INTO no_such_table VALUES (1);"
    monkeypatch.setattr(store_module, "MIGRATIONS", [*MIGRATIONS[:1], broken])
    with pytest.raises(sqlite3.OperationalError):
        Store.open(data_dir)
    with raw(tmp_path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
        tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master")}
        assert "half_done" not in tables


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    Store.open(tmp_path / "data").close()
    with raw(tmp_path) as conn:
        conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    with pytest.raises(RuntimeError, match="newer"):
        Store.open(tmp_path / "data")


# -- questions ------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["answer", "service", "ask_location"])
def test_answered_questions_keep_no_text(store: Store, tmp_path: Path, status: str) -> None:
    store.record_question(status, "e1", "mon 06 12 34 56 78 horaires", "horaires", ["e2"], NOW)
    with raw(tmp_path) as conn:
        rows = conn.execute(
            "SELECT asked_at, status, entry_id, text, normalised, suggestions FROM questions"
        ).fetchall()
    assert rows == [(NOW.isoformat(timespec="microseconds"), status, "e1", None, None, None)]


@pytest.mark.parametrize("status", ["suggest", "fallback"])
def test_inbox_questions_keep_masked_text(store: Store, tmp_path: Path, status: str) -> None:
    store.record_question(
        status,
        None,
        "Je suis en 3e à 94400, rappelez-moi au 06 12 34 56 78 ou léa@free.fr",
        "je suis en 3e a 94400 rappelez moi au 0612345678",
        ["stage-3e", "cio-creteil"],
        NOW,
    )
    with raw(tmp_path) as conn:
        text, normalised, suggestions = conn.execute(
            "SELECT text, normalised, suggestions FROM questions"
        ).fetchone()
    assert text == f"Je suis en 3e à 94400, rappelez-moi au {PHONE} ou [e-mail]"
    assert normalised == f"je suis en 3e a 94400 rappelez moi au {PHONE}"
    assert json.loads(suggestions) == ["stage-3e", "cio-creteil"]
    assert store.declined_questions() == [(text, normalised, ["stage-3e", "cio-creteil"])]


def test_schema_refuses_text_on_answered_rows(store: Store, tmp_path: Path) -> None:
    with raw(tmp_path) as conn, pytest.raises(sqlite3.IntegrityError):
        conn.execute(
            "INSERT INTO questions (asked_at, status, text) VALUES ('x', 'answer', 'secret')"
        )


def test_rejects_unknown_status_and_naive_time(store: Store) -> None:
    with pytest.raises(ValueError):
        store.record_question("answered", None, "", "", [], NOW)
    with pytest.raises(ValueError):
        store.record_feedback("e1", True, now=datetime(2026, 1, 1))


def test_declined_questions_since(store: Store) -> None:
    store.record_question("fallback", None, "vieux", "vieux", [], NOW - timedelta(days=10))
    store.record_question("answer", "e1", "répondu", "repondu", [], NOW - timedelta(days=1))
    store.record_question("suggest", None, "récent", "recent", ["e1"], NOW - timedelta(days=1))
    assert store.declined_questions() == [("vieux", "vieux", []), ("récent", "recent", ["e1"])]
    since = NOW - timedelta(days=5)
    assert store.declined_questions(since) == [("récent", "recent", ["e1"])]


# -- stats ----------------------------------------------------------------------------------


def test_stats(store: Store) -> None:
    def ask(status: str, text: str, normalised: str, ago: timedelta) -> None:
        entry = "e1" if status == "answer" else None
        store.record_question(status, entry, text, normalised, [], NOW - ago)

    ask("answer", "", "", timedelta(hours=1))
    ask("fallback", "horaires du CIO", "horaires cio", timedelta(days=3))
    ask("fallback", "Horaires CIO ?", "horaires cio", timedelta(days=2))
    ask("service", "", "", timedelta(days=6))
    ask("suggest", "stage 3e", "stage 3e", timedelta(days=10))
    ask("fallback", "trop vieux", "trop vieux", timedelta(days=100))  # beyond retention
    for entry, positive, ago in [
        ("e1", True, 1),
        ("e1", True, 2),
        ("e2", False, 1),
        ("e2", False, 3),
        ("e2", True, 4),
        ("e2", False, 5),
        ("e3", False, 1),
        ("e4", False, 200),  # beyond retention
    ]:
        store.record_feedback(entry, positive, NOW - timedelta(days=ago))

    stats = store.stats(NOW)
    assert stats.questions_last_day == 1
    assert stats.questions_last_week == 4
    assert stats.by_status == {
        "answer": 1,
        "ask_location": 0,
        "fallback": 2,
        "service": 1,
        "suggest": 0,
    }
    # Variants with the same normalised form add up, shown with their latest wording.
    assert stats.declined == [("Horaires CIO ?", 2), ("stage 3e", 1)]
    assert stats.feedback == [("e2", 1, 3), ("e3", 0, 1), ("e1", 2, 0)]
    with pytest.raises(dataclasses.FrozenInstanceError):
        stats.questions_last_day = 0  # type: ignore[misc]


# -- user prefs, forget, purge ----------------------------------------------------------------


def test_commune_roundtrip_is_keyed(store: Store, tmp_path: Path) -> None:
    assert store.get_commune(ALICE) is None
    store.save_commune(ALICE, "94081", NOW)
    store.save_commune(ALICE, "94028", NOW)  # upsert, not a second row
    assert store.get_commune(ALICE) == "94028"
    assert store.get_commune(BOB) is None
    key = UserKeyer.from_dir(tmp_path / "data").key(ALICE)
    with raw(tmp_path) as conn:
        assert conn.execute("SELECT user_key, commune_insee FROM user_prefs").fetchall() == [
            (key, "94028")
        ]
        assert not any(str(ALICE) in cell for cell in all_cells(conn))


def test_forget_user_removes_only_that_user(store: Store, tmp_path: Path) -> None:
    keyer = UserKeyer.from_dir(tmp_path / "data")
    store.save_commune(ALICE, "94081", NOW)
    store.save_commune(BOB, "94028", NOW)
    store.record_question("fallback", None, "question d'Alice", "question alice", [], NOW)
    store.record_feedback("e1", True, NOW)

    assert store.forget_user(ALICE) == 1
    assert store.get_commune(ALICE) is None
    assert store.get_commune(BOB) == "94028"
    with raw(tmp_path) as conn:
        cells = all_cells(conn)
    assert not any(keyer.key(ALICE) in cell or str(ALICE) in cell for cell in cells)
    assert keyer.key(BOB) in cells
    assert store.forget_user(ALICE) == 0


def test_forget_user_leaves_no_trace_on_disk(store: Store, tmp_path: Path) -> None:
    # secure_delete + WAL checkpoint: the key must not survive in free pages or the WAL.
    key = UserKeyer.from_dir(tmp_path / "data").key(ALICE).encode()
    store.save_commune(ALICE, "94081", NOW)
    store.save_commune(BOB, "94028", NOW)
    assert store.forget_user(ALICE) == 1
    files = [p for p in (tmp_path / "data").iterdir() if p.name.startswith(DB_FILE)]
    assert files
    assert not any(key in p.read_bytes() for p in files)


def test_purge_respects_retention_in_every_table(store: Store, tmp_path: Path) -> None:
    kept = NOW - timedelta(days=89)
    expired = NOW - timedelta(days=91)
    for when, user in ((kept, ALICE), (expired, BOB)):
        store.record_question("answer", "e1", "", "", [], when)
        store.record_question("fallback", None, "texte", "texte", [], when)
        store.record_feedback("e1", False, when)
        store.save_commune(user, "94081", when)

    assert store.purge(NOW) == 4
    with raw(tmp_path) as conn:
        assert counts(conn) == {"questions": 2, "feedback": 1, "user_prefs": 1}
        stamps = {
            stamp
            for sql in (
                "SELECT asked_at FROM questions",
                "SELECT at FROM feedback",
                "SELECT updated_at FROM user_prefs",
            )
            for (stamp,) in conn.execute(sql)
        }
    assert stamps == {kept.isoformat(timespec="microseconds")}
    assert store.get_commune(ALICE) == "94081"
    assert store.get_commune(BOB) is None
    assert store.purge(NOW) == 0


def test_purge_uses_configured_retention(tmp_path: Path) -> None:
    with Store.open(tmp_path / "data", retention_days=7) as store:
        store.record_feedback("e1", True, NOW - timedelta(days=6))
        store.record_feedback("e1", True, NOW - timedelta(days=8))
        assert store.purge(NOW) == 1


# -- concurrency and crash safety -------------------------------------------------------------


def test_concurrent_calls_from_worker_threads(store: Store, tmp_path: Path) -> None:
    async def burst() -> None:
        await asyncio.gather(
            *(
                asyncio.to_thread(store.record_question, "answer", f"e{i}", "", "", [], NOW)
                for i in range(100)
            ),
            *(asyncio.to_thread(store.record_feedback, "e1", True, NOW) for _ in range(100)),
            *(asyncio.to_thread(store.save_commune, i, "94081", NOW) for i in range(50)),
        )

    asyncio.run(burst())
    with raw(tmp_path) as conn:
        assert counts(conn) == {"questions": 100, "feedback": 100, "user_prefs": 50}


def test_closed_store_refuses_calls(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "data")
    store.close()
    store.close()  # idempotent
    with pytest.raises(RuntimeError):
        store.record_feedback("e1", True, NOW)


CHILD = r"""
import sys
from pathlib import Path

sys.path.insert(0, sys.argv[1])
from bot.storage.store import Store

def tag(i):  # letters only, so masking of long numbers cannot alter it
    return "crash-" + "".join("abcdefghij"[int(d)] for d in str(i))

store = Store.open(Path(sys.argv[2]))
i = 0
while True:
    store.record_question("fallback", None, "question " + tag(i), tag(i), ["e1"])
    print("Q", tag(i), flush=True)
    store.record_feedback(tag(i), i % 2 == 0)
    print("F", tag(i), flush=True)
    i += 1
"""


def test_acknowledged_writes_survive_sigkill(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(REPO), str(data_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    watchdog = threading.Timer(120, proc.kill)  # never hang the suite
    watchdog.start()
    acked: dict[str, set[str]] = {"Q": set(), "F": set()}

    def take(line: str) -> None:
        if line.endswith("\n"):  # a torn last line is not an acknowledgement
            kind, tag = line.split()
            acked[kind].add(tag)

    try:
        assert proc.stdout is not None and proc.stderr is not None
        while len(acked["Q"]) + len(acked["F"]) < 200:
            line = proc.stdout.readline()
            if not line:
                pytest.fail(f"child died early: {proc.stderr.read()}")
            take(line)
        os.kill(proc.pid, signal.SIGKILL)  # mid-burst: the child never stops by itself
        # Lines already in the pipe were printed after their call returned: acks too.
        for line in proc.stdout.read().splitlines(keepends=True):
            take(line)
        proc.wait()
    finally:
        watchdog.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()

    assert proc.returncode == -signal.SIGKILL
    assert (data_dir / f"{DB_FILE}-wal").exists()  # killed before any clean close

    with Store.open(data_dir) as store:
        with raw(tmp_path) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            questions = {n for (n,) in conn.execute("SELECT normalised FROM questions")}
            feedback = {e for (e,) in conn.execute("SELECT entry_id FROM feedback")}
        assert acked["Q"] <= questions
        assert acked["F"] <= feedback
        assert len(acked["Q"]) >= 100

        store.record_question("fallback", None, "après le crash", "apres crash", [], NOW)
        store.record_feedback("after", True, NOW)
        assert ("après le crash", "apres crash", []) in store.declined_questions(NOW)
        assert ("after", 1, 0) in store.stats(NOW).feedback

    # The real program starts again on the killed file (the maintainers' report reads it).
    env = clean_env()
    env["BOT_DATA_DIR"] = str(data_dir)
    report = subprocess.run(
        [sys.executable, str(REPO / "run_bot.py"), "report", "--format", "csv"],
        capture_output=True, text=True, timeout=60, env=env, cwd=REPO,
    )
    assert report.returncode == 0, report.stderr
    declined = [row.split(",") for row in report.stdout.splitlines() if row.startswith("declined,")]
    assert sum(int(row[1]) for row in declined) >= len(acked["Q"])
