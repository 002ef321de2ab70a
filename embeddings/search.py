"""Hybrid retrieval: dense (FAISS) and BM25 rankings fused with reciprocal rank fusion, over passages and sentences."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from embeddings.bm25_store import build_bm25, build_sentence_bm25
from embeddings.encoder import Encoder
from embeddings.generation import PassageRecord, StoredIndex
from embeddings.spelling import Spelling
from embeddings.tokenizer import tokenize
from embeddings.vector_store import VectorStore, VectorStoreConfig
from knowledge.aliases import expand_aliases
from knowledge.records import SHARED_SCOPE, STATISTIC_KIND, Source


@dataclass(frozen=True)
class SearchConfig:
    """Retrieval defaults; rrf_k=60 is the value of the original RRF paper (Cormack et al. 2009).

    Each list contributes its best `candidates` passages to the fusion. RRF is defined over full rankings;
    cutting the lists at 50 cost 0.006 NDCG@10 on SciFact and 2 points of answer accuracy on citebot's own
    questions (bench/scifact.py, bench/fusion_check.py) for 2-3 ms saved, so the lists are long.
    """

    candidates: int = 1000
    rrf_k: int = 60
    dense_weight: float = 1.0
    bm25_weight: float = 1.0
    sentences: int = 30  # best single sentences returned beside the passages (sentence-level retrieval)


@dataclass(frozen=True)
class Hit:
    """One retrieved passage with its fused score and the two scores behind it."""

    record: PassageRecord
    source: Source
    score: float
    dense: float
    bm25: float


@dataclass(frozen=True)
class SentenceHit:
    """One retrieved sentence: where it is (passage row, position in it), its fused rank and both scores."""

    row: int
    position: int
    rank: int  # in the fused sentence ranking, from 0
    dense: float
    bm25: float


@dataclass(frozen=True)
class SearchResult:
    """Ranked passages and sentences, plus what the answer step needs to score sentences."""

    question: str
    query_vector: np.ndarray
    query_tokens: tuple[str, ...]
    hits: tuple[Hit, ...]
    sentence_hits: tuple[SentenceHit, ...] = ()
    visible: np.ndarray | None = None  # the passages this search could return (scope, statistics); None: all
    sentence_bm25: np.ndarray | None = None  # BM25 score of every sentence (0 where hidden)


@dataclass(frozen=True)
class Candidates:
    """Each retriever's ranking of the visible passages, before fusion."""

    dense_ids: np.ndarray
    dense_scores: np.ndarray
    bm25_ids: np.ndarray
    bm25_scores: np.ndarray  # every passage's BM25 score (0 where hidden)


def reciprocal_rank_fusion(rankings: list[tuple[np.ndarray, float]], k: int) -> dict[int, float]:
    """Sum of weight / (k + rank) over the rankings each id appears in (ranks start at 1)."""
    size = max((int(np.max(ids)) + 1 for ids, _ in rankings if len(ids)), default=0)
    return dict(fused_top(rankings, k, size, size))


def fused_top(rankings: list[tuple[np.ndarray, float]], k: int, size: int, top: int) -> list[tuple[int, float]]:
    """The `top` best (id, score) by reciprocal rank fusion of rankings of ids in [0, size); ties by id."""
    scores = np.zeros(size, dtype=np.float64)
    for ids, weight in rankings:
        if len(ids):
            scores[np.asarray(ids, dtype=np.int64)] += weight / (k + np.arange(1, len(ids) + 1))
    present = np.flatnonzero(scores)
    order = present[np.lexsort((present, -scores[present]))][:top]
    return [(int(i), float(scores[i])) for i in order]


def bm25_ranking(scores: np.ndarray, n: int) -> np.ndarray:
    """Ids of the n best-scoring documents that match at all, best first (ties in id order)."""
    if not len(scores):
        return np.array([], dtype=np.int64)
    top = np.argpartition(-scores, min(n, len(scores) - 1))[:n]
    top = top[scores[top] > 0]
    return top[np.argsort(-scores[top], kind="stable")]


