"""A learned question-to-question similarity: the bundled model's cosine, corrected by labelled question pairs.

Two questions that differ by one place, year or aspect ("when did it start?" / "when did it end?") share
nearly every word and sit close together under the bi-encoder, while two rewordings of one question may not.
The metric learns, from pairs labelled same or different, which directions of the vector space carry a
question's meaning: score = a . b + (a U) . (b U) - (a W) . (b W), symmetric in a and b. U strengthens
directions that agree between rewordings, W weakens those that also agree between different questions. It
is fitted by logistic loss (with a learned scale and offset) and is one feature of the pin matcher.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

RANK = 16  # columns of U and W: a few hundred pairs support no more
PENALTY = 0.01  # L2 on U and W
ITERATIONS = 200


@dataclass(frozen=True, eq=False)
class PairMetric:
    """The low-rank correction (U, W), each (dimensions x rank)."""

    u: np.ndarray
    w: np.ndarray

    def scores(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """The learned similarity of each row of a to the same row of b."""
        a, b = np.atleast_2d(a), np.atleast_2d(b)
        return (np.einsum("ij,ij->i", a, b) + np.einsum("ij,ij->i", a @ self.u, b @ self.u)
                - np.einsum("ij,ij->i", a @ self.w, b @ self.w))

    def to_json(self) -> dict:
        """The metric as it is stored in a pin matcher file (rounded: the fit is not that precise)."""
        return {"rank": int(self.u.shape[1]), "u": np.round(self.u, 6).tolist(), "w": np.round(self.w, 6).tolist()}

    @classmethod
    def from_json(cls, data: dict, dimensions: int | None = None) -> PairMetric:
        """Read a stored metric, checking its shape."""
        u = np.asarray(data["u"], dtype=np.float32)
        w = np.asarray(data["w"], dtype=np.float32)
        if u.ndim != 2 or u.shape != w.shape or u.shape[1] != int(data["rank"]):
            raise ValueError(f"the pair metric's matrices have shapes {u.shape} and {w.shape}, not (dimensions, rank)")
        if dimensions is not None and u.shape[0] != dimensions:
            raise ValueError(f"the pair metric was fitted on {u.shape[0]}-dimensional vectors, not {dimensions}")
        return cls(u, w)


def fit_pair_metric(a: np.ndarray, b: np.ndarray, same: np.ndarray, rank: int = RANK, penalty: float = PENALTY,
                    iterations: int = ITERATIONS, seed: int = 0) -> PairMetric:
    """Fit U and W by L-BFGS on the mean logistic loss of P(same) = sigmoid(scale * score + offset)."""
    from scipy.optimize import minimize  # fitting only: the answer path must not import scipy

    a, b, y = np.asarray(a, np.float64), np.asarray(b, np.float64), np.asarray(same, np.float64)
    if len(y) == 0 or y.min() == y.max():
        raise ValueError("the pair metric needs both same-meaning and different pairs")
    dimensions = a.shape[1]
    size = dimensions * rank

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        u, w = theta[:size].reshape(dimensions, rank), theta[size:2 * size].reshape(dimensions, rank)
        scale, offset = theta[-2:]
        au, bu, aw, bw = a @ u, b @ u, a @ w, b @ w
        score = np.einsum("ij,ij->i", a, b) + np.einsum("ij,ij->i", au, bu) - np.einsum("ij,ij->i", aw, bw)
        p = 1.0 / (1.0 + np.exp(-np.clip(scale * score + offset, -30, 30)))
        value = -float(np.mean(y * np.log(p + 1e-12) + (1 - y) * np.log(1 - p + 1e-12)))
        residual = (p - y) / len(y)
        g = (scale * residual)[:, None]
        grad_u = a.T @ (g * bu) + b.T @ (g * au)
        grad_w = -(a.T @ (g * bw) + b.T @ (g * aw))
        weights = theta[:-2]
        value += 0.5 * penalty * float(weights @ weights)
        grad = np.concatenate([grad_u.ravel(), grad_w.ravel(), [float(residual @ score), float(residual.sum())]])
        grad[:-2] += penalty * weights
        return value, grad

    # Start from the plain cosine with a steep scale, so that the fit only has to learn the correction.
    start = np.concatenate([np.random.default_rng(seed).normal(0.0, 1e-3, 2 * size), [5.0, -3.0]])
    theta = minimize(loss, start, jac=True, method="L-BFGS-B", options={"maxiter": iterations}).x
    return PairMetric(theta[:size].reshape(dimensions, rank).astype(np.float32),
                      theta[size:2 * size].reshape(dimensions, rank).astype(np.float32))
