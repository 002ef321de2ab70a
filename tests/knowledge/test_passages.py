"""Sentence splitting and passage grouping never cut a sentence and keep positions."""
from __future__ import annotations

from knowledge.passages import split_into_passages
from knowledge.records import Source
from knowledge.sentences import normalise_whitespace, split_sentences


def sentences(text: str) -> list[str]:
    return [text[a:b] for a, b in split_sentences(text)]


def test_abbreviations_initials_and_quotes():
    text = ('Gov. Pat Quinn acted on Aug. 5, 2011. The U.S. Supreme Court did not rule. '
            'H. Michael Steinberg wrote "yes." Then 1,000 more arrived.')
    assert sentences(text) == ["Gov. Pat Quinn acted on Aug. 5, 2011.", "The U.S. Supreme Court did not rule.",
                               'H. Michael Steinberg wrote "yes."', "Then 1,000 more arrived."]


def test_paragraph_breaks_end_sentences_and_whitespace_is_normalised():
    text = normalise_whitespace("A heading\r\n\r\nFirst   sentence here.\nStill the same paragraph.")
    assert sentences(text) == ["A heading", "First sentence here.", "Still the same paragraph."]


def test_lowercase_after_period_does_not_split():
    assert sentences("It rose by 2.5 percent. e.g. this stays.") == ["It rose by 2.5 percent. e.g. this stays."]


def test_passages_hold_whole_sentences_within_the_word_limit():
    body = " ".join(f"Sentence number {i} says something about the program in twelve words." for i in range(40))
    source = Source(id="s", title="T", publisher="P", published="2011", kind="summary", text=body)
    passages = split_into_passages(source, max_words=60)
    assert len(passages) > 5
    assert [p.position for p in passages] == list(range(len(passages)))
    rebuilt = [s for p in passages for s in p.sentences]
    assert rebuilt == sentences(body)
    assert all(len(p.text.split()) <= 60 for p in passages)
    assert all(p.source_id == "s" for p in passages)


def test_a_sentence_longer_than_the_limit_is_kept_whole():
    long_sentence = "Long " + " ".join(["word"] * 200) + "."
    source = Source(id="s", title="T", publisher="P", published="2011", kind="summary",
                    text=f"Short one here. {long_sentence} Last one.")
    passages = split_into_passages(source, max_words=50)
    assert [len(p.sentences) for p in passages] == [1, 1, 1]
    assert passages[1].text == long_sentence
