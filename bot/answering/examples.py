"""Example questions: labelled questions kept with a corpus, and which of its sentences answered them.

A new question that means the same as an example (the bundled model was trained heavily on paraphrase and
duplicate-question pairs, so question-to-question similarity is what it does best) is evidence for the
sentences that answered the example, and, for an example no source answers, evidence for declining. These
are two features of the answer scorer, weighed by what the train split shows, not rules.
"""
from __future__ import annotations

import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bot.evaluation import Question, collapse, is_named_sentence
from embeddings.atomic import write_bytes_atomic
from embeddings.generation import StoredIndex
from embeddings.search import SearchIndex
from knowledge.corpus_loader import BUNDLED_CORPUS
from knowledge.records import STATISTIC_KIND

# The bundled corpus's train and validation splits (the scorer is fitted on train with train as the memory,
# and chosen on validation; once chosen, validation's questions join the memory). Test stays out: it measures.
BUNDLED_QUESTIONS = BUNDLED_CORPUS / "questions"
BUNDLED_EXAMPLES = (BUNDLED_QUESTIONS / "train.jsonl", BUNDLED_QUESTIONS / "validation.jsonl")
# The multilingual index's memory holds the Spanish questions too: its model puts a question and its
# translation close together, so every example counts for questions in either language.
BUNDLED_SPANISH_QUESTIONS = BUNDLED_QUESTIONS / "es"
BUNDLED_MULTILINGUAL_EXAMPLES = (*BUNDLED_EXAMPLES, BUNDLED_SPANISH_QUESTIONS / "train.jsonl",
                                 BUNDLED_SPANISH_QUESTIONS / "validation.jsonl")


def _encoded(texts: list[str], search: SearchIndex, cache: Path | None) -> np.ndarray:
    """Question vectors, read from the cache when the same model encoded the same texts before."""
    # Encoding some hundreds of questions takes seconds: without the cache, every `citebot ask` and every
    # index switch would pay it again.
    key = hashlib.sha256("\0".join([search.encoder.identity, *texts]).encode()).hexdigest()[:24]
    path = cache / f"example-questions-{key}.npy" if cache is not None else None
    if path is not None and path.is_file():
        try:
            vectors = np.load(path, allow_pickle=False)
            if vectors.shape[0] == len(texts):
                return vectors
        except (OSError, ValueError):
            pass  # unreadable: encoded again and written anew below
    vectors = search.encoder.encode_queries(texts)
    if path is not None:
        buffer = io.BytesIO()
        np.save(buffer, vectors)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(path, buffer.getvalue())
    return vectors


@dataclass(frozen=True)
class Support:
    """What the examples say about one question: per answer sentence, the closest example it answered."""

    key_index: dict[tuple[int, int], int]  # (passage row, position) of an answer sentence -> index into best
    best: np.ndarray  # cosine of the question to the closest example each answer sentence answered
    declined: float  # cosine to the closest example that no source answers
    nearest: float  # cosine to the closest example of either kind
    available: bool = True  # False when there are no examples to compare with

    def answered(self, row: int, position: int) -> float:
        """Cosine to the closest example this sentence answered (0 when it answered none)."""
        i = self.key_index.get((row, position))
        return 0.0 if i is None else max(float(self.best[i]), 0.0)

    def closest_answers(self, count: int, min_cosine: float) -> list[tuple[int, int]]:
        """The answer sentences of the closest examples, at most count, each at least min_cosine close."""
        if not len(self.best):
            return []
        top = np.argsort(-self.best, kind="stable")[:count]
        keys = list(self.key_index)
        return [keys[i] for i in top if self.best[i] >= min_cosine]


NO_SUPPORT = Support({}, np.zeros(0), 0.0, 0.0, available=False)


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
                sentences.setdefault(collapse(sentence), []).append((record.row, position, source.id))
        self.answers = [self._locate(q, sentences, statistic_rows) for q in questions]
        # Every (example, answer sentence) pair as arrays, so that support() is a few vector operations.
        self.key_index: dict[tuple[int, int], int] = {}
        pair_examples, pair_keys = [], []
        for i, answers in enumerate(self.answers):
            for key in sorted(answers):
                pair_examples.append(i)
                pair_keys.append(self.key_index.setdefault(key, len(self.key_index)))
        # Sorted by answer sentence, so that each sentence's best example is one reduceat over its run of pairs.
        keys = np.array(pair_keys, dtype=np.int64)
        order = np.argsort(keys, kind="stable")
        self.pair_examples = np.array(pair_examples, dtype=np.int64)[order]
        self.pair_starts = np.searchsorted(keys[order], np.arange(len(self.key_index)))
        self.ids = np.array([q.id for q in questions], dtype=object)

    @classmethod
    def build(cls, questions: Sequence[Question], search: SearchIndex,
              cache: Path | None = None) -> ExampleMemory:
        """Encode the examples' questions with the index's encoder (kept under `cache`, when given)."""
        texts = [q.question for q in questions]
        if not texts:
            return cls(questions, np.zeros((0, 1), np.float32), search.stored)
        return cls(questions, _encoded(texts, search, cache), search.stored)

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
            exact = sentences.get(collapse(named))
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
        cosines = (self.vectors @ query_vector).astype(np.float64)
        if leave_out is not None:
            cosines[self.ids == leave_out] = -1.0
        best = (np.maximum.reduceat(cosines[self.pair_examples], self.pair_starts) if len(self.pair_starts)
                else np.zeros(0))
        unanswerable = cosines[~self.answerable]
        return Support(self.key_index, best, float(unanswerable.max()) if len(unanswerable) else 0.0,
                       float(cosines.max()))
