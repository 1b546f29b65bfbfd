import sqlite3
import threading
import time

import pytest
from db_lock import write_locked
from sqlite_utils.migrations import Migrations

from bot import audit
from bot.store import Store, StoreError


def test_connection_pragmas(tmp_path):
    store = Store(tmp_path / "s.db")
    assert store.db.journal_mode == "wal"
    assert store.db.execute("pragma synchronous").fetchone()[0] == 2  # FULL
    assert store.db.execute("pragma busy_timeout").fetchone()[0] == 5000
    store.close()


def test_each_thread_gets_its_own_connection(tmp_path):
    store = Store(tmp_path / "s.db")
    seen = []
    threads = [threading.Thread(target=lambda: seen.append(id(store.db.conn))) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(seen + [id(store.db.conn)])) == 4
    store.close()


def test_migrations_apply_once(tmp_path):
    calls = []
    migrations = Migrations("test.set")

    @migrations()
    def make_table(db):
        calls.append(1)
        db["things"].create({"id": int}, pk="id")

    store = Store(tmp_path / "s.db")
    store.migrate([migrations])
    store.migrate([migrations])
    assert calls == [1]
    assert store.db["things"].exists()


def test_unopenable_path_is_a_store_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match="Cannot open the database"):
        Store(blocker / "sub" / "s.db").db


def test_audit_rows_cannot_be_changed(tmp_path):
    store = Store(tmp_path / "s.db")
    store.migrate([audit.migrations])
    audit.record(store.db, subject="INC-2026-0001", action="created", actor="tester", at="2026-11-24T09:00:00+00:00")
    with pytest.raises(sqlite3.IntegrityError, match="cannot be changed"):
        store.db.execute("update audit set actor = 'someone else'")
    with pytest.raises(sqlite3.IntegrityError, match="cannot be deleted"):
        store.db.execute("delete from audit")
    assert audit.chronology(store.db, "INC-2026-0001")[0]["actor"] == "tester"


def test_audit_rejects_unknown_actions(tmp_path):
    store = Store(tmp_path / "s.db")
    store.migrate([audit.migrations])
    with pytest.raises(ValueError, match="unknown audit action"):
        audit.record(store.db, subject="X", action="shredded", actor="tester", at="now")


def test_a_new_database_and_its_journal_are_readable_by_the_owner_only(tmp_path):
    store = Store(tmp_path / "s.db")
    store.migrate([audit.migrations])
    audit.record(store.db, subject="INC-2026-0001", action="created", actor="tester", at="2026-11-24T09:00:00+00:00")
    for name in ("s.db", "s.db-wal", "s.db-shm"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o600, name
    store.close()


def test_an_existing_database_keeps_its_permissions(tmp_path):
    path = tmp_path / "s.db"
    Store(path).db.close()
    path.chmod(0o640)  # the operator chose to share it with a group
    store = Store(path)
    store.db
    assert path.stat().st_mode & 0o777 == 0o640
    store.close()


def test_writers_queued_behind_another_process_fail_together_within_one_timeout(tmp_path):
    timeout = 0.5
    store = Store(tmp_path / "s.db", timeout=timeout)
    store.db["notes"].insert({"id": 1, "text": "before"}, pk="id")
    failures: list[Exception] = []

    def write(n: int) -> None:
        try:
            with store.immediate() as db:
                db["notes"].insert({"id": n, "text": "during"})
        except sqlite3.OperationalError as exc:
            failures.append(exc)

    writers = [threading.Thread(target=write, args=(n,)) for n in range(2, 8)]
    with write_locked(store.path):
        started = time.monotonic()
        for writer in writers:
            writer.start()
        for writer in writers:
            writer.join()
        elapsed = time.monotonic() - started
    assert len(failures) == 6 and all("database is locked" in str(exc) for exc in failures)
    assert elapsed < 4 * timeout  # one timeout for them all; waiting in turn took six
    with store.immediate() as db:
        db["notes"].insert({"id": 8, "text": "after"})
    assert [r["text"] for r in store.db.query("select text from notes order by id")] == ["before", "after"]
    assert store.db.execute("pragma busy_timeout").fetchone()[0] == 500  # as it was before the writes
    store.close()
