"""Whether a new question means what a pinned question means: a logistic model over measured pair features."""
from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from bot.answering.pair_metric import PairMetric
from bot.answering.question_types import classify
from bot.answering.scorer import LogisticModel, ScorerError
from embeddings.tokenizer import tokenize
from knowledge.corpus_loader import BUNDLED_CORPUS

BUNDLED_PIN_MATCHER = BUNDLED_CORPUS / "pin_matcher.json"
PAIR_FEATURES = ("cosine", "missing_from_asked", "missing_from_pinned", "numbers_differ", "same_kind",
                 "learned_similarity")
# A matcher fitted before the learned pair metric existed still loads: that feature gets weight 0.
OPTIONAL_PAIR_FEATURES = ("learned_similarity",)
Idf = Callable[[str], float]
_NUMBER = re.compile(r"\d+(?:[,.]\d+)*")


def _missing_share(tokens: set[str], other: set[str], idf: Idf) -> float:
    """The idf-weighted share of tokens that the other question lacks (rare words weigh most)."""
    total = sum(idf(t) for t in tokens)
    return sum(idf(t) for t in tokens - other) / total if total else 0.0


def pair_features(asked: str, asked_vector: np.ndarray, pinned: str, pinned_vector: np.ndarray,
                  idf: Idf, metric: PairMetric | None = None) -> np.ndarray:
    """PAIR_FEATURES of a new question against a pinned one (both with aliases already expanded)."""
    asked_tokens, pinned_tokens = set(tokenize(asked)), set(tokenize(pinned))
    numbers = set(_NUMBER.findall(asked)) ^ set(_NUMBER.findall(pinned))
    return np.array([float(asked_vector @ pinned_vector),
                     _missing_share(pinned_tokens, asked_tokens, idf),
                     _missing_share(asked_tokens, pinned_tokens, idf),
                     float(len(numbers)),
                     float(classify(asked) == classify(pinned)),
                     float(metric.scores(pinned_vector, asked_vector)[0]) if metric is not None else 0.0],
                    dtype=np.float64)


@dataclass(frozen=True)
class PinMatcher:
    """P(same meaning) for a question pair, and the probability from which a pin is served."""

    model: LogisticModel
    threshold: float
    provenance: dict = field(default_factory=dict, compare=False)
    metric: PairMetric | None = field(default=None, compare=False)  # the learned similarity, if fitting kept one

    @classmethod
    def untrained(cls) -> PinMatcher:
        """A matcher that never matches (for fitting one, and for corpora without question pairs)."""
        return cls(LogisticModel.flat(PAIR_FEATURES), 2.0, {"untrained": True})

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        """P(same meaning) for each row of a (pairs x PAIR_FEATURES) matrix."""
        return self.model.probabilities(features)

    def save(self, path: Path) -> None:
        """Write the matcher as JSON (the caller's path; atomic)."""
        from embeddings.atomic import write_text_atomic

        data = {"model": asdict(self.model), "threshold": self.threshold, "provenance": self.provenance,
                "metric": self.metric.to_json() if self.metric is not None else None}
        write_text_atomic(path, json.dumps(data, indent=2) + "\n")


def load_pin_matcher(path: Path = BUNDLED_PIN_MATCHER) -> PinMatcher:
    """Read a matcher file written by `citebot calibrate-pins`."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        model = LogisticModel.from_json(data["model"], PAIR_FEATURES, OPTIONAL_PAIR_FEATURES)
        metric = PairMetric.from_json(data["metric"]) if data.get("metric") else None
        return PinMatcher(model, float(data["threshold"]), dict(data.get("provenance", {})), metric)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ScorerError(f"the pin matcher {path} cannot be used ({exc}); fit one with `citebot calibrate-pins`, "
                          "or unset CITEBOT_PIN_MATCHER") from None
