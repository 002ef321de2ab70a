"""Members: /ask, "Ask citebot", feedback buttons, cooldown, /sources and /stats, through the real client."""
from __future__ import annotations

import logging
import re

import discord

from bot.answering.models import Answer, Citation
from bot.discord_app.rendering import within_limits
from knowledge.records import Source
from tests.bot.discord_app.helpers import LIVE_MENTION, assert_never_pings, ephemeral_text
from tests.discord_double import EPHEMERAL

DETAINER_Q = "What is an ICE detainer?"
UNANSWERABLE_Q = "What is the capital of France?"


def vote_ids(body: dict) -> list[str]:
    return [c["custom_id"] for row in body["components"] for c in row["components"]]


async def test_ask_defers_then_follows_up_with_a_cited_embed(bot, fake):
    inter = await fake.send_slash_command("ask", {"question": DETAINER_Q}, user_id="101")
    body = await fake.wait_for_followup(inter)
    calls = [r.path.rsplit("/", 1)[-1] for r in fake.requests_for(inter)]
    assert calls == ["callback", inter["token"]]  # the defer first, then the follow-up
    assert await fake.wait_for_callback(inter) == {"type": 5}  # public, "thinking..."
    [embed] = body["embeds"]
    assert embed["title"] == DETAINER_Q
    assert re.search(r"local jails have no legal obligation to honor it\. \[1\]", embed["description"])
    [field] = embed["fields"]
    assert field["name"] == "Sources"
    # Source [1] first, as title, publisher · date · kind, and link; any further source after it.
    assert field["value"].startswith("**[1]** What an ICE detainer is (our summary)\n"
                                     "Example Legal Aid · September 2013 · our summary\nhttps://example.org/detainers")
    question_id = int(vote_ids(body)[0].split(":")[2])
    assert vote_ids(body) == [f"citebot:vote:{question_id}:1", f"citebot:vote:{question_id}:0"]
    message = fake.messages[fake.interactions[inter["id"]].original_message_id]
    assert message["flags"] == 0 and message["embeds"] == body["embeds"]  # it replaced the thinking message
    assert_never_pings(fake)
    fake.assert_clean()


async def test_abstention_is_plain_and_lists_related_sources(bot, fake):
    inter = await fake.send_slash_command("ask", {"question": UNANSWERABLE_Q}, user_id="102")
    [embed] = (body := await fake.wait_for_followup(inter))["embeds"]
    assert embed["description"].startswith("**The sources don't answer this.**")
    assert embed["fields"][0]["name"] == "Related sources (not an answer)"
    assert "**[1]**" in embed["fields"][0]["value"]
    assert "components" not in body or body["components"] == []  # nothing to vote on
    [gap] = bot.service.activity.gaps(fake.guild_id)  # recorded for organizers, in this server's scope
    assert gap.question == UNANSWERABLE_Q.lower() and gap.abstained == 1


async def test_private_answers_are_ephemeral(bot, fake):
    inter = await fake.send_slash_command("ask", {"question": DETAINER_Q, "private": True}, user_id="103")
    await fake.wait_for_followup(inter)
    assert await fake.wait_for_callback(inter) == {"type": 5, "data": {"flags": EPHEMERAL}}
    assert fake.messages[fake.interactions[inter["id"]].original_message_id]["flags"] == EPHEMERAL


async def test_a_question_with_everyone_and_mentions_never_pings(bot, fake):
    question = "Does @everyone or @here or <@123456789012345678> get a **detainer**?"
    inter = await fake.send_slash_command("ask", {"question": question}, user_id="104")
    body = await fake.wait_for_followup(inter)
    title = body["embeds"][0]["title"]
    assert "@\u200beveryone" in title and "@\u200bhere" in title and r"\*\*detainer\*\*" in title
    assert not LIVE_MENTION.search(title)
    assert body["allowed_mentions"] == {"parse": []}
    assert_never_pings(fake)


async def test_ask_in_a_dm_uses_the_shared_corpus(bot, fake):
    inter = await fake.send_slash_command("ask", {"question": DETAINER_Q}, dm=True, user_id="105")
    body = await fake.wait_for_followup(inter)
    assert "[1]" in body["embeds"][0]["description"]


