"""Pinned answers on the shared corpus through the real `citebot` command: add, serve, survive, break, remove."""
from __future__ import annotations

import json
import shutil

import numpy as np

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
