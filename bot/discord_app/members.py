"""What every member can do: /ask, and the "Ask citebot" message menu."""
# No `from __future__ import annotations`: discord.py reads these annotations at runtime.

import discord
from discord import app_commands
from discord.utils import MISSING

from bot.discord_app.acknowledge import defer_thinking
from bot.discord_app.context import citebot, scope_of
from bot.discord_app.cooldown import cooldown_message
from bot.discord_app.errors import send_private
from bot.discord_app.feedback import feedback_view
from bot.discord_app.locale import member_language
from bot.discord_app.rendering import answer_embed
from bot.errors import QuestionError
from bot.messages import say
from bot.service import clean_question

QUESTION_MAX = 500  # Discord enforces this in its client; the service checks its own limit again


async def answer_question(interaction: discord.Interaction, question: str, *, private: bool | None,
                          surface: str) -> None:
    """Check, defer at once, answer in a worker thread, follow up with the cited embed."""
    client = citebot(interaction)
    language = member_language(interaction)
    limit = client.settings.max_question_chars
    try:
        text = clean_question(question, limit)
    except QuestionError:
        # Said in the member's language (the question's own is not known yet: it did not pass the check).
        text = " ".join(question.split())
        await send_private(interaction, say("error_question_too_long", language, length=len(text), limit=limit)
                           if text else say("error_question_empty", language))
        return
    scope = scope_of(interaction)
    config = await client.guild_configs.get(scope)
    left = client.cooldowns.try_acquire((scope, interaction.user.id), config.cooldown_seconds)
    if left > 0:
        await interaction.response.send_message(cooldown_message(left, language), ephemeral=True)
        return
    ephemeral = config.private_by_default if private is None else private
    await defer_thinking(interaction, ephemeral=ephemeral)
    async with client.busy():  # a shutdown waits for the follow-up too, not just the answer
        answer, question_id = await client.run_answer(client.service.answer_and_record, text, scope,
                                                      user_id=str(interaction.user.id), surface=surface,
                                                      language=language)
        view = MISSING if answer.abstained else feedback_view(question_id, answer.language)
        await interaction.followup.send(embed=answer_embed(answer), view=view, ephemeral=ephemeral)


def words_within(text: str, limit: int) -> str:
    """Text cut at a word boundary to at most limit characters (a message can be longer than a question)."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit]
    return cut[:cut.rfind(" ")] if " " in cut else cut


def member_commands() -> list:
    """Fresh command objects for one client (nothing is shared between clients)."""

    @app_commands.command(name="ask", description="Ask a question; the answer quotes and cites its sources")
    @app_commands.describe(question="Your question (up to 500 characters)",
                           private="Only you see the answer (default: this server's choice)")
    async def ask(interaction: discord.Interaction, question: app_commands.Range[str, 1, QUESTION_MAX],
                  private: bool | None = None) -> None:
        """/ask: a cited answer, public or private."""
        await answer_question(interaction, question, private=private, surface="discord")

    @app_commands.context_menu(name="Ask citebot")
    async def ask_about_message(interaction: discord.Interaction, message: discord.Message) -> None:
        """The "Ask citebot" message menu: the message's text, answered privately."""
        if not message.content.strip():
            await send_private(interaction, say("no_text", member_language(interaction)))
            return
        question = words_within(message.content, citebot(interaction).settings.max_question_chars)
        await answer_question(interaction, question, private=True, surface="discord-message")

    return [ask, ask_about_message]
