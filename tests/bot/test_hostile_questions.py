"""Property tests: any question text gets an answer or our own clear error, never a crash."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.answering.validation import citation_problems
from bot.errors import QuestionError
from bot.rendering.terminal import render_answer
from tests.conftest import MINI_CORPUS, make_service

PIECES = st.sampled_from(["@everyone", "<@&123>", "\u200b", "\u202e", "مرحبا", "?", "**", "`", "\x00", "\n",
                          "Secure Communities", "2011", "U.S.", "S-Comm", "detainer", " " * 5, "é"])
QUESTIONS = st.lists(st.one_of(PIECES, st.text(max_size=30)), max_size=25).map("".join)


@pytest.fixture(scope="module")
def service(tmp_path_factory, encoder):
    built = make_service(tmp_path_factory.mktemp("hostile"), encoder, [MINI_CORPUS])
    built.build_index()
    return built


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(question=QUESTIONS)
def test_any_question_is_answered_or_refused_clearly(service, question):
    try:
        answer = service.answer(question)
    except QuestionError as error:
        assert "empty" in str(error) or "limit" in str(error)
        return
    assert citation_problems(answer) == []
    assert answer.abstained or answer.citations
    assert render_answer(answer)


def test_oversized_and_empty_questions_are_refused(service):
    with pytest.raises(QuestionError, match="limit is 500"):
        service.answer("why " * 200)
    with pytest.raises(QuestionError, match="empty"):
        service.answer(" \n\t\x00 ")
