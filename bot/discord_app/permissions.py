"""Who is an organizer in a server: Manage Server, or the organizer role chosen with /kb settings."""
from __future__ import annotations

import discord

from bot.discord_app.context import citebot, scope_of


def may_manage_server(interaction: discord.Interaction) -> bool:
    """Manage Server (or Administrator) as Discord computed it for this member in this channel."""
    permissions = interaction.permissions
    return permissions.manage_guild or permissions.administrator


async def is_organizer(interaction: discord.Interaction) -> bool:
    """Manage Server, or the organizer role this server chose with /kb settings."""
    if interaction.guild_id is None:
        return False
    if may_manage_server(interaction):
        return True
    config = await citebot(interaction).guild_configs.get(scope_of(interaction))
    if config.organizer_role_id is None:
        return False
    return any(role.id == config.organizer_role_id for role in getattr(interaction.user, "roles", ()))
