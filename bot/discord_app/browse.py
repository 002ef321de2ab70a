"""/sources (paged with buttons) and /stats: what citebot knows, with dates and links."""
# No `from __future__ import annotations`: discord.py reads these annotations at runtime.

import re

import discord
from discord import app_commands

from bot.discord_app.acknowledge import defer_thinking
from bot.discord_app.context import citebot, scope_of
from bot.discord_app.errors import report
from bot.discord_app.rendering import SOURCES_PER_PAGE, page_of, sources_embed, statistics_embed
from bot.discord_app.text import discord_len
from bot.service import KnowledgeService
from knowledge.records import Source

QUERY_MAX = 60  # the query rides in the page buttons' custom_id (100 characters at most)
PAGE_TEMPLATE = r"citebot:src:(?P<page>[0-9]{1,4}):(?P<query>.*)"


def matching_sources(service: KnowledgeService, scope: str | None, query: str) -> list[Source]:
    """Sources visible in scope whose title, publisher or id contains every word of query (worker thread)."""
    words = query.lower().split()
    return [s for s in service.sources(scope)
            if all(w in f"{s.title} {s.publisher} {s.id}".lower() for w in words)]


class SourcesPageButton(discord.ui.DynamicItem[discord.ui.Button], template=PAGE_TEMPLATE):
    """'Previous' / 'Next' under a /sources page; the page and query live in the custom_id."""

    def __init__(self, page: int, query: str, label: str) -> None:
        super().__init__(discord.ui.Button(label=label, style=discord.ButtonStyle.secondary,
                                           custom_id=f"citebot:src:{page}:{query}"))
        self.page = page
        self.query = query

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item,  # type: ignore[override]
                             match: re.Match[str]) -> "SourcesPageButton":
        """The button a click refers to, rebuilt from its custom_id."""
        return cls(int(match["page"]), match["query"], getattr(item, "label", None) or "Page")

    async def callback(self, interaction: discord.Interaction) -> None:  # type: ignore[override]
        """Show the requested page in the same message."""
        try:
            await interaction.response.defer()  # an update of the clicked message comes next
            embed, view = await sources_page(interaction, self.page, self.query)
            await interaction.edit_original_response(embed=embed, view=view)
        except Exception as exc:  # dynamic item errors would only be logged by discord.py
            await report(interaction, exc, "a /sources page button")


def page_buttons(page: int, count: int, query: str) -> discord.ui.View | None:
    """Previous/next buttons that exist only where there is somewhere to go."""
    if count <= 1 or discord_len(f"citebot:src:{count}:{query}") > 100:
        return None
    view = discord.ui.View(timeout=None)
    if page > 0:
        view.add_item(SourcesPageButton(page - 1, query, "◀ Previous"))
    if page < count - 1:
        view.add_item(SourcesPageButton(page + 1, query, "Next ▶"))
    view.stop()  # dispatched through the dynamic item, never kept in memory
    return view


async def sources_page(interaction: discord.Interaction, number: int, query: str
                       ) -> tuple[discord.Embed, discord.ui.View | None]:
    """The embed and buttons of one page of /sources."""
    client = citebot(interaction)
    scope = scope_of(interaction)
    items = await client.run_io(matching_sources, client.service, scope, query)
    shown, page = page_of(items, number, SOURCES_PER_PAGE)
    return sources_embed(shown, page, scope=scope, query=query), page_buttons(page.number, page.count, query)


async def defer_for(interaction: discord.Interaction, private: bool | None) -> bool:
    """Defer now, privately when asked or when the server prefers it; returns the choice."""
    config = await citebot(interaction).guild_configs.get(scope_of(interaction))
    ephemeral = config.private_by_default if private is None else private
    await defer_thinking(interaction, ephemeral=ephemeral)
    return ephemeral


def browse_commands() -> list:
    """Fresh command objects for one client."""

    @app_commands.command(name="sources", description="List the sources citebot answers from, with dates and links")
    @app_commands.describe(query="Only sources whose title or publisher has these words",
                           private="Only you see the list (default: this server's choice)")
    async def sources(interaction: discord.Interaction,
                      query: app_commands.Range[str, 1, QUERY_MAX] | None = None,
                      private: bool | None = None) -> None:
        """/sources: the first page; the buttons page on."""
        ephemeral = await defer_for(interaction, private)
        embed, view = await sources_page(interaction, 0, " ".join((query or "").split()))
        await interaction.followup.send(embed=embed, view=view or discord.utils.MISSING, ephemeral=ephemeral)

    @app_commands.command(name="stats", description="Show statistics with their sources and as-of dates")
    @app_commands.describe(query="Only figures whose text has every one of these words",
                           private="Only you see the figures (default: this server's choice)")
    async def stats(interaction: discord.Interaction, query: app_commands.Range[str, 1, 100] | None = None,
                    private: bool | None = None) -> None:
        """/stats: matching figures with their sources."""
        ephemeral = await defer_for(interaction, private)
        client = citebot(interaction)
        rows = await client.run_io(client.service.statistics, query or "", scope_of(interaction))
        await interaction.followup.send(embed=statistics_embed(rows, len(rows), query or ""), ephemeral=ephemeral)

    return [sources, stats]
