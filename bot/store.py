"""The SQLite file behind every record, opened once per thread.

Bolt runs listeners on a thread pool and the Teams adapter on an event loop, so a single
shared connection is never passed between threads: each thread gets its own, all in WAL
mode with `synchronous=FULL` (safeguarding records must survive a power cut) and a busy
timeout so a brief lock waits instead of failing. A database file the bot creates is
readable by its owner only: incident narratives must not be readable by other accounts.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

BUSY_TIMEOUT_SECONDS = 5.0
PRIVATE_MODE = 0o600  # safeguarding records: SQLite gives the -wal and -shm files the same mode


class StoreError(Exception):
    """The database could not be opened or written; nothing was stored."""


def is_database(path: Path | str, database: Path | str) -> bool:
    """Whether `path` is the database file or one of SQLite's files beside it (-wal, -shm,
    -journal): an output written there would destroy the records."""
    target, db = Path(path).expanduser().resolve(), Path(database).expanduser().resolve()
    files = {db, *(db.with_name(db.name + suffix) for suffix in ("-wal", "-shm", "-journal"))}
    # resolve() sees symlinks; a hard link or another spelling on a case-blind disk needs the inode
    return target in files or target.exists() and any(f.exists() and os.path.samefile(target, f) for f in files)


class Store:
    """A SQLite database file with per-thread connections and named migration sets."""

    def __init__(self, path: Path | str, *, timeout: float = BUSY_TIMEOUT_SECONDS) -> None:
        self.path = Path(path)
        self.timeout = timeout
        self._local = threading.local()
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"

    @property
    def db(self) -> Database:
        """This thread's connection, opened on first use."""
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._open()
            self._local.db = db
        return db

    def _open(self) -> Database:
        # One thread at a time: two connections switching a new file to WAL at once fail with
        # "database is locked" without waiting for the busy timeout.
        with self._lock:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                os.close(os.open(self.path, os.O_CREAT | os.O_RDWR, PRIVATE_MODE))  # new files: owner only
                conn = sqlite3.connect(str(self.path), timeout=self.timeout, check_same_thread=False)
                db = Database(conn)
                if db.journal_mode != "wal":
                    db.enable_wal()
                db.execute("PRAGMA synchronous=FULL")
                db.execute("PRAGMA foreign_keys=ON")
            except (sqlite3.Error, OSError) as exc:
                raise StoreError(f"Cannot open the database {self.path}: {exc}") from exc
            self._connections.append(conn)
        return db

    @contextmanager
    def immediate(self) -> Iterator[Database]:
        """One write transaction that takes SQLite's write lock up front, so read-then-write
        cannot hit SQLITE_BUSY_SNAPSHOT. Writers in this process queue on a lock first: SQLite's
        busy handler sleeps in growing steps, which under a burst of reports makes a few wait
        far longer than the rest. The queue and SQLite's busy wait together take at most
        `timeout`: while another process holds the database, a burst of writers fails in one
        timeout, not one timeout each ("database is locked", as SQLite says it)."""
        deadline = time.monotonic() + self.timeout
        if not self._write_lock.acquire(timeout=self.timeout):
            raise sqlite3.OperationalError("database is locked")
        try:
            db = self.db
            self._begin_immediate(db, deadline - time.monotonic())
            try:
                yield db
            except BaseException:
                db.conn.rollback()
                raise
            try:
                db.conn.execute("COMMIT")
            except BaseException:
                db.conn.rollback()
                raise
        finally:
            self._write_lock.release()

    @staticmethod
    def _begin_immediate(db: Database, seconds: float) -> None:
        """BEGIN IMMEDIATE, waiting for another process's write lock `seconds` at the most."""
        if seconds <= 0:
            raise sqlite3.OperationalError("database is locked")
        usual = db.execute("PRAGMA busy_timeout").fetchone()[0]
        db.execute(f"PRAGMA busy_timeout = {max(1, int(seconds * 1000))}")
        try:
            db.execute("BEGIN IMMEDIATE")
        finally:
            db.execute(f"PRAGMA busy_timeout = {usual}")

    def migrate(self, sets: Iterable[Migrations]) -> None:
        """Apply every pending migration of each set, in order."""
        try:
            for migrations in sets:
                migrations.apply(self.db)
        except sqlite3.Error as exc:
            raise StoreError(f"Cannot prepare the database {self.path}: {exc}") from exc

    def close(self) -> None:
        """Close every thread's connection (at shutdown and in tests)."""
        with self._lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
        self._local = threading.local()
