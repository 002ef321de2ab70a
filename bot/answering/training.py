"""`citebot calibrate`: fit the answer scorer on a train split and choose its settings on a validation split.

A question set names, for each answerable question, the corpus sentences that answer it. Every candidate
sentence the engine gathers for a question becomes one example for the sentence model: named sentences are
positives, the rest negatives; an unnamed sentence that still holds everything a correct answer must contain
is left out (neither clearly right nor clearly wrong). The question model learns whether the answer built
from the best sentences would be right, from sentence probabilities made out of fold (stacking), so that it
sees the sentence model as it behaves on questions it was not fitted on. Each model is either an
L2-penalised logistic regression (one of PENALTIES) or gradient-boosted trees (`boosted.py`, which learn how
features interact). Which fit each model gets, and both thresholds, are chosen on the validation split by
balanced accuracy (the mean of answer accuracy and abstention accuracy), so that answering well and
declining well count the same.
The learned question-to-answer similarity (`adapter.py`) is fitted on train too, its features for train
from adapters fitted without each question's fold; the scorer keeps it only if validation measures better.
"""
from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from scipy.optimize import minimize

from bot.answering.adapter import QueryAdapter, RankingGroup, fit_adapter
from bot.answering.boosted import BOOSTED_KIND, fit_boosted
from bot.answering.compose import best_sentences, select
from bot.answering.examples import ExampleMemory
from bot.answering.features import (
    ADAPTED,
    FEATURES,
    QUESTION_FEATURES,
    Candidate,
    question_features,
)
from bot.answering.labelled import Examples, collect, folds_of, label
from bot.answering.scorer import AnswerScorer, LogisticModel, ScorerModel
from bot.evaluation import Question, contains_all
from bot.service import KnowledgeService
from knowledge.languages import ENGLISH

PENALTIES = (0.01, 0.1, 1.0, 10.0)
# What each model may be: a logistic regression with one of these penalties, or boosted trees.
FITS: tuple[float | str, ...] = (*PENALTIES, BOOSTED_KIND)
# Trees for the sentence model (tens of thousands of candidates) and the question model (one row a question).
SENTENCE_TREES = {"rounds": 200, "leaves": 15, "min_leaf": 40}
QUESTION_TREES = {"rounds": 100, "leaves": 7, "min_leaf": 20}
# Retrieval's (dense, BM25) weights tried for each fit: equal, as RRF defines it, or dense first.
FUSION_CHOICES = ((1.0, 1.0), (2.0, 1.0), (1.0, 0.5))
ANSWER_THRESHOLDS = tuple(round(t, 2) for t in np.arange(0.05, 0.96, 0.01))
EXTRA_THRESHOLDS = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.7, 1.01)  # 1.01: quote the best sentence only
FOLDS = 5  # the question model is fitted on out-of-fold sentence probabilities (stacking)
MIN_EXAMPLES = 20


@dataclass(frozen=True)
class Outcome:
    """How a scorer does on a split."""

    answer_accuracy: float
    abstention_accuracy: float
    balanced: float
    sentence_precision: float


def fit_logistic(x: np.ndarray, y: np.ndarray, penalty: float) -> tuple[np.ndarray, float]:
    """L2-penalised logistic regression on standardised features (weights, bias), by L-BFGS."""
    n, d = x.shape

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = theta[:d], theta[d]
        z = x @ w + b
        p = 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))
        value = np.sum(np.logaddexp(0, z) - y * z) / n + 0.5 * penalty * (w @ w) / n
        grad = np.concatenate([x.T @ (p - y) / n + penalty * w / n, [np.sum(p - y) / n]])
        return value, grad

    result = minimize(loss, np.zeros(d + 1), jac=True, method="L-BFGS-B")
    return result.x[:d], float(result.x[d])


def fit_model(x: np.ndarray, y: np.ndarray, penalty: float, names: tuple[str, ...]) -> LogisticModel:
    """Standardise, fit, and package a logistic regression."""
    mean = x.mean(axis=0)
    std = x.std(axis=0)
    scale = np.where(std > 1e-9, std, 1.0)
    weights, bias = fit_logistic((x - mean) / scale, y, penalty)
    return LogisticModel(names, tuple(map(float, mean)), tuple(map(float, scale)), tuple(map(float, weights)), bias)


def _sentence_rows(examples: list[Examples]) -> tuple[np.ndarray, np.ndarray]:
    """Features and labels of every labelled candidate (left-out ones dropped)."""
    x = np.concatenate([ex.features for ex in examples if len(ex.candidates)] or [np.zeros((0, len(FEATURES)))])
    y = np.concatenate([ex.labels for ex in examples if len(ex.candidates)] or [np.zeros(0, int)])
    keep = y >= 0
    return x[keep], y[keep].astype(float)


