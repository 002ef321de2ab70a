"""Organizers fix answers through the real client: the message menu and sentence menu, /kb pins, votes."""
from __future__ import annotations

from tests.bot.discord_app.helpers import MANAGE, assert_never_pings, ephemeral_text
from tests.bot.discord_app.test_members import vote_ids
from tests.bot.discord_app.test_organizers import NOT_ORGANIZER

QUESTION = "Can a jail say no to an ICE detainer?"
REFUSAL = "A detainer is a request, not a judicial warrant, and local jails have no legal obligation to honor it."
CHECKED = "Checked by this server's organizers: they chose this answer for this question."


async def ask(fake, question: str, user_id: str, **who) -> dict:
    inter = await fake.send_slash_command("ask", {"question": question}, user_id=user_id, **who)
    return await fake.wait_for_followup(inter, timeout=10)


def menu_options(body: dict) -> list[dict]:
    """The options of the sentence menu in a message body."""
    return next(c["options"] for row in body["components"] for c in row["components"] if c["type"] == 3)


async def fix_through_the_menu(fake, answer_message: dict, sentence: str, user_id: str = "401") -> dict:
    """'Fix citebot's answer' on a message, then choose one sentence; returns the confirmation body."""
    menu = await fake.send_message_command("Fix citebot's answer", answer_message, user_id=user_id,
                                           permissions=MANAGE)
    offered = await fake.wait_for_followup(menu, timeout=10)
    options = menu_options(offered)
    values = [o["value"] for o in options if sentence.startswith(o["label"].rstrip("…"))]
    assert values, [o["label"] for o in options]
    value = values[0]
    chose = await fake.send_component("citebot:pin-choose", component_type=3, values=[value], user_id=user_id,
                                      permissions=MANAGE)
    return (await fake.wait_for_callback(chose))["data"]


async def test_fixing_an_answer_pins_it_for_questions_that_mean_the_same_in_that_server(bot, fake):
    body = await ask(fake, QUESTION, "101")
    answer_message = fake.messages[next(iter(fake.interactions.values())).original_message_id]
    assert answer_message["embeds"][0]["title"] == QUESTION
    confirmation = await fix_through_the_menu(fake, answer_message, REFUSAL)
    assert confirmation["embeds"][0]["title"] == "Answer pinned" and confirmation["components"] == []
    [pin] = bot.service.pins(fake.guild_id)
    assert pin.question == QUESTION and [s.text for s in pin.sentences] == [REFUSAL]
    assert [e.action for e in bot.service.activity.audit_entries(fake.guild_id)] == ["pin"]

    again = (await ask(fake, "can a jail say no to an ICE detainer", "102"))["embeds"][0]
    assert again["description"].startswith(REFUSAL) and again["footer"]["text"] == CHECKED
    elsewhere = (await ask(fake, QUESTION, "103", guild_id=fake.guilds[1].id))["embeds"][0]
    assert elsewhere["footer"]["text"] != CHECKED  # another server's organizers did not choose it
    assert body["embeds"][0]["footer"]["text"] != CHECKED
    assert_never_pings(fake)
    fake.assert_clean()


async def test_members_cannot_fix_answers_or_list_pins(bot, fake):
    await ask(fake, QUESTION, "104")
    answer_message = fake.messages[next(iter(fake.interactions.values())).original_message_id]
    menu = await fake.send_message_command("Fix citebot's answer", answer_message, user_id="105")
    assert ephemeral_text(await fake.wait_for_callback(menu)) == NOT_ORGANIZER
    for command, options in (("kb fix", {"question": QUESTION}), ("kb pins", {})):
        inter = await fake.send_slash_command(command, options, user_id="105")
        assert ephemeral_text(await fake.wait_for_callback(inter)) == NOT_ORGANIZER
    assert await fake.send_autocomplete("kb pins", {"pin": ""}, focused="pin", user_id="105") == []
    assert bot.service.pins(fake.guild_id) == []


