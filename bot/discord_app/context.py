"""Where an interaction happens (its scope) and the client behind it, for command modules."""
from __future__ import annotations

from typing import TYPE_CHECKING, cast

import discord

if TYPE_CHECKING:  # the client module imports the command modules, not the other way round
    from bot.discord_app.client import CitebotClient


def scope_of(interaction: discord.Interaction) -> str | None:
    """The knowledge-base scope: the server's id as text (None in DMs: the shared corpus only)."""
    return str(interaction.guild_id) if interaction.guild_id else None


def citebot(interaction: discord.Interaction) -> CitebotClient:
    """The CitebotClient that received the interaction."""
    return cast("CitebotClient", interaction.client)


def who(interaction: discord.Interaction) -> str:
    """'name (id)': how an organizer is named in source records."""
    return f"{interaction.user.name} ({interaction.user.id})"
