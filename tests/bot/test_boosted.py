"""Boosted trees as a scorer model: parity with scikit-learn, the scorer file, and what trees learn."""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier

from bot.answering.boosted import BoostedTrees, fit_boosted
from bot.answering.features import FEATURES, QUESTION_FEATURES
from bot.answering.scorer import AnswerScorer, LogisticModel, ScorerError, load_scorer
from bot.answering.training import fit_model


def _interaction(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows whose label depends on two features together (neither alone says anything)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4))
    return x, ((x[:, 0] > 0) == (x[:, 1] > 0)).astype(float)


def test_probabilities_equal_scikit_learns_on_the_same_fit():
    x, y = _interaction(3000, 0)
    ours = fit_boosted(x, y, ("a", "b", "c", "d"), rounds=60, leaves=9, min_leaf=20, seed=3)
    reference = HistGradientBoostingClassifier(max_iter=60, learning_rate=0.05, max_leaf_nodes=9, min_samples_leaf=20,
                                               l2_regularization=1.0, early_stopping=False, random_state=3).fit(x, y)
    rows, _ = _interaction(500, 1)
    np.testing.assert_allclose(ours.probabilities(rows), reference.predict_proba(rows)[:, 1], atol=1e-12)


def test_trees_learn_what_a_logistic_regression_cannot():
    x, y = _interaction(3000, 0)
    rows, truth = _interaction(1000, 1)
    trees = fit_boosted(x, y, ("a", "b", "c", "d"))
    logistic = fit_model(x, y, 1.0, ("a", "b", "c", "d"))
    assert np.mean((trees.probabilities(rows) > 0.5) == truth) > 0.9
    assert np.mean((logistic.probabilities(rows) > 0.5) == truth) < 0.65


def test_a_boosted_model_is_read_back_by_feature_name_whatever_the_order():
    x, y = _interaction(2000, 0)
    model = fit_boosted(x, y, ("a", "b", "c", "d"), rounds=30)
    data = json.loads(json.dumps(model.to_json()))
    again = BoostedTrees.from_json(data, ("d", "x", "b", "a", "c"))
    rows, _ = _interaction(200, 1)
    reordered = np.column_stack([rows[:, 3], np.zeros(200), rows[:, 1], rows[:, 0], rows[:, 2]])
    np.testing.assert_array_equal(again.probabilities(reordered), model.probabilities(rows))
    with pytest.raises(ValueError, match="does not compute: c"):
        BoostedTrees.from_json(data, ("a", "b", "d"))


def _boosted_scorer() -> AnswerScorer:
    rng = np.random.default_rng(0)
    sentences = rng.normal(size=(800, len(FEATURES)))
    questions = rng.normal(size=(300, len(QUESTION_FEATURES)))
    return AnswerScorer(fit_boosted(sentences, (sentences[:, 0] > 0).astype(float), FEATURES, rounds=20),
                        fit_boosted(questions, (questions[:, 1] > 0).astype(float), QUESTION_FEATURES, rounds=20),
                        0.5, 0.3, {"fitted": "in a test"})


def test_a_scorer_file_with_boosted_models_round_trips(tmp_path: Path):
    scorer = _boosted_scorer()
    path = tmp_path / "scorer.json"
    path.write_text(scorer.to_json())
    loaded = load_scorer(path)
    rows = np.random.default_rng(1).normal(size=(50, len(FEATURES)))
    np.testing.assert_array_equal(loaded.sentence.probabilities(rows), scorer.sentence.probabilities(rows))
    assert json.loads(path.read_text())["sentence"]["kind"] == "boosted"
    # A logistic model beside it, and an older file with no kind at all, read as logistic.
    mixed = replace(scorer, question=LogisticModel.flat(QUESTION_FEATURES))
    data = json.loads(mixed.to_json())
    del data["question"]["kind"]
    path.write_text(json.dumps(data))
    assert isinstance(load_scorer(path).question, LogisticModel)


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d["sentence"].update(kind="forest"), "unknown model kind 'forest'"),
    (lambda d: d["sentence"]["trees"][0]["left"].__setitem__(0, 10_000), "node that does not exist"),
    (lambda d: d["sentence"].update(trees=[]), "no trees"),
])
def test_a_damaged_boosted_model_is_refused_with_advice(tmp_path: Path, change, message):
    data = json.loads(_boosted_scorer().to_json())
    change(data)
    path = tmp_path / "scorer.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ScorerError, match=message) as error:
        load_scorer(path)
    assert "citebot calibrate" in str(error.value)
