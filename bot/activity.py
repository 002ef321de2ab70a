"""SQLite record of questions asked, feedback votes, per-server settings and the organizers' audit log."""
from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS questions (id INTEGER PRIMARY KEY AUTOINCREMENT, asked_at REAL NOT NULL,
    scope TEXT NOT NULL, user_id TEXT NOT NULL, question TEXT NOT NULL, abstained INTEGER NOT NULL,
    surface TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS votes (question_id INTEGER NOT NULL REFERENCES questions(id), user_id TEXT NOT NULL,
    helpful INTEGER NOT NULL, voted_at REAL NOT NULL, PRIMARY KEY (question_id, user_id));
CREATE TABLE IF NOT EXISTS guild_settings (scope TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
    PRIMARY KEY (scope, key));
CREATE TABLE IF NOT EXISTS audit_log (id INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, scope TEXT NOT NULL,
    user_id TEXT NOT NULL, user_name TEXT NOT NULL, action TEXT NOT NULL, detail TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS questions_by_scope ON questions(scope, abstained);
"""


@dataclass(frozen=True)
class Gap:
    """A question organizers should look at: unanswered or voted unhelpful, with how often."""

    question: str
    times: int
    abstained: int
    unhelpful: int
    last_asked: float


@dataclass(frozen=True)
class AuditEntry:
    """Who changed what in a server's knowledge base, and when."""

    at: float
    user_id: str
    user_name: str
    action: str
    detail: str


@dataclass(frozen=True)
class ScopeActivity:
    """What the activity database holds for one server."""

    questions: int
    votes: int
    settings: int
    audit_entries: int


class ActivityLog:
    """Thread-safe access to the activity database (one connection per call, WAL mode)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30)
        try:
            with db:  # one transaction: committed whole or rolled back
                yield db
        finally:
            db.close()

    def record_question(self, scope: str, user_id: str, question: str, abstained: bool, surface: str) -> int:
        """Store an asked question; returns its id (used by feedback buttons)."""
        with self._connect() as db:
            cursor = db.execute(
                "INSERT INTO questions (asked_at, scope, user_id, question, abstained, surface) VALUES (?,?,?,?,?,?)",
                (time.time(), scope, user_id, question, int(abstained), surface))
            return int(cursor.lastrowid)

    def vote(self, question_id: int, user_id: str, helpful: bool) -> bool:
        """Store a vote once per user per answer; False when this user already voted."""
        with self._connect() as db:
            cursor = db.execute("INSERT OR IGNORE INTO votes VALUES (?,?,?,?)",
                                (question_id, user_id, int(helpful), time.time()))
            return cursor.rowcount == 1

    def votes(self, question_id: int) -> tuple[int, int]:
        """(helpful, not helpful) counts for an answer."""
        with self._connect() as db:
            row = db.execute("SELECT COALESCE(SUM(helpful),0), COALESCE(SUM(1-helpful),0) FROM votes "
                             "WHERE question_id=?", (question_id,)).fetchone()
        return int(row[0]), int(row[1])

    def gaps(self, scope: str, limit: int = 20) -> list[Gap]:
        """Abstained or down-voted questions of a scope, most frequent first."""
        with self._connect() as db:
            rows = db.execute(
                """SELECT lower(trim(q.question)) AS text, COUNT(DISTINCT q.id), SUM(q.abstained),
                          COALESCE(SUM((SELECT COUNT(*) FROM votes v WHERE v.question_id=q.id AND v.helpful=0)),0),
                          MAX(q.asked_at)
                   FROM questions q WHERE q.scope=? AND (q.abstained=1 OR EXISTS
                        (SELECT 1 FROM votes v WHERE v.question_id=q.id AND v.helpful=0))
                   GROUP BY text ORDER BY COUNT(DISTINCT q.id) DESC, MAX(q.asked_at) DESC LIMIT ?""",
                (scope, limit)).fetchall()
        return [Gap(r[0], int(r[1]), int(r[2]), int(r[3]), float(r[4])) for r in rows]

    def set_setting(self, scope: str, key: str, value: str) -> None:
        """Store one per-server setting."""
        with self._connect() as db:
            db.execute("INSERT OR REPLACE INTO guild_settings VALUES (?,?,?)", (scope, key, value))

    def settings(self, scope: str) -> dict[str, str]:
        """All settings of a server."""
        with self._connect() as db:
            return dict(db.execute("SELECT key, value FROM guild_settings WHERE scope=?", (scope,)).fetchall())

    def audit(self, scope: str, user_id: str, user_name: str, action: str, detail: str) -> None:
        """Record an organizer's change."""
        with self._connect() as db:
            db.execute("INSERT INTO audit_log (at, scope, user_id, user_name, action, detail) VALUES (?,?,?,?,?,?)",
                       (time.time(), scope, user_id, user_name, action, detail))

    def scope_counts(self, scope: str) -> ScopeActivity:
        """How many rows of each kind a server has (what forgetting it would delete)."""
        with self._connect() as db:
            def count(sql: str) -> int:
                return int(db.execute(sql, (scope,)).fetchone()[0])
            return ScopeActivity(
                count("SELECT COUNT(*) FROM questions WHERE scope=?"),
                count("SELECT COUNT(*) FROM votes WHERE question_id IN (SELECT id FROM questions WHERE scope=?)"),
                count("SELECT COUNT(*) FROM guild_settings WHERE scope=?"),
                count("SELECT COUNT(*) FROM audit_log WHERE scope=?"))

    def forget_scope(self, scope: str) -> ScopeActivity:
        """Delete every question, vote, setting and audit entry of a server, in one transaction."""
        counts = self.scope_counts(scope)
        with self._connect() as db:
            db.execute("DELETE FROM votes WHERE question_id IN (SELECT id FROM questions WHERE scope=?)", (scope,))
            db.execute("DELETE FROM questions WHERE scope=?", (scope,))
            db.execute("DELETE FROM guild_settings WHERE scope=?", (scope,))
            db.execute("DELETE FROM audit_log WHERE scope=?", (scope,))
        return counts

    def audit_entries(self, scope: str, limit: int = 50) -> list[AuditEntry]:
        """The newest audit entries of a server."""
        with self._connect() as db:
            rows = db.execute("SELECT at, user_id, user_name, action, detail FROM audit_log WHERE scope=? "
                              "ORDER BY id DESC LIMIT ?", (scope, limit)).fetchall()
        return [AuditEntry(*row) for row in rows]
