"""The bundled model tuned on the train split: its folds, when it is used, and that it ranks better."""
from __future__ import annotations

import shutil

import numpy as np

from bot.answering.training import fit_sources
from bot.encoder_tuning import (
    BUNDLED_ENCODER_TRAINING,
    negative_corpus,
    tuned_encoder,
    tuning_fold,
    tuning_folds,
    tuning_pairs,
)
from bot.evaluation import collapse, read_question_set
from bot.settings import Settings, build_encoder
from knowledge.corpus_loader import BUNDLED_CORPUS
from tests.conftest import make_service

TRAIN = read_question_set(BUNDLED_ENCODER_TRAINING[0])
order = [q.id for q in TRAIN].index
VALIDATION = read_question_set(BUNDLED_CORPUS / "questions" / "validation.jsonl")


def test_the_train_questions_fall_in_two_folds_the_same_way_every_time():
    first = [q for q in TRAIN if tuning_fold(q) == 0]
    assert 0.4 < len(first) / len(TRAIN) < 0.6
    assert tuning_folds(Settings()) == {q.id: tuning_fold(q) for q in TRAIN}
    everything, without_first = tuning_pairs(TRAIN), tuning_pairs(TRAIN, without_fold=0)
    assert without_first == tuning_pairs([q for q in TRAIN if tuning_fold(q) == 1])
    assert len(without_first) < len(everything)
    assert not any(p.sentence.startswith("stat:") for p in everything)
    # Answers run the model tuned on everything; each fold's model is another model, and so another index.
    identities = {build_encoder(Settings()).identity} | {tuned_encoder(Settings(), f).identity for f in (0, 1)}
    assert len(identities) == 3


def test_the_default_settings_tune_the_bundled_model_and_other_settings_do_not():
    assert " tuned:" in build_encoder(Settings()).identity
    # The bundled scorer was fitted with the tuned model's cosines, so a server without the bundled sources
    # still runs the tuned model.
    assert " tuned:" in build_encoder(Settings(include_bundled_corpus=False)).identity
    for settings in (Settings(tune_encoder=False), Settings(model="some/other-model"), Settings(encoder_training=[])):
        assert " tuned:" not in build_encoder(settings).identity
        assert tuning_folds(settings) == {}


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


def test_calibrate_gathers_each_cross_fitted_question_with_the_model_tuned_without_it(bundled_service, tmp_path):
    shutil.copytree(bundled_service.settings.home, tmp_path / "other")  # the same index, another service
    other = make_service(tmp_path / "other", bundled_service.encoder, bundled=True)
    cross = frozenset(q.id for q in TRAIN[:30] if tuning_fold(q) == 1)
    sources = fit_sources(bundled_service, TRAIN[:30], [(other, cross)])
    assert [(svc, [q.id for q in questions]) for svc, questions, _ in sources] == [
        (bundled_service, [q.id for q in TRAIN[:30] if q.id not in cross]), (other, sorted(cross, key=order))]
    assert all(len(memory.questions) == 30 for _, _, memory in sources)  # each memory holds all of train


def test_hard_negatives_come_from_the_corpus_the_questions_are_about_never_from_uploads(tmp_path):
    bundled = negative_corpus(Settings(home=tmp_path, include_bundled_corpus=False))
    assert "ICE announced Secure Communities in March 2008, according to the American Immigration Council's " \
           "Secure Communities fact sheet of November 2011." in bundled
    assert not any("Comunidades Seguras" in s for s in bundled)  # English sentences only: the model is English
    (tmp_path / "uploads" / "guild-1").mkdir(parents=True)
    (tmp_path / "uploads" / "guild-1" / "flyer.md").write_text("A server's own upload says this.\n")
    assert negative_corpus(Settings(home=tmp_path)) == bundled  # an upload does not retrain the model
    folder = tmp_path / "program"
    folder.mkdir()
    (folder / "notes.md").write_text("Another program's corpus has this sentence. And this one.\n")
    other = Settings(home=tmp_path, include_bundled_corpus=False, corpus=[folder], encoder_training=[tmp_path / "q"])
    assert negative_corpus(other) == ["Another program's corpus has this sentence.", "And this one."][::-1]