def fit_kind(x: np.ndarray, y: np.ndarray, fit: float | str, names: tuple[str, ...],
             trees: dict[str, int]) -> ScorerModel:
    """A logistic regression with penalty `fit`, or boosted trees when `fit` is "boosted"."""
    return fit_boosted(x, y, names, **trees) if fit == BOOSTED_KIND else fit_model(x, y, float(fit), names)


def _fit_sentences(examples: list[Examples], fit: float | str) -> ScorerModel:
    x, y = _sentence_rows(examples)
    if len(y) < MIN_EXAMPLES or y.sum() == 0 or y.sum() == len(y):
        raise ValueError(f"the train split gives {len(y)} examples with {int(y.sum())} named answer sentences; "
                         "it needs named sentences that the engine retrieves, and sentences that are not answers")
    return fit_kind(x, y, fit, FEATURES, SENTENCE_TREES)


def _ranking_groups(examples: list[Examples]) -> list[RankingGroup]:
    return [RankingGroup(ex.query_vector, np.stack([c.vector for c in ex.candidates]), ex.labels)
            for ex in examples if len(ex.candidates)]


def _adapted(examples: list[Examples], adapter: QueryAdapter | None) -> list[Examples]:
    """The examples with their adapted-similarity features from this adapter (zero without one)."""
    out = []
    for ex in examples:
        matrix = ex.features.copy()
        if len(ex.candidates):
            similarity = (adapter.scores(ex.query_vector, np.stack([c.vector for c in ex.candidates]))
                          if adapter is not None else np.zeros(len(ex.candidates)))
            matrix[:, ADAPTED[0]] = similarity
            matrix[:, ADAPTED[1]] = similarity - similarity.max()
        out.append(replace(ex, features=matrix))
    return out


def with_adapter(train: list[Examples], validation: list[Examples],
                 folds: int = FOLDS) -> tuple[QueryAdapter, list[Examples], list[Examples]]:
    """Fit the query adapter on train; train's features from adapters fitted without their fold (stacking)."""
    fold_of = folds_of(train, folds)
    filled: list[Examples | None] = [None] * len(train)
    for fold in range(folds):
        adapter = fit_adapter(_ranking_groups([ex for ex, f in zip(train, fold_of) if f != fold]))
        for i, ex in enumerate(train):
            if fold_of[i] == fold:
                filled[i] = _adapted([ex], adapter)[0]
    adapter = fit_adapter(_ranking_groups(train))
    return adapter, [ex for ex in filled if ex is not None], _adapted(validation, adapter)


def adapter_choices(train: list[Examples], validation: list[Examples]
                    ) -> list[tuple[QueryAdapter | None, list[Examples], list[Examples]]]:
    """Without the learned similarity, and with it: calibrate keeps it only where validation says it helps."""
    choices: list[tuple[QueryAdapter | None, list[Examples], list[Examples]]] = [
        (None, _adapted(train, None), _adapted(validation, None))]
    # Too few named answers to fit one in every fold: without it, the sentence fit says what is missing.
    with contextlib.suppress(ValueError):
        choices.append(with_adapter(train, validation))
    return choices


def out_of_fold(examples: list[Examples], fit: float | str, folds: int = FOLDS) -> list[np.ndarray]:
    """Each question's sentence probabilities from a model fitted without that question's fold."""
    fold_of = folds_of(examples, folds)
    probabilities: list[np.ndarray] = [np.zeros(0)] * len(examples)
    for fold in range(folds):
        model = _fit_sentences([ex for ex, f in zip(examples, fold_of) if f != fold], fit)
        for i, ex in enumerate(examples):
            if fold_of[i] == fold and len(ex.candidates):
                probabilities[i] = model.probabilities(ex.features)
    return probabilities


def _quoted(ex: Examples, probabilities: np.ndarray, extra_threshold: float, max_sentences: int) -> list[Candidate]:
    """The sentences citebot would quote if it answered (the question model aside)."""
    return best_sentences(ex.candidates, probabilities, extra_threshold, max_sentences)


def _question_rows(examples: list[Examples], probabilities: list[np.ndarray],
                   max_sentences: int) -> tuple[np.ndarray, np.ndarray]:
    """Question features and whether the answer (up to max_sentences best) would be right."""
    rows, labels = [], []
    for ex, p in zip(examples, probabilities):
        if not len(ex.candidates):
            continue
        rows.append(question_features(ex.candidates, p))
        q = ex.question
        quoted = _quoted(ex, p, 0.0, max_sentences)
        # Right: it holds what a correct answer must contain, or quotes a sentence the writer named as an answer.
        right = q.answerable and (contains_all(" ".join(c.text for c in quoted), q.must_contain)
                                  or any(label(q, c) == 1 for c in quoted))
        labels.append(float(right))
    return np.array(rows), np.array(labels)


