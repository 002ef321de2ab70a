"""Embeds always fit Discord's limits, keep every source, and never carry live mentions or markdown."""
from __future__ import annotations

import re
import time

import discord
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.activity import Gap
from bot.answering.models import Answer, Citation
from bot.discord_app.rendering import (
    Page,
    answer_embed,
    embed_size,
    gaps_embed,
    safe_url,
    sources_embed,
    statistics_embed,
    within_limits,
)
from bot.discord_app.text import answer_units, clip, discord_len, safe, shorten
from knowledge.records import Source, StatisticRow

LIVE_MENTION = re.compile(r"@(everyone|here)|<@[!&]?\d{17,20}>")


def citation(n: int, title: str = "A title", url: str = "https://example.org/a", publisher: str = "Publisher",
             published: str = "2011-06-06") -> Citation:
    return Citation(n=n, source_id=f"s{n}", title=title, publisher=publisher, published=published, url=url,
                    kind="article", quote="q")


def texts(embed: discord.Embed) -> list[str]:
    return [embed.title or "", embed.description or "", embed.footer.text or "",
            *[f.name for f in embed.fields], *[f.value for f in embed.fields]]


def field_text(embed: discord.Embed) -> str:
    return "\n".join(f.value for f in embed.fields)


# ---------------------------------------------------------------------------------- answers
def test_answer_keeps_markers_and_lists_numbered_sources_with_date_and_link():
    answer = Answer(question="When did Illinois withdraw?", abstained=False,
                    answer="Illinois withdrew on May 4, 2011. [1] Quinn ended the agreement. [2]",
                    citations=(citation(1, "Illinois withdraws", "https://example.org/il", "Example Tribune",
                                        "2011-05-04"),
                               citation(2, "Quinn", "https://example.org/q", "WBEZ", "2011-05")))
    embed = answer_embed(answer)
    assert embed.title == "When did Illinois withdraw?"
    assert embed.description == answer.answer
    [field] = embed.fields
    assert field.name == "Sources"
    assert field.value.splitlines() == [
        "**[1]** Illinois withdraws", "Example Tribune · May 4, 2011 · article", "https://example.org/il",
        "**[2]** Quinn", "WBEZ · May 2011 · article", "https://example.org/q"]
    assert within_limits(embed)


def test_abstention_says_so_plainly_and_lists_related_sources_as_not_an_answer():
    answer = Answer(question="What is the capital of France?", abstained=True, answer="(composer's wording)",
                    related=(citation(1, "Illinois withdraws"), citation(2, "Detainers")))
    embed = answer_embed(answer)
    assert embed.description.startswith("**The sources don't answer this.**")
    assert "(composer's wording)" not in embed.description
    assert embed.fields[0].name == "Related sources (not an answer)"
    assert "**[1]** Illinois withdraws" in embed.fields[0].value and "**[2]** Detainers" in embed.fields[0].value


def test_abstention_without_related_sources():
    embed = answer_embed(Answer(question="q?", abstained=True, answer=""))
    assert "don't answer this" in embed.description and not embed.fields


def test_long_answer_is_shortened_at_a_marker_and_keeps_every_source():
    sentences = [f"Sentence {i} says something quite long about the program and its history {'x' * 200}. [{i % 12 + 1}]"
                 for i in range(60)]
    citations = tuple(citation(n, "T" * 300, f"https://example.org/{'p' * 250}{n}", "P" * 200) for n in range(1, 13))
    embed = answer_embed(Answer(question="Q" * 400, answer=" ".join(sentences), abstained=False, citations=citations))
    assert within_limits(embed) and embed_size(embed) <= 6000
    assert len(embed.title) <= 256
    assert embed.description.endswith("*Shortened to fit Discord. Every source is listed below.*")
    kept = embed.description.split("\n\n*Shortened")[0]
    assert re.fullmatch(r"(Sentence \d+ [^\[]+\[\d+\] ?)+", kept + " ")  # only whole cited sentences
    for n in range(1, 13):
        assert f"**[{n}]**" in field_text(embed)


def test_one_enormous_sentence_is_cut_but_keeps_its_marker():
    embed = answer_embed(Answer(question="q", abstained=False, answer="word " * 3000 + "end. [1]",
                                citations=(citation(1),)))
    assert within_limits(embed)
    assert "… [1]" in embed.description


def test_sixty_sources_all_kept_within_limits():
    citations = tuple(citation(n, "Title " * 50, "https://example.org/" + "a" * 280) for n in range(1, 61))
    embed = answer_embed(Answer(question="q", abstained=False, answer="A. [1]", citations=citations))
    assert within_limits(embed)
    assert all(f"**[{n}]**" in field_text(embed) for n in range(1, 61))


