"""The labelled examples calibration learns from: every candidate the engine gathers for a question, labelled."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from bot.answering.examples import ExampleMemory
from bot.answering.features import FEATURES, Candidate, gather
from bot.evaluation import Question, contains_all, is_named_sentence
from bot.service import KnowledgeService, clean_question
from knowledge.languages import ENGLISH, detect_language


@dataclass(frozen=True)
class Examples:
    """One question's candidates, their features and labels (1 named, 0 not, -1 left out)."""

    question: Question
    candidates: list[Candidate]
    features: np.ndarray
    labels: np.ndarray
    query_vector: np.ndarray


def label(question: Question, candidate: Candidate) -> int:
    """1 for a sentence the question set names, -1 for an unnamed one holding the whole answer, else 0.

    Question writers name sentences of the English sources; for a question in another language, an unnamed
    sentence in that language holding the whole answer is an answer too (it is what members should read).
    """
    if not question.answerable:
        return 0
    if is_named_sentence(candidate.text, candidate.hit.source.id, candidate.position, question.answer_sentences):
        return 1
    if not (question.must_contain and contains_all(candidate.text, question.must_contain)):
        return 0
    language = candidate.hit.source.language
    return 1 if language != ENGLISH and language == detect_language(question.question) else -1


def collect(service: KnowledgeService, questions: list[Question], memory: ExampleMemory | None,
            leave_one_out: bool = False, language: str = ENGLISH) -> list[Examples]:
    """Gather candidates and labels for every question, as the answer path would see them.

    With leave_one_out, each question is answered with the example memory minus itself (the train split
    is both the memory and what the weights are fitted on). With no memory, as on a corpus without examples.
    `language` chooses the index the questions are answered from (English, or the multilingual one).
    """
    search, composer = service.searchable_in(language)
    config = composer.config
    out = []
    for q in questions:
        result = service.retrieve(search, clean_question(q.question, service.settings.max_question_chars))
        support = (memory.support(result.query_vector, leave_out=q.id if leave_one_out else None)
                   if memory is not None else None)
        candidates = gather(search, result, config.candidate_passages, config.min_sentence_words, support,
                            composer.facts)
        matrix = np.stack([c.features for c in candidates]) if candidates else np.zeros((0, len(FEATURES)))
        out.append(Examples(q, candidates, matrix, np.array([label(q, c) for c in candidates], dtype=int),
                            result.query_vector))
    return out


def folds_of(examples: list[Examples], folds: int) -> list[int]:
    """Each example's fold, by question id: a question gathered twice (with and without examples) stays in one."""
    return [int(hashlib.sha256(ex.question.id.encode()).hexdigest(), 16) % folds for ex in examples]
