"""FAISS vector store: exact inner-product search, switching to fast-scan PQ with exact re-ranking when large."""
from __future__ import annotations

from dataclasses import dataclass

import faiss
import numpy as np


@dataclass(frozen=True)
class VectorStoreConfig:
    """When to go approximate, and how; the defaults come from bench/scale.py (see bench/RESULTS.md).

    Below `approximate_above` vectors the store is an exact IndexFlatIP. Above it, FAISS's 4-bit fast-scan
    product quantizer (one 4-bit code per two dimensions) scans every passage in compressed form, and the
    best `k * refine_factor` candidates are re-scored exactly against the stored float vectors. HNSW was
    measured and rejected: at 1M it took 12-17 minutes to build and reached recall@10 0.26 at 14 ms.
    """

    approximate_above: int = 50_000
    refine_factor: int = 40
    # Re-ranking more than this many candidates costs more than it finds: the tail of a long candidate list
    # (hybrid search asks for 1000) only nudges the fusion, the top 10 are what must be right.
    max_refine: int = 4_000
    train_sample: int = 65_536
    # A scope that hides more than this many passages is searched exactly over what it allows: the
    # compressed scan cannot skip hidden passages, so it would need too many candidates to keep k visible.
    max_hidden_for_scan: int = 20_000
    # 0 leaves FAISS's OpenMP pool alone. One thread searches a single query faster (no fork-join), but the
    # pool is shared with torch: pinning it to 1 would slow the encoder too (see bench/RESULTS.md).
    threads: int = 0
    seed: int = 1234


class VectorStore:
    """Unit vectors searched by inner product (cosine); ids are row numbers."""

    def __init__(self, vectors: np.ndarray, config: VectorStoreConfig = VectorStoreConfig()) -> None:
        self.config = config
        # No copy when the caller already holds float32 rows: the re-ranking reads this very array.
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.size = int(self.vectors.shape[0]) if self.vectors.ndim == 2 else 0
        self.dimension = int(self.vectors.shape[1]) if self.size else 0
        if config.threads:
            faiss.omp_set_num_threads(config.threads)
        self.index = self._build()

    @property
    def approximate(self) -> bool:
        """True when searches scan compressed codes and re-rank, rather than comparing every vector exactly."""
        return self.index is not None and not isinstance(self.index, faiss.IndexFlat)

    def _build(self) -> faiss.Index | None:
        if self.size == 0:
            return None
        if self.size <= self.config.approximate_above:
            index = faiss.IndexFlatIP(self.dimension)
            index.add(self.vectors)
            return index
        # One sub-quantizer per two dimensions (per dimension when the count is odd), 16 centroids each.
        subquantizers = self.dimension // 2 if self.dimension % 2 == 0 else self.dimension
        index = faiss.index_factory(self.dimension, f"PQ{subquantizers}x4fs", faiss.METRIC_INNER_PRODUCT)
        index.pq.cp.min_points_per_centroid = 1  # small stores (tests, low thresholds) train without warnings
        sample = self.vectors
        if self.size > self.config.train_sample:
            rows = np.random.default_rng(self.config.seed).choice(self.size, self.config.train_sample, replace=False)
            sample = self.vectors[np.sort(rows)]
        index.train(sample)
        index.add(self.vectors)
        return index

    def search(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, ids) for one query; `allowed` is a boolean mask over ids, or None for all."""
        if self.index is None or k <= 0:
            return np.empty(0, dtype=np.float32), np.empty(0, dtype=np.int64)
        query = np.ascontiguousarray(query, dtype=np.float32).reshape(1, -1)
        if allowed is not None and allowed.all():
            allowed = None
        if not self.approximate:
            return self._search_exact(query, k, allowed)
        hidden = 0 if allowed is None else self.size - int(allowed.sum())
        if hidden > self.config.max_hidden_for_scan:
            return self._search_subset(query, k, np.flatnonzero(allowed))
        # Fetch enough that hidden passages cannot crowd out the k best visible ones, then re-rank exactly.
        fetch = min(self.size, max(k, min(k * self.config.refine_factor, self.config.max_refine)) + hidden)
        _, candidates = self.index.search(query, fetch)
        candidates = candidates[0][candidates[0] >= 0]
        if allowed is not None:
            candidates = candidates[allowed[candidates]]
        return self._rerank(query, k, candidates)

    def _search_exact(self, query: np.ndarray, k: int, allowed: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        params = None
        if allowed is not None:
            # A bitmap (one bit a row, FAISS's little-endian order) is cheaper to make than a set of ids;
            # `bits` must stay alive until the search returns, FAISS only holds a pointer to it.
            bits = np.packbits(allowed, bitorder="little")
            params = faiss.SearchParameters(sel=faiss.IDSelectorBitmap(self.size, faiss.swig_ptr(bits)))
        scores, ids = self.index.search(query, min(k, self.size), params=params)
        keep = ids[0] >= 0
        return scores[0][keep], ids[0][keep]

    def _search_subset(self, query: np.ndarray, k: int, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Exact search over the allowed rows: gathered when few, else every row scored and the rest masked."""
        if len(rows) <= self.size // 4:
            return self._rerank(query, k, rows.astype(np.int64))
        scores = self.vectors @ query[0]
        visible = scores[rows]
        best = np.argpartition(-visible, min(k, len(rows)) - 1)[:k]
        return self._rerank(query, k, rows[best].astype(np.int64))

    def _rerank(self, query: np.ndarray, k: int, candidates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Exact cosine of each candidate; the k best, highest first (ties by row number)."""
        if len(candidates) == 0:
            return np.empty(0, dtype=np.float32), np.empty(0, dtype=np.int64)
        scores = self.vectors[candidates] @ query[0]
        if len(candidates) > 4 * k:  # keep the sort small: only the k best (and ties at the edge) need order
            keep = np.flatnonzero(scores >= np.partition(scores, len(scores) - k)[len(scores) - k])
            candidates, scores = candidates[keep], scores[keep]
        order = np.lexsort((candidates, -scores))[:k]
        return scores[order].astype(np.float32), candidates[order].astype(np.int64)
