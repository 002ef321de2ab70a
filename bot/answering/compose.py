"""Build an extractive answer: pick the sentences that answer, number their sources, or abstain."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bot.answering.examples import ExampleMemory
from bot.answering.features import Candidate, gather, question_features
from bot.answering.models import Answer, Citation, RankedPassage
from bot.answering.scorer import AnswerScorer
from bot.answering.sentence_facts import FactCache
from bot.messages import say
from embeddings.search import Hit, SearchIndex, SearchResult
from knowledge.records import Source

ABSTAIN_TEXT = say("abstain")  # in English; the service gives an abstention in the question's language


@dataclass(frozen=True)
class AnswerConfig:
    """How many passages and sentences an answer draws on; which sentences answer is the scorer's call."""

    max_sentences: int = 4
    min_sentence_words: int = 5
    candidate_passages: int = 8  # every sentence of this many best passages is a candidate
    duplicate_similarity: float = 0.97
    related_sources: int = 3


def answer_probability(candidates: list[Candidate], probabilities: np.ndarray, scorer: AnswerScorer) -> float:
    """The question model's probability that the answer built from these candidates is right."""
    if not candidates:
        return 0.0
    return float(scorer.question.probabilities(question_features(candidates, probabilities)[None, :])[0])


def select(candidates: list[Candidate], probabilities: np.ndarray, scorer: AnswerScorer,
           max_sentences: int, duplicate_similarity: float = 0.97) -> list[Candidate]:
    """The sentences to quote, best first; empty when the question model is below the answer threshold."""
    if not candidates or answer_probability(candidates, probabilities, scorer) < scorer.answer_threshold:
        return []
    return best_sentences(candidates, probabilities, scorer.extra_threshold, max_sentences, duplicate_similarity)


def best_sentences(candidates: list[Candidate], probabilities: np.ndarray, extra_threshold: float,
                   max_sentences: int, duplicate_similarity: float = 0.97) -> list[Candidate]:
    """The best sentence, then the next ones reaching extra_threshold, leaving out near-duplicates."""
    if not candidates:
        return []
    order = np.argsort(-probabilities, kind="stable")
    chosen = [candidates[order[0]]]
    for i in order[1:]:
        if len(chosen) >= max_sentences or probabilities[i] < extra_threshold:
            break
        if not any(duplicates(candidates[i], c, duplicate_similarity) for c in chosen):
            chosen.append(candidates[i])
    return chosen


def duplicates(a: Candidate, b: Candidate, similarity: float = 0.97) -> bool:
    """Near-duplicate sentences (the same fact twice, often in two sources) add nothing."""
    if a.text == b.text or float(a.vector @ b.vector) >= similarity:
        return True
    union = a.tokens | b.tokens
    return bool(union) and len(a.tokens & b.tokens) / len(union) >= 0.8


def citation(n: int, source: Source, quote: str) -> Citation:
    """Citation number n of a source, quoting the given sentences."""
    return Citation(n, source.id, source.title, source.publisher, source.published, source.url, source.kind, quote,
                    source.language)


def cited_answer(question: str, quoted: Sequence[tuple[str, Source, str, int]],
                 passages: tuple[RankedPassage, ...] = (), **extra: object) -> Answer:
    """Sentences given as (source key, source, text, position), numbered by first use of their source."""
    numbers: dict[str, int] = {}
    quotes: dict[str, list[str]] = {}
    sources: dict[str, Source] = {}
    parts = []
    for key, source, text, _ in quoted:
        n = numbers.setdefault(key, len(numbers) + 1)
        sources.setdefault(key, source)
        quotes.setdefault(key, []).append(text)
        parts.append(f"{text} [{n}]")
    citations = tuple(citation(numbers[k], sources[k], " ".join(quotes[k])) for k in numbers)
    return Answer(question, " ".join(parts), False, citations, (), passages,
                  quoted=tuple((text, source.id, position) for _, source, text, position in quoted), **extra)


def ranked_passages(result: SearchResult) -> tuple[RankedPassage, ...]:
    """The retrieved passages as `--json` shows them."""
    return tuple(RankedPassage(h.source.id, round(h.score, 6), h.record.passage.text) for h in result.hits)


class Composer:
    """Turns a search result into an Answer, keeping the promises of docs/ARCHITECTURE.md."""

    def __init__(self, index: SearchIndex, scorer: AnswerScorer, config: AnswerConfig = AnswerConfig(),
                 examples: ExampleMemory | None = None) -> None:
        self.index = index
        self.scorer = scorer
        self.config = config
        self.examples = examples
        self.facts = FactCache(index)

    def candidates(self, result: SearchResult) -> tuple[list[Candidate], np.ndarray]:
        """The candidate sentences and the scorer's probability that each answers the question."""
        support = self.examples.support(result.query_vector) if self.examples is not None else None
        candidates = gather(self.index, result, self.config.candidate_passages, self.config.min_sentence_words,
                            support, self.facts, self.scorer.adapter)
        if not candidates:
            return [], np.zeros(0)
        return candidates, self.scorer.sentence.probabilities(np.stack([c.features for c in candidates]))

    def compose(self, result: SearchResult) -> Answer:
        """The answer for a search result: cited sentences, or an abstention with related sources."""
        passages = ranked_passages(result)
        candidates, probabilities = self.candidates(result)
        if not candidates:
            return self._abstain(result, passages, [], "nothing relevant was retrieved")
        chosen = select(candidates, probabilities, self.scorer, self.config.max_sentences,
                        self.config.duplicate_similarity)
        if not chosen:
            ranked = [candidates[i] for i in np.argsort(-probabilities, kind="stable")]
            confidence = answer_probability(candidates, probabilities, self.scorer)
            return self._abstain(result, passages, ranked,
                                 f"confidence {confidence:.2f} in the best answer is below the answer threshold "
                                 f"{self.scorer.answer_threshold:.2f}")
        return self._cite(result, passages, chosen)

    @staticmethod
    def _citation(n: int, hit: Hit, quote: str) -> Citation:
        return citation(n, hit.source, quote)

    def _cite(self, result: SearchResult, passages: tuple[RankedPassage, ...], chosen: list[Candidate]) -> Answer:
        """The chosen sentences, each cited to its source."""
        return cited_answer(result.question, [(c.hit.record.source_key, c.hit.source, c.text, c.position)
                                              for c in chosen], passages)

    def _abstain(self, result: SearchResult, passages: tuple[RankedPassage, ...], candidates: list[Candidate],
                 reason: str) -> Answer:
        """Say the sources don't answer; list the closest sources as related reading."""
        related: list[Citation] = []
        seen: set[str] = set()
        for candidate in candidates:
            key = candidate.hit.record.source_key
            if key in seen:
                continue
            seen.add(key)
            related.append(self._citation(len(related) + 1, candidate.hit, candidate.text))
            if len(related) >= self.config.related_sources:
                break
        return Answer(result.question, ABSTAIN_TEXT, True, (), tuple(related), passages, reason)
