"""The activity store: questions, votes, per-server settings, pins, the audit log and index requests."""
from __future__ import annotations

import json
import time

from bot.activity.database import Database
from bot.activity.migrations import migrate
from bot.activity.records import (
    INDEX_ACTIONS,
    SUGGEST_AFTER_HELPFUL,
    AuditEntry,
    Gap,
    IndexRequest,
    Pin,
    PinnedSentence,
    ScopeActivity,
    Suggestion,
)

# Every statement runs unchanged on SQLite and PostgreSQL (ON CONFLICT and RETURNING are in both).
_GAPS = """
SELECT g.text, g.times, g.abstained, g.unhelpful, g.last_asked,
       (SELECT q2.answer FROM questions q2 WHERE q2.scope=? AND lower(trim(q2.question))=g.text
        ORDER BY q2.id DESC LIMIT 1)
FROM (SELECT lower(trim(q.question)) AS text, COUNT(DISTINCT q.id) AS times, SUM(q.abstained) AS abstained,
             COALESCE(SUM(d.down), 0) AS unhelpful, MAX(q.asked_at) AS last_asked
      FROM questions q LEFT JOIN (SELECT question_id, COUNT(*) AS down FROM votes WHERE helpful=0
                                  GROUP BY question_id) d ON d.question_id=q.id
      WHERE q.scope=? AND (q.abstained=1 OR d.down > 0)
      GROUP BY lower(trim(q.question))) g
ORDER BY g.times DESC, g.last_asked DESC LIMIT ?"""
_SUGGESTIONS = """
SELECT q.id, q.question, q.answer, q.quoted, SUM(v.helpful) FROM questions q
JOIN votes v ON v.question_id=q.id WHERE q.scope=? AND q.abstained=0
GROUP BY q.id, q.question, q.answer, q.quoted HAVING SUM(v.helpful) >= ? AND SUM(1-v.helpful) = 0
ORDER BY q.id DESC LIMIT ?"""
_SCOPE_TABLES = (  # what forgetting a server deletes, children first
    ("votes", "question_id IN (SELECT id FROM questions WHERE scope=?)"),
    ("questions", "scope=?"), ("guild_settings", "scope=?"), ("audit_log", "scope=?"), ("pins", "scope=?"))
_PIN_COLUMNS = "id, scope, question, decline, sentences, pinned_by, pinned_at"
_REQUEST_COLUMNS = "id, scope, action, name, data, meta, requested_at, done_at, error"