def evaluate_scorer(examples: list[Examples], scorer: AnswerScorer, max_sentences: int) -> Outcome:
    """Answer and abstention accuracy of a scorer on gathered examples, without searching again."""
    chosen = []
    for ex in examples:
        probabilities = scorer.sentence.probabilities(ex.features) if len(ex.candidates) else np.zeros(0)
        chosen.append(select(ex.candidates, probabilities, scorer, max_sentences))
    return _outcome(_quotes(examples, chosen), np.array([bool(c) for c in chosen]))


@dataclass(frozen=True)
class _Quotes:
    """What answering each question with the sentences it would quote scores, worked out once per choice."""

    quoted: np.ndarray      # bool: there is something to quote
    answerable: np.ndarray  # bool
    right: np.ndarray       # bool: answerable, and the quote holds what a correct answer must contain
    named: np.ndarray       # int: quoted sentences the writers named (where they named any)
    counted: np.ndarray     # int: quoted sentences (where the writers named any)


def _quotes(examples: list[Examples], quoted: list[list[Candidate]]) -> _Quotes:
    """Score each question's quote once; answer thresholds then only choose which quotes are given."""
    rows = []
    for ex, chosen in zip(examples, quoted):
        q = ex.question
        right = q.answerable and bool(chosen) and contains_all(" ".join(c.text for c in chosen), q.must_contain)
        counted = len(chosen) if q.answerable and q.answer_sentences else 0
        named = sum(label(q, c) == 1 for c in chosen) if counted else 0
        rows.append((bool(chosen), q.answerable, right, named, counted))
    columns = list(zip(*rows)) if rows else [(), (), (), (), ()]
    return _Quotes(*(np.array(column, dtype=dtype) for column, dtype in zip(columns, (bool, bool, bool, int, int))))


def _outcome(quotes: _Quotes, answers: np.ndarray) -> Outcome:
    """The figures when question i is answered (with its quote) exactly where answers[i] is true."""
    given = np.asarray(answers, dtype=bool) & quotes.quoted
    answerable = int(quotes.answerable.sum())
    unanswerable = len(given) - answerable
    right = int((given & quotes.right).sum())
    declined = int((~given & ~quotes.answerable).sum())
    named, count = int(quotes.named[given].sum()), int(quotes.counted[given].sum())
    answer_accuracy = right / answerable if answerable else 1.0
    abstention_accuracy = declined / unanswerable if unanswerable else 1.0
    return Outcome(round(answer_accuracy, 4), round(abstention_accuracy, 4),
                   round((answer_accuracy + abstention_accuracy) / 2, 4), round(named / count, 4) if count else 0.0)


def calibrate(train: list[Examples], validation: list[Examples], max_sentences: int,
              sources: dict[str, str] | None = None) -> tuple[AnswerScorer, Outcome]:
    """Fit both models on train for each kind and penalty; keep those and the thresholds best on validation."""
    best: tuple[tuple[float, float], AnswerScorer, Outcome, dict] | None = None
    for sentence_fit in FITS:
        sentence_model = _fit_sentences(train, sentence_fit)
        q_x, q_y = _question_rows(train, out_of_fold(train, sentence_fit), max_sentences)
        if q_y.sum() == 0 or q_y.sum() == len(q_y):
            raise ValueError("the train split needs questions answered right and questions that are not")
        val_probabilities = [sentence_model.probabilities(ex.features) if len(ex.candidates) else np.zeros(0)
                             for ex in validation]
        # What each extra threshold would quote is independent of the answer threshold: work it out once.
        quoted = {extra: _quotes(validation, [_quoted(ex, p, extra, max_sentences) if len(ex.candidates) else []
                                              for ex, p in zip(validation, val_probabilities)])
                  for extra in EXTRA_THRESHOLDS}
        for question_fit in FITS:
            question_model = fit_kind(q_x, q_y, question_fit, QUESTION_FEATURES, QUESTION_TREES)
            confidence = np.zeros(len(validation))
            asked = [i for i, ex in enumerate(validation) if len(ex.candidates)]
            if asked:  # one call for every question: boosted trees walk all rows at once
                rows = np.stack([question_features(validation[i].candidates, val_probabilities[i]) for i in asked])
                confidence[asked] = question_model.probabilities(rows)
            for extra in EXTRA_THRESHOLDS:
                for threshold in ANSWER_THRESHOLDS:
                    outcome = _outcome(quoted[extra], confidence >= threshold)
                    key = (outcome.balanced, outcome.sentence_precision)
                    if best is None or key > best[0]:
                        best = (key, AnswerScorer(sentence_model, question_model, threshold, extra), outcome,
                                {"sentence_penalty": sentence_fit, "question_penalty": question_fit})
    assert best is not None
    _, scorer, outcome, penalties = best
    _x, y = _sentence_rows(train)
    provenance = {
        "fitted": time.strftime("%Y-%m-%d"), "by": "citebot calibrate", "sources": sources or {},
        "train_questions": len({ex.question.id for ex in train}), "validation_questions": len(validation),
        "train_sentences": len(y), "train_answer_sentences": int(y.sum()), **penalties,
        "validation": {"answer_accuracy": outcome.answer_accuracy,
                       "abstention_accuracy": outcome.abstention_accuracy,
                       "sentence_precision": outcome.sentence_precision},
    }
    return replace(scorer, provenance=provenance), outcome


