"""The candidate sentences for a question, and the measured features a learned scorer weighs."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from bot.answering.examples import NO_SUPPORT, Support
from bot.answering.question_terms import accepted_forms, names_and_numbers, question_terms
from bot.answering.question_types import FIGURE_WANTS, Wants, asks_rather_than_tells, classify, holds
from embeddings.search import Hit, SearchIndex, SearchResult
from embeddings.spelling import NAME_MIN_LENGTH
from embeddings.tokenizer import tokenize
from knowledge.dates import human_date
from knowledge.languages import FUNCTION_WORDS, SPANISH, detect_language
from knowledge.records import STATISTIC_KIND

# The order of the feature vector; a scorer file names the features it was fitted on and must match these.
FEATURES = (
    "sentence_cosine",         # the sentence, embedded on its own, against the question
    "centered_cosine",         # the same with the corpus's shared direction removed (its topic)
    "cosine_gap",              # how far below the best candidate's sentence cosine
    "passage_cosine",          # the sentence's passage against the question
    "passage_rank",            # 1/(1+rank) in the passage ranking, 0 when only a sentence hit
    "sentence_rank",           # 1/(1+rank) in the sentence ranking, 0 when only in a passage
    "sentence_bm25",           # the sentence's BM25 score, relative to the best candidate's
    "coverage",                # idf-weighted share of the question's known words in the sentence
    "context_coverage",        # the same in the sentence's passage and source title
    "rare_coverage",           # share of the question's rare words (few passages use them) in the sentence
    "unknown_terms",           # question words the corpus never uses (after spelling correction)
    "unknown_share",           # ... as a share of the question's words
    "missing_names",           # the question's names and numbers absent from the sentence's passage and title
    "missing_rare_context",    # the question's rare words absent from the sentence's passage and title
    "wants_specific",          # the question asks for a figure, date, reason or duty
    "holds_wanted",            # ... and the sentence holds that kind of thing
    "lacks_wanted",            # ... and the sentence does not
    "statistic",               # a statistics row
    "statistic_for_figure",    # a statistics row when a figure or date is asked for
    "summary",                 # our own-words summary of a source (rather than its own words)
    "asks",                    # the sentence asks a question rather than telling
    "log_words",               # the sentence's length
    "first_in_passage",        # the first sentence of its passage
    "definition_asked",        # the question asks what something is
    "defines",                 # ... and the sentence has the shape of a definition
    "year_missing",            # the question names a year the sentence's passage does not
    "generic_question",        # the question names nothing specific (no rare word, name or number)
    "sentence_specifics",      # names and numbers in the sentence that the question does not mention
    "generic_specifics",       # ... for a generic question: what a general question's answer should lack
    "example_answered",        # cosine of the question to the closest example question this sentence answered
    "example_answered_close",  # ... above 0.6 only (a piecewise-linear response the fit can weigh)
    "example_answered_same",   # ... above 0.8 only (a paraphrase)
    "example_declined",        # cosine of the question to the closest example no source answers
    "example_declined_close",  # ... above 0.6 only
    "example_declined_same",   # ... above 0.8 only
    "example_nearest",         # cosine of the question to the closest example question of either kind
    "examples_available",      # whether there are example questions at all (a new corpus may have none)
)

# What decides whether to answer at all: the best candidates' probabilities and what the best one lacks.
_FROM_BEST = ("missing_names", "missing_rare_context", "unknown_terms", "unknown_share", "coverage",
              "context_coverage", "centered_cosine", "lacks_wanted", "year_missing", "example_answered",
              "example_nearest", "examples_available",
              # Only the hinged parts of closeness to a declined example: far from every example says nothing.
              "example_declined_close", "example_declined_same")
_OVER_ALL = ("coverage", "centered_cosine")  # the largest over every candidate: none close means off the topic
QUESTION_FEATURES = ("best_probability", "second_probability", "top_three_mean",
                     *(f"best_{name}" for name in _FROM_BEST), *(f"max_{name}" for name in _OVER_ALL))


def question_features(candidates: list[Candidate], probabilities: np.ndarray) -> np.ndarray:
    """The question-level features, from the candidates ranked by the sentence model."""
    order = np.argsort(-probabilities, kind="stable")
    top = probabilities[order[:3]]
    best = candidates[order[0]].features
    pick = [best[FEATURES.index(name)] for name in _FROM_BEST]
    second = float(top[1]) if len(top) > 1 else 0.0
    every = np.stack([c.features for c in candidates])
    most = [float(every[:, FEATURES.index(name)].max()) for name in _OVER_ALL]
    return np.array([float(top[0]), second, float(top.mean()), *pick, *most], dtype=np.float64)


_DEFINITION_QUESTION = re.compile(r"^\s*(what|who)(\s+(is|are|was|were)|'s|’s)\b|\bwhat does .+ mean\b|\bmeaning of\b"
                                  r"|\bdefin", re.I)
_DEFINES = re.compile(r"\b(is|are|was|were)\s+(a|an|the)\b|\bmeans\b|\brefers? to\b|\bdefined\b|\bknown as\b", re.I)
_YEAR = re.compile(r"\b(?:19|20)\d{2}\b")
EXAMPLE_CANDIDATES = 10  # sentences of the closest example questions that join the candidates...
EXAMPLE_CANDIDATE_COSINE = 0.5  # ...when the example is at least this close to the question
RARE_SHARE = 0.02  # a word in at most this share of passages is rare: it says what a question is specifically about


@dataclass(frozen=True)
class Candidate:
    """A sentence that might answer the question, where it comes from, and its features."""

    hit: Hit
    position: int  # in its passage
    text: str
    vector: np.ndarray
    tokens: frozenset[str]
    features: np.ndarray


@dataclass(frozen=True)
class QuestionView:
    """What the features need to know about the question, worked out once."""

    wants: Wants
    weights: dict[str, float]  # idf of each question word; an unknown word weighs as much as a typical known one
    unknown: tuple[str, ...]
    rare: dict[str, float]
    names: frozenset[str]
    years: frozenset[str]
    definition: bool
    terms: frozenset[str]
    forms: dict[str, frozenset[str]]  # each question word and the words that report the same thing


def coverage(weights: dict[str, float], tokens: frozenset[str] | set[str],
             forms: dict[str, frozenset[str]] | None = None) -> float:
    """Share of the question's word weight present in tokens (a related word counts too)."""
    total = sum(weights.values())
    if not total:
        return 0.0
    forms = forms or {t: accepted_forms(t) for t in weights}
    return sum(w for t, w in weights.items() if not forms[t].isdisjoint(tokens)) / total


