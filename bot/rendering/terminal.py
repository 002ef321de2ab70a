"""Render answers, source lists and statistics for a terminal."""
from __future__ import annotations

import shutil
import textwrap

from bot.answering.models import Answer, Citation
from bot.messages import say
from bot.rendering.common import citation_byline, citation_title, statistic_source
from knowledge.dates import human_date
from knowledge.records import SHARED_SCOPE, Source, StatisticRow


def _width() -> int:
    return max(40, min(100, shutil.get_terminal_size((88, 20)).columns))


def _citation_lines(citation: Citation, width: int, language: str) -> list[str]:
    lines = textwrap.wrap(f"[{citation.n}] {citation_title(citation, language)}", width, subsequent_indent="    ")
    lines.append(f"    {citation_byline(citation, language)}")
    if citation.url:
        lines.append(f"    {citation.url}")
    return lines


def render_answer(answer: Answer) -> str:
    """Answer text, then the numbered sources with dates and links (or related reading)."""
    width = _width()
    lines = textwrap.wrap(answer.answer, width) or [""]
    listed = answer.citations if not answer.abstained else answer.related
    if listed:
        lines += ["", say("sources" if not answer.abstained else "related", answer.language)]
        for citation in listed:
            lines += _citation_lines(citation, width, answer.language)
    if answer.pinned is not None:
        lines += ["", say("pinned_note", answer.language, id=answer.pinned.id, by=answer.pinned.by,
                          question=answer.pinned.question)]
    return "\n".join(lines)


def render_sources(sources: list[Source]) -> str:
    """One block per source: date, title, publisher, kind, link."""
    width = _width()
    lines = []
    for source in sources:
        lines += textwrap.wrap(f"{human_date(source.published):>18}  {source.title}", width,
                               subsequent_indent=" " * 20)
        detail = f"{' ' * 20}{source.publisher} · {source.kind} · id {source.id}"
        if source.scope != SHARED_SCOPE:
            detail += f" · server {source.scope}" + (f" · added by {source.added_by}" if source.added_by else "")
        lines.append(detail)
        if source.url:
            lines.append(f"{' ' * 20}{source.url}")
    lines.append(f"\n{len(sources)} sources")
    return "\n".join(lines)


def render_statistics(rows: list[StatisticRow]) -> str:
    """A table of figures: statistic, value, scope, as-of date, and the source under each row."""
    if not rows:
        return "No statistics match."
    width = _width()
    value_width = min(22, max(len(f"{r.value} {r.unit}".strip()) for r in rows))
    as_of_width = max(len(human_date(r.as_of)) for r in rows)
    text_width = max(20, width - value_width - as_of_width - 6)
    header = f"{'Statistic':<{text_width}}  {'Value':<{value_width}}  {'As of':<{as_of_width}}"
    lines = [header, "-" * len(header)]
    for row in rows:
        label = textwrap.wrap(f"{row.statistic} ({row.scope})", text_width) or [""]
        value = textwrap.wrap(f"{row.value} {row.unit}".strip(), value_width) or [""]
        for i in range(max(len(label), len(value))):
            lines.append(f"{label[i] if i < len(label) else '':<{text_width}}  "
                         f"{value[i] if i < len(value) else '':<{value_width}}  "
                         f"{human_date(row.as_of) if i == 0 else '':<{as_of_width}}")
        lines += textwrap.wrap(f"source: {statistic_source(row)} {row.source_url}", width,
                               initial_indent="    ", subsequent_indent="    ")
        if row.note:
            lines += textwrap.wrap(f"note: {row.note}", width, initial_indent="    ", subsequent_indent="    ")
    lines.append(f"\n{len(rows)} figures")
    return "\n".join(lines)