async def test_message_menu_answers_the_message_privately(bot, fake):
    inter = await fake.send_message_command("Ask citebot", "Which state first withdrew from Secure Communities?",
                                            user_id="106")
    body = await fake.wait_for_followup(inter)
    assert await fake.wait_for_callback(inter) == {"type": 5, "data": {"flags": EPHEMERAL}}
    assert "Illinois" in body["embeds"][0]["description"]
    empty = await fake.send_message_command("Ask citebot", fake.make_message(""), user_id="106")
    assert ephemeral_text(await fake.wait_for_callback(empty)) == "That message has no text to ask about."


async def test_cooldown_refuses_politely_with_seconds_left(bot, fake):
    first = await fake.send_slash_command("ask", {"question": DETAINER_Q}, user_id="107")
    await fake.wait_for_followup(first)
    second = await fake.send_slash_command("ask", {"question": UNANSWERABLE_Q}, user_id="107")
    text = ephemeral_text(await fake.wait_for_callback(second))
    assert re.fullmatch(r"You're asking a little fast\. Please wait (9|10) seconds before your next question; "
                        r"this keeps citebot quick for everyone\.", text)
    other = await fake.send_slash_command("ask", {"question": DETAINER_Q}, user_id="108")  # others are not held up
    await fake.wait_for_followup(other)
    assert len(bot.service.activity.gaps(fake.guild_id)) == 0  # the refused question was not asked


async def test_votes_are_stored_once_per_user_and_work_after_a_restart(harness, make_bot_service):
    fake = harness.fake
    service = make_bot_service()
    first = await harness.start(service)
    asked = await fake.send_slash_command("ask", {"question": DETAINER_Q}, user_id="109")
    helpful, unhelpful = vote_ids(await fake.wait_for_followup(asked))
    question_id = int(helpful.split(":")[2])

    click = await fake.click_button(helpful, user_id="201")
    assert ephemeral_text(await fake.wait_for_callback(click)) == "Thanks! Noted as helpful."
    again = await fake.click_button(unhelpful, user_id="201")  # a change of mind is not a second vote
    assert ephemeral_text(await fake.wait_for_callback(again)).startswith("You already voted on this answer")
    assert service.activity.votes(question_id) == (1, 0)

    await harness.stop(first)  # a restart: a new client, the same stored message and buttons
    await harness.start(service)
    later = await fake.click_button(unhelpful, user_id="202")
    assert ephemeral_text(await fake.wait_for_callback(later)).startswith("Thanks for telling us")
    assert service.activity.votes(question_id) == (1, 1)
    [gap] = service.activity.gaps(fake.guild_id)  # a down-voted answer is a gap
    assert gap.unhelpful == 1
    fake.assert_clean()


async def test_an_oversized_answer_stays_within_discords_limits(bot, fake, monkeypatch):
    citations = tuple(Citation(n, f"s{n}", "@everyone " + "Long title " * 40, "Publisher " * 30, "2011-06-06",
                               f"https://example.org/{'x' * 200}/{n}", "article", "quote") for n in range(1, 31))
    sentences = " ".join(f"Sentence {i} {'<@123456789012345678> **bold** ' * 20}. [{i % 30 + 1}]" for i in range(80))
    huge = Answer(question="q", answer=sentences, abstained=False, citations=citations)
    monkeypatch.setattr(bot.service, "answer_and_record", lambda *a, **k: (huge, 1))
    inter = await fake.send_slash_command("ask", {"question": "Tell me everything"}, user_id="110")
    body = await fake.wait_for_followup(inter)  # the double refuses anything over a limit (400 / 50035)
    embed = discord.Embed.from_dict(body["embeds"][0])
    assert within_limits(embed)
    assert "Shortened to fit Discord" in embed.description
    listed = "\n".join(f.value for f in embed.fields)
    assert all(f"**[{n}]**" in listed for n in range(1, 31))
    assert_never_pings(fake)
    fake.assert_clean()