class SearchIndex:
    """A loaded index made searchable: FAISS over passage vectors and BM25 over passage words."""

    def __init__(self, stored: StoredIndex, encoder: Encoder, config: SearchConfig = SearchConfig(),
                 vector_config: VectorStoreConfig = VectorStoreConfig()) -> None:
        self.stored = stored
        self.encoder = encoder
        self.config = config
        self.vectors = VectorStore(stored.vectors, vector_config)
        # Stored with the generation; generations written before it was stored get it built here.
        self.bm25 = stored.bm25 if stored.bm25 is not None else build_bm25(
            (stored.sources[r.source_key].title, r.passage.text) for r in stored.passages)
        self.scopes = np.array([r.passage.scope for r in stored.passages], dtype=object)
        self.statistic_rows = np.array([stored.sources[r.source_key].kind == STATISTIC_KIND for r in stored.passages],
                                       dtype=bool)
        self.languages = np.array([stored.sources[r.source_key].language for r in stored.passages], dtype=object)
        self._masks: dict[tuple[str, bool, str | None], np.ndarray | None] = {}
        # Sentence level: each sentence embedded on its own, and BM25 over single sentences.
        self.sentence_store = VectorStore(stored.sentence_vectors, vector_config)
        self.sentence_bm25 = stored.sentence_bm25 if stored.sentence_bm25 is not None else build_sentence_bm25(
            sentence for r in stored.passages for sentence in r.passage.sentences)
        vocabulary = self.bm25.vocabulary
        self.spelling = Spelling(vocabulary, {t: float(self.bm25.document_frequency[c]) for t, c in vocabulary.items()})
        self.sentence_rows = np.repeat(np.arange(len(stored.passages)), np.diff(stored.sentence_offsets))
        # The corpus's mean sentence direction: what every sentence of one program's corpus shares. Kept as
        # two numbers per sentence rather than a second, centred copy of every vector.
        vectors = stored.sentence_vectors
        self.sentence_mean = vectors.mean(axis=0) if len(vectors) else np.zeros(vectors.shape[1], np.float32)
        self._dot_mean = vectors @ self.sentence_mean if len(vectors) else np.zeros(0, np.float32)
        mean_square = float(self.sentence_mean @ self.sentence_mean)
        self._centred_norm = np.sqrt(np.maximum(1.0 - 2.0 * self._dot_mean + mean_square, 1e-12))

    def allowed(self, scope: str | None, statistics: bool = True, language: str | None = None) -> np.ndarray | None:
        """Mask of passages visible in a scope (the shared corpus plus that scope's own sources), or None for all.

        With a language, only sources written in it are visible.
        """
        key = (scope or SHARED_SCOPE, statistics, language)
        if key not in self._masks:
            mask = (self.scopes == SHARED_SCOPE) | (self.scopes == key[0])
            if not statistics:
                mask &= ~self.statistic_rows
            if language is not None:
                mask &= self.languages == language
            self._masks[key] = None if mask.all() else mask
        return self._masks[key]

    def search(self, question: str, scope: str | None = None, k: int = 8, statistics: bool = True,
               language: str | None = None) -> SearchResult:
        """The k best passages for the question, visible in scope, in `language` if given, statistics if asked.

        A statistics row repeats the names of what it counts, so for a question that asks no figure or date
        it outranks the prose that answers; the caller decides whether the question asks for one.
        """
        question = expand_aliases(question, self.stored.aliases)
        query_vector = self.encoder.encode_queries([question])[0]
        return self.search_vector(question, query_vector, scope, k, statistics, language)

    def search_vector(self, question: str, query_vector: np.ndarray, scope: str | None, k: int,
                      statistics: bool = True, language: str | None = None) -> SearchResult:
        """Like search, with the question already encoded."""
        tokens = tuple(self.spelling.correct(t) for t in tokenize(question))
        allowed = self.allowed(scope, statistics, language)
        candidates = self.passage_candidates(query_vector, tokens, allowed)
        ranked = fused_top([(candidates.dense_ids, self.config.dense_weight),
                            (candidates.bm25_ids, self.config.bm25_weight)],
                           self.config.rrf_k, len(self.stored.passages), k)
        allowed_sentences = None if allowed is None else allowed[self.sentence_rows]
        sentence_bm25 = self.sentence_bm25.scores(tokens)
        if allowed_sentences is not None:
            sentence_bm25 = np.where(allowed_sentences, sentence_bm25, 0.0)
        return SearchResult(question, query_vector, tokens, self.hits(ranked, candidates, query_vector),
                            self._search_sentences(query_vector, sentence_bm25, allowed_sentences), allowed,
                            sentence_bm25)

    def passage_candidates(self, query_vector: np.ndarray, tokens: tuple[str, ...], allowed: np.ndarray | None,
                           n: int | None = None) -> Candidates:
        """Each retriever's best n visible passages (default: the configured candidates), before fusion."""
        n = self.config.candidates if n is None else n
        dense_scores, dense_ids = self.vectors.search(query_vector, n, allowed)
        bm25_all = self.bm25.scores(tokens)
        if allowed is not None:
            bm25_all = np.where(allowed, bm25_all, 0.0)
        return Candidates(dense_ids, dense_scores, bm25_ranking(bm25_all, n), bm25_all)

    def hits(self, ranked: list[tuple[int, float]], candidates: Candidates,
             query_vector: np.ndarray) -> tuple[Hit, ...]:
        """The fused (row, score) list as hits, each with its cosine and BM25 score."""
        dense_of = dict(zip(candidates.dense_ids.tolist(), candidates.dense_scores.tolist()))
        hits = []
        for row, score in ranked:
            record = self.stored.passages[row]
            dense = dense_of.get(row)
            if dense is None:  # found by BM25 only: its cosine is still useful downstream
                dense = float(self.stored.vectors[row] @ query_vector)
            hits.append(Hit(record, self.stored.sources[record.source_key], score, dense,
                            float(candidates.bm25_scores[row])))
        return tuple(hits)

    def _search_sentences(self, query_vector: np.ndarray, bm25_all: np.ndarray,
                          allowed_sentences: np.ndarray | None) -> tuple[SentenceHit, ...]:
        """The best single sentences, by RRF of sentence cosine and sentence BM25."""
        if self.sentence_store.size == 0 or self.config.sentences == 0:
            return ()
        n = self.config.candidates
        _, dense_ids = self.sentence_store.search(query_vector, n, allowed_sentences)
        bm25_ids = bm25_ranking(bm25_all, n)
        ranked = fused_top([(dense_ids, self.config.dense_weight), (bm25_ids, self.config.bm25_weight)],
                           self.config.rrf_k, self.sentence_store.size, self.config.sentences)
        ids = np.array([sentence for sentence, _ in ranked], dtype=np.int64)
        rows = self.sentence_rows[ids]
        positions = ids - self.stored.sentence_offsets[rows]
        cosines = self.stored.sentence_vectors[ids] @ query_vector  # all at once, not one product a sentence
        return tuple(SentenceHit(int(row), int(position), rank, float(cosine), float(bm25))
                     for rank, (row, position, cosine, bm25) in enumerate(zip(rows, positions, cosines, bm25_all[ids])))

    def centred_cosines(self, sentence_ids: np.ndarray, query_vector: np.ndarray) -> np.ndarray:
        """Cosine of sentences and query with the corpus's mean sentence direction taken out of both."""
        mean = self.sentence_mean
        query_norm = np.sqrt(max(1.0 - 2.0 * float(query_vector @ mean) + float(mean @ mean), 1e-12))
        dots = (self.stored.sentence_vectors[sentence_ids] @ query_vector - self._dot_mean[sentence_ids]
                - float(mean @ query_vector) + float(mean @ mean))
        return dots / (self._centred_norm[sentence_ids] * query_norm)

    def hit_for_row(self, row: int, query_vector: np.ndarray) -> Hit:
        """A Hit for a passage that the passage ranking did not return (found through one of its sentences)."""
        record = self.stored.passages[row]
        return Hit(record, self.stored.sources[record.source_key], 0.0, float(self.stored.vectors[row] @ query_vector),
                   0.0)