def test_mentions_markdown_and_direction_overrides_are_neutralised():
    answer = Answer(question="@everyone **look** <@123456789012345678> \u202egnp.exe", abstained=False,
                    answer="Ping @here and <@&123456789012345678>, `code` and __under__. [1]",
                    citations=(citation(1, "@everyone *title*", publisher="<@123456789012345678>"),))
    embed = answer_embed(answer)
    for text in texts(embed):
        assert not LIVE_MENTION.search(text), text
        assert "\u202e" not in text
    assert "@\u200beveryone" in embed.title and r"\*\*look\*\*" in embed.title
    assert r"\`code\`" in embed.description and r"\_\_under\_\_" in embed.description
    assert "[1]" in embed.description


def test_unsafe_links_are_not_shown():
    assert safe_url("javascript:alert(1)") == ""
    assert safe_url("https://example.org/a b") == ""
    assert safe_url("ftp://example.org/") == ""
    assert safe_url("https://example.org/" + "a" * 400) == ""
    assert safe_url("https://example.org/ok") == "https://example.org/ok"


# ---------------------------------------------------------------------------------- text helpers
def test_lengths_count_utf16_units_so_astral_characters_never_overflow():
    assert discord_len("a😀") == 3
    clipped = clip("😀" * 300, 256)
    assert discord_len(clipped) <= 256 and clipped.endswith("…")


def test_clip_prefers_word_boundaries_and_never_leaves_a_dangling_escape():
    assert clip("alpha beta gamma delta", 15) == "alpha beta…"
    assert clip(safe("**" * 100), 11) == r"\*\*\*\*\*…"


def test_shorten_keeps_whole_units():
    units = answer_units("One. [1] Two. [2] Three. [3]")
    assert units == ["One. [1]", "Two. [2]", "Three. [3]"]
    assert shorten(units, 20, " (cut)") == "One. [1] (cut)"
    assert shorten(units, 100, " (cut)") == "One. [1] Two. [2] Three. [3]"


# ---------------------------------------------------------------------------------- lists
def test_source_pages_statistics_and_gaps_fit_with_huge_inputs():
    long = "L" * 5000
    sources = [Source(id=f"s{i}", title=long, publisher=long, published="2011", kind="article", text="t",
                      url="https://example.org/" + "u" * 250, scope="42") for i in range(8)]
    assert within_limits(sources_embed(sources, Page(0, 3, 24), scope="42", query="q" * 60))
    rows = [StatisticRow(id=f"r{i}", statistic=long, value=long, unit="people", scope=long, as_of="2012",
                         source_title=long, source_publisher=long, source_date="2012", source_url="https://e.org/x",
                         note=long) for i in range(30)]
    stats = statistics_embed(rows, 30, "query")
    assert within_limits(stats) and len(stats.fields) == 8 and "Showing 8 of 30" in stats.footer.text
    gaps = [Gap(question="@everyone " + long, times=3, abstained=2, unhelpful=1, last_asked=time.time())
            for _ in range(40)]
    embed = gaps_embed(gaps)
    assert within_limits(embed) and not LIVE_MENTION.search(embed.description)


# ---------------------------------------------------------------------------------- property
HOSTILE = st.sampled_from(["@everyone", "@here", "<@123456789012345678>", "<@&123456789012345678>", "**", "__",
                           "`", "~~", "||", "> ", "# ", "- ", "[x](https://e.org)", "\\", "\u200b", "\u200d",
                           "\u202e", "\u2066", "שלום", "مرحبا", "😀", "[1]", ". ", "\n", "https://e.org/@everyone"])
TEXT = st.lists(st.one_of(HOSTILE, st.text(max_size=40)), max_size=60).map("".join)
CITATIONS = st.lists(st.builds(citation, n=st.just(0), title=TEXT, url=st.one_of(TEXT, st.just("https://e.org/p")),
                               publisher=TEXT, published=st.sampled_from(["2011-06-06", "2011", "undated", "bad"])),
                     max_size=40)


@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(question=TEXT, sentences=st.lists(TEXT, max_size=30), citations=CITATIONS, abstained=st.booleans(),
       repeat=st.integers(1, 40))
def test_any_answer_renders_within_limits_without_live_mentions(question, sentences, citations, abstained, repeat):
    numbered = tuple(Citation(**{**c.__dict__, "n": i}) for i, c in enumerate(citations, start=1))
    text = " ".join(f"{s * repeat} [{i % max(1, len(numbered)) + 1}]" for i, s in enumerate(sentences))
    answer = Answer(question=question, answer=text, abstained=abstained,
                    citations=() if abstained else numbered, related=numbered if abstained else ())
    embed = answer_embed(answer)
    assert within_limits(embed)
    for part in texts(embed):
        assert not LIVE_MENTION.search(part)
        assert not re.search("[\u202a-\u202e\u2066-\u2069]", part)
    listed = field_text(embed)
    assert all(f"**[{c.n}]**" in listed for c in numbered)  # every source kept, however long the answer
