"""Gradient-boosted trees as a scorer model: fitted by scikit-learn in `citebot calibrate`, read by numpy.

A logistic regression weighs each feature the same way whatever the others say; trees can learn that a
close example question matters only when the sentence also holds what was asked, or that a low cosine is
fine for a statistics row. The answer path never imports scikit-learn: the fitted trees are written out as
plain arrays, and `probabilities` evaluates every tree at once with numpy.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BOOSTED_KIND = "boosted"


@dataclass(frozen=True, eq=False)  # arrays: compared by identity
class BoostedTrees:
    """P = sigmoid(baseline + the sum of one leaf value per tree), over named features.

    Node arrays are (trees x nodes): a node sends a row left when its feature is <= the threshold; a leaf
    holds its value. Trees with fewer nodes are padded with leaves nobody reaches.
    """

    features: tuple[str, ...]
    baseline: float
    feature: np.ndarray    # int32, the feature each node splits on (a column of the matrix)
    threshold: np.ndarray  # float64
    left: np.ndarray       # int32, the node a row goes to when feature <= threshold
    right: np.ndarray      # int32
    value: np.ndarray      # float64, a leaf's contribution (0 at inner nodes)
    leaf: np.ndarray       # bool

    def __post_init__(self) -> None:
        # Each tree as a path matrix (the GEMM strategy of Hummingbird): a row reaches a leaf exactly when
        # it goes left at every ancestor the leaf lies left of, and right at the others.
        trees = self.feature.shape[0]
        inner = [np.flatnonzero(~self.leaf[t]) for t in range(trees)]
        routes = [_routes(self.left[t], self.right[t], self.leaf[t]) for t in range(trees)]
        width, count = max(1, max(map(len, inner))), max(map(len, routes))
        feature = np.zeros((trees, width), dtype=np.int64)
        threshold = np.full((trees, width), np.inf)
        paths = np.zeros((trees, width, count), dtype=np.float32)
        lefts = np.full((trees, count), -1.0, dtype=np.float32)  # -1: a padding leaf no row reaches
        values = np.zeros((trees, count))
        for t in range(trees):
            slot = {node: i for i, node in enumerate(inner[t])}
            feature[t, :len(inner[t])] = self.feature[t, inner[t]]
            threshold[t, :len(inner[t])] = self.threshold[t, inner[t]]
            for j, (node, route) in enumerate(routes[t].items()):
                values[t, j] = self.value[t, node]
                lefts[t, j] = 0.0
                for ancestor, went_left in route:
                    paths[t, slot[ancestor], j] = 1.0 if went_left else -1.0
                    lefts[t, j] += went_left
        object.__setattr__(self, "_paths", (feature, threshold, paths, lefts, values))

    def probabilities(self, matrix: np.ndarray) -> np.ndarray:
        """The probability for each row of a (rows x features) matrix."""
        rows = np.asarray(matrix, dtype=np.float64)
        feature, threshold, paths, lefts, values = self._paths  # type: ignore[attr-defined]
        # (trees x rows x inner nodes): whether each row goes left at each node (NaN goes right).
        goes_left = (rows[:, feature] <= threshold).transpose(1, 0, 2).astype(np.float32)
        leaf = (np.matmul(goes_left, paths) == lefts[:, None, :]).argmax(axis=2)  # (trees x rows)
        z = self.baseline + values[np.arange(len(values))[:, None], leaf].sum(axis=0)
        return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))

    def to_json(self) -> dict:
        """The model as the scorer file stores it."""
        return {"kind": BOOSTED_KIND, "features": list(self.features), "baseline": self.baseline,
                "trees": [_tree_json(self, t) for t in range(self.feature.shape[0])]}

    @classmethod
    def from_json(cls, data: dict, expected: tuple[str, ...]) -> BoostedTrees:
        """Read a model; its features are found by name among those this citebot computes."""
        names = tuple(data["features"])
        unknown = [name for name in names if name not in expected]
        if unknown:
            raise ValueError(f"fitted on features this citebot does not compute: {', '.join(unknown)}")
        column = np.array([expected.index(name) for name in names], dtype=np.int32)
        trees = data["trees"]
        if not trees:
            raise ValueError("a boosted model with no trees")
        width = max(len(tree["feature"]) for tree in trees)

        def packed(key: str, dtype: type, pad: object) -> np.ndarray:
            return np.array([list(tree[key]) + [pad] * (width - len(tree[key])) for tree in trees], dtype=dtype)

        feature, leaf = packed("feature", np.int32, 0), packed("leaf", bool, True)
        left, right = packed("left", np.int32, 0), packed("right", np.int32, 0)
        if feature.min() < 0 or feature.max() >= len(names) or left.max() >= width or right.max() >= width:
            raise ValueError("a tree refers to a feature or node that does not exist")
        # Stored by the model's own feature order; the matrix given to it has this citebot's order.
        return cls(expected, float(data["baseline"]), np.where(leaf, 0, column[feature]).astype(np.int32),
                   packed("threshold", np.float64, 0.0), left, right, packed("value", np.float64, 0.0), leaf)


def _routes(left: np.ndarray, right: np.ndarray, leaf: np.ndarray) -> dict[int, list[tuple[int, bool]]]:
    """Each leaf reachable from the root, with the (ancestor, went left) steps that lead to it."""
    routes: dict[int, list[tuple[int, bool]]] = {}
    stack: list[tuple[int, list[tuple[int, bool]]]] = [(0, [])]
    while stack:
        node, route = stack.pop()
        if leaf[node]:
            routes[node] = route
        else:
            stack += [(int(left[node]), [*route, (node, True)]), (int(right[node]), [*route, (node, False)])]
    return dict(sorted(routes.items()))


def _tree_json(model: BoostedTrees, t: int) -> dict:
    """One tree's node lists."""
    return {"feature": model.feature[t].tolist(), "threshold": model.threshold[t].tolist(),
            "left": model.left[t].tolist(), "right": model.right[t].tolist(), "value": model.value[t].tolist(),
            "leaf": model.leaf[t].tolist()}


def fit_boosted(x: np.ndarray, y: np.ndarray, names: tuple[str, ...], rounds: int = 200, learning_rate: float = 0.05,
                leaves: int = 15, min_leaf: int = 40, seed: int = 0) -> BoostedTrees:
    """Fit gradient-boosted trees (scikit-learn's histogram booster, no early stopping, a fixed seed)."""
    from sklearn.ensemble import HistGradientBoostingClassifier  # calibration only: the answer path has no sklearn

    booster = HistGradientBoostingClassifier(max_iter=rounds, learning_rate=learning_rate, max_leaf_nodes=leaves,
                                             min_samples_leaf=min(min_leaf, max(1, len(y) // 4)),
                                             l2_regularization=1.0, early_stopping=False, random_state=seed)
    booster.fit(x, y)
    trees = [predictors[0].nodes for predictors in booster._predictors]
    width = max(len(nodes) for nodes in trees)

    def packed(field: str, dtype: type, pad: object) -> np.ndarray:
        return np.array([list(nodes[field]) + [pad] * (width - len(nodes)) for nodes in trees], dtype=dtype)

    leaf = packed("is_leaf", bool, True)
    return BoostedTrees(names, float(np.ravel(booster._baseline_prediction)[0]),
                        np.where(leaf, 0, packed("feature_idx", np.int32, 0)).astype(np.int32),
                        packed("num_threshold", np.float64, 0.0), packed("left", np.int32, 0),
                        packed("right", np.int32, 0), np.where(leaf, packed("value", np.float64, 0.0), 0.0), leaf)