async def test_unexpected_errors_reach_the_user_privately_with_a_reference(bot, fake, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("database exploded at /secret/path")
    monkeypatch.setattr(bot.service, "answer_and_record", broken)
    inter = await fake.send_slash_command("ask", {"question": DETAINER_Q}, user_id="111")
    body = await fake.wait_for_followup(inter)
    reference = re.search(r"ERR-[0-9a-f]{6}", body["content"]).group(0)
    assert body["content"] == (f"Sorry, something went wrong on our side. Please try again in a moment; if it "
                               f"keeps happening, tell an organizer the reference {reference}.")
    assert body["flags"] == EPHEMERAL and "exploded" not in body["content"]
    # The public "thinking..." message was deleted, so the error is a separate private message.
    assert [(r.method, r.path.rsplit("/", 1)[-1]) for r in fake.requests_for(inter)] == [
        ("POST", "callback"), ("DELETE", "@original"), ("POST", inter["token"])]
    [record] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert record.getMessage().startswith(f"{reference}: /ask failed: database exploded")
    assert record.exc_info and "Traceback" not in body["content"]
    fake.assert_clean()


async def test_sources_are_paged_with_buttons(bot, fake, monkeypatch):
    many = [Source(id=f"src-{i:02d}", title=f"Report number {i:02d}", publisher="Example Office",
                   published=f"2011-0{1 + i % 9}", kind="report", text="t", url=f"https://example.org/{i}")
            for i in range(20)]
    monkeypatch.setattr(bot.service, "sources", lambda scope=None: many)
    inter = await fake.send_slash_command("sources", user_id="112")
    body = await fake.wait_for_followup(inter)
    embed = body["embeds"][0]
    assert embed["title"] == "Sources (page 1 of 3)"
    assert "**Report number 00**" in embed["description"] and "Report number 08" not in embed["description"]
    assert "Example Office · January 2011 · report" in embed["description"]
    assert "https://example.org/0" in embed["description"]
    assert vote_ids(body) == ["citebot:src:1:"]

    click = await fake.click_button("citebot:src:1:", user_id="113")
    assert await fake.wait_for_callback(click) == {"type": 6}
    edit = await fake.wait_for_request("PATCH", rf"/webhooks/{fake.app_id}/{click['token']}/messages/@original")
    assert edit.json["embeds"][0]["title"] == "Sources (page 2 of 3)"
    assert [c["custom_id"] for c in edit.json["components"][0]["components"]] == ["citebot:src:0:", "citebot:src:2:"]

    filtered = await fake.send_slash_command("sources", {"query": "number 07"}, user_id="114")
    embed = (await fake.wait_for_followup(filtered))["embeds"][0]
    assert embed["title"] == "Sources matching “number 07”" and "Report number 07" in embed["description"]
    fake.assert_clean()


async def test_sources_lists_the_real_corpus(bot, fake):
    inter = await fake.send_slash_command("sources", {"private": True}, user_id="115")
    embed = (await fake.wait_for_followup(inter))["embeds"][0]
    assert "**Illinois withdraws from Secure Communities**" in embed["description"]
    assert "Example Tribune · May 4, 2011 · our summary" in embed["description"]
    assert embed["footer"]["text"].startswith("2 source(s)")


async def test_stats_show_figures_with_their_sources(bot, fake):
    inter = await fake.send_slash_command("stats", {"query": "citizens"}, user_id="116")
    embed = (await fake.wait_for_followup(inter))["embeds"][0]
    [field] = embed["fields"]
    assert field["name"].startswith("U.S. citizens estimated to have been arrested")
    assert field["value"].startswith("**about 3,600 people** · as of October 2011")
    assert 'Source: Warren Institute, "Secure Communities by the Numbers", October 2011' in field["value"]
    assert "https://example.org/warren" in field["value"] and "Note: Disputed" in field["value"]
    assert_never_pings(fake)


async def test_a_defer_discord_took_but_answered_500_still_gets_its_answer(bot, fake, caplog):
    """The 500 came after Discord acted: discord.py's retry meets 40060, and the answer follows anyway."""
    fault = fake.fail_next(r"^POST /interactions/\d+/[^/]+/callback$", 500, after_route=True)
    inter = await fake.send_slash_command("ask", {"question": DETAINER_Q}, user_id="110")
    body = await fake.wait_for_followup(inter)
    assert fault.served and fault.remaining == 0
    callbacks = [r.status for r in fake.requests_for(inter) if r.path.endswith("/callback")]
    assert callbacks == [500, 400]  # the lost answer, then the retry refused as a second acknowledgement
    assert [e["body"]["code"] for e in fake.errors] == [40060]
    assert "[1]" in body["embeds"][0]["description"]  # the cited answer, not an error message
    assert len([r for r in fake.requests_for(inter) if r.path.startswith("/webhooks/")]) == 1
    assert any("already acknowledged" in r.getMessage() for r in caplog.records)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