class ActivityStore:
    """Thread-safe access to the activity database (a transaction per call), on any backend."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.migrations_applied = migrate(database)

    def close(self) -> None:
        """Release the database's connections."""
        self.database.close()

    # ----- questions and votes -----------------------------------------------------------------------

    def record_question(self, scope: str, user_id: str, question: str, abstained: bool, surface: str,
                        answer: str = "", quoted: tuple[PinnedSentence, ...] = ()) -> int:
        """Store an asked question and the answer given; returns its id (used by feedback buttons)."""
        with self.database.transaction() as tx:
            [(question_id,)] = tx.rows(
                "INSERT INTO questions (asked_at, scope, user_id, question, abstained, surface, answer, quoted) "
                "VALUES (?,?,?,?,?,?,?,?) RETURNING id",
                (time.time(), scope, user_id, question, int(abstained), surface, answer, _sentences_json(quoted)))
        return int(question_id)

    def vote(self, question_id: int, user_id: str, helpful: bool) -> bool:
        """Store a vote once per user per answer; False when this user already voted."""
        with self.database.transaction() as tx:
            return tx.run("INSERT INTO votes (question_id, user_id, helpful, voted_at) VALUES (?,?,?,?) "
                          "ON CONFLICT DO NOTHING", (question_id, user_id, int(helpful), time.time())) == 1

    def votes(self, question_id: int) -> tuple[int, int]:
        """(helpful, not helpful) counts for an answer."""
        with self.database.transaction(write=False) as tx:
            [row] = tx.rows("SELECT COALESCE(SUM(helpful),0), COALESCE(SUM(1-helpful),0) FROM votes "
                            "WHERE question_id=?", (question_id,))
        return int(row[0]), int(row[1])

    def gaps(self, scope: str, limit: int = 20) -> list[Gap]:
        """Abstained or down-voted questions of a scope, most frequent first."""
        with self.database.transaction(write=False) as tx:
            rows = tx.rows(_GAPS, (scope, scope, limit))
        return [Gap(r[0], int(r[1]), int(r[2]), int(r[3]), float(r[4]), r[5] or "") for r in rows]

    def suggestions(self, scope: str, limit: int = 10) -> list[Suggestion]:
        """Answers with SUGGEST_AFTER_HELPFUL or more helpful votes and none against, newest first."""
        with self.database.transaction(write=False) as tx:
            rows = tx.rows(_SUGGESTIONS, (scope, SUGGEST_AFTER_HELPFUL, limit))
        return [Suggestion(int(r[0]), r[1], r[2], int(r[4]), _sentences_from(r[3])) for r in rows]

    def answered(self, question_id: int) -> tuple[str, str, tuple[PinnedSentence, ...]] | None:
        """(scope, question, quoted sentences) of a recorded answer, or None."""
        with self.database.transaction(write=False) as tx:
            rows = tx.rows("SELECT scope, question, quoted FROM questions WHERE id=?", (question_id,))
        return None if not rows else (rows[0][0], rows[0][1], _sentences_from(rows[0][2]))

    # ----- pinned answers ----------------------------------------------------------------------------

    def add_pin(self, scope: str, question: str, sentences: tuple[PinnedSentence, ...], decline: bool,
                pinned_by: str) -> Pin:
        """Store a pinned answer (or decline) for a question in a scope."""
        at = time.time()
        with self.database.transaction() as tx:
            [(pin_id,)] = tx.rows("INSERT INTO pins (scope, question, decline, sentences, pinned_by, pinned_at) "
                                  "VALUES (?,?,?,?,?,?) RETURNING id",
                                  (scope, question, int(decline), _sentences_json(sentences), pinned_by, at))
        return Pin(int(pin_id), scope, question, decline, sentences, pinned_by, at)

    def pins(self, scopes: tuple[str, ...] | None = None) -> list[Pin]:
        """Pins of the given scopes (None: every scope), oldest first."""
        where = f"WHERE scope IN ({','.join('?' * len(scopes))})" if scopes else ""
        if scopes is not None and not scopes:
            return []
        with self.database.transaction(write=False) as tx:
            rows = tx.rows(f"SELECT {_PIN_COLUMNS} FROM pins {where} ORDER BY id", scopes or ())
        return [Pin(int(r[0]), r[1], r[2], bool(r[3]), _sentences_from(r[4]), r[5], float(r[6])) for r in rows]

    def remove_pin(self, scope: str, pin_id: int) -> bool:
        """Delete a pin of that scope; False when it has none with that id."""
        with self.database.transaction() as tx:
            return tx.run("DELETE FROM pins WHERE id=? AND scope=?", (pin_id, scope)) == 1

    # ----- settings, audit log, forgetting a server --------------------------------------------------

    def set_setting(self, scope: str, key: str, value: str) -> None:
        """Store one per-server setting."""
        with self.database.transaction() as tx:
            tx.run("INSERT INTO guild_settings (scope, key, value) VALUES (?,?,?) "
                   "ON CONFLICT (scope, key) DO UPDATE SET value=excluded.value", (scope, key, value))

    def settings(self, scope: str) -> dict[str, str]:
        """All settings of a server."""
        with self.database.transaction(write=False) as tx:
            return dict(tx.rows("SELECT key, value FROM guild_settings WHERE scope=?", (scope,)))

    def audit(self, scope: str, user_id: str, user_name: str, action: str, detail: str) -> None:
        """Record an organizer's change."""
        with self.database.transaction() as tx:
            tx.run("INSERT INTO audit_log (at, scope, user_id, user_name, action, detail) VALUES (?,?,?,?,?,?)",
                   (time.time(), scope, user_id, user_name, action, detail))

    def audit_entries(self, scope: str, limit: int = 50) -> list[AuditEntry]:
        """The newest audit entries of a server."""
        with self.database.transaction(write=False) as tx:
            rows = tx.rows("SELECT at, user_id, user_name, action, detail FROM audit_log WHERE scope=? "
                           "ORDER BY id DESC LIMIT ?", (scope, limit))
        return [AuditEntry(float(r[0]), r[1], r[2], r[3], r[4]) for r in rows]

    def scope_counts(self, scope: str) -> ScopeActivity:
        """How many rows of each kind a server has (what forgetting it would delete)."""
        with self.database.transaction(write=False) as tx:
            counts = {table: int(tx.rows(f"SELECT COUNT(*) FROM {table} WHERE {where}", (scope,))[0][0])
                      for table, where in _SCOPE_TABLES}
        return ScopeActivity(counts["questions"], counts["votes"], counts["guild_settings"], counts["audit_log"],
                             counts["pins"])

    def forget_scope(self, scope: str) -> ScopeActivity:
        """Delete every question, vote, setting, pin and audit entry of a server, in one transaction."""
        counts = self.scope_counts(scope)
        with self.database.transaction() as tx:
            for table, where in _SCOPE_TABLES:
                tx.run(f"DELETE FROM {table} WHERE {where}", (scope,))
        return counts

    # ----- index requests: source changes for the builder --------------------------------------------

    def request_index_change(self, scope: str, action: str, name: str = "", data: bytes = b"",
                             meta: str = "{}") -> int:
        """Queue a change of a server's sources for the process that builds the index; returns its id."""
        if action not in INDEX_ACTIONS:
            raise ValueError(f"unknown index action {action!r}; expected one of {INDEX_ACTIONS}")
        with self.database.transaction() as tx:
            [(request_id,)] = tx.rows("INSERT INTO index_requests (scope, action, name, data, meta, requested_at) "
                                      "VALUES (?,?,?,?,?,?) RETURNING id",
                                      (scope, action, name, data, meta, time.time()))
        return int(request_id)

    def pending_index_requests(self) -> list[IndexRequest]:
        """Queued changes not yet made, oldest first."""
        with self.database.transaction(write=False) as tx:
            rows = tx.rows(f"SELECT {_REQUEST_COLUMNS} FROM index_requests WHERE done_at IS NULL ORDER BY id")
        return [_request(row) for row in rows]

    def index_request(self, request_id: int) -> IndexRequest | None:
        """One queued change, done or not."""
        with self.database.transaction(write=False) as tx:
            rows = tx.rows(f"SELECT {_REQUEST_COLUMNS} FROM index_requests WHERE id=?", (request_id,))
        return _request(rows[0]) if rows else None

    def finish_index_request(self, request_id: int, error: str = "") -> None:
        """Mark a queued change made (or refused, with why); its file is dropped from the queue."""
        with self.database.transaction() as tx:
            tx.run("UPDATE index_requests SET done_at=?, error=?, data=? WHERE id=?",
                   (time.time(), error, b"", request_id))


def _request(row: tuple) -> IndexRequest:
    return IndexRequest(int(row[0]), row[1], row[2], row[3], bytes(row[4]), row[5], float(row[6]),
                        None if row[7] is None else float(row[7]), row[8])


def _sentences_json(sentences: tuple[PinnedSentence, ...]) -> str:
    return json.dumps([[s.source_scope, s.source_id, s.text] for s in sentences], ensure_ascii=False)


def _sentences_from(text: str) -> tuple[PinnedSentence, ...]:
    return tuple(PinnedSentence(*row) for row in json.loads(text or "[]"))
