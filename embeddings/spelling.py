"""Spelling correction against the corpus's own words: an unknown word becomes the known word one edit away."""
from __future__ import annotations

from collections.abc import Iterable

MIN_LENGTH = 6  # shorter words have too many neighbours one edit away to guess which was meant
NAME_MIN_LENGTH = 8  # a name the corpus lacks is more often another name than a misspelling of a known one


def _deletes(word: str) -> set[str]:
    """The word with each one of its letters left out."""
    return {word[:i] + word[i + 1:] for i in range(len(word))}


class Spelling:
    """Symmetric-delete lookup (one edit: a letter missing, extra, changed or two swapped) over known words."""

    def __init__(self, vocabulary: Iterable[str], frequency: dict[str, float] | None = None) -> None:
        self.known = frozenset(vocabulary)
        self.frequency = frequency or {}
        self._by_delete: dict[str, set[str]] = {}
        for word in self.known:
            if len(word) < MIN_LENGTH - 1 or not word.isalpha():
                continue
            for key in _deletes(word) | {word}:
                self._by_delete.setdefault(key, set()).add(word)

    def correct(self, word: str, min_length: int = MIN_LENGTH) -> str:
        """The word if known (or too short, or a number), else the most used known word one edit away, else itself."""
        if word in self.known or len(word) < min_length or not word.isalpha():
            return word
        options: set[str] = set()
        for key in _deletes(word) | {word}:
            options |= self._by_delete.get(key, set())
        options = {o for o in options if abs(len(o) - len(word)) <= 1}
        if not options:
            return word
        return max(sorted(options), key=lambda o: self.frequency.get(o, 0.0))
