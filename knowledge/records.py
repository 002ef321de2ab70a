"""The records the knowledge package produces: sources, statistics rows and passages."""
from __future__ import annotations

from dataclasses import dataclass, field

from knowledge.languages import DEFAULT_LANGUAGE

SOURCE_KINDS = ("article", "report", "official", "summary", "law")
STATISTIC_KIND = "statistic"
SHARED_SCOPE = "shared"


@dataclass(frozen=True)
class Source:
    """One source document with its citation metadata and normalised text."""

    id: str
    title: str
    publisher: str
    published: str  # YYYY-MM-DD, YYYY-MM, YYYY or "undated"
    kind: str
    text: str
    url: str = ""
    author: str = ""
    path: str = ""
    scope: str = SHARED_SCOPE
    added_by: str = ""
    language: str = DEFAULT_LANGUAGE  # what the text is written in (knowledge.languages.LANGUAGES)
    summary_of: str = ""  # for a summary in another language: the id of the source it summarizes


@dataclass(frozen=True)
class StatisticRow:
    """One figure from a statistics CSV, with its source and as-of date."""

    id: str
    statistic: str
    value: str
    unit: str
    scope: str
    as_of: str
    source_title: str
    source_publisher: str
    source_date: str
    source_url: str
    note: str = ""
    path: str = ""

    def sentence(self) -> str:
        """The row rendered as one sentence that can be quoted on its own."""
        amount = f"{self.value} {self.unit}".strip()
        text = f"{self.statistic.rstrip('. ')}, {self.scope}: {amount}, as of {self.as_of}."
        if self.note:
            text += f" Note: {self.note.rstrip('. ')}."
        return text


@dataclass(frozen=True)
class Passage:
    """A run of whole sentences from one source, the unit that is embedded and searched."""

    source_id: str
    position: int
    text: str
    sentence_spans: tuple[tuple[int, int], ...] = field(default=())
    scope: str = SHARED_SCOPE

    @property
    def sentences(self) -> tuple[str, ...]:
        """The passage's sentences, in order."""
        return tuple(self.text[a:b] for a, b in self.sentence_spans)
