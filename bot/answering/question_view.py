"""What the answer features need to know about a question, worked out once: its weighted words and its kind."""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bot.answering.question_terms import accepted_forms, names_and_numbers, question_terms
from bot.answering.question_types import Wants, classify
from bot.answering.sentence_facts import YEAR
from embeddings.search import SearchIndex
from embeddings.spelling import NAME_MIN_LENGTH
from knowledge.languages import FUNCTION_WORDS, SPANISH, detect_language

_DEFINITION_QUESTION = re.compile(r"^\s*(what|who)(\s+(is|are|was|were)|'s|’s)\b|\bwhat does .+ mean\b|\bmeaning of\b"
                                  r"|\bdefin", re.I)
RARE_SHARE = 0.02  # a word in at most this share of passages is rare: it says what a question is specifically about


@dataclass(frozen=True)
class QuestionView:
    """What the features need to know about the question, worked out once."""

    wants: Wants
    weights: dict[str, float]  # idf of each question word; an unknown word weighs as much as a typical known one
    unknown: tuple[str, ...]
    rare: dict[str, float]
    names: frozenset[str]
    years: frozenset[str]
    definition: bool
    terms: frozenset[str]
    forms: dict[str, frozenset[str]]  # each question word and the words that report the same thing


def coverage(weights: dict[str, float], forms: dict[str, frozenset[str]],
             token_sets: Sequence[frozenset[str]]) -> np.ndarray:
    """Share of the question's word weight present in each token set (a related word counts too)."""
    total = sum(weights.values())
    out = np.zeros(len(token_sets))
    if not total:
        return out
    for term, weight in weights.items():  # one question word at a time over every token set
        accepted = forms[term]
        out += weight * np.fromiter((not accepted.isdisjoint(t) for t in token_sets), bool, len(token_sets))
    return out / total


def view_question(index: SearchIndex, question: str) -> QuestionView:
    """Split the question's words into known, rare and unknown, and note what kind of answer it wants."""
    bm25 = index.bm25
    # A Spanish question's function words ("que", "los", "cuando") say nothing about what it asks.
    ignore = FUNCTION_WORDS[SPANISH] if detect_language(question) == SPANISH else frozenset()
    terms = [index.spelling.correct(t) for t in question_terms(question, ignore)]
    known = {t: bm25.idf_of(t) for t in terms if t in bm25.vocabulary}
    unknown = tuple(t for t in terms if t not in bm25.vocabulary)
    # A word the corpus never uses is as often a synonym as a missing topic: it counts, at a typical weight.
    typical = float(np.median(list(known.values()))) if known else 1.0
    weights = {**known, **dict.fromkeys(unknown, typical)}
    rare = {t: w for t, w in known.items() if (bm25.share_of_documents(t) or 0.0) <= RARE_SHARE}
    names = frozenset(index.spelling.correct(t, NAME_MIN_LENGTH) for t in names_and_numbers(question))
    return QuestionView(classify(question), weights, unknown, rare, names, frozenset(YEAR.findall(question)),
                        bool(_DEFINITION_QUESTION.search(question)), frozenset(terms),
                        {t: accepted_forms(t) for t in weights})
