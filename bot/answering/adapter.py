"""A learned question-to-sentence similarity: the bundled model's cosine, adapted to which sentences answer.

The bi-encoder was trained to put texts that mean the same close together; an answer is not a paraphrase of
its question ("why did Cuomo pull out" is answered by "Cuomo said the program was undermining law
enforcement"). The adapter learns, from the train split's named answer sentences, a low-rank correction to
the question's vector: score = s . q + (s V) . (U^T q). It is fitted listwise (a softmax over each
question's candidates, the named answers as targets), so it learns to rank answers above the sentences that
merely share the question's topic. Two features of the answer scorer carry it; a scorer without an adapter
gives them zero.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

RANK = 32  # columns of U and V: enough for question kinds, few enough for some hundred questions
PENALTY = 0.01  # L2 on U and V, relative to the mean loss per question
TEMPERATURE = 0.05  # cosine differences are small; a low temperature makes the softmax see them
ITERATIONS = 200


@dataclass(frozen=True, eq=False)
class QueryAdapter:
    """The low-rank correction (U, V), each (dimensions x rank)."""

    u: np.ndarray
    v: np.ndarray

    def scores(self, query: np.ndarray, sentences: np.ndarray) -> np.ndarray:
        """The adapted similarity of each sentence vector (rows) to the question vector."""
        return sentences @ query + (sentences @ self.v) @ (self.u.T @ query)

    def to_json(self) -> dict:
        """The adapter as it is stored in a scorer file (rounded: the fit is not that precise)."""
        return {"rank": int(self.u.shape[1]), "u": np.round(self.u, 6).tolist(), "v": np.round(self.v, 6).tolist()}

    @classmethod
    def from_json(cls, data: dict, dimensions: int | None = None) -> QueryAdapter:
        """Read a stored adapter, checking its shape."""
        u = np.asarray(data["u"], dtype=np.float32)
        v = np.asarray(data["v"], dtype=np.float32)
        if u.ndim != 2 or u.shape != v.shape or u.shape[1] != int(data["rank"]):
            raise ValueError(f"the adapter's matrices have shapes {u.shape} and {v.shape}, not (dimensions, rank)")
        if dimensions is not None and u.shape[0] != dimensions:
            raise ValueError(f"the adapter was fitted on {u.shape[0]}-dimensional vectors, not {dimensions}")
        return cls(u, v)


@dataclass(frozen=True)
class RankingGroup:
    """One question's vector, its candidates' sentence vectors, and which are answers (1), not (0), unknown (-1)."""

    query: np.ndarray
    sentences: np.ndarray
    labels: np.ndarray


def fit_adapter(groups: Sequence[RankingGroup], rank: int = RANK, penalty: float = PENALTY,
                temperature: float = TEMPERATURE, iterations: int = ITERATIONS, seed: int = 0) -> QueryAdapter:
    """Fit U and V by L-BFGS on the mean softmax cross-entropy of each question's named answers."""
    kept = []
    for g in groups:
        known = g.labels >= 0
        if (g.labels[known] == 1).any() and known.sum() > 1:
            kept.append((g.query, g.sentences[known], g.labels[known]))
    if not kept:
        raise ValueError("no question has both a named answer sentence and other candidates to rank it above")
    sentences = np.concatenate([s for _, s, _ in kept]).astype(np.float32)
    sizes = np.array([len(s) for _, s, _ in kept])
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    queries = np.repeat(np.stack([q for q, _, _ in kept]).astype(np.float32), sizes, axis=0)
    targets = np.concatenate([(labels == 1) / (labels == 1).sum() for _, _, labels in kept])
    base = np.einsum("ij,ij->i", sentences, queries)
    dimensions, questions = sentences.shape[1], len(kept)

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        # float32 products: the fit runs once per fold and this halves its time; the sums stay float64.
        u = theta[:dimensions * rank].reshape(dimensions, rank).astype(np.float32)
        v = theta[dimensions * rank:].reshape(dimensions, rank).astype(np.float32)
        sv, qu = sentences @ v, queries @ u
        z = (base + np.einsum("ij,ij->i", sv, qu)).astype(np.float64) / temperature
        z = z - np.repeat(np.maximum.reduceat(z, starts), sizes)
        e = np.exp(z)
        p = e / np.repeat(np.add.reduceat(e, starts), sizes)
        value = -float(np.sum(targets * np.log(p + 1e-12))) / questions
        r = ((p - targets) / temperature / questions).astype(np.float32)
        grad_u = (queries.T @ (r[:, None] * sv)).astype(np.float64)
        grad_v = (sentences.T @ (r[:, None] * qu)).astype(np.float64)
        value += 0.5 * penalty * float(theta @ theta)
        return value, np.concatenate([grad_u.ravel(), grad_v.ravel()]) + penalty * theta

    start = np.random.default_rng(seed).normal(0.0, 1e-3, 2 * dimensions * rank)
    from scipy.optimize import minimize  # fitting only: the answer path must not import scipy

    theta = minimize(loss, start, jac=True, method="L-BFGS-B", options={"maxiter": iterations}).x
    return QueryAdapter(theta[:dimensions * rank].reshape(dimensions, rank).astype(np.float32),
                        theta[dimensions * rank:].reshape(dimensions, rank).astype(np.float32))
