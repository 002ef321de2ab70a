"""Check an answer against the citation promise (docs/ARCHITECTURE.md): markers 1..k, every stretch quoted."""
from __future__ import annotations

import re

from bot.answering.models import Answer

_MARKER = re.compile(r"\[(\d+)\]")


def citation_problems(answer: Answer) -> list[str]:
    """Everything wrong with an answer's citations; an empty list means valid."""
    if answer.abstained:
        return [] if not answer.citations else ["an abstention must not carry citations"]
    problems: list[str] = []
    quotes = {c.n: c.quote for c in answer.citations}
    first_use: list[int] = []
    position = 0
    for match in _MARKER.finditer(answer.answer):
        n = int(match.group(1))
        stretch = answer.answer[position:match.start()].strip()
        position = match.end()
        if n not in first_use:
            first_use.append(n)
        if not stretch:
            problems.append(f"marker [{n}] follows no text")
        elif n not in quotes:
            problems.append(f"marker [{n}] has no citation in the list")
        elif stretch not in quotes[n]:
            problems.append(f"text before [{n}] is not a quote of source {n}: {stretch[:60]!r}")
    if answer.answer[position:].strip():
        problems.append("answer text after the last marker is not cited")
    if first_use != list(range(1, len(first_use) + 1)):
        problems.append(f"markers are not numbered 1..k in order of first use: {first_use}")
    if sorted(quotes) != sorted(first_use):
        problems.append(f"citation list {sorted(quotes)} does not match the markers used {sorted(set(first_use))}")
    return problems
