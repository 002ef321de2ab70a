"""Concurrency: answers during a rebuild see one whole index; two servers' changes are both kept."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from tests.conftest import make_service

QUESTION = "How long can a jail hold someone on an ICE detainer?"


def test_answers_during_rebuilds_see_the_old_or_the_new_index_never_a_mix(tmp_path, encoder, mini_corpus):
    service = make_service(tmp_path / "home", encoder, [mini_corpus])
    service.build_index()
    article = mini_corpus / "articles" / "detainers.md"
    figures = mini_corpus / "statistics" / "figures.csv"
    original_article, original_figures = article.read_text(), figures.read_text()
    stop = threading.Event()
    seen: list[tuple[str, ...]] = []

    def ask_repeatedly() -> None:
        while not stop.is_set():
            answer = service.answer(QUESTION)
            seen.append(tuple(p.text for p in answer.passages))

    with ThreadPoolExecutor(max_workers=2) as pool:
        askers = [pool.submit(ask_repeatedly) for _ in range(2)]
        for version in range(4):
            # Two files change together: a reader must never see one changed and the other not.
            article.write_text(original_article.replace("48 hours", f"{48 + version + 1} hours"))
            figures.write_text(original_figures.replace("about 3,600", f"about {3600 + version + 1}"))
            service.build_index()
        stop.set()
        for asker in askers:
            asker.result()

    assert len(seen) > 4
    for passages in seen:
        text = " ".join(passages)
        hours = {v for v in range(48, 53) if f"{v} hours" in text}
        figures_seen = {v for v in range(3600, 3605) if f"about {v:,}" in text or f"about {v}" in text}
        assert len(hours) <= 1 and len(figures_seen) <= 1
        if hours and figures_seen:  # both files' versions come from the same build
            assert hours.pop() - 48 == figures_seen.pop() - 3600


def test_two_servers_adding_sources_at_once_are_both_kept(tmp_path, encoder, mini_corpus):
    service = make_service(tmp_path / "home", encoder, [mini_corpus])
    service.build_index()
    barrier = threading.Barrier(2)

    def add(scope: str, town: str) -> None:
        barrier.wait()
        body = f"The {town} food bank answers questions about Secure Communities every Tuesday.".encode()
        service.add_source(scope, f"{town.lower()}-notes.txt", body, added_by=f"organizer-{scope}")

    with ThreadPoolExecutor(max_workers=2) as pool:
        for future in [pool.submit(add, "111", "Springfield"), pool.submit(add, "222", "Shelbyville")]:
            future.result()

    ids_111 = {s.id for s in service.sources("111")}
    ids_222 = {s.id for s in service.sources("222")}
    assert "springfield-notes" in ids_111 and "shelbyville-notes" not in ids_111
    assert "shelbyville-notes" in ids_222 and "springfield-notes" not in ids_222
    answer = service.answer("When does the Springfield food bank answer questions?", scope="111")
    assert not answer.abstained and "Tuesday" in answer.answer
    elsewhere = service.answer("When does the Springfield food bank answer questions?", scope="222")
    assert "springfield-notes" not in {p.source_id for p in elsewhere.passages}
    assert "Springfield" not in elsewhere.answer
    shared_only = service.answer("When does the Springfield food bank answer questions?")
    assert {p.source_id for p in shared_only.passages}.isdisjoint({"springfield-notes", "shelbyville-notes"})
    added = next(s for s in service.sources("111") if s.id == "springfield-notes")
    assert added.added_by == "organizer-111"


def test_an_upload_reusing_another_files_id_is_refused(tmp_path, encoder, mini_corpus):
    import pytest

    from bot.errors import SourceRejected

    service = make_service(tmp_path / "home", encoder, [mini_corpus])
    service.build_index()
    body = b"---\nid: local-guide\ntitle: Local guide\n---\nThe local clinic explains Secure Communities on Mondays."
    service.add_source("111", "guide.md", body)
    with pytest.raises(SourceRejected, match="already has in this server"):
        service.add_source("111", "other-guide.md", body)
    service.add_source("111", "guide.md", body.replace(b"Mondays", b"Fridays"))  # replacing the same file is fine
    search, _ = service.searchable()
    [hit] = [h for h in search.search("local clinic", scope="111").hits if h.source.id == "local-guide"]
    assert "Fridays" in hit.record.passage.text and "Mondays" not in hit.record.passage.text  # the new version


def test_upload_metadata_is_kept_beside_the_original_file(tmp_path, encoder, mini_corpus):
    from knowledge.readers import SourceDefaults

    service = make_service(tmp_path / "home", encoder, [mini_corpus])
    service.build_index()
    body = b"The county hotline explains Secure Communities holds every Wednesday."
    defaults = SourceDefaults(publisher="example.org", url="https://example.org/hotline", scope="111",
                              added_by="ana")
    service.add_source("111", "hotline.txt", body, added_by="ana", defaults=defaults)
    stored = service.settings.uploads_home / "111" / "hotline.txt"
    assert stored.read_bytes() == body  # the original file, untouched
    service.build_index(rebuild=True)  # metadata survives a rebuild from the files
    source = next(s for s in service.scope_sources("111") if s.id == "hotline")
    assert (source.publisher, source.url, source.added_by) == ("example.org", "https://example.org/hotline", "ana")
    service.remove_source("111", "hotline")
    assert not list(stored.parent.iterdir())  # the file and its metadata are gone


def test_a_running_service_switches_to_an_index_another_process_built(tmp_path, encoder, mini_corpus, caplog):
    """`citebot index` (here a second service on the same home) updates the index a running bot answers from."""
    import logging

    serving = make_service(tmp_path / "home", encoder, [mini_corpus])
    serving.build_index()
    assert "48 hours" in serving.answer(QUESTION).answer
    article = mini_corpus / "articles" / "detainers.md"
    article.write_text(article.read_text().replace("48 hours", "72 hours"))
    make_service(tmp_path / "home", encoder, [mini_corpus]).build_index()
    with caplog.at_level(logging.INFO, logger="bot.service"):
        # The question that notices the new index is answered at once, from the index already loaded;
        # the new one is loaded in the background and answers the questions after it.
        assert "48 hours" in serving.answer(QUESTION).answer
        serving.wait_for_switch(timeout=60)
        assert "72 hours" in serving.answer(QUESTION).answer
    assert any("built by another process" in r.getMessage() for r in caplog.records)


def test_a_damaged_newer_index_is_skipped_and_the_loaded_one_kept(tmp_path, encoder, mini_corpus, caplog):
    import logging

    serving = make_service(tmp_path / "home", encoder, [mini_corpus])
    serving.build_index()
    article = mini_corpus / "articles" / "detainers.md"
    article.write_text(article.read_text().replace("48 hours", "72 hours"))
    other = make_service(tmp_path / "home", encoder, [mini_corpus])
    other.build_index()
    newer = other.store.current_generation()
    (newer / "vectors.npy").write_bytes(b"garbled")
    with caplog.at_level(logging.WARNING, logger="bot.service"):
        for _ in range(3):
            assert "48 hours" in serving.answer(QUESTION).answer  # still the loaded index, not an error
            serving.wait_for_switch(timeout=60)
    warnings = [r for r in caplog.records if "cannot be used" in r.getMessage()]
    assert len(warnings) == 1  # logged once, not retried on every question
