"""Build an extractive answer: pick the sentences that answer, number their sources, or abstain."""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from bot.answering.models import Answer, Citation, RankedPassage
from bot.answering.question_types import Wants, asks_rather_than_tells, classify, holds
from embeddings.search import Hit, SearchIndex, SearchResult
from embeddings.text_tokens import accepted_forms, names_and_numbers, question_terms, tokenize
from knowledge.dates import human_date

ABSTAIN_TEXT = ("The sources I have don't answer this question. "
                "The closest sources are listed below as related reading, not as an answer.")


ORIGINAL_KINDS = frozenset({"article", "report", "official", "law"})


@dataclass(frozen=True)
class AnswerConfig:
    """Answer-composition defaults, calibrated on the development questions (see README)."""

    max_sentences: int = 4
    min_sentence_words: int = 5
    coverage_weight: float = 0.3  # how much the question's words in a sentence count beside its similarity
    reason_bonus: float = 0.15  # for a sentence holding what a why- or a must/may-question asks for
    rank_weight: float = 0.1
    asking_penalty: float = 0.2  # for sentences that ask a question instead of answering it
    min_similarity: float = 0.30  # the best sentence must be at least this close to the question...
    min_coverage: float = 0.34  # ...and share this much of the question's weighted words
    key_term_share: float = 0.5  # rare question words (key terms) the answer's passage must contain
    key_term_max_df: float = 0.02  # a word in at most this share of passages is a key term
    original_bonus: float = 0.15  # prefer a source's own words over our summaries of sources
    same_passage_bonus: float = 0.2
    keep_ratio: float = 0.8  # further sentences must score at least this share of the best one
    duplicate_similarity: float = 0.97
    related_sources: int = 3


@dataclass(frozen=True)
class Candidate:
    """A sentence of a retrieved passage, with the scores that rank it."""

    hit: Hit
    rank: int
    text: str
    vector: np.ndarray
    tokens: frozenset[str]
    similarity: float
    coverage: float
    holds_wanted: bool
    score: float


