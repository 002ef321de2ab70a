"""Spanish questions: answered from the multilingual index, in Spanish, with the same citation promises.

The questions are from the Spanish train split (example questions the answers draw on): these tests check
the languages, indexes and citations; how well unseen questions are answered is measured in bench/.
"""
from __future__ import annotations

import pytest

from knowledge.languages import ENGLISH, SPANISH

pytestmark = pytest.mark.corpus  # checks what the bundled corpus says


def test_spanish_questions_are_answered_from_spanish_summaries_where_they_exist(bundled_service):
    answer = bundled_service.answer("¿Cuándo terminó el programa Comunidades Seguras?")
    assert answer.language == SPANISH and not answer.abstained
    assert "2014" in answer.answer
    sources = bundled_service.all_sources()
    for text, source_id, _ in answer.quoted:
        source = next(s for s in sources.values() if s.id == source_id)
        assert " ".join(text.split()) in " ".join(source.text.split())
    languages = {c.language for c in answer.citations}
    assert SPANISH in languages  # a Spanish summary answers this one
    assert answer.to_json()["language"] == SPANISH


def test_an_english_question_never_quotes_a_spanish_source(bundled_service):
    answer = bundled_service.answer("When did Secure Communities end?")
    assert answer.language == ENGLISH and not answer.abstained
    assert {c.language for c in answer.citations} == {ENGLISH}
    search, _ = bundled_service.searchable()
    assert all(s.language == ENGLISH for s in search.stored.sources.values())  # the English index holds none


def test_the_members_language_decides_only_when_the_question_does_not_tell(bundled_service):
    assert bundled_service.question_language("S-Comm 2014?", SPANISH) == SPANISH
    assert bundled_service.question_language("what is a detainer?", SPANISH) == ENGLISH
    assert bundled_service.question_language("¿qué es un detainer?", ENGLISH) == SPANISH


def test_a_spanish_question_no_source_answers_is_declined_in_spanish(bundled_service):
    answer = bundled_service.answer("¿La Corte Suprema de EE.UU. decidió algún caso sobre Comunidades Seguras?")
    assert answer.abstained and answer.language == SPANISH
    assert answer.answer.startswith("Las fuentes que tengo no responden")


UPLOAD = b"""---
title: "Harbor County jail booking policy"
publisher: Harbor County Sheriff
published: 2012-03-01
---
The Harbor County jail sends the fingerprints of every person it books to the state police within two hours.
Harbor County deputies do not ask anyone about immigration status during a traffic stop.
"""


def test_an_organizers_english_upload_is_found_by_a_spanish_question_in_that_server_only(tmp_path, encoder,
                                                                                          mini_corpus):
    from tests.conftest import make_service

    service = make_service(tmp_path / "home", encoder, [mini_corpus])
    service.build_index()
    [source] = service.add_source("guild-7", "harbor.md", UPLOAD, added_by="organizer")
    assert source.language == ENGLISH  # detected from the text: the upload has no language field
    search, _ = service.searchable_in(SPANISH)
    question = "¿La cárcel del condado de Harbor manda las huellas a la policía estatal?"
    found = [h.source.id for h in service.retrieve(search, question, "guild-7").hits]
    assert found[0] == source.id
    assert source.id not in [h.source.id for h in service.retrieve(search, question, "guild-8").hits]
    # The English index has it too, for English questions in that server.
    english, _ = service.searchable()
    assert f"guild-7/{source.id}" in english.stored.sources