async def test_kb_fix_can_pin_a_decline_and_kb_pins_shows_and_removes_it(bot, fake):
    fix = await fake.send_slash_command("kb fix", {"question": "What is an ICE detainer?", "search": "detainer"},
                                        user_id="401", permissions=MANAGE)
    offered = await fake.wait_for_followup(fix, timeout=10)
    assert any(o["label"].startswith("An ICE detainer asks a local jail") for o in menu_options(offered))
    decline = await fake.click_button("citebot:pin-decline", user_id="401", permissions=MANAGE)
    assert (await fake.wait_for_callback(decline))["data"]["embeds"][0]["title"] == "Answer pinned"
    declined = (await ask(fake, "What is an ICE detainer?", "106"))["embeds"][0]
    assert declined["description"].startswith("**The sources don't answer this.**")

    [pin] = bot.service.pins(fake.guild_id)
    choices = await fake.send_autocomplete("kb pins", {"pin": "detainer"}, focused="pin", user_id="401",
                                           permissions=MANAGE)
    assert choices == [{"name": f"{pin.id}: What is an ICE detainer?", "value": str(pin.id)}]
    listed = await fake.send_slash_command("kb pins", {}, user_id="401", permissions=MANAGE)
    assert "citebot declines it" in (await fake.wait_for_followup(listed))["embeds"][0]["description"]
    removed = await fake.send_slash_command("kb pins", {"pin": str(pin.id), "remove": True}, user_id="401",
                                            permissions=MANAGE)
    assert (await fake.wait_for_followup(removed))["embeds"][0]["title"] == "Pin removed"
    assert bot.service.pins(fake.guild_id) == []
    answered = (await ask(fake, "What is an ICE detainer?", "107"))["embeds"][0]
    assert "48 hours" in answered["description"]
    assert [e.action for e in bot.service.activity.audit_entries(fake.guild_id)] == ["unpin", "pin-decline"]


async def test_votes_feed_gaps_and_suggested_pins_that_organizers_confirm(bot, fake):
    liked = await ask(fake, "How long can a jail hold someone for ICE?", "110")
    helpful, _ = vote_ids(liked)
    for voter in ("201", "202", "203"):
        await fake.wait_for_callback(await fake.click_button(helpful, user_id=voter))
    disliked = await ask(fake, "Can a jail say no to a detainer?", "111")
    _, unhelpful = vote_ids(disliked)
    await fake.wait_for_callback(await fake.click_button(unhelpful, user_id="204"))

    gaps = await fake.send_slash_command("kb gaps", {}, user_id="401", permissions=MANAGE)
    text = (await fake.wait_for_followup(gaps))["embeds"][0]["description"]
    assert "1 voted not helpful" in text and "> answered: " in text  # the answer given is shown
    assert "**Suggested pins**" in text and "3× 👍 How long can a jail hold someone for ICE?" in text

    [suggestion] = bot.service.suggested_pins(fake.guild_id)
    choices = await fake.send_autocomplete("kb pins", {"pin": "hold"}, focused="pin", user_id="401",
                                           permissions=MANAGE)
    assert choices == [{"name": "suggested (3 👍): How long can a jail hold someone for ICE?",
                        "value": f"suggest:{suggestion.question_id}"}]
    confirm = await fake.send_slash_command("kb pins", {"pin": f"suggest:{suggestion.question_id}", "confirm": True},
                                            user_id="401", permissions=MANAGE)
    assert (await fake.wait_for_followup(confirm))["embeds"][0]["title"] == "Answer pinned"
    [pin] = bot.service.pins(fake.guild_id)
    assert pin.question == "How long can a jail hold someone for ICE?" and pin.sentences
    again = (await ask(fake, "How long can a jail hold someone for ICE?", "112"))["embeds"][0]
    assert again["footer"]["text"] == CHECKED
