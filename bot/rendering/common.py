"""Wording shared by every surface: how a citation and a statistic are described."""
from __future__ import annotations

from bot.answering.models import Citation
from knowledge.dates import human_date
from knowledge.records import StatisticRow

KIND_LABELS = {"summary": "our summary", "statistic": "statistic", "official": "official document",
               "law": "law", "report": "report", "article": "article"}


def citation_title(citation: Citation) -> str:
    """The title, marked when the text is our own summary of the source."""
    if citation.kind == "summary":
        return f"{citation.title} (our summary)"
    return citation.title


def citation_byline(citation: Citation) -> str:
    """'WGBH News · June 6, 2011 · article': publisher, date (always shown) and kind."""
    return " · ".join((citation.publisher, human_date(citation.published), KIND_LABELS.get(citation.kind, citation.kind)))


def statistic_source(row: StatisticRow) -> str:
    """Where a figure comes from: publisher, title and date."""
    return f"{row.source_publisher}, \"{row.source_title}\", {human_date(row.source_date or 'undated')}"
