"""Split a source into passages of whole sentences, the unit that is embedded and searched."""
from __future__ import annotations

from knowledge.records import Passage, Source
from knowledge.sentences import split_sentences

# About 120 words keeps a passage (with its title) inside MiniLM's 256-token window.
DEFAULT_MAX_WORDS = 120


def split_into_passages(source: Source, max_words: int = DEFAULT_MAX_WORDS) -> list[Passage]:
    """Group consecutive sentences into passages of at most max_words; never cut a sentence."""
    passages: list[Passage] = []
    group: list[tuple[int, int]] = []
    words = 0

    def flush() -> None:
        if not group:
            return
        start, end = group[0][0], group[-1][1]
        spans = tuple((a - start, b - start) for a, b in group)
        passages.append(Passage(source.id, len(passages), source.text[start:end], spans, source.scope))
        group.clear()

    for span in split_sentences(source.text):
        count = len(source.text[span[0]:span[1]].split())
        if group and words + count > max_words:
            flush()
            words = 0
        group.append(span)
        words += count
    flush()
    return passages
