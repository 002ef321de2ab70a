"""Answers, source lists, statistics and gaps as Discord embeds that always fit Discord's limits."""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import discord

from bot.activity import Gap, Pin, Suggestion
from bot.answering.models import Answer, Citation
from bot.discord_app.text import (
    DESCRIPTION_MAX,
    EMBED_TOTAL_MAX,
    FIELD_NAME_MAX,
    FIELD_VALUE_MAX,
    FIELDS_MAX,
    FOOTER_MAX,
    TITLE_MAX,
    answer_units,
    clip,
    discord_len,
    safe,
    shorten,
)
from bot.messages import say
from bot.rendering.common import citation_byline, citation_title, kind_label, statistic_source
from knowledge.dates import human_date
from knowledge.languages import DEFAULT_LANGUAGE
from knowledge.records import SHARED_SCOPE, Source, StatisticRow

ANSWERED_COLOUR = discord.Colour.from_rgb(46, 139, 87)
ABSTAINED_COLOUR = discord.Colour.from_rgb(128, 128, 128)
LIST_COLOUR = discord.Colour.from_rgb(70, 110, 170)

MIN_DESCRIPTION = 300  # room always kept for the answer itself, however many sources there are
URL_MAX = 300
SOURCES_PER_PAGE = 8
STATS_PER_EMBED = 8
LIST_LINES = 15

# Ever smaller (title, byline, show link) caps until the source list fits beside the answer.
_SOURCE_CAPS = ((200, 120, True), (120, 80, True), (70, 50, True), (40, 30, False), (24, 0, False), (12, 0, False))


@dataclass(frozen=True)
class Page:
    """Which slice of a list is shown."""

    number: int  # 0-based
    count: int  # pages in all (at least 1)
    total: int  # items in all


def embed_size(embed: discord.Embed) -> int:
    """What counts toward Discord's 6000 total: title, description, field names and values, footer, author."""
    parts = [embed.title or "", embed.description or "", embed.footer.text or "", embed.author.name or ""]
    for f in embed.fields:
        parts += [f.name or "", f.value or ""]
    return sum(discord_len(p) for p in parts)


def within_limits(embed: discord.Embed) -> bool:
    """True when every documented embed limit holds."""
    return (discord_len(embed.title or "") <= TITLE_MAX
            and discord_len(embed.description or "") <= DESCRIPTION_MAX
            and len(embed.fields) <= FIELDS_MAX
            and all(discord_len(f.name or "") <= FIELD_NAME_MAX and discord_len(f.value or "") <= FIELD_VALUE_MAX
                    and f.name and f.value for f in embed.fields)
            and discord_len(embed.footer.text or "") <= FOOTER_MAX
            and embed_size(embed) <= EMBED_TOTAL_MAX)


def safe_url(url: str) -> str:
    """The link when it is a plain http(s) URL short enough to show, else ''."""
    url = (url or "").strip()
    if len(url) > URL_MAX or any(c.isspace() or ord(c) < 32 or c in "<>" for c in url):
        return ""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return ""
    return discord.utils.escape_mentions(url)


def _source_line(citation: Citation, title_cap: int, byline_cap: int, with_url: bool,
                 language: str = DEFAULT_LANGUAGE) -> str:
    """'**[1]** Title' + byline (publisher · date · kind) + link, each part capped."""
    line = f"**[{citation.n}]** {clip(safe(citation_title(citation, language)), title_cap)}"
    if byline_cap:
        line += f"\n{clip(safe(citation_byline(citation, language)), byline_cap)}"
    url = safe_url(citation.url) if with_url else ""
    if url:
        line += f"\n{url}"
    return line


def _pack(lines: Sequence[str], name: str) -> list[tuple[str, str]]:
    """Lines packed greedily into (name, value) fields of at most FIELD_VALUE_MAX each."""
    fields: list[tuple[str, str]] = []
    current = ""
    for line in lines:
        line = clip(line, FIELD_VALUE_MAX)
        joined = f"{current}\n{line}" if current else line
        if discord_len(joined) <= FIELD_VALUE_MAX:
            current = joined
            continue
        fields.append((name if not fields else f"{name} (continued)", current))
        current = line
    if current:
        fields.append((name if not fields else f"{name} (continued)", current))
    return fields


