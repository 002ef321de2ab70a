"""The candidate sentences for a question, and the measured features a learned scorer weighs."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bot.answering.adapter import QueryAdapter
from bot.answering.examples import NO_SUPPORT, Support
from bot.answering.question_types import FIGURE_WANTS, Wants
from bot.answering.question_view import QuestionView, coverage, view_question
from bot.answering.sentence_facts import FactCache, SentenceFacts
from embeddings.search import Hit, SearchIndex, SearchResult
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
    "adapted_similarity",      # the learned question-to-answer similarity (bot/answering/adapter.py), 0 without one
    "adapted_gap",             # ... how far below the best candidate's
)
ADAPTED = (FEATURES.index("adapted_similarity"), FEATURES.index("adapted_gap"))
# Features a scorer file may lack (fitted before they existed): they count with weight 0.
OPTIONAL_FEATURES = ("adapted_similarity", "adapted_gap")

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


EXAMPLE_CANDIDATES = 10  # sentences of the closest example questions that join the candidates...
EXAMPLE_CANDIDATE_COSINE = 0.5  # ...when the example is at least this close to the question


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
class _Pool:
    """The passages whose sentences are candidates: each with its passage rank (None: found by sentence only)."""

    rows: dict[int, tuple[Hit, int | None]]
    sentence_rank: dict[tuple[int, int], int]
    suggested: set[tuple[int, int]]


def _pool(index: SearchIndex, result: SearchResult, max_passages: int, support: Support) -> _Pool:
    """The best passages, the passages of the best single sentences, and those the closest examples suggest."""
    rows: dict[int, tuple[Hit, int | None]] = {}
    for rank, hit in enumerate(result.hits[:max_passages]):
        rows[hit.record.row] = (hit, rank)
    sentence_rank: dict[tuple[int, int], int] = {}
    for s in result.sentence_hits:
        sentence_rank[(s.row, s.position)] = s.rank
        if s.row not in rows:
            rows[s.row] = (index.hit_for_row(s.row, result.query_vector), None)
    # Sentences that answered the examples closest to this question are candidates even if not retrieved.
    suggested = set(support.closest_answers(EXAMPLE_CANDIDATES, EXAMPLE_CANDIDATE_COSINE))
    for row, _ in suggested:
        # Suggested sentences obey the search's visibility (scope, statistics) like retrieved ones.
        if row not in rows and (result.visible is None or result.visible[row]):
            rows[row] = (index.hit_for_row(row, result.query_vector), None)
    return _Pool(rows, sentence_rank, suggested)


def _positions(pool: _Pool, facts: FactCache, min_words: int) -> list[tuple[int, int]]:
    """(row, position) of every candidate: all sentences of a ranked passage, the found ones of the others."""
    found: dict[int, set[int]] = {}
    for row, position in (*pool.sentence_rank, *pool.suggested):
        found.setdefault(row, set()).add(position)
    wanted: list[tuple[int, int]] = []
    for row, (hit, rank) in pool.rows.items():
        sentences = facts.sentences(hit)
        positions = range(len(sentences)) if rank is not None else sorted(found.get(row, ()))
        wanted += [(row, p) for p in positions if len(sentences[p].split()) >= min_words]
    return wanted


@dataclass(frozen=True)
class _Scores:
    """The candidates' vectors and their similarity to the question, computed together."""

    vectors: np.ndarray
    cosines: np.ndarray
    centred: np.ndarray
    bm25: np.ndarray

    @classmethod
    def of(cls, index: SearchIndex, result: SearchResult, wanted: list[tuple[int, int]]) -> _Scores:
        """Look up the candidates' stored vectors and score them against the question."""
        offsets = index.stored.sentence_offsets
        sentence_ids = np.array([offsets[row] + p for row, p in wanted])
        vectors = index.stored.sentence_vectors[sentence_ids]
        all_bm25 = result.sentence_bm25 if result.sentence_bm25 is not None else index.sentence_bm25.scores(
            result.query_tokens)
        return cls(vectors, vectors @ result.query_vector, index.centred_cosines(sentence_ids, result.query_vector),
                   all_bm25[sentence_ids])


def _passage_part(view: QuestionView, context: frozenset[str]) -> tuple[float, float, float]:
    """What a sentence's passage and title lack: the question's names, rare words and years."""
    return (
        float(sum(1 for n in view.names if n not in context)),
        float(sum(1 for t in view.rare if view.forms[t].isdisjoint(context))),
        float(any(y not in context for y in view.years)),
    )


def gather(index: SearchIndex, result: SearchResult, max_passages: int, min_words: int,
           support: Support | None = None, facts: FactCache | None = None,
           adapter: QueryAdapter | None = None) -> list[Candidate]:
    """Every sentence of the best passages, plus the best single sentences found on their own, with features."""
    view = view_question(index, result.question)
    support = support or NO_SUPPORT
    facts = facts or FactCache(index)
    pool = _pool(index, result, max_passages, support)
    wanted = _positions(pool, facts, min_words)
    if not wanted:
        return []
    scores = _Scores.of(index, result, wanted)
    hits = [pool.rows[row][0] for row, _ in wanted]
    texts = [facts.sentences(hit)[position] for hit, (_, position) in zip(hits, wanted)]
    sentences = [facts.sentence(row, position, text) for (row, position), text in zip(wanted, texts)]
    matrix = np.column_stack([column for _, column in _columns(view, facts, pool, support, wanted, hits, texts,
                                                                 sentences, scores)])
    out = [Candidate(hit, position, text, scores.vectors[i], sentence.tokens, matrix[i])
           for i, (hit, (_, position), text, sentence) in enumerate(zip(hits, wanted, texts, sentences))]
    if adapter is not None:
        fill_adapted(out, adapter.scores(result.query_vector, scores.vectors))
    return out


