"""The learned answer scorer: two logistic regressions over measured features, with their fitted thresholds."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from bot.answering.adapter import QueryAdapter
from bot.answering.boosted import BOOSTED_KIND, BoostedTrees
from bot.answering.features import FEATURES, OPTIONAL_FEATURES, QUESTION_FEATURES
from bot.errors import CitebotError
from knowledge.corpus_loader import BUNDLED_CORPUS

SCORER_FILE = "answer_scorer.json"
BUNDLED_SCORER = BUNDLED_CORPUS / SCORER_FILE
# Fitted on the multilingual index (its own model, so its own cosines) for questions not in English.
BUNDLED_MULTILINGUAL_SCORER = BUNDLED_CORPUS / "answer_scorer.multilingual.json"


class ScorerError(CitebotError):
    """The answer scorer file is missing, malformed, or fitted on other features."""

    exit_code = 2


@dataclass(frozen=True)
class LogisticModel:
    """P = sigmoid(weights . ((x - mean) / scale) + bias), over named features."""

    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    bias: float

    def probabilities(self, matrix: np.ndarray) -> np.ndarray:
        """The probability for each row of a (rows x features) matrix."""
        z = ((matrix - np.asarray(self.mean)) / np.asarray(self.scale)) @ np.asarray(self.weights) + self.bias
        return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))

    @classmethod
    def flat(cls, features: tuple[str, ...]) -> LogisticModel:
        """A model that says 0.5 to everything."""
        n = len(features)
        return cls(features, (0.0,) * n, (1.0,) * n, (0.0,) * n, 0.0)

    @classmethod
    def from_json(cls, data: dict, expected: tuple[str, ...],
                  optional: tuple[str, ...] = OPTIONAL_FEATURES) -> LogisticModel:
        """Read one model and check it was fitted on the expected features (an older one may lack the optional)."""
        model = cls(tuple(data["features"]), tuple(map(float, data["mean"])), tuple(map(float, data["scale"])),
                    tuple(map(float, data["weights"])), float(data["bias"]))
        if not len(model.mean) == len(model.scale) == len(model.weights) == len(model.features):
            raise ValueError(f"{len(model.weights)} weights for {len(model.features)} features")
        if model.features != expected:
            model = model._with_optional(expected, optional)
        return model

    def to_json(self) -> dict:
        """The model as the scorer file stores it."""
        return {"kind": LOGISTIC_KIND, **asdict(self)}

    def _with_optional(self, expected: tuple[str, ...], optional: tuple[str, ...]) -> LogisticModel:
        """A model fitted before the optional features existed, given weight 0 for them (same probabilities)."""
        if tuple(name for name in expected if name not in optional) != self.features:
            raise ValueError("fitted on other features than this citebot computes")
        at = {name: i for i, name in enumerate(self.features)}

        def spread(values: tuple[float, ...], missing: float) -> tuple[float, ...]:
            return tuple(values[at[name]] if name in at else missing for name in expected)

        return LogisticModel(expected, spread(self.mean, 0.0), spread(self.scale, 1.0), spread(self.weights, 0.0),
                             self.bias)


ScorerModel = LogisticModel | BoostedTrees
LOGISTIC_KIND = "logistic"


def model_from_json(data: dict, expected: tuple[str, ...]) -> ScorerModel:
    """Read one model of either kind (a file from before boosted models has no kind: logistic)."""
    kind = data.get("kind", LOGISTIC_KIND)
    if kind == BOOSTED_KIND:
        return BoostedTrees.from_json(data, expected)
    if kind != LOGISTIC_KIND:
        raise ValueError(f"unknown model kind {kind!r} (citebot knows {LOGISTIC_KIND!r} and {BOOSTED_KIND!r})")
    return LogisticModel.from_json({k: v for k, v in data.items() if k != "kind"}, expected)


@dataclass(frozen=True)
class AnswerScorer:
    """Which sentences answer, and whether to answer at all.

    sentence: P(this sentence answers the question), from the sentence's features.
    question: P(the answer citebot would give is right), from the question's best candidates.
    answer_threshold: the question model must reach it, or citebot abstains.
    extra_threshold: sentences after the best must reach it (sentence model) to be quoted too.
    Both thresholds are chosen on a validation split, never on the split the weights were fitted on.
    adapter: the learned question-to-answer similarity the sentence model's adapted features come from.
    fusion: the (dense, BM25) weights of the retrieval the scorer was fitted with, chosen on validation too:
    a question in one language and passages in another share few words, so the index answering it may
    weigh its dense ranking more.
    """

    sentence: ScorerModel
    question: ScorerModel
    answer_threshold: float
    extra_threshold: float
    provenance: dict = field(default_factory=dict, compare=False)
    fusion: tuple[float, float] = (1.0, 1.0)
    adapter: QueryAdapter | None = field(default=None, compare=False)  # None: the adapted features are 0

    @classmethod
    def untrained(cls) -> AnswerScorer:
        """A scorer before calibration: every probability is 0.5 and nothing reaches its threshold."""
        return cls(LogisticModel.flat(FEATURES), LogisticModel.flat(QUESTION_FEATURES), 1.0, 1.0,
                   {"untrained": True})

    def to_json(self) -> str:
        """The scorer file's text."""
        data = {"sentence": self.sentence.to_json(), "question": self.question.to_json(),
                "answer_threshold": self.answer_threshold, "extra_threshold": self.extra_threshold,
                "provenance": self.provenance, "fusion": list(self.fusion),
                "adapter": self.adapter.to_json() if self.adapter is not None else None}
        return json.dumps(data, indent=2) + "\n"


def _fusion(value: object) -> tuple[float, float]:
    """The (dense, BM25) fusion weights of a scorer file: two non-negative numbers, not both zero."""
    dense, bm25 = (float(w) for w in value)  # type: ignore[union-attr]
    if dense < 0 or bm25 < 0 or dense + bm25 == 0:
        raise ValueError(f"fusion weights {value!r} must be two non-negative numbers, not both 0")
    return dense, bm25


def load_scorer(path: Path = BUNDLED_SCORER) -> AnswerScorer:
    """Read a scorer file and check it was fitted on the features this citebot computes."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return AnswerScorer(model_from_json(data["sentence"], FEATURES),
                            model_from_json(data["question"], QUESTION_FEATURES),
                            float(data["answer_threshold"]), float(data["extra_threshold"]),
                            dict(data.get("provenance", {})),
                            _fusion(data.get("fusion", (1.0, 1.0))),
                            QueryAdapter.from_json(data["adapter"]) if data.get("adapter") else None)
    except FileNotFoundError:
        raise ScorerError(f"no answer scorer at {path}; fit one with `citebot calibrate` or unset "
                          "CITEBOT_ANSWER_SCORER to use the bundled one") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ScorerError(f"the answer scorer {path} cannot be used ({type(exc).__name__}: {exc}); "
                          "fit a new one with `citebot calibrate`") from None
