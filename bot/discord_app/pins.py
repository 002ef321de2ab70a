"""Organizers fix answers: "Fix citebot's answer", /kb fix and /kb pins (choose sentences, pin, list, remove)."""
# No `from __future__ import annotations`: discord.py reads these annotations at runtime.
import datetime as dt
import logging

import discord
from discord import app_commands

from bot.activity import Pin
from bot.discord_app.acknowledge import defer_thinking
from bot.discord_app.context import citebot, scope_of, who
from bot.discord_app.errors import NotOrganizer, report, send_private
from bot.discord_app.permissions import is_organizer
from bot.discord_app.rendering import notice_embed
from bot.discord_app.text import clip, safe
from bot.pinning import Candidate
from knowledge.dates import human_date

log = logging.getLogger(__name__)

CHOICE_SECONDS = 600  # how long the private sentence menu stays usable
OPTION_TEXT_MAX = 100  # Discord's limit for a select option's label and description


async def require_organizer(interaction: discord.Interaction) -> None:
    """Raise NotOrganizer unless the member is an organizer of this server."""
    if not await is_organizer(interaction):
        raise NotOrganizer()


async def audit(interaction: discord.Interaction, action: str, detail: str) -> None:
    """Record a pin change in the server's audit log."""
    client = citebot(interaction)
    await client.run_io(client.service.activity.audit, scope_of(interaction) or "", str(interaction.user.id),
                        interaction.user.name, action, detail)
    log.info("guild %s: %s by %s: %s", interaction.guild_id, action, who(interaction), detail[:200])


def describe_pin(pin: Pin, broken: bool = False) -> str:
    """A pin as organizers read it: question, what is pinned, who pinned it and when."""
    when = discord.utils.format_dt(dt.datetime.fromtimestamp(pin.pinned_at, dt.UTC), "R")
    quoted = (f"> {clip(safe(s.text), 300)} (`{clip(s.source_id, 60)}`)" for s in pin.sentences)
    what = "citebot declines it" if pin.decline else "\n".join(quoted)
    flag = "\n**Not served:** a sentence is no longer in its source; pin it again." if broken else ""
    by = clip(safe(pin.pinned_by), 80)
    return f"**Pin {pin.id}:** {clip(safe(pin.question), 200)}\n{what}\npinned by {by} {when}{flag}"


class SentenceChoice(discord.ui.View):
    """A private menu of candidate sentences for one question, and a button to pin a decline instead."""

    def __init__(self, question: str, candidates: list[Candidate], organizer_id: int) -> None:
        super().__init__(timeout=CHOICE_SECONDS)
        self.question = question
        self.candidates = candidates
        self.organizer_id = organizer_id
        if candidates:
            menu = discord.ui.Select(placeholder="Pick the sentences that answer it", custom_id="citebot:pin-choose",
                                     min_values=1, max_values=min(len(candidates), 4), options=[
                                         discord.SelectOption(label=clip(c.text, OPTION_TEXT_MAX), value=str(i),
                                                              description=clip(f"{c.source.title} · "
                                                                               f"{human_date(c.source.published)}",
                                                                               OPTION_TEXT_MAX))
                                         for i, c in enumerate(candidates)])
            menu.callback = self.pin_sentences
            self.add_item(menu)
        decline = discord.ui.Button(label="citebot should decline this", style=discord.ButtonStyle.secondary,
                                    custom_id="citebot:pin-decline")
        decline.callback = self.pin_decline
        self.add_item(decline)

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        """Only the organizer who opened the menu may use it (and only while still an organizer)."""
        if interaction.user.id != self.organizer_id:
            raise NotOrganizer()
        await require_organizer(interaction)
        return True

    async def on_error(self, interaction: discord.Interaction, error: Exception, item: discord.ui.Item) -> None:
        """Failures reach the organizer privately."""
        await report(interaction, error, "the pin menu")

    async def pin_sentences(self, interaction: discord.Interaction) -> None:
        """Pin the chosen sentences, in the order they were offered (best passage first)."""
        chosen = sorted(int(v) for v in interaction.data.get("values", []))  # type: ignore[union-attr]
        await self._save(interaction, [self.candidates[i].text for i in chosen], decline=False)

    async def pin_decline(self, interaction: discord.Interaction) -> None:
        """Pin a decline: citebot will say the sources don't answer this question."""
        await self._save(interaction, [], decline=True)

    async def _save(self, interaction: discord.Interaction, sentences: list[str], decline: bool) -> None:
        client = citebot(interaction)
        scope = scope_of(interaction) or ""
        pin = await client.run_io(client.service.pin, scope, self.question, sentences, decline=decline,
                                  pinned_by=who(interaction))
        await audit(interaction, "pin-decline" if decline else "pin", f"pin {pin.id}: {pin.question[:150]}")
        self.stop()
        await interaction.response.edit_message(embed=notice_embed("Answer pinned", describe_pin(pin) +
                                                "\n\nQuestions that mean the same in this server now get this "
                                                "answer, marked as checked by organizers."), view=None)


async def offer_sentences(interaction: discord.Interaction, question: str, search: str | None) -> None:
    """Defer privately, find candidate sentences, and show the choice menu."""
    client = citebot(interaction)
    await defer_thinking(interaction, ephemeral=True)
    candidates = await client.run_answer(client.service.pin_candidates, question, scope_of(interaction), search)
    text = (f"**Question:** {clip(safe(question), 300)}\n\nPick the sentences that answer it (up to 4), or say "
            f"citebot should decline it." + ("" if candidates else "\n\nNo candidate sentences were found; try "
                                             "/kb fix with a `search:` text."))
    await interaction.followup.send(embed=notice_embed("Fix this answer", text),
                                    view=SentenceChoice(question, candidates, interaction.user.id), ephemeral=True)


def fix_message_command() -> app_commands.ContextMenu:
    """The "Fix citebot's answer" message menu (organizers)."""

    @app_commands.context_menu(name="Fix citebot's answer")
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    async def fix_answer(interaction: discord.Interaction, message: discord.Message) -> None:
        """On one of citebot's answers: choose the sentences that answer its question, or a decline."""
        await require_organizer(interaction)
        question = message.embeds[0].title if message.embeds else None
        if message.author.id != getattr(interaction.client.user, "id", None) or not question:
            await send_private(interaction, "That is not one of citebot's answers. Use it on an answer, or use "
                                            "/kb fix with the question.")
            return
        await offer_sentences(interaction, question, None)

    return fix_answer


def pin_option_choices(pins: list[Pin], current: str) -> list[app_commands.Choice[str]]:
    """Autocomplete choices for pins whose question contains what was typed."""
    needle = current.lower().strip()
    return [app_commands.Choice(name=clip(f"{p.id}: {p.question}", 100), value=str(p.id))
            for p in pins if needle in f"{p.id} {p.question}".lower()][:25]
