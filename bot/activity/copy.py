"""Copy a home's SQLite activity database into PostgreSQL (`citebot migrate-sqlite-to-postgres`)."""
from __future__ import annotations

from pathlib import Path

from bot.activity.errors import ActivityStoreError
from bot.activity.store import ActivityStore

# Parents before children (votes name questions); ids are kept, so feedback buttons already sent still work.
COPIED_TABLES = {
    "questions": ("id", "asked_at", "scope", "user_id", "question", "abstained", "surface", "answer", "quoted"),
    "votes": ("question_id", "user_id", "helpful", "voted_at"),
    "guild_settings": ("scope", "key", "value"),
    "audit_log": ("id", "at", "scope", "user_id", "user_name", "action", "detail"),
    "pins": ("id", "scope", "question", "decline", "sentences", "pinned_by", "pinned_at"),
    "index_requests": ("id", "scope", "action", "name", "data", "meta", "requested_at", "done_at", "error"),
}
_SERIAL_TABLES = ("questions", "audit_log", "pins", "index_requests")
BATCH_ROWS = 1000


def copy_activity(source: ActivityStore, target: ActivityStore) -> dict[str, int]:
    """Copy every row of source into an empty PostgreSQL target in one transaction; rows copied per table."""
    if target.database.backend != "postgresql":
        raise ActivityStoreError("the target of the copy must be PostgreSQL: set CITEBOT_DATABASE_URL or --to")
    with target.database.transaction(write=False) as tx:
        held = {table: int(tx.rows(f"SELECT COUNT(*) FROM {table}")[0][0]) for table in COPIED_TABLES}
    if any(held.values()):
        raise ActivityStoreError(f"the PostgreSQL database {target.database.describe()} already holds activity "
                                 f"({', '.join(f'{n} {t}' for t, n in held.items() if n)}); copy into an empty "
                                 "database so that nothing is merged twice")
    copied = {}
    with source.database.transaction(write=False) as read, target.database.transaction() as write:
        for table, columns in COPIED_TABLES.items():
            rows = read.rows(f"SELECT {', '.join(columns)} FROM {table} ORDER BY 1")
            statement = (f"INSERT INTO {table} ({', '.join(columns)}) "
                         f"VALUES ({', '.join('?' * len(columns))})")
            for row in rows:
                write.run(statement, row)
            copied[table] = len(rows)
        for table in _SERIAL_TABLES:  # the next id continues after the copied ones
            write.rows(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                       f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)")
    return copied


def copy_sqlite_file(sqlite_path: Path, url: str) -> dict[str, int]:
    """Open a home's SQLite file (it must exist) and a PostgreSQL URL, and copy the one into the other."""
    from bot.activity import open_store

    if not Path(sqlite_path).is_file():
        raise ActivityStoreError(f"there is no activity database at {sqlite_path}; pass --home (or --from) with "
                                 "the folder the bot ran with")
    source, target = open_store(None, Path(sqlite_path)), open_store(url, Path(sqlite_path))
    try:
        return copy_activity(source, target)
    finally:
        source.close()
        target.close()