def fit_sources(service: KnowledgeService, train: list[Question],
                cross_fitted: Sequence[tuple[KnowledgeService, frozenset[str]]] = (), language: str = ENGLISH
                ) -> list[tuple[KnowledgeService, list[Question], ExampleMemory]]:
    """Which service gathers each train question's features, with the example memory it answers with.

    A question named in `cross_fitted` is gathered by the service paired with it (one whose model was
    tuned without it); every other by `service`, which always comes first. Each memory holds all of train,
    as answers will.
    """
    taken = frozenset().union(*(ids for _, ids in cross_fitted))
    sources = [(service, [q for q in train if q.id not in taken])]
    sources += [(other, [q for q in train if q.id in ids]) for other, ids in cross_fitted]
    return [(svc, questions, ExampleMemory.build(train, svc.searchable_in(language)[0]))
            for svc, questions in sources]


def calibrate_index(service: KnowledgeService, train: list[Question], validation: list[Question],
                    language: str = ENGLISH, fusion_choices: tuple[tuple[float, float], ...] = FUSION_CHOICES,
                    sources: dict[str, str] | None = None,
                    cross_fitted: Sequence[tuple[KnowledgeService, frozenset[str]]] = ()
                    ) -> tuple[AnswerScorer, Outcome]:
    """Fit a scorer for the index answering `language`, once per fusion choice; keep the best on validation.

    The train split is the example memory (each question leaving itself out), and the weights are fitted
    both with the examples and without them, so that a corpus with no example questions is answered too;
    the validation split chooses with and without them as well. Where the model was tuned on train
    questions, `cross_fitted` gives their features from models tuned without them (see fit_sources).
    """
    fitters = fit_sources(service, train, cross_fitted, language)
    memory = fitters[0][2]  # the answering service's: validation is gathered with it
    searches = [svc.searchable_in(language)[0] for svc, _, _ in fitters]
    originals = [search.config for search in searches]
    best: tuple[tuple[float, float], AnswerScorer, Outcome] | None = None
    try:
        for dense, bm25 in fusion_choices:
            for search, original in zip(searches, originals):
                search.config = replace(original, dense_weight=dense, bm25_weight=bm25)
            fit_on = [ex for svc, questions, fit_memory in fitters
                      for ex in collect(svc, questions, fit_memory, leave_one_out=True, language=language)
                      + collect(svc, questions, None, language=language)]
            # Chosen on validation both with the examples and without them, like the fit: a threshold that
            # holds only when a question has examples would decline the plain questions of a new corpus.
            held_out = (collect(service, validation, memory, language=language)
                        + collect(service, validation, None, language=language))
            for used, fit_examples, held in adapter_choices(fit_on, held_out):
                scorer, outcome = calibrate(fit_examples, held, service.answer_config.max_sentences, sources)
                key = (outcome.balanced, outcome.sentence_precision)
                if best is None or key > best[0]:
                    best = (key, replace(scorer, fusion=(dense, bm25), adapter=used,
                                         provenance={**scorer.provenance, "adapter": used is not None}), outcome)
    finally:
        for search, original in zip(searches, originals):
            search.config = original
    assert best is not None
    _, scorer, outcome = best
    tried = [list(choice) for choice in fusion_choices]
    cross = sum(len(questions) for _, questions, _ in fitters[1:])
    return replace(scorer, provenance={**scorer.provenance, "fusion_tried": tried, "memory_questions": len(train),
                                       "cross_fitted": cross}), outcome
