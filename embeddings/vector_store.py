"""FAISS vector store: exact inner-product search, switching to HNSW above a size threshold."""
from __future__ import annotations

from dataclasses import dataclass

import faiss
import numpy as np


@dataclass(frozen=True)
class VectorStoreConfig:
    """When to go approximate, and how; the defaults come from bench/scale.py (see bench/RESULTS.md)."""

    approximate_above: int = 200_000
    hnsw_neighbors: int = 32
    hnsw_ef_construction: int = 80
    hnsw_ef_search: int = 96
    threads: int = 0  # 0 lets FAISS use every core


class VectorStore:
    """Unit vectors searched by inner product (cosine); ids are row numbers."""

    def __init__(self, vectors: np.ndarray, config: VectorStoreConfig = VectorStoreConfig(),
                 index: faiss.Index | None = None) -> None:
        self.config = config
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.dimension = int(vectors.shape[1]) if vectors.ndim == 2 and vectors.shape[0] else 0
        self.size = int(vectors.shape[0]) if vectors.ndim == 2 else 0
        if config.threads:
            faiss.omp_set_num_threads(config.threads)
        self.index = index if index is not None else self._build(vectors)

    @property
    def approximate(self) -> bool:
        """True when the index is HNSW rather than exact."""
        return isinstance(self.index, faiss.IndexHNSW)

    def _build(self, vectors: np.ndarray) -> faiss.Index | None:
        if self.size == 0:
            return None
        if self.size > self.config.approximate_above:
            index = faiss.IndexHNSWFlat(self.dimension, self.config.hnsw_neighbors, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = self.config.hnsw_ef_construction
            index.hnsw.efSearch = self.config.hnsw_ef_search
        else:
            index = faiss.IndexFlatIP(self.dimension)
        index.add(vectors)
        return index

    def search(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, ids) for one query; `allowed` is a boolean mask over ids, or None for all."""
        if self.index is None or k <= 0:
            return np.empty(0, dtype=np.float32), np.empty(0, dtype=np.int64)
        query = np.ascontiguousarray(query, dtype=np.float32).reshape(1, -1)
        k = min(k, self.size)
        params = None
        if allowed is not None and not allowed.all():
            selector = faiss.IDSelectorBatch(np.flatnonzero(allowed).astype(np.int64))
            if self.approximate:
                params = faiss.SearchParametersHNSW(sel=selector, efSearch=max(self.config.hnsw_ef_search, k))
            else:
                params = faiss.SearchParameters(sel=selector)
        elif self.approximate:
            params = faiss.SearchParametersHNSW(efSearch=max(self.config.hnsw_ef_search, k))
        scores, ids = self.index.search(query, k, params=params)
        keep = ids[0] >= 0
        return scores[0][keep], ids[0][keep]

    def save(self, path: str) -> None:
        """Write the FAISS index to path (the caller makes it atomic)."""
        if self.index is not None:
            faiss.write_index(self.index, path)

    @classmethod
    def load(cls, path: str, vectors: np.ndarray, config: VectorStoreConfig = VectorStoreConfig()) -> "VectorStore":
        """Read a saved FAISS index; its size must match the vectors it was built from."""
        index = faiss.read_index(path)
        if index.ntotal != vectors.shape[0]:
            raise ValueError(f"FAISS index holds {index.ntotal} vectors but the store has {vectors.shape[0]}")
        return cls(vectors, config, index=index)
