"""Every failure reaches the user as one short private message; details go to the log under a reference id."""
from __future__ import annotations

import logging
import secrets

import discord
from discord import app_commands

from bot.discord_app.acknowledge import is_acknowledged, is_public_deferral
from bot.discord_app.text import CONTENT_MAX, clip
from bot.errors import CitebotError, IndexUnavailable

log = logging.getLogger(__name__)

class NotOrganizer(app_commands.CheckFailure):
    """The member may not use /kb in this server."""

    def __init__(self) -> None:
        super().__init__("Only organizers can change this server's knowledge base: you need the Manage Server "
                         "permission or the organizer role set with /kb settings.")


def reference_id() -> str:
    """A short id the user can quote and an operator can find in the log, e.g. ERR-3f9a2c."""
    return f"ERR-{secrets.token_hex(3)}"


def unwrap(error: BaseException) -> BaseException:
    """The exception a command really raised (discord.py wraps it in CommandInvokeError)."""
    while isinstance(error, app_commands.CommandInvokeError) and error.original is not None:
        error = error.original
    return error


def describe(error: BaseException, where: str) -> str:
    """What the user reads; unexpected errors are logged here with a fresh reference id."""
    error = unwrap(error)
    if isinstance(error, NotOrganizer):
        return str(error)
    if isinstance(error, app_commands.NoPrivateMessage):
        return "This command works only in a server."
    if isinstance(error, app_commands.CheckFailure):
        return "You can't use this command here."
    if isinstance(error, CitebotError) and not isinstance(error, IndexUnavailable):
        return str(error)  # written for the person who reads it
    ref = reference_id()
    log.error("%s: %s failed: %s", ref, where, error, exc_info=(type(error), error, error.__traceback__))
    if isinstance(error, IndexUnavailable):
        return f"The knowledge base is not available right now. Please try again later (reference {ref})."
    return (f"Sorry, something went wrong on our side. Please try again in a moment; if it keeps happening, "
            f"tell an organizer the reference {ref}.")


async def send_private(interaction: discord.Interaction, text: str) -> None:
    """Send text only the user sees, whatever state the interaction is in."""
    text = clip(discord.utils.escape_mentions(text), CONTENT_MAX)
    try:
        if not is_acknowledged(interaction):
            await interaction.response.send_message(text, ephemeral=True)
            return
        if is_public_deferral(interaction):
            # The first follow-up after a public defer would replace the public "thinking..." message;
            # delete it so the error becomes a separate private message.
            await interaction.delete_original_response()
        await interaction.followup.send(text, ephemeral=True)
    except discord.HTTPException as exc:  # the interaction expired or Discord refused: nothing more to do
        log.warning("could not tell the user about an error (%s): %s", text[:80], exc)


async def report(interaction: discord.Interaction, error: BaseException, where: str = "") -> None:
    """Tell the user briefly and privately; log unexpected errors with their traceback."""
    if not where:
        where = f"/{interaction.command.qualified_name}" if interaction.command else "an interaction"
    await send_private(interaction, describe(error, where))
