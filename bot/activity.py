"""SQLite record of questions asked, feedback votes, per-server settings, pinned answers and the audit log."""
from __future__ import annotations

import contextlib
import json
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
CREATE TABLE IF NOT EXISTS pins (id INTEGER PRIMARY KEY AUTOINCREMENT, scope TEXT NOT NULL, question TEXT NOT NULL,
    decline INTEGER NOT NULL, sentences TEXT NOT NULL, pinned_by TEXT NOT NULL, pinned_at REAL NOT NULL);
"""
# Columns added after the first release, created on older files when they are opened.
_ADDED_COLUMNS = (("questions", "answer", "TEXT NOT NULL DEFAULT ''"),
                  ("questions", "quoted", "TEXT NOT NULL DEFAULT '[]'"))
# An answer with at least this many "Helpful" votes and none against is suggested as a pin.
SUGGEST_AFTER_HELPFUL = 3


@dataclass(frozen=True)
class Gap:
    """A question organizers should look at: unanswered or voted unhelpful, with how often."""

    question: str
    times: int
    abstained: int
    unhelpful: int
    last_asked: float
    answer: str = ""  # the newest answer it was given ("" when citebot declined)


@dataclass(frozen=True)
class PinnedSentence:
    """A sentence of a pinned answer, by stable reference: its source and its exact text."""

    source_scope: str
    source_id: str
    text: str


@dataclass(frozen=True)
class Pin:
    """An answer organizers chose for a question (sentences in order), or a decline."""

    id: int
    scope: str
    question: str
    decline: bool
    sentences: tuple[PinnedSentence, ...]
    pinned_by: str
    pinned_at: float


@dataclass(frozen=True)
class Suggestion:
    """An answer members found helpful (several votes, none against): a pin for organizers to confirm."""

    question_id: int
    question: str
    answer: str
    helpful: int
    quoted: tuple[PinnedSentence, ...]


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
    pins: int = 0


class ActivityLog:
    """Thread-safe access to the activity database (one connection per call, WAL mode)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)
            for table, column, kind in _ADDED_COLUMNS:
                if column not in {row[1] for row in db.execute(f"PRAGMA table_info({table})")}:
                    db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30)
        try:
            with db:  # one transaction: committed whole or rolled back
                yield db
        finally:
            db.close()

    def record_question(self, scope: str, user_id: str, question: str, abstained: bool, surface: str,
                        answer: str = "", quoted: tuple[PinnedSentence, ...] = ()) -> int:
        """Store an asked question and the answer given; returns its id (used by feedback buttons)."""
        with self._connect() as db:
            cursor = db.execute(
                "INSERT INTO questions (asked_at, scope, user_id, question, abstained, surface, answer, quoted) "
                "VALUES (?,?,?,?,?,?,?,?)", (time.time(), scope, user_id, question, int(abstained), surface, answer,
                                             _sentences_json(quoted)))
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
                          MAX(q.asked_at),
                          (SELECT q2.answer FROM questions q2 WHERE q2.scope=q.scope
                           AND lower(trim(q2.question))=lower(trim(q.question)) ORDER BY q2.id DESC LIMIT 1)
                   FROM questions q WHERE q.scope=? AND (q.abstained=1 OR EXISTS
                        (SELECT 1 FROM votes v WHERE v.question_id=q.id AND v.helpful=0))
                   GROUP BY text ORDER BY COUNT(DISTINCT q.id) DESC, MAX(q.asked_at) DESC LIMIT ?""",
                (scope, limit)).fetchall()
        return [Gap(r[0], int(r[1]), int(r[2]), int(r[3]), float(r[4]), r[5] or "") for r in rows]

    def suggestions(self, scope: str, limit: int = 10) -> list[Suggestion]:
        """Answers with SUGGEST_AFTER_HELPFUL or more helpful votes and none against, newest first."""
        with self._connect() as db:
            rows = db.execute(
                """SELECT q.id, q.question, q.answer, q.quoted, SUM(v.helpful) FROM questions q
                   JOIN votes v ON v.question_id=q.id WHERE q.scope=? AND q.abstained=0
                   GROUP BY q.id HAVING SUM(v.helpful) >= ? AND SUM(1-v.helpful) = 0
                   ORDER BY q.id DESC LIMIT ?""", (scope, SUGGEST_AFTER_HELPFUL, limit)).fetchall()
        return [Suggestion(int(r[0]), r[1], r[2], int(r[4]), _sentences_from(r[3])) for r in rows]

    def answered(self, question_id: int) -> tuple[str, str, tuple[PinnedSentence, ...]] | None:
        """(scope, question, quoted sentences) of a recorded answer, or None."""
        with self._connect() as db:
            row = db.execute("SELECT scope, question, quoted FROM questions WHERE id=?", (question_id,)).fetchone()
        return None if row is None else (row[0], row[1], _sentences_from(row[2]))

    # ----- pinned answers ------------------------------------------------------------------------------

    def add_pin(self, scope: str, question: str, sentences: tuple[PinnedSentence, ...], decline: bool,
                pinned_by: str) -> Pin:
        """Store a pinned answer (or decline) for a question in a scope."""
        at = time.time()
        with self._connect() as db:
            cursor = db.execute("INSERT INTO pins (scope, question, decline, sentences, pinned_by, pinned_at) "
                                "VALUES (?,?,?,?,?,?)", (scope, question, int(decline), _sentences_json(sentences),
                                                         pinned_by, at))
            return Pin(int(cursor.lastrowid), scope, question, decline, sentences, pinned_by, at)

    def pins(self, scopes: tuple[str, ...] | None = None) -> list[Pin]:
        """Pins of the given scopes (None: every scope), oldest first."""
        where = f"WHERE scope IN ({','.join('?' * len(scopes))})" if scopes is not None else ""
        with self._connect() as db:
            rows = db.execute(f"SELECT id, scope, question, decline, sentences, pinned_by, pinned_at FROM pins "
                              f"{where} ORDER BY id", scopes or ()).fetchall()
        return [Pin(int(r[0]), r[1], r[2], bool(r[3]), _sentences_from(r[4]), r[5], float(r[6])) for r in rows]

    def remove_pin(self, scope: str, pin_id: int) -> bool:
        """Delete a pin of that scope; False when it has none with that id."""
        with self._connect() as db:
            return db.execute("DELETE FROM pins WHERE id=? AND scope=?", (pin_id, scope)).rowcount == 1

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
                count("SELECT COUNT(*) FROM audit_log WHERE scope=?"),
                count("SELECT COUNT(*) FROM pins WHERE scope=?"))

    def forget_scope(self, scope: str) -> ScopeActivity:
        """Delete every question, vote, setting and audit entry of a server, in one transaction."""
        counts = self.scope_counts(scope)
        with self._connect() as db:
            db.execute("DELETE FROM votes WHERE question_id IN (SELECT id FROM questions WHERE scope=?)", (scope,))
            db.execute("DELETE FROM questions WHERE scope=?", (scope,))
            db.execute("DELETE FROM guild_settings WHERE scope=?", (scope,))
            db.execute("DELETE FROM audit_log WHERE scope=?", (scope,))
            db.execute("DELETE FROM pins WHERE scope=?", (scope,))
        return counts

    def audit_entries(self, scope: str, limit: int = 50) -> list[AuditEntry]:
        """The newest audit entries of a server."""
        with self._connect() as db:
            rows = db.execute("SELECT at, user_id, user_name, action, detail FROM audit_log WHERE scope=? "
                              "ORDER BY id DESC LIMIT ?", (scope, limit)).fetchall()
        return [AuditEntry(*row) for row in rows]


def _sentences_json(sentences: tuple[PinnedSentence, ...]) -> str:
    return json.dumps([[s.source_scope, s.source_id, s.text] for s in sentences], ensure_ascii=False)


def _sentences_from(text: str) -> tuple[PinnedSentence, ...]:
    return tuple(PinnedSentence(*row) for row in json.loads(text or "[]"))
