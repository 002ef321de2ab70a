"""What the issues promise on the bundled starter corpus, checked with the real model and index."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.answering.validation import citation_problems
from bot.evaluation import evaluate, read_question_set

pytestmark = pytest.mark.corpus  # checks what the bundled corpus says

DEV = Path(__file__).parents[1] / "data" / "dev.jsonl"


def test_which_states_opted_out_names_them_and_cites_the_seed_article(bundled_service):
    answer = bundled_service.answer("which states opted out?")
    assert not answer.abstained
    assert "Illinois" in answer.answer and "New York" in answer.answer
    seed = [c for c in answer.citations if c.source_id == "wgbh-2011-06-06-mass-wont-participate"]
    assert seed and seed[0].published == "2011-06-06" and seed[0].publisher == "WGBH News"
    assert citation_problems(answer) == []


def test_capital_of_france_abstains(bundled_service):
    answer = bundled_service.answer("what is the capital of France?")
    assert answer.abstained and answer.citations == () and answer.related


def test_dev_questions_meet_the_bar(bundled_service):
    """The first question set, held out from the scorer's fitting: judged as a set, never question by question."""
    report = evaluate(bundled_service, read_question_set(DEV))
    wrong = [(row["id"], row["answer"]) for row in report["per_question"] if row["answerable"] and not row["correct"]]
    # 18 answerable questions, one of them 0.056: the scorer is chosen on the validation split, never on these,
    # and the figure itself (0.889 for the scorer of 2026-12-03) is reported in bench/RESULTS.md.
    assert report["answer_accuracy"] >= 0.85, wrong
    assert report["citation_validity"] == 1.0
    assert report["abstention_accuracy"] == 1.0


def test_sources_that_disagree_are_each_cited(bundled_service):
    answer = bundled_service.answer(
        "How many New York counties were deactivated when the state suspended Secure Communities?")
    assert "31" in answer.answer and "24" in answer.answer
    cited_for = {n: {c.n for c in answer.citations if figure in c.quote} for n, figure in (("31", "31"), ("24", "24"))}
    assert cited_for["31"] and cited_for["24"]
    assert len(answer.citations) >= 2


def test_every_answer_shows_dates_and_at_most_four_sentences(bundled_service):
    """Over the dev questions: whatever is answered quotes at most four sentences, each citation dated."""
    answers = [bundled_service.answer(q.question) for q in read_question_set(DEV)]
    given = [a for a in answers if not a.abstained]
    assert len(given) >= 15, [a.question for a in answers if a.abstained]
    for answer in given:
        assert 1 <= len(re.findall(r"\[\d+\]", answer.answer)) <= 4, answer.answer
        assert all(c.published for c in answer.citations), answer.question


def test_statistics_query_lists_deportation_figures(bundled_service):
    rows = bundled_service.statistics("deport")
    assert len(rows) >= 5
    assert all("deport" in " ".join((r.statistic, r.scope, r.note, r.value)).lower() for r in rows)
    assert any("1 in 4" in r.value for r in rows)
