"""Answer composition: sentence choice, marker numbering, citation quotes, abstention, statistics."""
from __future__ import annotations

import re

from bot.answering.compose import ABSTAIN_TEXT
from bot.answering.question_types import Wants, classify, holds
from bot.answering.validation import citation_problems


def test_question_types():
    assert classify("How many people were deported?") is Wants.NUMBER
    assert classify("When did Illinois pull out?") is Wants.DATE
    assert classify("Why did Massachusetts refuse?") is Wants.REASON
    assert classify("Which states opted out?") is Wants.ANYTHING
    assert holds(Wants.NUMBER, "About 1 in 4 had been convicted.")
    assert not holds(Wants.NUMBER, "It ended on May 4, 2011.")  # a date is not a count
    assert holds(Wants.DATE, "It ended on May 4, 2011.")
    assert not holds(Wants.DATE, "It ended quickly.")


def test_yes_no_questions_about_duty_or_permission_want_sentences_about_it():
    for question in ("Does my county jail have to honor an ICE detainer?", "Is Secure Communities mandatory?",
                     "Can my state just opt out?", "Is it legal for ICE to hold me past my release?"):
        assert classify(question) is Wants.OBLIGATION, question
    # Yes/no questions about what happened, and open questions, are not about duty or permission.
    for question in ("Did Illinois opt out of Secure Communities?", "Which states have to share fingerprints?",
                     "Does Secure Communities check fingerprints?"):
        assert classify(question) is not Wants.OBLIGATION, question
    assert holds(Wants.OBLIGATION, "Local agencies have no legal obligation to honor ICE detainers.")
    assert holds(Wants.OBLIGATION, "ICE detainers are requests, not orders.")
    assert not holds(Wants.OBLIGATION, "Cook County passed an ordinance on September 7, 2011.")


def test_answer_quotes_sentences_with_markers_and_citations(mini_service):
    answer = mini_service.answer("How long can a jail hold someone on an ICE detainer?")
    assert not answer.abstained
    assert "48 hours" in answer.answer
    assert answer.answer.rstrip().endswith("]")
    assert citation_problems(answer) == []
    first = answer.citations[0]
    assert (first.n, first.source_id, first.publisher, first.published, first.kind) == (
        1, "mini-detainers", "Example Legal Aid", "2013-09", "summary")
    assert "48 hours" in first.quote
    assert len(answer.answer.split("[")) - 1 <= 4  # at most four sentences


def test_statistics_rows_answer_with_their_as_of_date(mini_service):
    answer = mini_service.answer("How many US citizens were arrested through Secure Communities?")
    assert not answer.abstained
    assert "3,600" in answer.answer and "as of 2011-10" in answer.answer
    cited = {c.source_id: c for c in answer.citations}
    assert cited["mini-citizens"].kind == "statistic"
    assert cited["mini-citizens"].publisher == "Warren Institute"


def test_off_topic_question_abstains_with_related_sources(mini_service):
    answer = mini_service.answer("What is the capital of France?")
    assert answer.abstained and answer.answer == ABSTAIN_TEXT
    assert answer.citations == () and 1 <= len(answer.related) <= 3
    assert [r.n for r in answer.related] == list(range(1, len(answer.related) + 1))
    assert citation_problems(answer) == []


def test_question_about_a_place_the_sources_never_mention_abstains(mini_service):
    answer = mini_service.answer("How many people from Worcester were deported through Secure Communities?")
    assert answer.abstained, answer.answer


def test_markers_are_numbered_by_first_use_across_sources(mini_service):
    import re
    from dataclasses import replace

    from bot.answering.compose import Composer

    search, composer = mini_service.searchable()
    take_four = replace(composer.scorer, answer_threshold=0.0, extra_threshold=0.0)  # quote four sentences
    composer = Composer(search, take_four, composer.config)
    answer = composer.compose(search.search("What happened with ICE detainers in Cook County and Illinois in 2011?"))
    assert not answer.abstained and len(answer.citations) >= 2
    numbers = [int(n) for n in re.findall(r"\[(\d+)\]", answer.answer)]
    assert len(numbers) == 4
    first_use = list(dict.fromkeys(numbers))
    assert first_use == list(range(1, len(first_use) + 1)) == [c.n for c in answer.citations]
    assert citation_problems(answer) == []
    for citation in answer.citations:  # each quote holds exactly the sentences taken from that source
        taken = re.findall(rf"([^\]]+?) \[{citation.n}\]", answer.answer)
        assert citation.quote == " ".join(t.strip() for t in taken)


def test_citation_validator_catches_broken_answers(mini_service):
    from dataclasses import replace

    answer = mini_service.answer("How long can a jail hold someone on an ICE detainer?")
    renumbered = replace(answer, answer=answer.answer.replace("[1]", "[2]"))
    assert citation_problems(renumbered)
    altered = replace(answer, answer=answer.answer.replace("48", "72"))
    assert any("not a quote" in p for p in citation_problems(altered))
    trailing = replace(answer, answer=answer.answer + " And something unsourced.")
    assert any("after the last marker" in p for p in citation_problems(trailing))


def test_a_must_question_is_answered_with_sentences_about_the_duty(bundled_service):
    """Without the duty bonus the starter corpus answers this with what counties did, not what jails must do."""
    answer = bundled_service.answer("Does my county jail have to honor an ICE detainer?")
    assert not answer.abstained
    assert re.search(r"\brequests?\b|no legal obligation", answer.answer), answer.answer
