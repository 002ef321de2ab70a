"""The activity store (questions, votes, settings, pins, audit log, index requests) on SQLite or PostgreSQL."""
from __future__ import annotations

from pathlib import Path

from bot.activity.database import Database
from bot.activity.errors import ActivityStoreError
from bot.activity.records import (
    SUGGEST_AFTER_HELPFUL,
    AuditEntry,
    Gap,
    IndexRequest,
    Pin,
    PinnedSentence,
    ScopeActivity,
    Suggestion,
)
from bot.activity.store import ActivityStore

POSTGRES_SCHEMES = ("postgresql://", "postgres://")

__all__ = ["SUGGEST_AFTER_HELPFUL", "ActivityStore", "ActivityStoreError", "AuditEntry", "Gap", "IndexRequest",
           "Pin", "PinnedSentence", "ScopeActivity", "Suggestion", "open_database", "open_store"]


def open_database(url: str | None, sqlite_path: Path) -> Database:
    """PostgreSQL when url names it, else the SQLite file (the zero-set-up default)."""
    if url:
        if not url.startswith(POSTGRES_SCHEMES):
            raise ActivityStoreError(f"CITEBOT_DATABASE_URL must start with postgresql:// (got "
                                     f"{url.split('://')[0]}://...); leave it unset to use SQLite under CITEBOT_HOME")
        from bot.activity.postgres_backend import PostgresDatabase

        return PostgresDatabase(url)
    from bot.activity.sqlite_backend import SqliteDatabase

    return SqliteDatabase(sqlite_path)


def open_store(url: str | None, sqlite_path: Path) -> ActivityStore:
    """The activity store the settings name, migrated to the current schema."""
    return ActivityStore(open_database(url, sqlite_path))
