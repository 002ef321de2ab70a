"""The bundled model tuned on half the train split: which half, when it is used, and that it ranks better."""
from __future__ import annotations

import numpy as np
import pytest

from bot.answering.training import calibrate_index
from bot.encoder_tuning import BUNDLED_ENCODER_TRAINING, tuned_question_ids, tunes_encoder, tuning_pairs
from bot.evaluation import collapse, read_question_set
from bot.settings import Settings, build_encoder
from knowledge.corpus_loader import BUNDLED_CORPUS

TRAIN = read_question_set(BUNDLED_ENCODER_TRAINING[0])
VALIDATION = read_question_set(BUNDLED_CORPUS / "questions" / "validation.jsonl")


def test_half_the_train_questions_tune_the_model_and_the_same_half_every_time():
    tuning = [q for q in TRAIN if tunes_encoder(q)]
    assert 0.4 < len(tuning) / len(TRAIN) < 0.6
    assert [q.id for q in TRAIN if tunes_encoder(q)] == [q.id for q in tuning]
    pairs = tuning_pairs(TRAIN)
    tuned_texts = {q.question for q in tuning}
    assert pairs and all(p.question in tuned_texts and not p.sentence.startswith("stat:") for p in pairs)
    assert tuned_question_ids(Settings()) == frozenset(q.id for q in tuning)


def test_the_default_settings_tune_the_bundled_model_and_other_settings_do_not():
    assert " tuned:" in build_encoder(Settings()).identity
    # The bundled scorer was fitted with the tuned model's cosines, so a server without the bundled sources
    # still runs the tuned model.
    assert " tuned:" in build_encoder(Settings(include_bundled_corpus=False)).identity
    for settings in (Settings(tune_encoder=False), Settings(model="some/other-model"), Settings(encoder_training=[])):
        assert " tuned:" not in build_encoder(settings).identity
        assert tuned_question_ids(settings) == frozenset()


def reciprocal_ranks(encoder, sentences: list[str]) -> np.ndarray:
    """1/rank of the best named sentence among all corpus sentences, for each answerable validation question."""
    where = {collapse(s): i for i, s in enumerate(sentences)}
    asked = [(q.question, [where[collapse(s)] for s in q.answer_sentences if collapse(s) in where])
             for q in VALIDATION if q.answerable]
    asked = [(text, ids) for text, ids in asked if ids]
    similarity = encoder.encode_queries([text for text, _ in asked]) @ encoder.encode_queries(sentences).T
    ranks = [1 + int((row > row[ids].max()).sum()) for row, (_, ids) in zip(similarity, asked)]
    return 1.0 / np.array(ranks)


def test_the_tuned_model_ranks_validation_answers_well_above_the_shipped_model(bundled_service, shipped_encoder):
    """Validation questions tuned nothing: this is the model generalizing, and it fails if tuning is removed."""
    sentences = [s for record in bundled_service.searchable()[0].stored.passages for s in record.passage.sentences]
    shipped, tuned = reciprocal_ranks(shipped_encoder, sentences), reciprocal_ranks(bundled_service.encoder, sentences)
    assert len(tuned) > 150
    assert tuned.mean() > shipped.mean() + 0.1


def test_calibrate_fits_no_weights_on_questions_the_model_was_tuned_on(bundled_service):
    with pytest.raises(ValueError, match="none is left to fit the scorer on"):
        calibrate_index(bundled_service, TRAIN[:30], VALIDATION[:10],
                        not_fitted_on=frozenset(q.id for q in TRAIN[:30]))
