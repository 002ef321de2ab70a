"""The activity database as a SQLite file: the default, nothing to set up."""
from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from bot.activity.database import Row
from bot.activity.errors import ActivityStoreError

BUSY_TIMEOUT_SECONDS = 30  # how long a writer waits for another process's transaction


class _SqliteTransaction:
    """Statements on one sqlite3 connection."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Run a statement and return every row it yields."""
        return self._db.execute(sql, tuple(params)).fetchall()

    def run(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run a statement and return how many rows it changed."""
        return self._db.execute(sql, tuple(params)).rowcount


class SqliteDatabase:
    """One SQLite file in WAL mode; a connection per transaction, so any thread may use it."""

    backend = "sqlite"

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.closing(self._connect()) as db:
                db.execute("PRAGMA journal_mode=WAL")
        except (OSError, sqlite3.Error) as exc:
            raise ActivityStoreError(f"the activity database {self.path} cannot be opened: {exc}. Check that "
                                     "CITEBOT_HOME is writable and the file is a citebot activity database.") from None

    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: transactions are begun explicitly, IMMEDIATE for writers, so that two
        # processes writing at once wait for each other instead of failing on a lock upgrade.
        db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
        db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_SECONDS * 1000}")
        return db

    @contextlib.contextmanager
    def transaction(self, write: bool = True) -> Iterator[_SqliteTransaction]:
        """A fresh connection in one transaction (IMMEDIATE for writers), committed when the block ends."""
        with contextlib.closing(self._connect()) as db:
            db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield _SqliteTransaction(db)
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def migrating(self) -> contextlib.AbstractContextManager[_SqliteTransaction]:
        """A write transaction: IMMEDIATE already keeps every other writer out."""
        return self.transaction(write=True)  # IMMEDIATE already excludes every other writer

    def builder_lease(self) -> None:
        """None: with SQLite every process on the machine builds for itself (the index's writer lock serializes)."""
        return None

    def describe(self) -> str:
        """The file's path."""
        return str(self.path)

    def close(self) -> None:
        """Nothing stays open between transactions."""
