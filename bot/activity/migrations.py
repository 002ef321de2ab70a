"""The activity schema as numbered migrations, applied once each, in order, when a store opens."""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.activity.errors import ActivityStoreError

if TYPE_CHECKING:
    from bot.activity.database import Database, Transaction

Step = str | Callable[["Transaction"], None]  # SQL statements (";"-separated), or a function for what SQL cannot say


def _add_missing_answer_columns(tx: Transaction) -> None:
    """Files made before answers were recorded lack two columns; newer ones have them from version 1."""
    present = {row[1] for row in tx.rows("PRAGMA table_info(questions)")}
    for column, kind in (("answer", "TEXT NOT NULL DEFAULT ''"), ("quoted", "TEXT NOT NULL DEFAULT '[]'")):
        if column not in present:
            tx.run(f"ALTER TABLE questions ADD COLUMN {column} {kind}")


@dataclass(frozen=True)
class Migration:
    """One schema change, written for each backend."""

    version: int
    about: str
    sqlite: Step
    postgresql: Step


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "questions, votes, settings, audit log and pins", sqlite="""
        CREATE TABLE IF NOT EXISTS questions (id INTEGER PRIMARY KEY AUTOINCREMENT, asked_at REAL NOT NULL,
            scope TEXT NOT NULL, user_id TEXT NOT NULL, question TEXT NOT NULL, abstained INTEGER NOT NULL,
            surface TEXT NOT NULL, answer TEXT NOT NULL DEFAULT '', quoted TEXT NOT NULL DEFAULT '[]');
        CREATE TABLE IF NOT EXISTS votes (question_id INTEGER NOT NULL REFERENCES questions(id),
            user_id TEXT NOT NULL, helpful INTEGER NOT NULL, voted_at REAL NOT NULL,
            PRIMARY KEY (question_id, user_id));
        CREATE TABLE IF NOT EXISTS guild_settings (scope TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
            PRIMARY KEY (scope, key));
        CREATE TABLE IF NOT EXISTS audit_log (id INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL,
            scope TEXT NOT NULL, user_id TEXT NOT NULL, user_name TEXT NOT NULL, action TEXT NOT NULL,
            detail TEXT NOT NULL);
        CREATE INDEX IF NOT EXISTS questions_by_scope ON questions(scope, abstained);
        CREATE TABLE IF NOT EXISTS pins (id INTEGER PRIMARY KEY AUTOINCREMENT, scope TEXT NOT NULL,
            question TEXT NOT NULL, decline INTEGER NOT NULL, sentences TEXT NOT NULL, pinned_by TEXT NOT NULL,
            pinned_at REAL NOT NULL)""", postgresql="""
        CREATE TABLE questions (id BIGSERIAL PRIMARY KEY, asked_at DOUBLE PRECISION NOT NULL,
            scope TEXT NOT NULL, user_id TEXT NOT NULL, question TEXT NOT NULL, abstained INTEGER NOT NULL,
            surface TEXT NOT NULL, answer TEXT NOT NULL DEFAULT '', quoted TEXT NOT NULL DEFAULT '[]');
        CREATE TABLE votes (question_id BIGINT NOT NULL REFERENCES questions(id), user_id TEXT NOT NULL,
            helpful INTEGER NOT NULL, voted_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (question_id, user_id));
        CREATE TABLE guild_settings (scope TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
            PRIMARY KEY (scope, key));
        CREATE TABLE audit_log (id BIGSERIAL PRIMARY KEY, at DOUBLE PRECISION NOT NULL, scope TEXT NOT NULL,
            user_id TEXT NOT NULL, user_name TEXT NOT NULL, action TEXT NOT NULL, detail TEXT NOT NULL);
        CREATE INDEX questions_by_scope ON questions(scope, abstained);
        CREATE TABLE pins (id BIGSERIAL PRIMARY KEY, scope TEXT NOT NULL, question TEXT NOT NULL,
            decline INTEGER NOT NULL, sentences TEXT NOT NULL, pinned_by TEXT NOT NULL,
            pinned_at DOUBLE PRECISION NOT NULL)"""),
    Migration(2, "answers recorded with their questions (files of the first release)",
              sqlite=_add_missing_answer_columns, postgresql=""),
    Migration(3, "index requests: source changes queued for the one process that builds the index", sqlite="""
        CREATE TABLE index_requests (id INTEGER PRIMARY KEY AUTOINCREMENT, scope TEXT NOT NULL,
            action TEXT NOT NULL, name TEXT NOT NULL, data BLOB NOT NULL, meta TEXT NOT NULL,
            requested_at REAL NOT NULL, done_at REAL, error TEXT NOT NULL DEFAULT '');
        CREATE INDEX index_requests_pending ON index_requests(done_at)""", postgresql="""
        CREATE TABLE index_requests (id BIGSERIAL PRIMARY KEY, scope TEXT NOT NULL, action TEXT NOT NULL,
            name TEXT NOT NULL, data BYTEA NOT NULL, meta TEXT NOT NULL, requested_at DOUBLE PRECISION NOT NULL,
            done_at DOUBLE PRECISION, error TEXT NOT NULL DEFAULT '');
        CREATE INDEX index_requests_pending ON index_requests(done_at)"""),
)
LATEST_VERSION = MIGRATIONS[-1].version


def migrate(db: Database) -> list[int]:
    """Apply the migrations this database lacks, under the backend's migration lock; returns their versions."""
    applied = []
    with db.migrating() as tx:
        tx.run("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
               "applied_at DOUBLE PRECISION NOT NULL, about TEXT NOT NULL)")
        done = {int(row[0]) for row in tx.rows("SELECT version FROM schema_migrations")}
        if done and max(done) > LATEST_VERSION:
            raise ActivityStoreError(f"the activity database {db.describe()} is at schema version {max(done)}, "
                                     f"newer than this citebot knows ({LATEST_VERSION}); upgrade citebot before "
                                     "running it against this database")
        for migration in MIGRATIONS:
            if migration.version in done:
                continue
            step = migration.sqlite if db.backend == "sqlite" else migration.postgresql
            if callable(step):
                step(tx)
            else:
                for statement in filter(str.strip, step.split(";")):
                    tx.run(statement)
            tx.run("INSERT INTO schema_migrations (version, applied_at, about) VALUES (?,?,?)",
                   (migration.version, time.time(), migration.about))
            applied.append(migration.version)
    return applied


def schema_version(db: Database) -> int:
    """The newest migration applied to a database (0 when none)."""
    with db.transaction(write=False) as tx:
        rows = tx.rows("SELECT MAX(version) FROM schema_migrations")
    return int(rows[0][0] or 0)