def _fields_size(fields: Sequence[tuple[str, str]]) -> int:
    """What fields add to the embed's total."""
    return sum(discord_len(n) + discord_len(v) for n, v in fields)


def _citation_fields(citations: Sequence[Citation], name: str, budget: int,
                     language: str = DEFAULT_LANGUAGE) -> list[tuple[str, str]]:
    """Every citation as a field line, with caps shrunk until the fields fit budget and the field limit."""
    fields: list[tuple[str, str]] = []
    for title_cap, byline_cap, with_url in _SOURCE_CAPS:
        fields = _pack([_source_line(c, title_cap, byline_cap, with_url, language) for c in citations], name)
        if _fields_size(fields) <= budget and len(fields) <= FIELDS_MAX:
            return fields
    # Absurdly many sources: keep as many numbers as fit and say how many are left out.
    kept: list[tuple[str, str]] = []
    for i in range(len(citations), -1, -1):
        rest = len(citations) - i
        lines = [_source_line(c, 12, 0, False) for c in citations[:i]]
        if rest:
            lines.append(f"…and {rest} more source(s)")
        kept = _pack(lines, name)
        if _fields_size(kept) <= budget and len(kept) <= FIELDS_MAX:
            break
    return kept


def _finish(embed: discord.Embed, fields: Sequence[tuple[str, str]]) -> discord.Embed:
    """Embed with fields added, in order."""
    for field_name, value in fields:
        embed.add_field(name=field_name, value=value, inline=False)
    return embed


def answer_embed(answer: Answer) -> discord.Embed:
    """The answer with its markers and numbered sources, or a plain abstention with related sources."""
    language = answer.language
    title = clip(safe(answer.question), TITLE_MAX) or "Your question"
    footer = say("discord_abstain_footer" if answer.abstained else "discord_answer_footer", language)
    if answer.pinned is not None:
        footer = say("discord_pinned_footer", language)
    listed = answer.related if answer.abstained else answer.citations
    name = say("discord_related_field" if answer.abstained else "discord_sources_field", language)
    room = EMBED_TOTAL_MAX - discord_len(title) - discord_len(footer) - MIN_DESCRIPTION
    fields = _citation_fields(listed, name, room, language) if listed else []
    budget = min(DESCRIPTION_MAX, EMBED_TOTAL_MAX - discord_len(title) - discord_len(footer) - _fields_size(fields))
    if answer.abstained:
        key = ("discord_pinned_decline" if answer.pinned is not None else "discord_abstain" if listed
               else "discord_abstain_nothing")
        description = clip(say(key, language), budget)
    else:
        units = [safe(u) for u in answer_units(answer.answer)]
        description = shorten(units, budget, say("discord_shortened", language)) or clip(safe(answer.answer), budget)
    embed = discord.Embed(title=title, description=description or None,
                          colour=ABSTAINED_COLOUR if answer.abstained else ANSWERED_COLOUR)
    embed.set_footer(text=footer)
    return _finish(embed, fields)


def _source_entry(source: Source, scope: str | None, *, show_added_by: bool = False) -> str:
    """One source in a list: title, publisher · date · kind, where it came from, link."""
    kind = kind_label(source.kind)
    line = (f"**{clip(safe(source.title), 150)}**\n"
            f"{clip(safe(source.publisher), 60)} · {human_date(source.published)} · {clip(safe(kind), 20)}")
    if source.scope != SHARED_SCOPE and source.scope == scope:
        line += " · added in this server"
    if show_added_by:
        line += f" · id `{clip(source.id, 60)}` · added by {clip(safe(source.added_by or 'unknown'), 60)}"
    url = safe_url(source.url)
    if url:
        line += f"\n{url}"
    return line


def sources_embed(sources: Sequence[Source], page: Page, *, scope: str | None, query: str = "") -> discord.Embed:
    """One page of sources (SOURCES_PER_PAGE of them)."""
    title = f"Sources matching “{clip(safe(query), 80)}”" if query else "Sources"
    if page.count > 1:
        title += f" (page {page.number + 1} of {page.count})"
    if sources:
        description = "\n\n".join(_source_entry(s, scope) for s in sources)
    else:
        description = "No source matches. Try fewer or other words." if query else "There are no sources yet."
    embed = discord.Embed(title=clip(title, TITLE_MAX), description=clip(description, DESCRIPTION_MAX),
                          colour=LIST_COLOUR)
    embed.set_footer(text=f"{page.total} source(s). Dates are publication dates; check the links.")
    return embed


