"""The answer a question gets: text with markers, numbered citations, related sources, passages."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from knowledge.languages import DEFAULT_LANGUAGE


@dataclass(frozen=True)
class Citation:
    """One numbered source of an answer, with the exact sentences the answer quotes from it."""

    n: int
    source_id: str
    title: str
    publisher: str
    published: str
    url: str
    kind: str
    quote: str
    language: str = DEFAULT_LANGUAGE  # what the quoted source is written in


@dataclass(frozen=True)
class RankedPassage:
    """A retrieved passage as shown in `--json` output."""

    source_id: str
    score: float
    text: str


@dataclass(frozen=True)
class PinNote:
    """Where a pinned answer came from: the pin, the question it was pinned for, who pinned it and when."""

    id: int
    question: str
    by: str
    at: float
    scope: str

    def to_json(self) -> dict:
        """The `"pinned"` object of `citebot ask --json`."""
        return {"id": self.id, "question": self.question, "by": self.by, "at": self.at}


@dataclass(frozen=True)
class Answer:
    """Everything the surfaces (terminal, JSON, Discord) render."""

    question: str
    answer: str
    abstained: bool
    citations: tuple[Citation, ...] = ()
    related: tuple[Citation, ...] = ()
    passages: tuple[RankedPassage, ...] = ()
    reason: str = field(default="", compare=False)  # why it abstained, for logs and organizers
    # The sentences quoted, in answer order, as (text, source id, position in its passage): for evaluation.
    quoted: tuple[tuple[str, str, int], ...] = field(default=(), compare=False)
    pinned: PinNote | None = None  # set when organizers' pinned answer (or decline) was served
    language: str = DEFAULT_LANGUAGE  # the language the answer is rendered in (the question's)

    def to_json(self) -> dict:
        """The `citebot ask --json` object (docs/ARCHITECTURE.md, Contracts)."""
        return {
            "question": self.question,
            "answer": self.answer,
            "abstained": self.abstained,
            "citations": [asdict(c) for c in self.citations],
            "related": [asdict(c) for c in self.related],
            "passages": [asdict(p) for p in self.passages],
            "pinned": self.pinned.to_json() if self.pinned is not None else None,
            "language": self.language,
        }
