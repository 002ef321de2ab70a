"""The learned answer scorer: a logistic regression over candidate features, with its fitted thresholds."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from bot.answering.features import FEATURES
from bot.errors import CitebotError
from knowledge.corpus_loader import BUNDLED_CORPUS

SCORER_FILE = "answer_scorer.json"
BUNDLED_SCORER = BUNDLED_CORPUS / SCORER_FILE


class ScorerError(CitebotError):
    """The answer scorer file is missing, malformed, or fitted on other features."""

    exit_code = 2


@dataclass(frozen=True)
class AnswerScorer:
    """P(sentence answers the question) = sigmoid(weights . standardised features + bias).

    answer_threshold: the best sentence must reach it, or citebot abstains.
    extra_threshold: further sentences must reach it to be quoted too.
    Both are chosen on a validation split, never on the split the weights were fitted on.
    """

    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    bias: float
    answer_threshold: float
    extra_threshold: float
    provenance: dict = field(default_factory=dict, compare=False)

    def probabilities(self, matrix: np.ndarray) -> np.ndarray:
        """The probability for each row of a (candidates x features) matrix."""
        z = ((matrix - np.asarray(self.mean)) / np.asarray(self.scale)) @ np.asarray(self.weights) + self.bias
        return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))

    @classmethod
    def untrained(cls) -> "AnswerScorer":
        """A scorer before calibration: every probability is 0.5 and nothing reaches its threshold."""
        n = len(FEATURES)
        return cls(FEATURES, (0.0,) * n, (1.0,) * n, (0.0,) * n, 0.0, 1.0, 1.0, {"untrained": True})

    def to_json(self) -> str:
        """The scorer file's text."""
        return json.dumps(asdict(self), indent=2) + "\n"


def load_scorer(path: Path = BUNDLED_SCORER) -> AnswerScorer:
    """Read a scorer file and check it was fitted on the features this citebot computes."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        scorer = AnswerScorer(**{**data, "features": tuple(data["features"]), "mean": tuple(data["mean"]),
                                 "scale": tuple(data["scale"]), "weights": tuple(data["weights"])})
    except FileNotFoundError:
        raise ScorerError(f"no answer scorer at {path}; fit one with `citebot calibrate` or unset "
                          "CITEBOT_ANSWER_SCORER to use the bundled one") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ScorerError(f"the answer scorer {path} cannot be read ({type(exc).__name__}: {exc}); "
                          "fit a new one with `citebot calibrate`") from None
    if scorer.features != FEATURES:
        raise ScorerError(f"the answer scorer {path} was fitted on other features than this citebot computes; "
                          "fit a new one with `citebot calibrate`")
    if not (len(scorer.mean) == len(scorer.scale) == len(scorer.weights) == len(FEATURES)):
        raise ScorerError(f"the answer scorer {path} has {len(scorer.weights)} weights for {len(FEATURES)} features")
    return scorer