class Composer:
    """Turns a search result into an Answer, following DESIGN.md's promises."""

    def __init__(self, index: SearchIndex, config: AnswerConfig = AnswerConfig()) -> None:
        self.index = index
        self.config = config

    # ----- scoring ---------------------------------------------------------------------------------

    def _weights(self, terms: list[str]) -> dict[str, float]:
        """idf of each question word; a word the corpus never uses gets the median weight of the others,
        because it is as often a synonym ("start" for "began") as a missing topic (names are checked apart)."""
        bm25 = self.index.bm25
        known = {t: bm25.idf_of(t) for t in terms if t in bm25.vocabulary}
        fallback = float(np.median(list(known.values()))) if known else 1.0
        return {t: known.get(t, fallback) for t in terms}

    @staticmethod
    def _coverage(weights: dict[str, float], tokens: frozenset[str] | set[str]) -> float:
        """Share of the question's word weight present in tokens (a related word counts too)."""
        total = sum(weights.values())
        found = sum(w for t, w in weights.items() if t in tokens or not accepted_forms(t).isdisjoint(tokens))
        return found / total if total else 0.0

    def _candidates(self, result: SearchResult, weights: dict[str, float], wants: Wants) -> list[Candidate]:
        config = self.config
        out: list[Candidate] = []
        for rank, hit in enumerate(result.hits):
            vectors = self.index.sentence_vectors(hit.record.row)
            for text, vector in zip(hit.record.passage.sentences, vectors):
                if len(text.split()) < config.min_sentence_words:
                    continue
                tokens = frozenset(tokenize(text))
                similarity = float(vector @ result.query_vector)
                coverage = self._coverage(weights, tokens)
                matched = holds(wants, text)
                score = (similarity + config.coverage_weight * coverage
                         + (config.reason_bonus if wants in (Wants.REASON, Wants.OBLIGATION) and matched else 0.0)
                         + config.rank_weight * (1 - rank / max(len(result.hits), 1))
                         - (config.asking_penalty if asks_rather_than_tells(text) else 0.0)
                         + (config.original_bonus if hit.source.kind in ORIGINAL_KINDS else 0.0))
                out.append(Candidate(hit, rank, text, vector, tokens, similarity, coverage, matched, score))
        return sorted(out, key=lambda c: -c.score)

    def _key_terms(self, question: str, weights: dict[str, float]) -> dict[str, float]:
        """Numbers, and names the corpus rarely or never uses: what the question is specifically about."""
        bm25 = self.index.bm25
        key = {}
        for term in names_and_numbers(question):
            share = bm25.share_of_documents(term)
            if term[0].isdigit() or share is None or share <= self.config.key_term_max_df:
                key[term] = weights.get(term, bm25.idf_of(term))
        return key

    # ----- composing -------------------------------------------------------------------------------

    def compose(self, result: SearchResult) -> Answer:
        """The answer for a search result: cited sentences, or an abstention with related sources."""
        config = self.config
        passages = tuple(RankedPassage(h.source.id, round(h.score, 6), h.record.passage.text) for h in result.hits)
        terms = question_terms(result.question)
        weights = self._weights(terms)
        wants = classify(result.question)
        candidates = self._candidates(result, weights, wants)
        if not candidates:
            return self._abstain(result, passages, [], "nothing relevant was retrieved")

        usable = [c for c in candidates if c.holds_wanted] if wants in (Wants.NUMBER, Wants.DATE, Wants.DAY) else candidates
        if wants in (Wants.DATE, Wants.DAY):
            # "When in 2013 ...": a sentence dated in another year is about another event.
            years = set(re.findall(r"\b(?:19|20)\d{2}\b", result.question))
            usable = [c for c in usable if all(year in c.text for year in years)]
        if not usable:
            return self._abstain(result, passages, candidates, f"no retrieved sentence holds a {wants.value}")
        best = usable[0]
        if best.similarity < config.min_similarity or best.coverage < config.min_coverage:
            return self._abstain(result, passages, candidates,
                                 f"best sentence too weak (similarity {best.similarity:.2f}, coverage {best.coverage:.2f})")
        key = self._key_terms(result.question, weights)
        if key:
            source = best.hit.source
            context = set(tokenize(f"{source.title} {best.hit.record.passage.text} {human_date(source.published)}"))
            context.update(source.published.split("-")[:1])
            share = self._coverage(key, context)
            if share < config.key_term_share:
                return self._abstain(result, passages, candidates,
                                     f"the best passage lacks the question's key terms {sorted(key)}")

        chosen = [best]
        # An answer reads best when it continues from the passage it started in: its neighbours get a bonus.
        rest = sorted(usable[1:], key=lambda c: -(c.score + (config.same_passage_bonus
                                                             if c.hit.record.row == best.hit.record.row else 0.0)))
        for candidate in rest:
            same_passage = candidate.hit.record.row == best.hit.record.row
            bonus = config.same_passage_bonus if same_passage else 0.0
            if len(chosen) >= config.max_sentences or candidate.score + bonus < config.keep_ratio * best.score:
                break
            if candidate.coverage < config.min_coverage and not same_passage:
                continue
            if any(self._duplicates(candidate, c) for c in chosen):
                continue
            chosen.append(candidate)
        return self._cite(result, passages, chosen)

    def _duplicates(self, a: Candidate, b: Candidate) -> bool:
        """Near-duplicate sentences (the same fact twice) add nothing."""
        # Vectors of sentences from one passage share its context, so only nearly equal ones count.
        if a.text == b.text or float(a.vector @ b.vector) >= self.config.duplicate_similarity:
            return True
        union = a.tokens | b.tokens
        return bool(union) and len(a.tokens & b.tokens) / len(union) >= 0.8

    @staticmethod
    def _citation(n: int, hit: Hit, quote: str) -> Citation:
        s = hit.source
        return Citation(n, s.id, s.title, s.publisher, s.published, s.url, s.kind, quote)

    def _cite(self, result: SearchResult, passages: tuple[RankedPassage, ...], chosen: list[Candidate]) -> Answer:
        """Number sources in order of first use; each citation quotes exactly the sentences taken from it."""
        numbers: dict[str, int] = {}
        quotes: dict[str, list[str]] = {}
        hits: dict[str, Hit] = {}
        parts = []
        for candidate in chosen:
            key = candidate.hit.record.source_key
            n = numbers.setdefault(key, len(numbers) + 1)
            hits.setdefault(key, candidate.hit)
            quotes.setdefault(key, []).append(candidate.text)
            parts.append(f"{candidate.text} [{n}]")
        citations = tuple(self._citation(numbers[k], hits[k], " ".join(quotes[k])) for k in numbers)
        return Answer(result.question, " ".join(parts), False, citations, (), passages)

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
