"""Wording shared by every surface: how a citation and a statistic are described."""
from __future__ import annotations

from bot.answering.models import Citation
from bot.messages import language_mark, say
from knowledge.dates import human_date
from knowledge.languages import DEFAULT_LANGUAGE
from knowledge.records import SOURCE_KINDS, STATISTIC_KIND, StatisticRow

KINDS = (*SOURCE_KINDS, STATISTIC_KIND)  # each has a label in bot.messages ("kind_summary": "our summary")


def kind_label(kind: str, language: str = DEFAULT_LANGUAGE) -> str:
    """'article', 'our summary', ... in the answer's language."""
    return say(f"kind_{kind}", language) if kind in KINDS else kind


def citation_title(citation: Citation, language: str = DEFAULT_LANGUAGE) -> str:
    """The title, marked when the text is our own summary of the source or in another language than the answer."""
    marks = [kind_label("summary", language)] if citation.kind == "summary" else []
    if mark := language_mark(citation.language, language):
        marks.append(mark)
    return f"{citation.title} ({', '.join(marks)})" if marks else citation.title


def citation_byline(citation: Citation, language: str = DEFAULT_LANGUAGE) -> str:
    """'WGBH News · June 6, 2011 · article': publisher, date (always shown) and kind."""
    return " · ".join((citation.publisher, human_date(citation.published, language),
                       kind_label(citation.kind, language)))


def statistic_source(row: StatisticRow) -> str:
    """Where a figure comes from: publisher, title and date."""
    return f"{row.source_publisher}, \"{row.source_title}\", {human_date(row.source_date or 'undated')}"
