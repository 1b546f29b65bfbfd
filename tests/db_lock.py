"""Another process's hold on the database, for tests of what the bot does while it cannot write."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

BUSY_SECONDS = 0.2  # how long a store in these tests waits for the lock: a failure comes quickly


@contextmanager
def write_locked(path: Path | str) -> Iterator[None]:
    """The database's write lock, held by another connection (as another process would) for the block."""
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        other.execute("ROLLBACK")
        other.close()

