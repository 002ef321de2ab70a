"""Okapi BM25 over passages, as a sparse matrix of precomputed term weights."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse


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
        shape = (self.size, max(len(self.vocabulary), 1))
        tf = sparse.csr_matrix((np.asarray(counts, dtype=np.float32), (rows, cols)), shape=shape)
        df = np.bincount(np.asarray(cols, dtype=np.int64), minlength=shape[1]).astype(np.float32)
        self.document_frequency = df
        # Lucene's idf: always positive, so very common words still count a little.
        self.idf = np.log1p((self.size - df + 0.5) / (df + 0.5)).astype(np.float32)
        average = float(lengths.mean()) if self.size else 1.0
        norm = config.k1 * (1 - config.b + config.b * lengths / max(average, 1e-9))
        tf = tf.tocoo()
        weights = self.idf[tf.col] * tf.data * (config.k1 + 1) / (tf.data + norm[tf.row])
        self.weights = sparse.csc_matrix((weights.astype(np.float32), (tf.row, tf.col)), shape=shape)

    @classmethod
    def from_parts(cls, vocabulary: dict[str, int], weights: sparse.csc_matrix, idf: np.ndarray,
                   document_frequency: np.ndarray, config: BM25Config) -> "BM25Index":
        """An index from the parts of one built earlier (see embeddings.bm25_store)."""
        index = cls.__new__(cls)
        index.config, index.vocabulary, index.weights = config, vocabulary, weights
        index.idf, index.document_frequency, index.size = idf, document_frequency, int(weights.shape[0])
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
        return np.asarray(self.weights[:, columns].sum(axis=1)).ravel().astype(np.float32)