def server_sources_embed(sources: Sequence[Source], page: Page, scope: str) -> discord.Embed:
    """The sources a server added itself, with who added each (for /kb list)."""
    title = "This server's sources" + (f" (page {page.number + 1} of {page.count})" if page.count > 1 else "")
    if sources:
        description = "\n\n".join(_source_entry(s, scope, show_added_by=True) for s in sources)
    else:
        description = "This server has not added sources yet. Use /kb upload or /kb add-url."
    embed = discord.Embed(title=title, description=clip(description, DESCRIPTION_MAX), colour=LIST_COLOUR)
    embed.set_footer(text=f"{page.total} source(s) added here; the shared corpus is searched too.")
    return embed


def statistics_embed(rows: Sequence[StatisticRow], total: int, query: str = "") -> discord.Embed:
    """Figures as fields: value, scope, as-of date, and the source each comes from."""
    title = f"Statistics matching “{clip(safe(query), 80)}”" if query else "Statistics"
    embed = discord.Embed(title=clip(title, TITLE_MAX), colour=LIST_COLOUR)
    if not rows:
        embed.description = "No statistic matches. Try fewer or other words." if query else "There are no statistics."
    for row in rows[:STATS_PER_EMBED]:
        value = f"**{safe(f'{row.value} {row.unit}'.strip())}** · as of {human_date(row.as_of)}"
        value += f"\nSource: {safe(statistic_source(row))}"
        url = safe_url(row.source_url)
        if url:
            value += f"\n{url}"
        if row.note:
            value += f"\nNote: {safe(row.note)}"
        embed.add_field(name=clip(safe(f"{row.statistic} ({row.scope})"), 200), value=clip(value, 450), inline=False)
    shown = min(len(rows), STATS_PER_EMBED)
    more = f"Showing {shown} of {total}; add words to query: to narrow it." if total > shown else f"{total} figure(s)."
    embed.set_footer(text=more)
    return embed


def gaps_embed(gaps: Sequence[Gap], broken: Sequence[Pin] = (), suggested: Sequence[Suggestion] = (),
               language: str = DEFAULT_LANGUAGE) -> discord.Embed:
    """Unanswered and down-voted questions (with the answer given), pins not served, answers members liked."""
    embed = discord.Embed(title=say("gaps_title", language), colour=ABSTAINED_COLOUR)
    lines = []
    for gap in gaps[:LIST_LINES]:
        detail = []
        if gap.abstained:
            detail.append(say("gaps_unanswered", language, count=gap.abstained))
        if gap.unhelpful:
            detail.append(say("gaps_not_helpful", language, count=gap.unhelpful))
        when = dt.datetime.fromtimestamp(gap.last_asked, dt.UTC)
        given = (f"\n> {say('gaps_answered', language)}: {clip(safe(gap.answer), 200)}"
                 if gap.unhelpful and gap.answer else "")
        lines.append(f"**{gap.times}×** {clip(safe(gap.question), 180)}\n"
                     f"{', '.join(detail)} · {say('gaps_last_asked', language)} "
                     f"{discord.utils.format_dt(when, 'R')}{given}")
    if not lines:
        lines.append(say("gaps_none", language))
    if broken:
        lines.append(f"\n{say('gaps_broken', language)}")
        lines += [f"• pin {p.id}: {clip(safe(p.question), 150)}" for p in broken[:10]]
    if suggested:
        lines.append(f"\n{say('gaps_suggested', language)}")
        lines += [f"• {s.helpful}× 👍 {clip(safe(s.question), 150)}" for s in suggested[:10]]
    embed.description = clip("\n".join(lines), DESCRIPTION_MAX)
    embed.set_footer(text=say("gaps_footer", language))
    return embed


def notice_embed(title: str, text: str) -> discord.Embed:
    """A short confirmation for organizers (their own wording, already safe)."""
    return discord.Embed(title=clip(title, TITLE_MAX), description=clip(text, DESCRIPTION_MAX), colour=LIST_COLOUR)


def page_of(items: Sequence, number: int, size: int) -> tuple[Sequence, Page]:
    """The items of one page (number clamped into range) and where it is."""
    count = max(1, -(-len(items) // size))
    number = min(max(0, number), count - 1)
    return items[number * size:(number + 1) * size], Page(number, count, len(items))