def fill_adapted(candidates: list[Candidate], similarity: np.ndarray) -> None:
    """Write the adapted similarity, and its gap to the best, into the candidates' feature vectors."""
    gap = similarity - similarity.max() if len(similarity) else similarity
    for candidate, value, below in zip(candidates, similarity, gap):
        candidate.features[ADAPTED[0]] = float(value)
        candidate.features[ADAPTED[1]] = float(below)


def _columns(view: QuestionView, facts: FactCache, pool: _Pool, support: Support, wanted: list[tuple[int, int]],
             hits: list[Hit], texts: list[str], sentences: list[SentenceFacts],
             scores: _Scores) -> list[tuple[str, np.ndarray]]:
    """Each feature over every candidate, in the order of FEATURES (one array a feature, not one loop a sentence)."""
    n = len(wanted)

    def each(values: object) -> np.ndarray:
        return np.fromiter(values, np.float64, n)  # type: ignore[arg-type]

    def constant(value: float) -> np.ndarray:
        return np.full(n, float(value))

    contexts = [facts.context(hit) for hit in hits]
    parts: dict[int, tuple[float, float, float]] = {}
    for (row, _), context in zip(wanted, contexts):
        if row not in parts:
            parts[row] = _passage_part(view, context)
    lacking = np.array([parts[row] for row, _ in wanted]).reshape(n, 3)
    ranks = [pool.rows[row][1] for row, _ in wanted]
    sentence_ranks = [pool.sentence_rank.get(key) for key in wanted]
    best_bm25 = float(scores.bm25.max())
    wants_specific = view.wants is not Wants.ANYTHING
    generic = not (view.rare or view.names)
    statistic = each(hit.source.kind == STATISTIC_KIND for hit in hits)
    holds = (each(facts.holds(row, position, text, view.wants) for (row, position), text in zip(wanted, texts))
             if wants_specific else np.zeros(n))
    specifics = np.log1p(each(len(s.names - view.names - view.terms) for s in sentences))
    token_sets = [s.tokens for s in sentences]
    answered = _hinged(each(support.answered(row, position) for row, position in wanted))
    declined = _hinged(support.declined)
    return [
        ("sentence_cosine", scores.cosines.astype(np.float64)),
        ("centered_cosine", scores.centred.astype(np.float64)),
        ("cosine_gap", scores.cosines.astype(np.float64) - float(scores.cosines.max())),
        ("passage_cosine", each(hit.dense for hit in hits)),
        ("passage_rank", each(0.0 if r is None else 1.0 / (1 + r) for r in ranks)),
        ("sentence_rank", each(0.0 if r is None else 1.0 / (1 + r) for r in sentence_ranks)),
        ("sentence_bm25", scores.bm25.astype(np.float64) / best_bm25 if best_bm25 > 0 else np.zeros(n)),
        ("coverage", coverage(view.weights, view.forms, token_sets)),
        ("context_coverage", coverage(view.weights, view.forms, contexts)),
        ("rare_coverage", coverage(view.rare, view.forms, token_sets)),
        ("unknown_terms", constant(len(view.unknown))),
        ("unknown_share", constant(len(view.unknown) / max(len(view.weights), 1))),
        ("missing_names", lacking[:, 0]),
        ("missing_rare_context", lacking[:, 1]),
        ("wants_specific", constant(wants_specific)),
        ("holds_wanted", holds),
        ("lacks_wanted", (1.0 - holds) if wants_specific else np.zeros(n)),
        ("statistic", statistic),
        ("statistic_for_figure", statistic if view.wants in FIGURE_WANTS else np.zeros(n)),
        ("summary", each(hit.source.kind == "summary" for hit in hits)),
        ("asks", each(s.asks for s in sentences)),
        ("log_words", each(s.log_words for s in sentences)),
        ("first_in_passage", each(position == 0 for _, position in wanted)),
        ("definition_asked", constant(view.definition)),
        ("defines", each(view.definition and s.defines for s in sentences)),
        ("year_missing", lacking[:, 2]),
        ("generic_question", constant(generic)),
        ("sentence_specifics", specifics),
        ("generic_specifics", specifics if generic else np.zeros(n)),
        ("example_answered", answered[0]),
        ("example_answered_close", answered[1]),
        ("example_answered_same", answered[2]),
        ("example_declined", constant(declined[0])),
        ("example_declined_close", constant(declined[1])),
        ("example_declined_same", constant(declined[2])),
        ("example_nearest", constant(support.nearest)),
        ("examples_available", constant(support.available)),
        ("adapted_similarity", np.zeros(n)),  # filled in by fill_adapted when the scorer has an adapter
        ("adapted_gap", np.zeros(n)),
    ]


def _hinged(cosine: float | np.ndarray) -> tuple[float | np.ndarray, ...]:
    """A cosine (or an array of them), and how far it is above 0.6 and above 0.8."""
    return cosine, np.maximum(0.0, cosine - 0.6), np.maximum(0.0, cosine - 0.8)
