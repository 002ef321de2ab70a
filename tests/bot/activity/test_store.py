"""The activity store holds the same records, the same way, on SQLite and on a real PostgreSQL."""
from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bot.activity import ActivityStore, ActivityStoreError, PinnedSentence, ScopeActivity, open_store
from bot.activity.migrations import LATEST_VERSION, schema_version

SENTENCE = PinnedSentence("shared", "wgbh-2011", "Massachusetts tried to opt out.")


def test_questions_votes_and_gaps(store: ActivityStore) -> None:
    answered = store.record_question("g1", "u1", "What is a detainer?", False, "discord", "A hold request.",
                                     (SENTENCE,))
    declined = store.record_question("g1", "u2", "  what is a detainer? ", True, "discord")
    store.record_question("g2", "u3", "Other server", True, "discord")
    assert store.vote(answered, "u9", helpful=False) and not store.vote(answered, "u9", helpful=True)
    assert store.votes(answered) == (0, 1) and store.votes(declined) == (0, 0)
    [gap] = store.gaps("g1")  # the two wordings are one gap, with the newest answer it got
    assert (gap.question, gap.times, gap.abstained, gap.unhelpful) == ("what is a detainer?", 2, 1, 1)
    assert gap.answer == ""  # the newest was declined
    assert store.answered(answered) == ("g1", "What is a detainer?", (SENTENCE,))
    assert store.answered(10_000) is None


def test_suggestions_need_enough_helpful_votes_and_none_against(store: ActivityStore) -> None:
    liked = store.record_question("g1", "u1", "Which states opted out?", False, "discord", "Three.", (SENTENCE,))
    disputed = store.record_question("g1", "u1", "When did it end?", False, "discord", "2014.", (SENTENCE,))
    for voter in ("a", "b", "c"):
        store.vote(liked, voter, True)
        store.vote(disputed, voter, True)
    store.vote(disputed, "d", False)
    [suggestion] = store.suggestions("g1")
    assert (suggestion.question_id, suggestion.helpful, suggestion.quoted) == (liked, 3, (SENTENCE,))


def test_pins_settings_audit_and_forgetting_a_server(store: ActivityStore) -> None:
    first = store.add_pin("g1", "What is it?", (SENTENCE,), False, "ana")
    store.add_pin("g2", "Other", (), True, "bo")
    assert [p.id for p in store.pins(("g1",))] == [first.id] and len(store.pins()) == 2
    assert store.pins(()) == []
    assert store.pins(("g1",))[0] == first
    assert not store.remove_pin("g2", first.id) and store.remove_pin("g1", first.id)
    store.set_setting("g1", "private", "true")
    store.set_setting("g1", "private", "false")  # an upsert: one row, the newest value
    assert store.settings("g1") == {"private": "false"}
    store.audit("g1", "7", "ana", "upload", "a.txt")
    store.audit("g1", "7", "ana", "remove", "a.txt")
    assert [e.action for e in store.audit_entries("g1")] == ["remove", "upload"]
    asked = store.record_question("g1", "u1", "q", True, "cli")
    store.vote(asked, "u2", False)
    store.add_pin("g1", "kept until forgotten", (), True, "ana")
    assert store.scope_counts("g1") == ScopeActivity(questions=1, votes=1, settings=1, audit_entries=2, pins=1)
    assert store.forget_scope("g1") == ScopeActivity(1, 1, 1, 2, 1)
    assert store.scope_counts("g1") == ScopeActivity(0, 0, 0, 0, 0)
    assert len(store.pins(("g2",))) == 1  # another server's records are untouched


def test_index_requests_queue_files_for_the_builder(store: ActivityStore) -> None:
    data = bytes(range(256)) * 4  # binary content survives the round trip
    first = store.request_index_change("g1", "add", "notes.pdf", data, '{"added_by": "7"}')
    second = store.request_index_change("g1", "remove", "old.txt")
    assert [r.id for r in store.pending_index_requests()] == [first, second]
    request = store.index_request(first)
    assert (request.action, request.name, request.data, request.done_at) == ("add", "notes.pdf", data, None)
    store.finish_index_request(first)
    store.finish_index_request(second, error="no such source")
    assert store.pending_index_requests() == []
    done = store.index_request(first)
    assert done.done_at is not None and done.data == b"" and done.error == ""
    assert store.index_request(second).error == "no such source"
    with pytest.raises(ValueError, match="unknown index action"):
        store.request_index_change("g1", "rename")


