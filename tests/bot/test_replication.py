"""One builder, many readers: the builder lease, source changes through the queue, and waiting for the builder."""
from __future__ import annotations

import json
import threading
from pathlib import Path

import psycopg
import pytest

from bot.activity import open_store
from bot.errors import IndexUnavailable, SourceRejected
from bot.replication import IndexRole
from bot.settings import SettingsError, load_settings
from tests.cli_runner import run
from tests.conftest import make_service

CLINIC = b"The Springfield clinic explains Secure Communities every Monday at noon.\n"
CLINIC_QUESTION = "When does the Springfield clinic explain Secure Communities?"


def test_one_process_holds_the_builder_lease_until_it_lets_go(postgres_url, tmp_path):
    first, second = (open_store(postgres_url, tmp_path / "unused.sqlite") for _ in range(2))
    a, b = IndexRole("auto", first), IndexRole("auto", second)
    assert a.builds() and a.builds() and not b.builds()
    a.release()
    assert b.builds() and not a.builds()
    b.release()
    # A holder whose session died (a database restart, a network cut) lost the lock with it, and knows it.
    assert a.builds()
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory'")
    assert b.builds() and not a.builds()
    b.release()
    assert IndexRole("never", first).builds() is False and IndexRole("always", first).builds() is True
    assert IndexRole("auto", open_store(None, tmp_path / "a.sqlite")).builds()  # SQLite: each process builds
    with pytest.raises(ValueError, match="must be one of"):
        IndexRole("sometimes", first)


@pytest.fixture
def replicas(postgres_url, tmp_path, encoder, mini_corpus):
    """A builder and a reader over one PostgreSQL database and one index folder, each with its own home."""
    shared = tmp_path / "shared"

    def service(name: str, mode: str, **settings):
        return make_service(tmp_path / name, encoder, [mini_corpus], database_url=postgres_url, index_dir=shared,
                            index_builder=mode, index_poll_seconds=0.1, **settings)
    builder = service("builder", "always")
    builder.build_index()
    reader = service("reader", "never", builder_wait_seconds=60)
    reader.prepare()
    return builder, reader


def test_a_readers_upload_is_built_by_the_builder_and_answered_by_both(replicas):
    builder, reader = replicas
    keeper = builder.index_keeper()
    keeper.start()
    try:
        [source] = reader.add_source("111", "clinic.txt", CLINIC, added_by="ana")
        assert source.id == "clinic"
        # The builder wrote the file into the shared folder and published a generation holding it ...
        assert (builder.settings.uploads_home / "111" / "clinic.txt").read_bytes() == CLINIC
        assert not (reader.settings.home / "sources").exists()  # the reader wrote nothing of its own
        answer = reader.answer(CLINIC_QUESTION, scope="111")
        assert "every Monday at noon" in answer.answer
        builder.wait_for_switch(10)
        assert "every Monday at noon" in builder.answer(CLINIC_QUESTION, "111").answer
        meta = json.loads((builder.settings.uploads_home / "111" / ".clinic.txt.meta.json").read_text())
        assert meta["added_by"] == "ana"
        # ... and removing it through the reader goes the same way.
        reader.remove_source("111", "clinic")
        assert not reader.scope_sources("111")
        assert not (builder.settings.uploads_home / "111" / "clinic.txt").exists()
    finally:
        keeper.stop()


def test_a_change_the_builder_cannot_make_comes_back_as_the_reason(replicas):
    builder, reader = replicas
    request = reader.activity.request_index_change("shared", "add", "x.txt", b"text")  # not a server's scope
    assert builder.apply_index_requests() == 1
    done = reader.activity.index_request(request)
    assert done.done_at is not None and "not a valid server scope" in done.error


