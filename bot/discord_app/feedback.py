"""'Helpful' / 'Not helpful' buttons whose state lives in the custom_id, so they work after a restart."""
import discord

from bot.discord_app.context import citebot
from bot.discord_app.errors import report

VOTE_TEMPLATE = r"citebot:vote:(?P<question>[0-9]{1,18}):(?P<helpful>[01])"


class VoteButton(discord.ui.DynamicItem[discord.ui.Button], template=VOTE_TEMPLATE):
    """One vote button for one recorded question."""

    def __init__(self, question_id: int, helpful: bool) -> None:
        super().__init__(discord.ui.Button(
            label="Helpful" if helpful else "Not helpful", emoji="👍" if helpful else "👎",
            style=discord.ButtonStyle.success if helpful else discord.ButtonStyle.secondary,
            custom_id=f"citebot:vote:{question_id}:{int(helpful)}"))
        self.question_id = question_id
        self.helpful = helpful

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item,  # type: ignore[override]
                             match) -> "VoteButton":
        """The button a click refers to, rebuilt from its custom_id (also after a restart)."""
        return cls(int(match["question"]), match["helpful"] == "1")

    async def callback(self, interaction: discord.Interaction) -> None:  # type: ignore[override]
        """Store the vote once per user; a second click is answered politely and changes nothing."""
        client = citebot(interaction)
        try:
            stored = await client.run_io(client.service.activity.vote, self.question_id, str(interaction.user.id),
                                         self.helpful)
            if stored:
                text = ("Thanks! Noted as helpful." if self.helpful else
                        "Thanks for telling us. Organizers will see this question and can add better sources.")
            else:
                text = "You already voted on this answer; your first vote counts. Thanks!"
            await interaction.response.send_message(text, ephemeral=True)
        except Exception as exc:  # dynamic item errors would only be logged by discord.py
            await report(interaction, exc, "a feedback vote")


def feedback_view(question_id: int) -> discord.ui.View:
    """The two buttons for an answer; clicks are dispatched through the registered dynamic items."""
    view = discord.ui.View(timeout=None)
    view.add_item(VoteButton(question_id, True))
    view.add_item(VoteButton(question_id, False))
    # A stopped view is sent but not kept in memory: every click goes through the dynamic item,
    # the same path as after a restart.
    view.stop()
    return view