def test_migrations_are_applied_once(database_url: str | None, tmp_path: Path) -> None:
    first = open_store(database_url, tmp_path / "activity.sqlite")
    assert first.migrations_applied == list(range(1, LATEST_VERSION + 1))
    again = open_store(database_url, tmp_path / "activity.sqlite")
    assert again.migrations_applied == [] and schema_version(again.database) == LATEST_VERSION
    first.close()
    again.close()


def test_a_database_migrated_by_a_newer_citebot_is_refused(store: ActivityStore, database_url: str | None,
                                                           tmp_path: Path) -> None:
    with store.database.transaction() as tx:
        tx.run("INSERT INTO schema_migrations (version, applied_at, about) VALUES (?,?,?)",
               (LATEST_VERSION + 1, 0.0, "from the future"))
    with pytest.raises(ActivityStoreError, match=r"newer than this citebot knows.*upgrade citebot"):
        open_store(database_url, tmp_path / "activity.sqlite")


def test_a_first_release_sqlite_file_is_migrated_with_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "activity.sqlite"
    with sqlite3.connect(path) as db:  # the first release's tables: no answers, no schema_migrations
        db.executescript("""
            CREATE TABLE questions (id INTEGER PRIMARY KEY AUTOINCREMENT, asked_at REAL NOT NULL,
                scope TEXT NOT NULL, user_id TEXT NOT NULL, question TEXT NOT NULL, abstained INTEGER NOT NULL,
                surface TEXT NOT NULL);
            CREATE TABLE votes (question_id INTEGER NOT NULL REFERENCES questions(id), user_id TEXT NOT NULL,
                helpful INTEGER NOT NULL, voted_at REAL NOT NULL, PRIMARY KEY (question_id, user_id));
            INSERT INTO questions (asked_at, scope, user_id, question, abstained, surface)
                VALUES (1.0, 'g1', 'u1', 'old question', 1, 'discord');""")
    db.close()
    store = open_store(None, path)
    assert store.migrations_applied == list(range(1, LATEST_VERSION + 1))
    [gap] = store.gaps("g1")
    assert gap.question == "old question" and gap.answer == ""
    assert store.record_question("g1", "u2", "new", False, "cli", "an answer") == 2


def test_a_wrong_database_url_is_explained(tmp_path: Path) -> None:
    with pytest.raises(ActivityStoreError, match="must start with postgresql://"):
        open_store("mysql://localhost/citebot", tmp_path / "a.sqlite")
    with pytest.raises(ActivityStoreError, match=r"cannot be reached.*CITEBOT_DATABASE_URL") as caught:
        open_store("postgresql://citebot:s3cret@127.0.0.1:1/none", tmp_path / "a.sqlite")
    assert "s3cret" not in str(caught.value) and "citebot:***@" in str(caught.value)


def test_two_processes_writing_at_once_lose_nothing(database_url: str | None, tmp_path: Path,
                                                    store: ActivityStore) -> None:
    rounds = 60
    ids = [store.record_question("guild", "asker", f"q{n}", False, "test") for n in range(7)]
    writers = [subprocess.Popen([sys.executable, "-m", "tests.bot.activity.concurrent_writer", database_url or "",
                                 str(tmp_path / "activity.sqlite"), name, str(rounds), ",".join(map(str, ids))],
                                cwd=Path(__file__).parents[3]) for name in ("one", "two")]
    assert [w.wait(timeout=240) for w in writers] == [0, 0]
    votes = [sum(store.votes(i)) for i in ids]
    assert sum(votes) == 2 * rounds
    pins = store.pins(("guild",))
    assert sorted(p.question for p in pins) == sorted(f"{w} question {n}" for w in ("one", "two")
                                                      for n in range(rounds))
    settings = store.settings("guild")
    assert {k: v for k, v in settings.items() if k != "shared-key"} == {
        f"{w}-key-{k}": str(max(n for n in range(rounds) if n % 5 == k)) for w in ("one", "two") for k in range(5)}
    assert settings["shared-key"] in ("one", "two")
    counts = store.scope_counts("guild")
    assert (counts.questions, counts.audit_entries) == (7 + 2 * rounds, 2 * rounds)
