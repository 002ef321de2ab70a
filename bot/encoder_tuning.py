"""Which labelled questions fine-tune the bundled model, and the encoder that results.

Half of the encoder-training questions (chosen by a hash of each id, so the same half on every machine)
tune the model; `citebot calibrate` fits the answer scorer only on the other half. A scorer fitted on
questions the model was tuned on would learn from cosines that no new question reaches.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from bot.evaluation import Question, read_question_set
from embeddings.model_options import BUNDLED_MODEL
from knowledge.corpus_loader import BUNDLED_CORPUS

if TYPE_CHECKING:
    from bot.settings import Settings
    from embeddings.encoder import Encoder
    from embeddings.tuning import TrainingPair

BUNDLED_ENCODER_TRAINING = (BUNDLED_CORPUS / "questions" / "train.jsonl",)
TUNING_SALT = "citebot encoder tuning"  # fixed: changing it moves questions between the halves


def tunes_encoder(question: Question) -> bool:
    """Whether this question is in the half that tunes the model (the other half calibrates the scorer)."""
    return hashlib.sha256(f"{TUNING_SALT}\0{question.id}".encode()).digest()[0] < 128


def tuning_pairs(questions: Iterable[Question]) -> list[TrainingPair]:
    """(question, named answer sentence) pairs of the tuning half, in file order; statistics rows left out."""
    from embeddings.tuning import TrainingPair

    return [TrainingPair(q.question, sentence) for q in questions if q.answerable and tunes_encoder(q)
            for sentence in q.answer_sentences if not sentence.startswith("stat:")]


def encoder_training_questions(settings: Settings) -> list[Question]:
    """The labelled questions the bundled model is tuned on (none when tuning is off or another model is set)."""
    if not settings.tune_encoder or settings.model != BUNDLED_MODEL:
        return []
    # Without the bundled sources too: the bundled scorer was fitted with this model's cosines.
    paths = settings.encoder_training
    if paths is None:
        paths = [p for p in BUNDLED_ENCODER_TRAINING if p.is_file()]
    return [q for path in paths for q in read_question_set(Path(path))]


def tuned_question_ids(settings: Settings) -> frozenset[str]:
    """Ids of the questions whose answers tuned the model: calibrate must not fit the scorer on them."""
    return frozenset(q.id for q in encoder_training_questions(settings) if tunes_encoder(q))


def tuned_encoder(settings: Settings) -> Encoder | None:
    """The bundled model fine-tuned on the settings' training questions, or None when there is nothing to tune."""
    pairs = tuning_pairs(encoder_training_questions(settings))
    if not pairs:
        return None
    from embeddings.encoder import Encoder, resolve_model
    from embeddings.tuning import tuned_model, tuning_key

    base = Path(resolve_model(BUNDLED_MODEL))
    cache = settings.model_cache_home
    return Encoder(f"{BUNDLED_MODEL} tuned:{tuning_key(base, pairs)}", backend=settings.encoder_backend,
                   precision=settings.encoder_precision, cache_dir=cache,
                   model_folder=lambda: tuned_model(base, pairs, cache))
