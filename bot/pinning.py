"""Pinned answers: organizers' chosen sentences for a question, checked against the index and served by meaning."""
from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass

import numpy as np

from bot.activity import ActivityStore, Pin, PinnedSentence
from bot.answering.compose import ABSTAIN_TEXT, cited_answer
from bot.answering.models import Answer, PinNote
from bot.answering.pin_matcher import PinMatcher, pair_features
from bot.errors import SourceRejected
from embeddings.generation import StoredIndex, source_key
from embeddings.search import SearchIndex, SearchResult
from knowledge.aliases import expand_aliases
from knowledge.records import SHARED_SCOPE, Source

CANDIDATES_MAX = 25  # a Discord select menu holds at most 25 options
# Pins are re-read at most this often: a pin another process made (`citebot pin add`) is served within it,
# and answering does not open the database for every question.
PIN_REFRESH_SECONDS = 2.0
_NOT_WORD = re.compile(r"[^\w]+")


def same_words(a: str, b: str) -> bool:
    """Whether two questions are the same words, ignoring case, spacing and punctuation."""
    return _NOT_WORD.sub(" ", a.casefold()).strip() == _NOT_WORD.sub(" ", b.casefold()).strip()


@dataclass(frozen=True)
class Candidate:
    """A sentence an organizer may pin: where it stands, and the text itself."""

    source: Source
    text: str

    @property
    def reference(self) -> PinnedSentence:
        """The stable reference a pin keeps."""
        return PinnedSentence(self.source.scope, self.source.id, self.text)


def visible_scopes(scope: str | None) -> tuple[str, ...]:
    """The pin scopes a question in scope sees: the server's own and the shared ones."""
    return (SHARED_SCOPE,) if not scope or scope == SHARED_SCOPE else (scope, SHARED_SCOPE)


class SentenceLookup:
    """Which sources of an index hold each exact sentence (built once per loaded index)."""

    def __init__(self, stored: StoredIndex) -> None:
        self.sources = stored.sources
        self.where: dict[str, list[str]] = {}
        for record in stored.passages:
            for sentence in record.passage.sentences:
                keys = self.where.setdefault(sentence, [])
                if record.source_key not in keys:
                    keys.append(record.source_key)

    def holds(self, sentence: PinnedSentence) -> bool:
        """Whether the sentence still stands, word for word, in the source the pin names."""
        return source_key(sentence.source_scope, sentence.source_id) in self.where.get(sentence.text, ())

    def find(self, text: str, scopes: tuple[str, ...]) -> Candidate | None:
        """The first source visible in scopes that holds exactly this sentence."""
        for key in self.where.get(" ".join(text.split()), ()):
            source = self.sources[key]
            if source.scope in scopes:
                return Candidate(source, " ".join(text.split()))
        return None


