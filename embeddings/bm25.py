"""Okapi BM25 over passages, as postings of precomputed term weights (a compressed sparse column matrix)."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Postings:
    """Per term, the documents that contain it and their BM25 weights: term t owns [indptr[t], indptr[t+1])."""

    indptr: np.ndarray  # int64, one more than the number of terms
    documents: np.ndarray  # int32 document rows
    weights: np.ndarray  # float32 BM25 weight of the term in that document

    @classmethod
    def from_triples(cls, documents: np.ndarray, terms: np.ndarray, weights: np.ndarray,
                     term_count: int) -> Postings:
        """Group (document, term, weight) triples by term, documents ascending within each term."""
        order = np.lexsort((documents, terms))
        indptr = np.zeros(term_count + 1, dtype=np.int64)
        np.cumsum(np.bincount(terms, minlength=term_count), out=indptr[1:])
        return cls(indptr, documents[order].astype(np.int32), weights[order].astype(np.float32))


@dataclass(frozen=True)
class BM25Config:
    """BM25 parameters; the defaults are the usual Lucene ones."""

    k1: float = 1.2
    b: float = 0.75


class BM25Index:
    """Scores every document for a query with one sparse column sum."""

    def __init__(self, documents: Sequence[Sequence[str]], config: BM25Config = BM25Config()) -> None:
        self.config = config
        self.vocabulary: dict[str, int] = {}
        rows, cols, counts = [], [], []
        lengths = np.zeros(len(documents), dtype=np.float32)
        for row, tokens in enumerate(documents):
            lengths[row] = len(tokens)
            tally: dict[int, int] = {}
            for token in tokens:
                column = self.vocabulary.setdefault(token, len(self.vocabulary))
                tally[column] = tally.get(column, 0) + 1
            rows.extend([row] * len(tally))
            cols.extend(tally.keys())
            counts.extend(tally.values())
        self.size = len(documents)
        term_count = max(len(self.vocabulary), 1)
        rows_array, cols_array = np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)
        tf = np.asarray(counts, dtype=np.float32)
        df = np.bincount(cols_array, minlength=term_count).astype(np.float32)
        self.document_frequency = df
        # Lucene's idf: always positive, so very common words still count a little.
        self.idf = np.log1p((self.size - df + 0.5) / (df + 0.5)).astype(np.float32)
        average = float(lengths.mean()) if self.size else 1.0
        norm = config.k1 * (1 - config.b + config.b * lengths / max(average, 1e-9))
        weights = self.idf[cols_array] * tf * (config.k1 + 1) / (tf + norm[rows_array])
        self.postings = Postings.from_triples(rows_array, cols_array, weights, term_count)

    @classmethod
    def from_parts(cls, vocabulary: dict[str, int], postings: Postings, size: int, idf: np.ndarray,
                   document_frequency: np.ndarray, config: BM25Config) -> BM25Index:
        """An index from the parts of one built earlier (see embeddings.bm25_store)."""
        index = cls.__new__(cls)
        index.config, index.vocabulary, index.postings, index.size = config, vocabulary, postings, size
        index.idf, index.document_frequency = idf, document_frequency
        return index

    def idf_of(self, token: str) -> float:
        """The token's idf, or the idf of an unseen word (the rarest possible) if unknown."""
        column = self.vocabulary.get(token)
        if column is None:
            return float(np.log1p((self.size + 0.5) / 0.5))
        return float(self.idf[column])

    def share_of_documents(self, token: str) -> float | None:
        """Share of documents containing token, or None when the corpus never uses it."""
        column = self.vocabulary.get(token)
        if column is None or self.size == 0:
            return None
        return float(self.document_frequency[column]) / self.size

    def scores(self, query_tokens: Sequence[str]) -> np.ndarray:
        """BM25 score of every document for the query (zeros where nothing matches)."""
        columns = [self.vocabulary[t] for t in query_tokens if t in self.vocabulary]
        if not columns or self.size == 0:
            return np.zeros(self.size, dtype=np.float32)
        # A repeated query word counts once per repetition, as in a sum over the query's terms.
        spans = [slice(self.postings.indptr[c], self.postings.indptr[c + 1]) for c in columns]
        documents = np.concatenate([self.postings.documents[span] for span in spans])
        weights = np.concatenate([self.postings.weights[span] for span in spans])
        return np.bincount(documents, weights=weights, minlength=self.size).astype(np.float32)
