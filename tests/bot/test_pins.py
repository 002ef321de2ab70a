"""Pinned answers on the shared corpus through the real `citebot` command: add, serve, survive, break, remove."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from bot.activity import PinnedSentence
from bot.answering.pin_matcher import BUNDLED_PIN_MATCHER, PAIR_FEATURES, load_pin_matcher
from bot.answering.pin_training import best_threshold, precision_recall
from tests.cli_runner import run
from tests.conftest import MINI_CORPUS

HOLD = ("An ICE detainer asks a local jail to keep a person for up to 48 hours after their release time so that ICE "
        "can take custody.")
REFUSAL = "A detainer is a request, not a judicial warrant, and local jails have no legal obligation to honor it."


def test_a_pin_is_served_survives_a_reindex_and_breaks_visibly_when_its_sentence_goes(tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(MINI_CORPUS, corpus)
    home = tmp_path / "home"
    assert run(["index"], home, corpus).returncode == 0
    bad = run(["pin", "add", "--question", "Must jails hold people for ICE?", "--sentence", "Jails must obey."],
              home, corpus)
    assert bad.returncode == 2 and "'Jails must obey.'" in bad.stderr
    added = run(["pin", "add", "--question", "Must jails hold people for ICE?", "--sentence", REFUSAL,
                 "--sentence", HOLD, "--by", "tester"], home, corpus)
    assert added.returncode == 0, added.stderr
    pin_id = int(added.stdout)

    answer = json.loads(run(["ask", "--json", "must jails hold people for ICE"], home, corpus).stdout)
    assert answer["answer"] == f"{REFUSAL} [1] {HOLD} [1]" and answer["abstained"] is False
    assert answer["pinned"]["id"] == pin_id and answer["pinned"]["by"] == "tester"
    assert answer["citations"][0]["source_id"] == "mini-detainers"
    other = json.loads(run(["ask", "--json", "When did Illinois withdraw?"], home, corpus).stdout)
    assert other["pinned"] is None and "May 4" in other["answer"]

    assert run(["index", "--rebuild"], home, corpus).returncode == 0  # same sentences: the pin holds
    again = json.loads(run(["ask", "--json", "Must jails hold people for ICE?"], home, corpus).stdout)
    assert again["pinned"]["id"] == pin_id

    detainers = corpus / "articles" / "detainers.md"
    detainers.write_text(detainers.read_text().replace(REFUSAL, "A detainer is only a request."))
    assert run(["index"], home, corpus).returncode == 0
    broken = json.loads(run(["ask", "--json", "Must jails hold people for ICE?"], home, corpus).stdout)
    assert broken["pinned"] is None  # never served half-broken
    listed = json.loads(run(["pin", "list", "--json"], home, corpus).stdout)
    assert listed[0]["id"] == pin_id and listed[0]["broken"] is True
    check = run(["check"], home, corpus)
    assert check.returncode == 2 and f"pin {pin_id} (shared) is not served" in check.stdout

    assert run(["pin", "remove", str(pin_id)], home, corpus).returncode == 0
    assert json.loads(run(["pin", "list", "--json"], home, corpus).stdout) == []
    assert run(["pin", "remove", str(pin_id)], home, corpus).returncode == 2


def test_a_pinned_decline_is_served_as_a_decline(tmp_path):
    home = tmp_path / "home"
    assert run(["pin", "add", "--question", "What is an ICE detainer?", "--decline"], home).returncode == 0
    answer = json.loads(run(["ask", "--json", "what is an ICE detainer"], home).stdout)
    assert answer["abstained"] is True and answer["pinned"]["question"] == "What is an ICE detainer?"
    assert run(["pin", "add", "--question", "x?", "--decline", "--sentence", REFUSAL], home).returncode == 2


def test_server_pins_stay_in_their_server(mini_service):
    mini_service.pin("111", "Must jails hold people for ICE?", [REFUSAL], pinned_by="organizer")
    assert mini_service.answer("Must jails hold people for ICE?", "111").pinned is not None
    assert mini_service.answer("Must jails hold people for ICE?", "222").pinned is None
    assert mini_service.answer("Must jails hold people for ICE?").pinned is None
    [pin] = mini_service.pins("111")
    assert pin.sentences == (PinnedSentence("shared", "mini-detainers", REFUSAL),)
    assert mini_service.server_data("111").activity.pins == 1
    mini_service.pin("shared", "When did Illinois leave?", [HOLD], pinned_by="operator")  # as `citebot pin add`
    for scope in ("111", "222", None):
        assert mini_service.answer("When did Illinois leave?", scope).pinned.scope == "shared"


def test_the_bundled_pin_matcher_is_fitted_and_its_threshold_chosen_by_precision():
    matcher = load_pin_matcher(BUNDLED_PIN_MATCHER)
    assert matcher.model.features == PAIR_FEATURES and 0 < matcher.threshold < 1
    assert matcher.provenance["target_precision"] == 0.95 and matcher.provenance["train_pairs"] >= 100
    probabilities = np.array([0.9, 0.8, 0.7, 0.6, 0.2])
    labels = np.array([1.0, 1.0, 0.0, 1.0, 0.0])
    assert precision_recall(probabilities, labels, 0.65) == (2 / 3, 2 / 3)
    assert best_threshold(probabilities, labels, 0.95) == (0.8, 1.0, 2 / 3)  # most recall at full precision



def _pairs(rng: np.random.Generator, count: int, dimensions: int, meaning: int) -> tuple[np.ndarray, ...]:
    """Pairs on one topic each (most of the vector); same-meaning ones also agree on the first `meaning` directions."""
    topic = rng.normal(size=(count, dimensions))
    a, b = topic + 0.5 * rng.normal(size=topic.shape), topic + 0.5 * rng.normal(size=topic.shape)
    same = rng.random(count) < 0.5
    a[:, :meaning] = 0.5 * rng.normal(size=(count, meaning))
    b[:, :meaning] = np.where(same[:, None], a[:, :meaning], 0.5 * rng.normal(size=(count, meaning)))
    a, b = a / np.linalg.norm(a, axis=1, keepdims=True), b / np.linalg.norm(b, axis=1, keepdims=True)
    return a.astype(np.float32), b.astype(np.float32), same.astype(float)


def _auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """P(a same pair scores above a different one)."""
    same, different = scores[labels > 0], scores[labels == 0]
    return float(np.mean(same[:, None] > different[None, :]))


def test_the_pair_metric_learns_the_directions_that_carry_meaning_which_cosine_blurs():
    from bot.answering.pair_metric import PairMetric, fit_pair_metric

    rng = np.random.default_rng(3)
    train, held_out = _pairs(rng, 1500, 24, 3), _pairs(rng, 400, 24, 3)
    metric = fit_pair_metric(*train, rank=4)
    cosine = _auc(np.einsum("ij,ij->i", held_out[0], held_out[1]), held_out[2])
    learned = _auc(metric.scores(held_out[0], held_out[1]), held_out[2])
    assert cosine < 0.7 and learned > cosine + 0.1, (cosine, learned)
    assert np.allclose(metric.scores(held_out[0], held_out[1]), metric.scores(held_out[1], held_out[0]), atol=1e-5)
    again = PairMetric.from_json(json.loads(json.dumps(metric.to_json())), dimensions=24)
    assert np.allclose(again.scores(*held_out[:2]), metric.scores(*held_out[:2]), atol=1e-4)
    with pytest.raises(ValueError, match="24-dimensional"):
        PairMetric.from_json(metric.to_json(), dimensions=384)
    with pytest.raises(ValueError, match="same-meaning and different"):
        fit_pair_metric(train[0], train[1], np.ones(len(train[2])))


def test_a_pin_matcher_fitted_before_the_metric_loads_and_matches_as_it_did(tmp_path: Path):
    data = json.loads(BUNDLED_PIN_MATCHER.read_text())
    model = data["model"]
    keep = [i for i, name in enumerate(model["features"]) if name != "learned_similarity"]
    old = {**data, "metric": None, "model": {"features": [model["features"][i] for i in keep],
                                             **{k: [model[k][i] for i in keep] for k in ("mean", "scale", "weights")},
                                             "bias": model["bias"]}}
    path = tmp_path / "matcher.json"
    path.write_text(json.dumps(old))
    matcher = load_pin_matcher(path)
    assert matcher.model.features == PAIR_FEATURES and matcher.metric is None
    rows = np.random.default_rng(0).random((5, len(PAIR_FEATURES)))
    padded = rows.copy()
    padded[:, PAIR_FEATURES.index("learned_similarity")] = 123.0  # weight 0: it changes nothing
    assert np.allclose(matcher.probabilities(rows), matcher.probabilities(padded))


def test_the_bundled_pin_matcher_carries_the_metric_it_was_chosen_with():
    matcher = load_pin_matcher(BUNDLED_PIN_MATCHER)
    assert (matcher.metric is not None) == (matcher.provenance["metric_penalty"] is not None)
    if matcher.metric is not None:
        assert matcher.metric.u.shape[0] == 384  # the bundled model's vectors
