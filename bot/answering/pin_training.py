"""Fitting the pin matcher on labelled question pairs: fit on train, choose penalty and threshold on validation."""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from bot.answering.pair_metric import PairMetric, fit_pair_metric
from bot.answering.pin_matcher import PAIR_FEATURES, Idf, PinMatcher, pair_features
from bot.answering.training import FOLDS, fit_model
from bot.errors import QuestionError

if TYPE_CHECKING:
    from embeddings.search import SearchIndex

PENALTIES = (0.1, 1.0, 10.0, 100.0)
METRIC_PENALTIES = (0.001, 0.01, 0.1)  # for the learned pair metric; None (no metric) is tried too
TARGET_PRECISION = 0.95  # a wrong pinned answer is served as checked by organizers: precision first


@dataclass(frozen=True)
class QuestionPair:
    """Two questions and whether one answer serves both (`a` plays the pinned question)."""

    id: str
    a: str
    b: str
    same: bool
    kind: str = ""


def read_pairs(path: Path) -> list[QuestionPair]:
    """A .jsonl file of {"id", "a", "b", "same", "kind"} lines; QuestionError names a bad line."""
    pairs = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            pairs.append(QuestionPair(str(row["id"]), str(row["a"]), str(row["b"]), bool(row["same"]),
                                      str(row.get("kind", ""))))
        except (ValueError, KeyError, TypeError) as exc:
            raise QuestionError(f"{path}:{number}: not a question pair ({exc}); each line needs "
                                '"id", "a", "b" and "same"') from None
    return pairs


@dataclass(frozen=True)
class PairData:
    """Features and labels of a list of pairs, with the vectors the learned similarity is computed from."""

    features: np.ndarray
    labels: np.ndarray
    pinned: np.ndarray
    asked: np.ndarray
    ids: tuple[str, ...] = ()

    def with_metric(self, metric: PairMetric | None) -> PairData:
        """The same pairs, their learned-similarity feature from this metric (0 without one)."""
        features = self.features.copy()
        column = PAIR_FEATURES.index("learned_similarity")
        features[:, column] = metric.scores(self.pinned, self.asked) if metric is not None else 0.0
        return replace(self, features=features)

    def subset(self, keep: np.ndarray) -> PairData:
        """The pairs where keep is true."""
        return PairData(self.features[keep], self.labels[keep], self.pinned[keep], self.asked[keep],
                        tuple(i for i, k in zip(self.ids, keep) if k))


def pair_data_for(search: SearchIndex, pairs: list[QuestionPair]) -> PairData:
    """Features of pairs computed as answering computes them over this index (its encoder, aliases and idf)."""
    from knowledge.aliases import expand_aliases

    return pair_data(pairs, search.encoder.encode_queries, lambda q: expand_aliases(q, search.stored.aliases),
                     search.bm25.idf_of)


def pair_data(pairs: list[QuestionPair], encode: Callable[[list[str]], np.ndarray], expand: Callable[[str], str],
              idf: Idf) -> PairData:
    """PAIR_FEATURES of every pair (`b` asked against `a` pinned), with aliases expanded as in answering."""
    asked = [expand(p.b) for p in pairs]
    pinned = [expand(p.a) for p in pairs]
    vectors_asked, vectors_pinned = encode(asked), encode(pinned)
    rows = [pair_features(q, u, r, v, idf) for q, u, r, v in zip(asked, vectors_asked, pinned, vectors_pinned)]
    return PairData(np.array(rows).reshape(len(pairs), len(PAIR_FEATURES)), np.array([p.same for p in pairs], float),
                    np.asarray(vectors_pinned), np.asarray(vectors_asked), tuple(p.id for p in pairs))


def precision_recall(probabilities: np.ndarray, labels: np.ndarray, threshold: float) -> tuple[float, float]:
    """Precision (1.0 when nothing matches) and recall of matching at a threshold."""
    matched = probabilities >= threshold
    true = float(np.sum(matched & (labels > 0)))
    return (true / matched.sum() if matched.any() else 1.0), (true / labels.sum() if labels.sum() else 0.0)


def best_threshold(probabilities: np.ndarray, labels: np.ndarray, target: float) -> tuple[float, float, float]:
    """(threshold, precision, recall): the most recall at precision >= target, else the best precision."""
    options = []
    for threshold in np.unique(np.concatenate([probabilities, [1.0 + 1e-9]])):
        precision, recall = precision_recall(probabilities, labels, float(threshold))
        options.append((precision >= target, recall if precision >= target else precision, threshold,
                        float(threshold), precision, recall))
    best = max(options)
    return best[3], best[4], best[5]


def with_out_of_fold_metric(train: PairData, penalty: float, folds: int = FOLDS) -> tuple[PairMetric, PairData]:
    """A metric fitted on all of train, and train's learned feature from metrics fitted without each pair's fold.

    A metric scores the pairs it was fitted on far more confidently than new ones; the logistic model must
    learn how much to trust it from scores like those it will see (stacking).
    """
    fold_of = np.array([int(hashlib.sha256(i.encode()).hexdigest(), 16) % folds for i in train.ids])
    column = np.zeros(len(train.labels))
    for fold in range(folds):
        inside = fold_of != fold
        metric = fit_pair_metric(train.pinned[inside], train.asked[inside], train.labels[inside], penalty=penalty)
        column[~inside] = metric.scores(train.pinned[~inside], train.asked[~inside])
    features = train.features.copy()
    features[:, PAIR_FEATURES.index("learned_similarity")] = column
    return fit_pair_metric(train.pinned, train.asked, train.labels, penalty=penalty), replace(train, features=features)


def fit_pin_matcher(train: PairData, validation: PairData, target: float = TARGET_PRECISION) -> PinMatcher:
    """Fit one logistic model per penalty (with and without a learned metric) on train; keep the best on validation.

    Best: precision at least the target on validation, then the most recall, then precision.
    """
    if train.labels.min(initial=1) == train.labels.max(initial=0):
        raise QuestionError("the train pairs need both same-meaning and different pairs")
    metrics: list[tuple[float | None, PairMetric | None, PairData]] = [(None, None, train.with_metric(None))]
    for metric_penalty in METRIC_PENALTIES:
        metric, filled = with_out_of_fold_metric(train, metric_penalty)
        metrics.append((metric_penalty, metric, filled))
    fitted = []
    for metric_penalty, metric, fit_on in metrics:
        held = validation.with_metric(metric)
        for penalty in PENALTIES:
            model = fit_model(fit_on.features, fit_on.labels, penalty, PAIR_FEATURES)
            threshold, precision, recall = best_threshold(model.probabilities(held.features), held.labels, target)
            fitted.append(((precision >= target, recall, precision), penalty, metric_penalty, metric, model,
                           threshold, precision, recall))
    _, penalty, metric_penalty, metric, model, threshold, precision, recall = max(fitted, key=lambda f: f[0])
    provenance = {"penalty": penalty, "metric_penalty": metric_penalty, "target_precision": target,
                  "train_pairs": len(train.labels), "validation_pairs": len(validation.labels),
                  "validation_precision": round(precision, 4), "validation_recall": round(recall, 4)}
    return PinMatcher(model, threshold, provenance, metric)
