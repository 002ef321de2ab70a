"""'Helpful' / 'Not helpful' buttons whose state lives in the custom_id, so they work after a restart."""
import re

import discord

from bot.discord_app.context import citebot
from bot.discord_app.errors import report
from bot.discord_app.locale import member_language
from bot.messages import say
from knowledge.languages import DEFAULT_LANGUAGE

VOTE_TEMPLATE = r"citebot:vote:(?P<question>[0-9]{1,18}):(?P<helpful>[01])"


class VoteButton(discord.ui.DynamicItem[discord.ui.Button], template=VOTE_TEMPLATE):
    """One vote button for one recorded question."""

    def __init__(self, question_id: int, helpful: bool, language: str = DEFAULT_LANGUAGE) -> None:
        # The label is only sent with the answer: a click rebuilds the button from its custom_id.
        super().__init__(discord.ui.Button(
            label=say("button_helpful" if helpful else "button_not_helpful", language), emoji="👍" if helpful else "👎",
            style=discord.ButtonStyle.success if helpful else discord.ButtonStyle.secondary,
            custom_id=f"citebot:vote:{question_id}:{int(helpful)}"))
        self.question_id = question_id
        self.helpful = helpful

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item,  # type: ignore[override]
                             match: re.Match[str]) -> "VoteButton":
        """The button a click refers to, rebuilt from its custom_id (also after a restart)."""
        return cls(int(match["question"]), match["helpful"] == "1")

    async def callback(self, interaction: discord.Interaction) -> None:  # type: ignore[override]
        """Store the vote once per user; a second click is answered politely and changes nothing."""
        client = citebot(interaction)
        try:
            stored = await client.run_io(client.service.activity.vote, self.question_id, str(interaction.user.id),
                                         self.helpful)
            language = member_language(interaction)
            if stored:
                text = say("vote_helpful" if self.helpful else "vote_not_helpful", language)
            else:
                text = say("vote_again", language)
            await interaction.response.send_message(text, ephemeral=True)
        except Exception as exc:  # dynamic item errors would only be logged by discord.py
            await report(interaction, exc, "a feedback vote")


def feedback_view(question_id: int, language: str = DEFAULT_LANGUAGE) -> discord.ui.View:
    """The two buttons for an answer, labelled in its language; clicks go through the registered dynamic items."""
    view = discord.ui.View(timeout=None)
    view.add_item(VoteButton(question_id, True, language))
    view.add_item(VoteButton(question_id, False, language))
    # A stopped view is sent but not kept in memory: every click goes through the dynamic item,
    # the same path as after a restart.
    view.stop()
    return view
