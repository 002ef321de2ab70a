"""The activity database on PostgreSQL: one database shared by every process of a deployment."""
from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Sequence
from typing import Any

from bot.activity.database import Row
from bot.activity.errors import ActivityStoreError

# Advisory lock keys (any two fixed numbers): one for schema changes, one for the builder role.
MIGRATION_LOCK_KEY = 0x63697465_0001
BUILDER_LOCK_KEY = 0x63697465_0002
POOL_MAX_CONNECTIONS = 8
CONNECT_TIMEOUT_SECONDS = 10


def _placeholders(sql: str) -> str:
    """Our SQL's ? placeholders as psycopg's %s (no statement of ours has a literal ? or %)."""
    return sql.replace("?", "%s")


def redacted(url: str) -> str:
    """A database URL without its password, for logs and messages."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


class _PostgresTransaction:
    """Statements on one psycopg connection inside a transaction."""

    def __init__(self, connection: Any) -> None:
        self._connection = connection

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Run a statement and return every row it yields."""
        cursor = self._connection.execute(_placeholders(sql), tuple(params))
        return [tuple(row) for row in cursor.fetchall()] if cursor.description else []

    def run(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run a statement and return how many rows it changed."""
        return self._connection.execute(_placeholders(sql), tuple(params)).rowcount


class AdvisoryLease:
    """The builder lease as a session-level advisory lock, on a connection of its own held while leased."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._connection: Any = None

    def try_acquire(self) -> bool:
        """Take the advisory lock on a connection of its own; True while this process holds it."""
        import psycopg

        if self._connection is not None:
            try:
                self._connection.execute("SELECT 1")  # a session that died (server restart) lost the lock too
                return True
            except psycopg.Error:
                self.release()
        connection = psycopg.connect(self._url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_SECONDS)
        if connection.execute("SELECT pg_try_advisory_lock(%s)", (BUILDER_LOCK_KEY,)).fetchone()[0]:
            self._connection = connection
            return True
        connection.close()
        return False

    def release(self) -> None:
        """Close the lease's connection, which releases the lock."""
        if self._connection is not None:
            self._connection.close()  # the server releases a session's advisory locks when it ends
            self._connection = None


class PostgresDatabase:
    """A pool of connections to one PostgreSQL database, named by a postgresql:// URL."""

    backend = "postgresql"

    def __init__(self, url: str) -> None:
        try:
            import psycopg
            from psycopg_pool import ConnectionPool
        except ImportError as exc:
            raise ActivityStoreError(f"CITEBOT_DATABASE_URL names PostgreSQL but {exc.name} is not installed; "
                                     "install citebot's dependencies again (make setup)") from None
        self.url = url
        self._errors = (psycopg.Error,)
        try:
            self._pool = ConnectionPool(url, min_size=1, max_size=POOL_MAX_CONNECTIONS, open=True, timeout=30,
                                        kwargs={"connect_timeout": CONNECT_TIMEOUT_SECONDS})
            self._pool.wait(timeout=CONNECT_TIMEOUT_SECONDS)
        except Exception as exc:
            with contextlib.suppress(Exception):
                self._pool.close()
            raise ActivityStoreError(f"the activity database {redacted(url)} cannot be reached: {exc}. Check "
                                     "CITEBOT_DATABASE_URL and that the server is running.") from None

    @contextlib.contextmanager
    def transaction(self, write: bool = True) -> Iterator[_PostgresTransaction]:
        """A pooled connection in one transaction, committed when the block ends."""
        with self._pool.connection() as connection, connection.transaction():
            yield _PostgresTransaction(connection)

    @contextlib.contextmanager
    def migrating(self) -> Iterator[_PostgresTransaction]:
        """A transaction holding the migration lock, so that two starting processes migrate once."""
        with self.transaction() as tx:
            tx.rows("SELECT pg_advisory_xact_lock(?)", (MIGRATION_LOCK_KEY,))  # held until this commits
            yield tx

    def builder_lease(self) -> AdvisoryLease:
        """The builder lease: a session-level advisory lock."""
        return AdvisoryLease(self.url)

    def describe(self) -> str:
        """The URL without its password."""
        return redacted(self.url)

    def close(self) -> None:
        """Close every pooled connection."""
        self._pool.close()
