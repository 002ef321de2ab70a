"""Spanish questions: answered from the multilingual index, in Spanish, with the same citation promises."""
from __future__ import annotations

from knowledge.languages import ENGLISH, SPANISH


def test_spanish_questions_are_answered_from_spanish_summaries_where_they_exist(bundled_service):
    answer = bundled_service.answer("¿Cuándo terminó Comunidades Seguras y quién lo terminó?")
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
    answer = bundled_service.answer("¿Cuál es el mejor abogado de inmigración en Boston para mi primo?")
    assert answer.abstained and answer.language == SPANISH
    assert answer.answer.startswith("Las fuentes que tengo no responden")
