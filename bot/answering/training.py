"""`citebot calibrate`: fit the answer scorer on a train split and choose its thresholds on a validation split.

A question set names, for each answerable question, the corpus sentences that answer it. Every candidate
sentence the engine gathers for a question becomes one example: named sentences are positives, the rest
negatives; an unnamed sentence that still holds everything a correct answer must contain is left out (it is
neither clearly right nor clearly wrong). The weights are a logistic regression with an L2 penalty; the
penalty and both thresholds are chosen on the validation split by balanced accuracy (the mean of answer
accuracy and abstention accuracy), so that answering well and declining well count the same.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from bot.answering.compose import select
from bot.answering.examples import ExampleMemory
from bot.answering.features import FEATURES, Candidate, gather
from bot.answering.scorer import AnswerScorer
from bot.evaluation import Question, contains_all, is_named_sentence
from bot.service import KnowledgeService, clean_question

PENALTIES = (0.01, 0.1, 1.0, 10.0)
ANSWER_THRESHOLDS = tuple(round(t, 2) for t in np.arange(0.05, 0.96, 0.01))
EXTRA_SHARES = (0.3, 0.5, 0.7, 0.9, 1.01)  # further sentences must reach this share of the best one's...
MIN_EXAMPLES = 20


@dataclass(frozen=True)
class Examples:
    """One question's candidates, their features and labels (1 named, 0 not, -1 left out)."""

    question: Question
    candidates: list[Candidate]
    features: np.ndarray
    labels: np.ndarray


@dataclass(frozen=True)
class Outcome:
    """How a scorer does on a split."""

    answer_accuracy: float
    abstention_accuracy: float
    balanced: float
    sentence_precision: float


def label(question: Question, candidate: Candidate) -> int:
    """1 for a sentence the question set names, -1 for an unnamed one holding the whole answer, else 0."""
    if not question.answerable:
        return 0
    if is_named_sentence(candidate.text, candidate.hit.source.id, candidate.position, question.answer_sentences):
        return 1
    return -1 if question.must_contain and contains_all(candidate.text, question.must_contain) else 0


def collect(service: KnowledgeService, questions: list[Question], memory: ExampleMemory,
            leave_one_out: bool = False) -> list[Examples]:
    """Gather candidates and labels for every question, as the answer path would see them.

    With leave_one_out, each question is answered with the example memory minus itself (the train split
    is both the memory and what the weights are fitted on).
    """
    search, composer = service.searchable()
    config = composer.config
    out = []
    for q in questions:
        result = service.retrieve(search, clean_question(q.question, service.settings.max_question_chars))
        support = memory.support(result.query_vector, leave_out=q.id if leave_one_out else None)
        candidates = gather(search, result, config.candidate_passages, config.min_sentence_words, support)
        matrix = np.stack([c.features for c in candidates]) if candidates else np.zeros((0, len(FEATURES)))
        out.append(Examples(q, candidates, matrix, np.array([label(q, c) for c in candidates], dtype=int)))
    return out


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


def evaluate_scorer(examples: list[Examples], scorer: AnswerScorer, max_sentences: int) -> Outcome:
    """Answer and abstention accuracy of a scorer on gathered examples, without searching again."""
    answered_right = declined = answerable = unanswerable = named = quoted = 0
    for ex in examples:
        probabilities = scorer.probabilities(ex.features) if len(ex.candidates) else np.zeros(0)
        chosen = select(ex.candidates, probabilities, scorer, max_sentences)
        q = ex.question
        if q.answerable:
            answerable += 1
            text = " ".join(c.text for c in chosen)
            answered_right += bool(chosen) and contains_all(text, q.must_contain)
            if chosen and q.answer_sentences:
                quoted += len(chosen)
                named += sum(is_named_sentence(c.text, c.hit.source.id, c.position, q.answer_sentences)
                             for c in chosen)
        else:
            unanswerable += 1
            declined += not chosen
    answer_accuracy = answered_right / answerable if answerable else 1.0
    abstention_accuracy = declined / unanswerable if unanswerable else 1.0
    return Outcome(round(answer_accuracy, 4), round(abstention_accuracy, 4),
                   round((answer_accuracy + abstention_accuracy) / 2, 4), round(named / quoted, 4) if quoted else 0.0)


def _scorer(mean, scale, weights, bias, answer_threshold, extra_threshold, provenance=None) -> AnswerScorer:
    return AnswerScorer(FEATURES, tuple(float(v) for v in mean), tuple(float(v) for v in scale),
                        tuple(float(v) for v in weights), float(bias), float(answer_threshold),
                        float(extra_threshold), provenance or {})


def calibrate(train: list[Examples], validation: list[Examples], max_sentences: int,
              sources: dict[str, str] | None = None) -> tuple[AnswerScorer, Outcome]:
    """Fit weights on train for each penalty; keep the penalty and thresholds best on validation."""
    x = np.concatenate([ex.features for ex in train if len(ex.candidates)])
    y = np.concatenate([ex.labels for ex in train if len(ex.candidates)])
    keep = y >= 0
    x, y = x[keep], y[keep].astype(float)
    if len(y) < MIN_EXAMPLES or y.sum() == 0 or y.sum() == len(y):
        raise ValueError(f"the train split gives {len(y)} examples with {int(y.sum())} named answer sentences; "
                         "it needs named sentences that the engine retrieves, and sentences that are not answers")
    mean = x.mean(axis=0)
    scale = np.where(x.std(axis=0) > 1e-9, x.std(axis=0), 1.0)
    standardised = (x - mean) / scale
    best: tuple[float, float, AnswerScorer, Outcome] | None = None
    for penalty in PENALTIES:
        weights, bias = fit_logistic(standardised, y, penalty)
        for answer_threshold in ANSWER_THRESHOLDS:
            for share in EXTRA_SHARES:
                scorer = _scorer(mean, scale, weights, bias, answer_threshold, share * answer_threshold)
                outcome = evaluate_scorer(validation, scorer, max_sentences)
                key = (outcome.balanced, outcome.sentence_precision)
                if best is None or key > (best[0], best[1]):
                    best = (outcome.balanced, outcome.sentence_precision, scorer, outcome)
                    chosen_penalty = penalty
    assert best is not None
    _, _, scorer, outcome = best
    provenance = {
        "fitted": time.strftime("%Y-%m-%d"),
        "by": "citebot calibrate",
        "sources": sources or {},
        "train_examples": int(len(y)), "train_positives": int(y.sum()),
        "penalty": chosen_penalty,
        "validation": {"answer_accuracy": outcome.answer_accuracy,
                       "abstention_accuracy": outcome.abstention_accuracy,
                       "sentence_precision": outcome.sentence_precision},
    }
    scorer = _scorer(scorer.mean, scorer.scale, scorer.weights, scorer.bias, scorer.answer_threshold,
                     scorer.extra_threshold, provenance)
    return scorer, outcome