def test_with_no_builder_running_the_change_is_reported_queued(replicas, tmp_path, encoder, mini_corpus,
                                                               postgres_url):
    _, reader = replicas
    impatient = make_service(tmp_path / "impatient", encoder, [mini_corpus], database_url=postgres_url,
                             index_dir=tmp_path / "shared", index_builder="never", builder_wait_seconds=0.5)
    impatient.searchable(build_if_missing=False)
    with pytest.raises(IndexUnavailable, match=r"queued \(request \d+\).*has not made it yet"):
        impatient.add_source("111", "clinic.txt", CLINIC)
    with pytest.raises(SourceRejected, match="supported types"):  # checked here, before anything is queued
        impatient.add_source("111", "tool.exe", b"MZ")
    assert [r.name for r in reader.activity.pending_index_requests()] == ["clinic.txt"]


def test_a_reader_waits_for_a_published_index_and_says_so_when_none_comes(tmp_path, encoder, mini_corpus,
                                                                          postgres_url):
    lonely = make_service(tmp_path / "lonely", encoder, [mini_corpus], database_url=postgres_url,
                          index_dir=tmp_path / "empty", index_builder="never", builder_wait_seconds=0.3,
                          index_poll_seconds=0.1)
    with pytest.raises(IndexUnavailable, match="No usable index"):
        lonely.prepare()
    builder = make_service(tmp_path / "late", encoder, [mini_corpus], database_url=postgres_url,
                           index_dir=tmp_path / "empty", index_builder="always")
    threading.Timer(0.5, builder.build_index).start()
    waiting = make_service(tmp_path / "patient", encoder, [mini_corpus], database_url=postgres_url,
                           index_dir=tmp_path / "empty", index_builder="never", builder_wait_seconds=60,
                           index_poll_seconds=0.1)
    assert waiting.prepare() is None and waiting.searchable(build_if_missing=False)[0].stored.passages


def test_shard_settings_are_checked():
    assert load_settings(shard_count=4, shard_ids=[1, 3]).shard_ids == [1, 3]
    with pytest.raises(SettingsError, match=r"CITEBOT_SHARD_IDS: .*need CITEBOT_SHARD_COUNT"):
        load_settings(shard_ids=[0])
    with pytest.raises(SettingsError, match="distinct numbers from 0 to 1"):
        load_settings(shard_count=2, shard_ids=[2])


def test_migrate_sqlite_to_postgres_copies_a_home(tmp_path: Path, encoder, mini_corpus, postgres_url):
    home = tmp_path / "home"
    service = make_service(home, encoder, [mini_corpus])
    service.build_index()
    asked = service.answer_and_record("What is the capital of France?", "111", user_id="7")[1]
    service.activity.vote(asked, "8", helpful=False)
    service.activity.set_setting("111", "private", "true")
    service.activity.audit("111", "7", "ana", "settings", "private=true")
    pin = service.pin("111", "Is France covered?", [], decline=True, pinned_by="ana")

    copied = run(["migrate-sqlite-to-postgres", "--to", postgres_url], home, mini_corpus)
    assert copied.returncode == 0, copied.stderr
    assert "copied 1 questions, 1 votes, 1 guild_settings, 1 audit_log, 1 pins" in copied.stdout
    target = open_store(postgres_url, tmp_path / "unused.sqlite")
    assert target.gaps("111") == service.activity.gaps("111")
    assert target.votes(asked) == (0, 1) and target.settings("111") == {"private": "true"}
    assert target.pins(("111",)) == [pin] and target.audit_entries("111") == service.activity.audit_entries("111")
    assert target.record_question("111", "9", "next", True, "cli") == asked + 1  # ids continue after the copy

    again = run(["migrate-sqlite-to-postgres", "--to", postgres_url], home, mini_corpus)
    assert again.returncode == 2 and "already holds activity" in again.stderr
    missing = run(["migrate-sqlite-to-postgres", "--to", postgres_url], tmp_path / "nowhere", mini_corpus)
    assert missing.returncode == 2 and "no activity database at" in missing.stderr
