"""The learned question-to-answer similarity: it learns what plain cosine misses, and scorers carry it."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bot.answering.adapter import QueryAdapter, RankingGroup, fit_adapter
from bot.answering.features import ADAPTED, FEATURES, OPTIONAL_FEATURES
from bot.answering.scorer import BUNDLED_SCORER, ScorerError, load_scorer

DIMENSIONS = 24


def _unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=-1, keepdims=True)).astype(np.float32)


def _questions(rng: np.random.Generator, count: int, turn: np.ndarray) -> list[RankingGroup]:
    """Each question's answer lies along a fixed turn of the question, and its decoys closer to the question."""
    groups = []
    for _ in range(count):
        q = _unit(rng.normal(size=DIMENSIONS))
        answer = _unit(turn @ q + 0.1 * rng.normal(size=DIMENSIONS))
        decoys = _unit(q + 0.9 * rng.normal(size=(9, DIMENSIONS)))  # share the question's topic, answer nothing
        sentences = np.vstack([answer, decoys])
        groups.append(RankingGroup(q, sentences, np.array([1] + [0] * 9)))
    return groups


def _top1(groups: list[RankingGroup], score) -> float:
    return float(np.mean([np.argmax(score(g.query, g.sentences)) == 0 for g in groups]))


def test_the_adapter_learns_the_turn_from_question_to_answer_that_cosine_misses():
    rng = np.random.default_rng(7)
    turn = np.linalg.qr(rng.normal(size=(DIMENSIONS, DIMENSIONS)))[0]  # answers are not paraphrases
    train, held_out = _questions(rng, 300, turn), _questions(rng, 100, turn)
    adapter = fit_adapter(train, rank=DIMENSIONS, iterations=300)
    cosine = _top1(held_out, lambda q, s: s @ q)
    adapted = _top1(held_out, adapter.scores)
    assert adapted >= 0.8 and adapted > cosine + 0.3, (cosine, adapted)


def test_fitting_needs_named_answers_among_other_candidates():
    lone = RankingGroup(np.ones(4, np.float32), np.ones((1, 4), np.float32), np.array([1]))
    unnamed = RankingGroup(np.ones(4, np.float32), np.ones((3, 4), np.float32), np.array([0, 0, -1]))
    with pytest.raises(ValueError, match="named answer"):
        fit_adapter([lone, unnamed])


def test_an_adapter_survives_its_file_and_a_wrong_shape_is_refused():
    rng = np.random.default_rng(1)
    adapter = QueryAdapter(rng.normal(size=(8, 3)).astype(np.float32), rng.normal(size=(8, 3)).astype(np.float32))
    again = QueryAdapter.from_json(json.loads(json.dumps(adapter.to_json())), dimensions=8)
    q, s = _unit(rng.normal(size=8)), _unit(rng.normal(size=(5, 8)))
    assert np.allclose(adapter.scores(q, s), again.scores(q, s), atol=1e-4)
    with pytest.raises(ValueError, match="8-dimensional vectors, not 16"):
        QueryAdapter.from_json(adapter.to_json(), dimensions=16)
    broken = {**adapter.to_json(), "v": [[0.0]]}
    with pytest.raises(ValueError, match="shapes"):
        QueryAdapter.from_json(broken)


def test_a_scorer_fitted_before_the_adapter_gives_its_features_no_weight(tmp_path: Path):
    data = json.loads(BUNDLED_SCORER.read_text())
    # Files from before the adapter hold logistic models (boosted ones came later and name their features).
    weights = np.random.default_rng(1).normal(size=len(FEATURES))
    data["sentence"] = sentence = {"features": list(FEATURES), "mean": [0.0] * len(FEATURES),
                                   "scale": [1.0] * len(FEATURES), "weights": weights.tolist(), "bias": 0.0}
    keep = [i for i, name in enumerate(sentence["features"]) if name not in OPTIONAL_FEATURES]
    for key in ("features", "mean", "scale", "weights"):
        sentence[key] = [sentence[key][i] for i in keep]
    data["adapter"] = None
    path = tmp_path / "older.json"
    path.write_text(json.dumps(data))
    older = load_scorer(path).sentence
    assert older.features == FEATURES
    assert [older.weights[i] for i in ADAPTED] == [0.0, 0.0]
    rows = np.random.default_rng(2).normal(size=(6, len(FEATURES)))
    without = rows.copy()
    without[:, list(ADAPTED)] = 123.0  # whatever the adapted features say, an older scorer ignores them
    assert np.allclose(older.probabilities(rows), older.probabilities(without))
    sentence["features"] = sentence["features"][1:] + sentence["features"][:1]  # reordered: not an older file
    path.write_text(json.dumps(data))
    with pytest.raises(ScorerError, match="other features"):
        load_scorer(path)


def test_the_service_scores_candidates_with_the_shipped_adapter(bundled_service):
    """The bundled scorer's adapter, when it has one, is what fills the adapted features of every candidate."""
    search, composer = bundled_service.searchable()
    result = bundled_service.retrieve(search, "why did cuomo pull new york out of it")
    candidates, _ = composer.candidates(result)
    values = np.array([c.features[ADAPTED[0]] for c in candidates])
    adapter = composer.scorer.adapter
    assert (adapter is not None) == composer.scorer.provenance["adapter"]  # what calibrate chose, shipped
    if adapter is None:
        assert not values.any()
    else:
        expected = adapter.scores(result.query_vector, np.stack([c.vector for c in candidates]))
        assert np.allclose(values, expected, atol=1e-5) and values.any()
        gaps = np.array([c.features[ADAPTED[1]] for c in candidates])
        assert np.isclose(gaps.max(), 0.0) and (gaps <= 1e-9).all()
