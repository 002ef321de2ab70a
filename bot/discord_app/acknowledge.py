"""Acknowledging an interaction exactly once, even when Discord took an attempt whose answer was lost."""
from __future__ import annotations

import logging

import discord

log = logging.getLogger(__name__)

PRIVATE_KEY = "citebot_private"  # Interaction.extras key: was the response deferred privately?
ACKNOWLEDGED_KEY = "citebot_acknowledged"  # Interaction.extras key: deferred, though discord.py does not know it
ALREADY_ACKNOWLEDGED = 40060  # Discord's error code for a second acknowledgement


async def defer_thinking(interaction: discord.Interaction, *, ephemeral: bool) -> None:
    """Show "citebot is thinking..." (privately or not) so the answer can follow after Discord's 3 s limit."""
    interaction.extras[PRIVATE_KEY] = ephemeral
    try:
        await interaction.response.defer(ephemeral=ephemeral, thinking=True)
    except discord.HTTPException as exc:
        # discord.py retries a defer answered with a 5xx. When the first attempt had reached Discord, the
        # retry is refused with 40060: the interaction is deferred all the same, so the answer can follow.
        if exc.code != ALREADY_ACKNOWLEDGED:
            raise
        log.warning("interaction %s was already acknowledged (an earlier attempt reached Discord); "
                    "answering with a follow-up", interaction.id)
        interaction.extras[ACKNOWLEDGED_KEY] = True


def is_acknowledged(interaction: discord.Interaction) -> bool:
    """True once the interaction has been answered or deferred, by discord.py's account or ours."""
    return interaction.response.is_done() or bool(interaction.extras.get(ACKNOWLEDGED_KEY, False))


def is_public_deferral(interaction: discord.Interaction) -> bool:
    """True when a public "thinking..." message stands in for the answer."""
    deferred = (interaction.response.type is discord.InteractionResponseType.deferred_channel_message
                or bool(interaction.extras.get(ACKNOWLEDGED_KEY, False)))
    return deferred and not interaction.extras.get(PRIVATE_KEY, False)
