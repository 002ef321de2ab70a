"""Fine-tuning the bundled model: a real (small) training run, its cache, its key and its failures."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from embeddings.encoder import Encoder, resolve_model
from embeddings.errors import EncoderError
from embeddings.model_options import BUNDLED_MODEL
from embeddings.tuning import TrainingPair, TuningConfig, is_complete, tuned_folder, tuned_model, tuning_key

PAIRS = [
    TrainingPair("what is a detainer", "A detainer asks a jail to hold a person up to 48 hours past release."),
    TrainingPair("who ran the program", "Immigration and Customs Enforcement ran the program from 2008."),
    TrainingPair("when did it end", "The program was ended in November 2014 and replaced by PEP."),
    TrainingPair("did any state try to leave", "Illinois, New York and Massachusetts tried to opt out in 2011."),
    TrainingPair("what happened to the prints", "Fingerprints taken at booking went to the FBI and on to DHS."),
    TrainingPair("did it come back", "An executive order in January 2017 brought the program back."),
]
FAST = TuningConfig(epochs=4, learning_rate=1e-4, batch_size=6, hard_negatives=2)  # the hard-negative path too


def base_dir() -> Path:
    return Path(resolve_model(BUNDLED_MODEL))


def margins(encoder: Encoder) -> np.ndarray:
    """Each question's cosine to its own answer minus its best cosine to another pair's answer."""
    similarity = encoder.encode_queries([p.question for p in PAIRS]) @ encoder.encode_queries(
        [p.sentence for p in PAIRS]).T
    others = np.where(np.eye(len(PAIRS), dtype=bool), -np.inf, similarity).max(axis=1)
    return np.diag(similarity) - others


def test_the_key_follows_the_base_model_the_pairs_and_the_settings():
    key = tuning_key(base_dir(), PAIRS, FAST)
    assert key == tuning_key(base_dir(), list(PAIRS), FAST)
    assert key != tuning_key(base_dir(), PAIRS[1:], FAST)
    assert key != tuning_key(base_dir(), PAIRS[::-1], FAST)  # the order is the training order
    assert key != tuning_key(base_dir(), PAIRS, TuningConfig(epochs=5, learning_rate=1e-4, batch_size=6,
                                                             hard_negatives=2))
    assert key != tuning_key(base_dir(), PAIRS, FAST, ["A sentence the hard negatives are mined from."])


def test_a_tuned_model_brings_questions_nearer_their_answers_and_is_made_once(tmp_path: Path, torch_encoder):
    folder = tuned_model(base_dir(), PAIRS, tmp_path, FAST)
    assert folder == tuned_folder(tmp_path, tuning_key(base_dir(), PAIRS, FAST)) and is_complete(folder)
    weights = (folder / "model.safetensors").stat().st_mtime_ns
    assert tuned_model(base_dir(), PAIRS, tmp_path, FAST) == folder
    assert (folder / "model.safetensors").stat().st_mtime_ns == weights  # found in the cache, not trained again
    tuned = Encoder("test tuned", backend="torch", model_folder=lambda: folder)
    before, after = margins(torch_encoder), margins(tuned)
    assert (after > 0).all() and after.mean() > before.mean() + 0.1  # every answer first, by more than before
    assert not any(p.name.startswith(".") and p.is_dir() for p in tmp_path.joinpath("tuned").iterdir())


def test_a_training_that_fails_leaves_nothing_half_made_and_says_why(tmp_path: Path):
    not_a_model = tmp_path / "empty-model"
    not_a_model.mkdir()
    with pytest.raises(EncoderError, match=r"(?s)could not finish fine-tuning .*CITEBOT_TUNE_ENCODER=false"):
        tuned_model(not_a_model, PAIRS, tmp_path / "cache", FAST)
    assert not [p for p in (tmp_path / "cache" / "tuned").iterdir() if p.is_dir()]


def test_tuning_without_pairs_is_refused(tmp_path: Path):
    with pytest.raises(EncoderError, match="pairs"):
        tuned_model(base_dir(), [], tmp_path)
