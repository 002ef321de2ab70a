"""Which labelled questions fine-tune the bundled model, and the encoders that result.

Answers run the model tuned on every encoder-training question. To fit the answer scorer on cosines like
a new question's, `citebot calibrate` cross-fits: the questions are split in two folds by a hash of each
id (the same folds on every machine), and each fold's features come from a model tuned on the other fold.
A scorer fitted on questions the model was tuned on would learn from cosines no new question reaches.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from bot.evaluation import Question, read_question_set
from embeddings.model_options import BUNDLED_MODEL
from knowledge.corpus_loader import BUNDLED_CORPUS, CorpusFolder, load_corpus
from knowledge.languages import ENGLISH
from knowledge.sentences import split_sentences

if TYPE_CHECKING:
    from bot.settings import Settings
    from embeddings.encoder import Encoder
    from embeddings.tuning import TrainingPair

BUNDLED_ENCODER_TRAINING = (BUNDLED_CORPUS / "questions" / "train.jsonl",)
TUNING_SALT = "citebot encoder tuning"  # fixed: changing it moves questions between the folds
FOLDS = 2


def tuning_fold(question: Question) -> int:
    """The cross-fitting fold of a question (0 or 1)."""
    return 0 if hashlib.sha256(f"{TUNING_SALT}\0{question.id}".encode()).digest()[0] < 128 else 1


def tuning_pairs(questions: Iterable[Question], without_fold: int | None = None) -> list[TrainingPair]:
    """(question, named answer sentence) pairs in file order, statistics rows left out; optionally one fold out."""
    from embeddings.tuning import TrainingPair

    return [TrainingPair(q.question, sentence) for q in questions
            if q.answerable and (without_fold is None or tuning_fold(q) != without_fold)
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


def negative_corpus(settings: Settings) -> list[str]:
    """The English sentences of the corpus the training questions are about, where hard negatives are mined.

    The bundled questions are about the bundled corpus; questions set in CITEBOT_ENCODER_TRAINING are about the
    configured shared folders. Uploads never count: a server adding a document must not retrain the model.
    """
    if settings.encoder_training is None:
        folders = [CorpusFolder(BUNDLED_CORPUS)]
    else:
        folders = [CorpusFolder(BUNDLED_CORPUS)] if settings.include_bundled_corpus else []
        folders += [CorpusFolder(Path(p)) for p in settings.corpus]
    sentences = {source.text[a:b] for source in load_corpus(folders).sources if source.language == ENGLISH
                 for a, b in split_sentences(source.text)}
    return sorted(sentences)


def tuning_folds(settings: Settings) -> dict[str, int]:
    """Each tuning question's fold by id: calibrate gives a question features from the other fold's model."""
    return {q.id: tuning_fold(q) for q in encoder_training_questions(settings)}


def tuned_encoder(settings: Settings, without_fold: int | None = None) -> Encoder | None:
    """The bundled model fine-tuned on the training questions (optionally one fold out), or None if none."""
    pairs = tuning_pairs(encoder_training_questions(settings), without_fold)
    if not pairs:
        return None
    from embeddings.encoder import Encoder, resolve_model
    from embeddings.tuning import TuningConfig, tuned_model, tuning_key

    base = Path(resolve_model(BUNDLED_MODEL))
    cache = settings.model_cache_home
    config = TuningConfig()
    # Only training against hard negatives reads the corpus: otherwise it is no input, and no start-up cost.
    corpus = negative_corpus(settings) if config.hard_negatives else []
    return Encoder(f"{BUNDLED_MODEL} tuned:{tuning_key(base, pairs, config, corpus)}",
                   backend=settings.encoder_backend, precision=settings.encoder_precision, cache_dir=cache,
                   model_folder=lambda: tuned_model(base, pairs, cache, config, corpus))
