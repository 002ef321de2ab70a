"""Example questions: labelled questions kept with a corpus, and which of its sentences answered them.

A new question that means the same as an example (the bundled model was trained heavily on paraphrase and
duplicate-question pairs, so question-to-question similarity is what it does best) is evidence for the
sentences that answered the example, and, for an example no source answers, evidence for declining. These
are two features of the answer scorer, weighed by what the train split shows, not rules.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bot.evaluation import Question, is_named_sentence
from embeddings.index_store import StoredIndex
from embeddings.search import SearchIndex
from knowledge.corpus_loader import BUNDLED_CORPUS
from knowledge.records import STATISTIC_KIND

# The bundled corpus's train and validation splits (the scorer is fitted on train with train as the memory,
# and chosen on validation; once chosen, validation's questions join the memory). Test stays out: it measures.
BUNDLED_QUESTIONS = BUNDLED_CORPUS / "questions"
BUNDLED_EXAMPLES = (BUNDLED_QUESTIONS / "train.jsonl", BUNDLED_QUESTIONS / "validation.jsonl")


def _collapse(text: str) -> str:
    return " ".join(text.lower().split())


@dataclass(frozen=True)
class Support:
    """What the examples say about one question: per sentence key, the closest example it answered."""

    answered: dict[tuple[int, int], float]  # (passage row, position) -> cosine to the closest example it answered
    declined: float  # cosine to the closest example that no source answers
    nearest: float  # cosine to the closest example of either kind
    available: bool = True  # False when there are no examples to compare with


NO_SUPPORT = Support({}, 0.0, 0.0, available=False)


class ExampleMemory:
    """Example question vectors and, for each, the stored sentences that answer it."""

    def __init__(self, questions: Sequence[Question], vectors: np.ndarray, index: StoredIndex) -> None:
        self.questions = tuple(questions)
        self.vectors = vectors.astype(np.float32) if len(questions) else np.zeros((0, 1), np.float32)
        self.answerable = np.array([q.answerable for q in questions], dtype=bool)
        sentences: dict[str, list[tuple[int, int, str]]] = {}
        statistic_rows: dict[str, int] = {}
        for record in index.passages:
            source = index.sources[record.source_key]
            if source.kind == STATISTIC_KIND:
                statistic_rows[source.id] = record.row
                continue
            for position, sentence in enumerate(record.passage.sentences):
                sentences.setdefault(_collapse(sentence), []).append((record.row, position, source.id))
        self.answers = [self._locate(q, sentences, statistic_rows) for q in questions]

    @classmethod
    def build(cls, questions: Sequence[Question], search: SearchIndex) -> "ExampleMemory":
        """Encode the examples' questions with the index's encoder."""
        texts = [q.question for q in questions]
        vectors = search.encoder.encode_queries(texts) if texts else np.zeros((0, 1), np.float32)
        return cls(questions, vectors, search.stored)

    @staticmethod
    def _locate(question: Question, sentences: dict[str, list[tuple[int, int, str]]],
                statistic_rows: dict[str, int]) -> frozenset[tuple[int, int]]:
        """(passage row, position) of every stored sentence the question names as an answer."""
        if not question.answerable:
            return frozenset()
        found: set[tuple[int, int]] = set()
        for named in question.answer_sentences:
            if named.startswith("stat:"):
                if named[5:] in statistic_rows:
                    found.add((statistic_rows[named[5:]], 0))
                continue
            exact = sentences.get(_collapse(named))
            if exact:
                found.update((row, position) for row, position, _ in exact)
                continue
            # The corpus splitter may cut the sentence differently from the question's writer.
            for key, candidates in sentences.items():
                for row, position, source_id in candidates:
                    if is_named_sentence(key, source_id, position, (named,)):
                        found.add((row, position))
        return frozenset(found)

    def support(self, query_vector: np.ndarray, leave_out: str | None = None) -> Support:
        """The examples' evidence for a question (leaving one example out, when fitting on the examples)."""
        if not self.questions:
            return NO_SUPPORT
        cosines = self.vectors @ query_vector
        if leave_out is not None:
            cosines = np.where([q.id == leave_out for q in self.questions], -1.0, cosines)
        answered: dict[tuple[int, int], float] = {}
        for i in np.flatnonzero(self.answerable):
            for key in self.answers[i]:
                if cosines[i] > answered.get(key, -1.0):
                    answered[key] = float(cosines[i])
        unanswerable = cosines[~self.answerable]
        return Support(answered, float(unanswerable.max()) if len(unanswerable) else 0.0, float(cosines.max()))
