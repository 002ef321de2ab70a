"""The two things the activity store asks of a database: transactions, and a lease on the builder role."""
from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

Row = tuple[Any, ...]
BACKENDS = ("sqlite", "postgresql")


class Transaction(Protocol):
    """Statements run inside one transaction; SQL is written with ? placeholders for every backend."""

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Run a statement and return every row it yields."""

    def run(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run a statement and return how many rows it changed."""


class BuilderLease(Protocol):
    """The right to build the index, held by at most one process of a deployment at a time."""

    def try_acquire(self) -> bool:
        """Take the lease if nobody holds it; True when this process holds it (again, or now)."""

    def release(self) -> None:
        """Give the lease up (a process that ends, even by SIGKILL, gives it up too)."""


class Database(Protocol):
    """A connection source for one activity database."""

    backend: str  # one of BACKENDS

    def transaction(self, write: bool = True) -> AbstractContextManager[Transaction]:
        """A transaction committed when the block ends, rolled back when it raises."""

    def migrating(self) -> AbstractContextManager[Transaction]:
        """A write transaction that no other process can run at the same time (schema changes)."""

    def builder_lease(self) -> BuilderLease | None:
        """A lease on the builder role shared by every process using this database (None: not shared)."""

    def describe(self) -> str:
        """Where the database is, for messages (never with a password)."""

    def close(self) -> None:
        """Release every connection."""