@dataclass(frozen=True)
class SentenceFacts:
    """What features need of one sentence that does not depend on the question (worked out once)."""

    tokens: frozenset[str]
    names: frozenset[str]
    log_words: float
    asks: bool
    defines: bool


class FactCache:
    """Per-sentence and per-passage facts of one loaded index, computed on first use and kept."""

    def __init__(self, index: SearchIndex) -> None:
        self.index = index
        self._sentences: dict[tuple[int, int], SentenceFacts] = {}
        self._holds: dict[tuple[int, int, Wants], bool] = {}
        self._contexts: dict[int, frozenset[str]] = {}
        self._texts: dict[int, tuple[str, ...]] = {}

    def sentences(self, hit: Hit) -> tuple[str, ...]:
        """A passage's sentences (the record slices its text on every call)."""
        row = hit.record.row
        if row not in self._texts:
            self._texts[row] = hit.record.passage.sentences
        return self._texts[row]

    def sentence(self, row: int, position: int, text: str) -> SentenceFacts:
        """Tokens, names, length and shape of a sentence."""
        key = (row, position)
        facts = self._sentences.get(key)
        if facts is None:
            facts = SentenceFacts(frozenset(tokenize(text)), frozenset(names_and_numbers(text)),
                                  math.log(1 + len(text.split())), asks_rather_than_tells(text),
                                  bool(_DEFINES.search(text)))
            self._sentences[key] = facts
        return facts

    def holds(self, row: int, position: int, text: str, wants: Wants) -> bool:
        """Whether the sentence holds the kind of thing a question wants."""
        key = (row, position, wants)
        if key not in self._holds:
            self._holds[key] = holds(wants, text)
        return self._holds[key]

    def context(self, hit: Hit) -> frozenset[str]:
        """Tokens of a passage with its source's title and date, and the years it names."""
        row = hit.record.row
        if row not in self._contexts:
            source, text = hit.source, hit.record.passage.text
            context = set(tokenize(f"{source.title} {text} {human_date(source.published)}"))
            context.update(_YEAR.findall(f"{source.published} {text}"))
            self._contexts[row] = frozenset(context)
        return self._contexts[row]


def view_question(index: SearchIndex, question: str) -> QuestionView:
    """Split the question's words into known, rare and unknown, and note what kind of answer it wants."""
    bm25 = index.bm25
    # A Spanish question's function words ("que", "los", "cuando") say nothing about what it asks.
    ignore = FUNCTION_WORDS[SPANISH] if detect_language(question) == SPANISH else frozenset()
    terms = [index.spelling.correct(t) for t in question_terms(question, ignore)]
    known = {t: bm25.idf_of(t) for t in terms if t in bm25.vocabulary}
    unknown = tuple(t for t in terms if t not in bm25.vocabulary)
    # A word the corpus never uses is as often a synonym as a missing topic: it counts, at a typical weight.
    typical = float(np.median(list(known.values()))) if known else 1.0
    weights = {**known, **dict.fromkeys(unknown, typical)}
    rare = {t: w for t, w in known.items() if (bm25.share_of_documents(t) or 0.0) <= RARE_SHARE}
    names = frozenset(index.spelling.correct(t, NAME_MIN_LENGTH) for t in names_and_numbers(question))
    return QuestionView(classify(question), weights, unknown, rare, names, frozenset(_YEAR.findall(question)),
                        bool(_DEFINITION_QUESTION.search(question)), frozenset(terms),
                        {t: accepted_forms(t) for t in weights})


