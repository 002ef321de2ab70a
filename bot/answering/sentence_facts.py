"""What the features need of each sentence and passage of an index, worked out once and kept."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

from bot.answering.question_terms import names_and_numbers
from bot.answering.question_types import Wants, asks_rather_than_tells, holds
from embeddings.search import Hit, SearchIndex
from embeddings.tokenizer import tokenize
from knowledge.dates import human_date

DEFINES = re.compile(r"\b(is|are|was|were)\s+(a|an|the)\b|\bmeans\b|\brefers? to\b|\bdefined\b|\bknown as\b", re.I)
YEAR = re.compile(r"\b(?:19|20)\d{2}\b")


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
                                  bool(DEFINES.search(text)))
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
            context.update(YEAR.findall(f"{source.published} {text}"))
            self._contexts[row] = frozenset(context)
        return self._contexts[row]