class PinBoard:
    """Reads, checks and matches pins; question vectors are kept per index and pin."""

    def __init__(self, activity: ActivityStore, matcher: PinMatcher) -> None:
        self.activity = activity
        self.matcher = matcher
        self._lock = threading.Lock()
        self._lookup: tuple[StoredIndex, SentenceLookup] | None = None
        self._vectors: dict[tuple[int, str], np.ndarray] = {}  # (pin id, question) -> vector of that index
        self._read: dict[tuple[str, ...], tuple[float, list[Pin]]] = {}  # scopes -> (when read, pins)

    def visible(self, scope: str | None) -> list[Pin]:
        """The pins a question in scope may get, read again when older than PIN_REFRESH_SECONDS."""
        scopes = visible_scopes(scope)
        with self._lock:
            cached = self._read.get(scopes)
        if cached is not None and time.monotonic() - cached[0] < PIN_REFRESH_SECONDS:
            return cached[1]
        pins = self.activity.pins(scopes)
        with self._lock:
            self._read[scopes] = (time.monotonic(), pins)
        return pins

    def changed(self) -> None:
        """Forget the pins read so far (this process added or removed one)."""
        with self._lock:
            self._read.clear()

    def lookup(self, search: SearchIndex) -> SentenceLookup:
        """The sentence lookup of this index (rebuilt when the index changed)."""
        with self._lock:
            if self._lookup is None or self._lookup[0] is not search.stored:
                self._lookup = (search.stored, SentenceLookup(search.stored))
                self._vectors.clear()
            return self._lookup[1]

    def broken(self, search: SearchIndex, scope: str | None, every_scope: bool = False) -> list[Pin]:
        """Pins of scope (and shared; or of every scope) with a sentence no longer in its source: not served."""
        lookup = self.lookup(search)
        pins = self.activity.pins(None if every_scope else visible_scopes(scope))
        return [p for p in pins if not all(map(lookup.holds, p.sentences))]

    def resolve(self, search: SearchIndex, scope: str, sentences: list[str]) -> tuple[PinnedSentence, ...]:
        """Each sentence as a stable reference; SourceRejected names the first that no visible source holds."""
        lookup = self.lookup(search)
        found = []
        for text in sentences:
            candidate = lookup.find(text, visible_scopes(scope))
            if candidate is None:
                raise SourceRejected(f"no source here holds this sentence word for word: {text[:200]!r}")
            found.append(candidate.reference)
        return tuple(found)

    def _vectors_of(self, search: SearchIndex, pins: list[Pin], texts: list[str]) -> np.ndarray:
        """Vectors of the pinned questions' texts (encoded once per pin and index)."""
        missing = [(p, t) for p, t in zip(pins, texts) if (p.id, p.question) not in self._vectors]
        if missing:
            for (pin, _), vector in zip(missing, search.encoder.encode_queries([t for _, t in missing])):
                self._vectors[(pin.id, pin.question)] = vector
        return np.stack([self._vectors[(p.id, p.question)] for p in pins])

    def match(self, search: SearchIndex, result: SearchResult, scope: str | None) -> tuple[Pin, float] | None:
        """The pin whose question means what this one does, if the matcher is sure enough."""
        lookup = self.lookup(search)
        pins = [p for p in self.visible(scope) if all(map(lookup.holds, p.sentences))]
        if not pins:
            return None
        # Compared as the asked question is searched: with the corpus's aliases expanded.
        pinned = [expand_aliases(p.question, search.stored.aliases) for p in pins]
        # The question pinned, asked again: a match whatever the model says (the server's own pin first).
        repeats = [p for p, text in zip(pins, pinned) if same_words(text, result.question)]
        if repeats:
            return max(repeats, key=lambda p: (p.scope != SHARED_SCOPE, p.id)), 1.0
        with self._lock:
            vectors = self._vectors_of(search, pins, pinned)
        metric = self.matcher.metric
        if metric is not None and metric.u.shape[0] != len(result.query_vector):
            return None  # fitted on another model's vectors: only a repeated question is sure enough
        idf = search.bm25.idf_of
        features = np.stack([pair_features(result.question, result.query_vector, text, vector, idf, metric)
                             for text, vector in zip(pinned, vectors)])
        probabilities = self.matcher.probabilities(features)
        # A server's own pin wins over a shared one of the same strength.
        best = max(range(len(pins)), key=lambda i: (probabilities[i], pins[i].scope != SHARED_SCOPE))
        return (pins[best], float(probabilities[best])) if probabilities[best] >= self.matcher.threshold else None

    def candidates(self, search: SearchIndex, result: SearchResult) -> list[Candidate]:
        """Sentences of the retrieved passages, best passage first, at most CANDIDATES_MAX, no repeats."""
        seen: set[str] = set()
        out: list[Candidate] = []
        for hit in result.hits:
            for sentence in hit.record.passage.sentences:
                if sentence not in seen and len(out) < CANDIDATES_MAX:
                    seen.add(sentence)
                    out.append(Candidate(hit.source, sentence))
        return out


def pinned_answer(question: str, pin: Pin, search: SearchIndex, passages: tuple = ()) -> Answer:
    """The pin's sentences with their citations (or its decline), marked as checked by organizers."""
    note = PinNote(pin.id, pin.question, pin.pinned_by, pin.pinned_at, pin.scope)
    if pin.decline:
        return Answer(question, ABSTAIN_TEXT, True, (), (), passages, "organizers pinned a decline for this question",
                      pinned=note)
    keys = [source_key(s.source_scope, s.source_id) for s in pin.sentences]
    quoted = [(key, search.stored.sources[key], s.text, 0) for key, s in zip(keys, pin.sentences)]
    return cited_answer(question, quoted, passages, pinned=note)