def gather(index: SearchIndex, result: SearchResult, max_passages: int, min_words: int,
           support: Support | None = None, facts: FactCache | None = None) -> list[Candidate]:
    """Every sentence of the best passages, plus the best single sentences found on their own, with features."""
    view = view_question(index, result.question)
    support = support or NO_SUPPORT
    facts = facts or FactCache(index)
    rows: dict[int, tuple[Hit, int | None]] = {}
    for rank, hit in enumerate(result.hits[:max_passages]):
        rows[hit.record.row] = (hit, rank)
    sentence_rank: dict[tuple[int, int], int] = {}
    for s in result.sentence_hits:
        sentence_rank[(s.row, s.position)] = s.rank
        if s.row not in rows:
            rows[s.row] = (index.hit_for_row(s.row, result.query_vector), None)
    # Sentences that answered the examples closest to this question are candidates even if not retrieved.
    suggested_at = set(support.closest_answers(EXAMPLE_CANDIDATES, EXAMPLE_CANDIDATE_COSINE))
    for row, _ in suggested_at:
        # Suggested sentences obey the search's visibility (scope, statistics) like retrieved ones.
        if row not in rows and (result.visible is None or result.visible[row]):
            rows[row] = (index.hit_for_row(row, result.query_vector), None)
    wanted: list[tuple[int, int]] = []
    for row, (hit, rank) in rows.items():
        sentences = facts.sentences(hit)
        positions = range(len(sentences)) if rank is not None else sorted(
            {p for (r, p) in sentence_rank if r == row} | {p for (r, p) in suggested_at if r == row})
        wanted += [(row, p) for p in positions if len(sentences[p].split()) >= min_words]
    if not wanted:
        return []
    offsets = index.stored.sentence_offsets
    sentence_ids = np.array([offsets[row] + p for row, p in wanted])
    vectors = index.stored.sentence_vectors[sentence_ids]
    cosines = vectors @ result.query_vector
    centred = index.centred_cosines(sentence_ids, result.query_vector)
    all_bm25 = result.sentence_bm25 if result.sentence_bm25 is not None else index.sentence_bm25.scores(
        result.query_tokens)
    bm25_values = all_bm25[sentence_ids]
    best_bm25 = float(bm25_values.max())
    best_cosine = float(cosines.max())
    wants_specific = view.wants is not Wants.ANYTHING
    figure = view.wants in FIGURE_WANTS
    generic = not (view.rare or view.names)
    # What depends only on the question, or only on the passage, is worked out once.
    question_part = [float(len(view.unknown)), len(view.unknown) / max(len(view.weights), 1)]
    shared = [*_hinged(support.declined), support.nearest, float(support.available)]
    passage_parts: dict[int, list[float]] = {}
    out = []
    for i, (row, position) in enumerate(wanted):
        hit, rank = rows[row]
        text = facts.sentences(hit)[position]
        sentence = facts.sentence(row, position, text)
        if row not in passage_parts:
            context = facts.context(hit)
            passage_parts[row] = [
                coverage(view.weights, context, view.forms),
                float(sum(1 for n in view.names if n not in context)),
                float(sum(1 for t in view.rare if view.forms[t].isdisjoint(context))),
                float(any(y not in context for y in view.years)),
            ]
        context_coverage, missing_names, missing_rare, year_missing = passage_parts[row]
        s_rank = sentence_rank.get((row, position))
        is_statistic = hit.source.kind == STATISTIC_KIND
        holds_wanted = wants_specific and facts.holds(row, position, text, view.wants)
        specifics = math.log(1 + len(sentence.names - view.names - view.terms))
        features = np.array([
            float(cosines[i]),
            float(centred[i]),
            float(cosines[i]) - best_cosine,
            hit.dense,
            0.0 if rank is None else 1.0 / (1 + rank),
            0.0 if s_rank is None else 1.0 / (1 + s_rank),
            float(bm25_values[i]) / best_bm25 if best_bm25 > 0 else 0.0,
            coverage(view.weights, sentence.tokens, view.forms),
            context_coverage,
            coverage(view.rare, sentence.tokens, view.forms) if view.rare else 0.0,
            *question_part,
            missing_names,
            missing_rare,
            float(wants_specific),
            float(holds_wanted),
            float(wants_specific and not holds_wanted),
            float(is_statistic),
            float(is_statistic and figure),
            float(hit.source.kind == "summary"),
            float(sentence.asks),
            sentence.log_words,
            float(position == 0),
            float(view.definition),
            float(view.definition and sentence.defines),
            year_missing,
            float(generic),
            specifics,
            specifics if generic else 0.0,
            *_hinged(support.answered(row, position)),
            *shared,
        ], dtype=np.float64)
        out.append(Candidate(hit, position, text, vectors[i], sentence.tokens, features))
    return out


def _hinged(cosine: float) -> tuple[float, float, float]:
    """A cosine, and how far it is above 0.6 and above 0.8."""
    return cosine, max(0.0, cosine - 0.6), max(0.0, cosine - 0.8)
