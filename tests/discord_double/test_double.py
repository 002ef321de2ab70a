"""Tests of the Discord double itself, driven by a tiny real discord.py client defined here."""
from __future__ import annotations

import asyncio
import io
import logging
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import discord
import pytest
import pytest_asyncio
from discord import app_commands

from . import DEFAULT_MEMBER_PERMISSIONS, EPHEMERAL, MANAGE_GUILD, FakeDiscord, running

# The bot, the fake and the test must share one event loop: pin both scopes, whatever the project's
# asyncio_default_fixture_loop_scope says (a session-loop fixture would freeze while a test awaits).
pytestmark = pytest.mark.asyncio(loop_scope="function")

REPO = Path(__file__).resolve().parents[2]


# ---------------------------------------------------------------------------------- the tiny bot
class VoteView(discord.ui.View):
    """Persistent Helpful / Not helpful buttons (custom ids survive restarts)."""

    def __init__(self) -> None:
        super().__init__(timeout=None)

    @discord.ui.button(label="Helpful", style=discord.ButtonStyle.success, custom_id="vote:up")
    async def up(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        interaction.client.votes.append((interaction.user.id, "up", interaction.message.id))
        await interaction.response.edit_message(content="Thanks for the vote!", view=None)  # callback type 7

    @discord.ui.button(label="Not helpful", style=discord.ButtonStyle.danger, custom_id="vote:down")
    async def down(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        interaction.client.votes.append((interaction.user.id, "down", interaction.message.id))
        await interaction.response.defer()  # callback type 6
        await interaction.edit_original_response(content="Noted.")  # PATCH @original


class FeedbackModal(discord.ui.Modal, title="Feedback"):
    text = discord.ui.TextInput(label="What could be better?", custom_id="text")

    def __init__(self) -> None:
        super().__init__(custom_id="feedback_modal")

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"feedback: {self.text.value}", ephemeral=True)


class MiniBot(discord.Client):
    """Global /ask, /config, /whoami, /slow, /big, /feedback, /admin cache clear, "Ask citebot"; guild /kb."""

    def __init__(self, *, guild_ids: list[int], **options) -> None:
        super().__init__(intents=discord.Intents.default(), allowed_mentions=discord.AllowedMentions.none(), **options)
        self.guild_ids = guild_ids
        self.tree = app_commands.CommandTree(self)
        self.tree.on_error = self.on_tree_error
        self.kb = ["Venue: Hall B", "Wi-Fi: guest/guest", "Schedule: 9:00"]
        self.votes: list[tuple[int, str, int]] = []
        self.events: list[str] = []
        self.errors: list[Exception] = []
        self.slow_s = 0.3
        for cmd in (ask, config, whoami, slow, block, big, feedback, steps, admin, ask_citebot):
            self.tree.add_command(cmd)
        self.tree.add_command(kb, guilds=[discord.Object(g) for g in guild_ids])

    async def setup_hook(self) -> None:
        self.add_view(VoteView())
        await self.tree.sync()
        for gid in self.guild_ids:
            await self.tree.sync(guild=discord.Object(gid))

    async def on_resumed(self) -> None:
        self.events.append("resumed")

    async def on_tree_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        self.errors.append(getattr(error, "original", error))


@app_commands.command(name="ask", description="Ask a question")
async def ask(interaction: discord.Interaction, question: app_commands.Range[str, 1, 500]) -> None:
    await interaction.response.defer(thinking=True)
    embed = discord.Embed(title="Answer", description=f"You asked: {question}")
    await interaction.followup.send(embed=embed, view=VoteView())


@app_commands.command(name="config", description="Typed options")
async def config(interaction: discord.Interaction, verbose: bool, top_k: int, label: str) -> None:
    await interaction.response.send_message(f"{verbose!r} {top_k!r} {label!r}", ephemeral=True)


@app_commands.command(name="whoami", description="Where and who")
async def whoami(interaction: discord.Interaction) -> None:
    roles = [r.name for r in getattr(interaction.user, "roles", []) if not r.is_default()]
    await interaction.response.send_message(
        f"{interaction.guild_id} {interaction.user.id} {interaction.permissions.manage_guild} {roles}")


@app_commands.command(name="slow", description="Acknowledges late")
async def slow(interaction: discord.Interaction) -> None:
    await asyncio.sleep(interaction.client.slow_s)
    await interaction.response.send_message("late")


@app_commands.command(name="block", description="Blocks the event loop (what citebot must never do)")
async def block(interaction: discord.Interaction) -> None:
    time.sleep(0.4)
    await interaction.response.send_message("done")


@app_commands.command(name="big", description="Sends an oversized embed")
async def big(interaction: discord.Interaction) -> None:
    await interaction.response.send_message(embed=discord.Embed(description="x" * 5000))


@app_commands.command(name="steps", description="Reads, edits and deletes its messages")
async def steps(interaction: discord.Interaction) -> None:
    await interaction.response.send_message("step 1")
    original = await interaction.original_response()  # GET @original
    extra = await interaction.followup.send(f"step 2 after {original.content}", wait=True)
    await extra.edit(content="step 2, edited")  # PATCH /messages/{id}
    await interaction.edit_original_response(content="step 1, edited")  # PATCH @original
    await extra.delete()  # DELETE /messages/{id}


@app_commands.command(name="feedback", description="Opens a modal")
async def feedback(interaction: discord.Interaction) -> None:
    await interaction.response.send_modal(FeedbackModal())


admin = app_commands.Group(name="admin", description="Admin tools", guild_only=True,
                           default_permissions=discord.Permissions(manage_guild=True))
cache = app_commands.Group(name="cache", description="Cache tools", parent=admin)


@cache.command(name="clear", description="Clear the cache")
async def cache_clear(interaction: discord.Interaction) -> None:
    await interaction.response.send_message("cleared", ephemeral=True)


kb = app_commands.Group(name="kb", description="Knowledge base",
                        default_permissions=discord.Permissions(manage_guild=True))


@kb.command(name="upload", description="Upload a source file")
async def kb_upload(interaction: discord.Interaction, file: discord.Attachment) -> None:
    await interaction.response.defer(ephemeral=True, thinking=True)
    data = await file.read()
    await interaction.followup.send(f"{file.filename} {file.size} {file.content_type} {data!r}",
                                    file=discord.File(io.BytesIO(data[::-1]), "reversed.txt"))


@kb.command(name="remove", description="Remove a source")
async def kb_remove(interaction: discord.Interaction, source: str) -> None:
    await interaction.response.send_message(f"removed {source}", ephemeral=True)


@kb_remove.autocomplete("source")
async def kb_remove_source(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    entries = interaction.client.kb
    return [app_commands.Choice(name=e, value=e) for e in entries if current.lower() in e.lower()][:25]


@app_commands.context_menu(name="Ask citebot")
async def ask_citebot(interaction: discord.Interaction, message: discord.Message) -> None:
    await interaction.response.defer(ephemeral=True, thinking=True)
    await interaction.followup.send(f"You asked about: {message.content} (by {message.author.id})")


# ---------------------------------------------------------------------------------- fixture
@pytest_asyncio.fixture(loop_scope="function")
async def env(monkeypatch: pytest.MonkeyPatch,
              caplog: pytest.LogCaptureFixture) -> AsyncIterator[tuple[FakeDiscord, MiniBot]]:
    caplog.set_level(logging.WARNING)
    fake = await FakeDiscord(guilds=["Alpha", "Beta"], heartbeat_interval_ms=100).start()
    fake.patch_discord(monkeypatch)
    bot = MiniBot(guild_ids=[int(g.id) for g in fake.guilds], guild_ready_timeout=0.05)
    try:
        async with running(bot, fake):
            yield fake, bot
        fake.assert_clean()
        assert bot.errors == [], bot.errors
        logged = [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.levelno >= logging.ERROR]
        assert logged == [], logged
    finally:
        await fake.close()


def _ops(fake: FakeDiscord) -> list[int]:
    return [f["op"] for f in fake.gateway_received]


# ---------------------------------------------------------------------------------- login, sync, guilds
async def test_login_syncs_globally_and_per_guild_and_creates_every_guild(env):
    fake, bot = env
    alpha, beta = fake.guilds
    first = [(r.method, r.path) for r in fake.requests[:5]]
    assert first == [("GET", "/users/@me"), ("GET", "/oauth2/applications/@me"),
                     ("PUT", f"/applications/{fake.app_id}/commands"),
                     ("PUT", f"/applications/{fake.app_id}/guilds/{alpha.id}/commands"),
                     ("PUT", f"/applications/{fake.app_id}/guilds/{beta.id}/commands")]
    assert {c["name"] for c in fake.commands[None]} == {"ask", "config", "whoami", "slow", "block", "big",
                                                        "feedback", "steps", "admin", "Ask citebot"}
    assert [c["name"] for c in fake.commands[alpha.id]] == ["kb"] == [c["name"] for c in fake.commands[beta.id]]
    assert {g.id for g in bot.guilds} == {int(alpha.id), int(beta.id)}
    assert [f["op"] for f in fake.gateway_received[:2]] == [1, 2]  # HEARTBEAT before IDENTIFY
    created = [c for c in fake._session_events if c["t"] == "GUILD_CREATE"]
    assert [c["d"]["name"] for c in created] == ["Alpha", "Beta"]

    gamma = await fake.add_guild("Gamma")  # joining a guild at runtime
    await fake.wait_for(lambda: bot.get_guild(int(gamma.id)), timeout=2, what="GUILD_CREATE for Gamma")


# ---------------------------------------------------------------------------------- interactions
async def test_ask_defers_then_first_followup_replaces_the_thinking_message(env):
    fake, _bot = env
    inter = await fake.send_slash_command("ask", {"question": "When @everyone?"})
    body = await fake.wait_for_followup(inter)
    assert await fake.wait_for_callback(inter) == {"type": 5}
    assert body["allowed_mentions"] == {"parse": []}
    assert body["embeds"][0]["description"] == "You asked: When @everyone?"
    assert [b["custom_id"] for b in body["components"][0]["components"]] == ["vote:up", "vote:down"]
    record = fake.interactions[inter["id"]]
    original = fake.messages[record.original_message_id]
    assert original["embeds"] == body["embeds"] and original["flags"] == 0  # no longer "thinking..."
    assert record.followup_ids == []  # it *was* the original, not an extra message
    assert await fake.wait_for_reply(inter) == body
    assert [r.path.rsplit("/", 1)[-1] for r in fake.requests_for(inter)] == ["callback", inter["token"]]


async def test_string_boolean_integer_options_are_typed_from_the_synced_schema(env):
    fake, _bot = env
    inter = await fake.send_slash_command("config", {"verbose": True, "top_k": 5, "label": "7"})
    assert [(o["name"], o["type"]) for o in inter["data"]["options"]] == [("verbose", 5), ("top_k", 4), ("label", 3)]
    reply = await fake.wait_for_callback(inter)
    assert reply["data"]["content"] == "True 5 '7'" and reply["data"]["flags"] == EPHEMERAL
    with pytest.raises(TypeError):
        await fake.send_slash_command("config", {"verbose": True, "top_k": "5", "label": "x"})


async def test_attachment_option_is_resolved_and_served_and_multipart_followup_is_parsed(env):
    fake, _bot = env
    att = fake.attachment("notes.txt", b"hello sources")
    inter = await fake.send_slash_command("kb upload", {"file": att},
                                          permissions=DEFAULT_MEMBER_PERMISSIONS | MANAGE_GUILD)
    [sub] = inter["data"]["options"]
    assert (sub["type"], sub["name"], sub["options"]) == (1, "upload", [{"type": 11, "name": "file", "value": att.id}])
    resolved = inter["data"]["resolved"]["attachments"][att.id]
    assert resolved["url"] == f"{fake.base_url}/attachments/{att.id}/notes.txt"
    assert (resolved["size"], resolved["content_type"], resolved["filename"]) == (13, "text/plain", "notes.txt")
    assert inter["data"]["guild_id"] == fake.guild_id  # a guild-scoped command

    body = await fake.wait_for_followup(inter)
    assert body["content"] == "notes.txt 13 text/plain b'hello sources'"
    assert fake.cdn_requests[0][0] == f"/attachments/{att.id}/notes.txt"
    followup = await fake.wait_for_request("POST", rf"/webhooks/{fake.app_id}/{inter['token']}")
    assert [(f.field, f.filename, f.data) for f in followup.files] == [("files[0]", "reversed.txt", b"secruos olleh")]
    msg = fake.messages[fake.interactions[inter["id"]].original_message_id]
    assert msg["flags"] == EPHEMERAL and msg["attachments"][0]["filename"] == "reversed.txt"


async def test_subcommand_group_nests_group_then_subcommand(env):
    fake, _bot = env
    inter = await fake.send_slash_command("admin cache clear")
    assert inter["data"]["options"] == [{"type": 2, "name": "cache", "options": [
        {"type": 1, "name": "clear", "options": []}]}]
    assert (await fake.wait_for_callback(inter))["data"]["content"] == "cleared"
    with pytest.raises(LookupError):  # a group is not invocable by itself
        await fake.send_slash_command("admin cache")


async def test_button_click_answered_with_update_message(env):
    fake, bot = env
    asked = await fake.send_slash_command("ask", {"question": "q"})
    await fake.wait_for_followup(asked)
    message_id = fake.interactions[asked["id"]].original_message_id
    click = await fake.click_button("vote:up", user_id="4242")
    assert click["type"] == 3 and click["data"] == {"custom_id": "vote:up", "component_type": 2}
    assert click["message"]["id"] == message_id
    callback = await fake.wait_for_callback(click)
    assert callback["type"] == 7 and callback["data"]["content"] == "Thanks for the vote!"
    assert bot.votes == [(4242, "up", int(message_id))]
    assert fake.messages[message_id]["content"] == "Thanks for the vote!"
    assert fake.messages[message_id]["components"] == []
    with pytest.raises(LookupError):  # the buttons are gone: Discord's client cannot click them
        await fake.click_button("vote:up")


async def test_button_click_deferred_update_then_edit_original(env):
    fake, _bot = env
    asked = await fake.send_slash_command("ask", {"question": "q"})
    await fake.wait_for_followup(asked)
    click = await fake.click_button("vote:down")
    assert await fake.wait_for_callback(click) == {"type": 6}
    edit = await fake.wait_for_request("PATCH", rf"/webhooks/{fake.app_id}/{click['token']}/messages/@original")
    assert edit.json["content"] == "Noted." and edit.status == 200
    assert fake.messages[click["message"]["id"]]["content"] == "Noted."


async def test_autocomplete_returns_the_bots_choices(env):
    fake, _bot = env
    choices = await fake.send_autocomplete("kb remove", {"source": "wi"}, focused="source",
                                           permissions=DEFAULT_MEMBER_PERMISSIONS | MANAGE_GUILD)
    assert choices == [{"name": "Wi-Fi: guest/guest", "value": "Wi-Fi: guest/guest"}]
    payload = next(i.payload for i in fake.interactions.values() if i.type == 4)
    leaf = payload["data"]["options"][0]["options"][0]
    assert leaf == {"type": 3, "name": "source", "value": "wi", "focused": True}


async def test_message_context_menu_resolves_the_target_message(env):
    fake, _bot = env
    target = fake.make_message("Is lunch included?", author_id="777")
    inter = await fake.send_message_command("Ask citebot", target)
    assert inter["data"]["type"] == 3 and inter["data"]["target_id"] == target["id"]
    assert inter["data"]["resolved"]["messages"][target["id"]]["content"] == "Is lunch included?"
    assert await fake.wait_for_callback(inter) == {"type": 5, "data": {"flags": EPHEMERAL}}
    body = await fake.wait_for_followup(inter)
    assert body["content"] == "You asked about: Is lunch included? (by 777)"


async def test_webhook_messages_can_be_fetched_edited_and_deleted(env):
    fake, _bot = env
    inter = await fake.send_slash_command("steps")
    tok = inter["token"]
    await fake.wait_for_request("DELETE", rf"/webhooks/{fake.app_id}/{tok}/messages/\d+")
    record = fake.interactions[inter["id"]]
    [extra_id] = record.followup_ids
    calls = [(r.method, r.path.rsplit("/", 1)[-1], r.status) for r in fake.requests_for(inter)]
    assert calls == [("POST", "callback", 200), ("GET", "@original", 200), ("POST", tok, 200),
                     ("PATCH", extra_id, 200), ("PATCH", "@original", 200), ("DELETE", extra_id, 204)]
    assert fake.messages[record.original_message_id]["content"] == "step 1, edited"
    assert extra_id not in fake.messages
    url = f"{fake.api_base}/webhooks/{fake.app_id}/{tok}/messages/{extra_id}"
    async with aiohttp.ClientSession() as http, http.get(url) as resp:  # a deleted (or foreign) id is unknown
        assert (resp.status, (await resp.json())["code"]) == (404, 10008)
    fake.errors.clear()


async def test_modal_is_recorded_and_its_submit_dispatched(env):
    fake, _bot = env
    opened = await fake.send_slash_command("feedback")
    modal = await fake.wait_for_callback(opened)
    assert modal["type"] == 9 and modal["data"]["custom_id"] == "feedback_modal"
    submit = await fake.send_modal_submit("feedback_modal", {"text": "more coffee"})
    assert (await fake.wait_for_callback(submit))["data"]["content"] == "feedback: more coffee"


async def test_guild_user_permissions_and_roles_are_chosen_per_interaction(env):
    fake, bot = env
    beta = fake.guilds[1]
    inter = await fake.send_slash_command("whoami", guild_id=beta.id, user_id="1234",
                                          permissions=str(DEFAULT_MEMBER_PERMISSIONS | MANAGE_GUILD),
                                          roles=[beta.organizer_role_id])
    assert inter["member"]["permissions"] == str(DEFAULT_MEMBER_PERMISSIONS | MANAGE_GUILD)
    assert (await fake.wait_for_callback(inter))["data"]["content"] == f"{beta.id} 1234 True ['Organizer']"

    plain = await fake.send_slash_command("whoami")
    assert (await fake.wait_for_callback(plain))["data"]["content"] == f"{fake.guild_id} {fake.user_id} False []"

    helper = await fake.add_role("Helper", guild_id=beta.id)  # GUILD_ROLE_CREATE reaches the client cache
    await fake.wait_for(lambda: bot.get_guild(int(beta.id)).get_role(int(helper)), timeout=2, what="the new role")
    both = await fake.send_slash_command("whoami", guild_id=beta.id, roles=[beta.organizer_role_id, helper])
    assert (await fake.wait_for_callback(both))["data"]["content"].endswith("['Organizer', 'Helper']")

    dm = await fake.send_slash_command("whoami", dm=True, user_id="99")
    assert "guild_id" not in dm and dm["user"]["id"] == "99"
    assert (await fake.wait_for_callback(dm))["data"]["content"] == "None 99 False []"


async def test_injection_refuses_what_discords_client_could_not_send(env):
    fake, _bot = env
    with pytest.raises(LookupError):
        await fake.send_slash_command("nope")
    with pytest.raises(LookupError):
        await fake.send_slash_command("ask", {"question": "q", "extra": 1})
    with pytest.raises(ValueError):
        await fake.send_slash_command("ask")  # required option missing
    with pytest.raises(LookupError):
        await fake.send_slash_command("kb remove", {"source": "x"}, dm=True)  # guild command, in DMs
    with pytest.raises(LookupError):
        await fake.send_slash_command("admin cache clear", dm=True)  # guild_only global command
    with pytest.raises(LookupError):
        await fake.click_button("vote:never-sent")


# ---------------------------------------------------------------------------------- Discord's rules
async def test_late_acknowledgement_gets_10062(env):
    fake, bot = env
    fake.ack_deadline_s = 0.1
    inter = await fake.send_slash_command("slow")
    await fake.wait_for_callback(inter, accepted=False)
    await fake.wait_for(lambda: bot.errors, timeout=2, what="the bot's NotFound")
    assert fake.errors[0]["status"] == 404
    assert fake.errors[0]["body"] == {"message": "Unknown interaction", "code": 10062}
    assert isinstance(bot.errors[0], discord.NotFound) and bot.errors[0].code == 10062
    fake.errors.clear(), bot.errors.clear()


async def test_second_acknowledgement_gets_40060_and_followup_before_ack_gets_10015(env):
    fake, bot = env
    bot.slow_s = 0.4
    slow_inter = await fake.send_slash_command("slow")
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{fake.api_base}/webhooks/{fake.app_id}/{slow_inter['token']}",
                             json={"content": "too early"}) as resp:
            assert (resp.status, (await resp.json())["code"]) == (404, 10015)
        await fake.wait_for_callback(slow_inter)
        asked = await fake.send_slash_command("ask", {"question": "q"})
        await fake.wait_for_followup(asked)
        async with http.post(f"{fake.api_base}/interactions/{asked['id']}/{asked['token']}/callback",
                             json={"type": 4, "data": {"content": "again"}}) as resp:
            assert (resp.status, (await resp.json())["code"]) == (400, 40060)
    assert [e["body"]["code"] for e in fake.errors] == [10015, 40060]
    fake.errors.clear()


async def test_oversized_embed_is_rejected_in_discords_error_shape(env):
    fake, bot = env
    inter = await fake.send_slash_command("big")
    await fake.wait_for(lambda: bot.errors, timeout=2, what="the bot's HTTPException")
    [error] = bot.errors
    assert isinstance(error, discord.HTTPException) and error.code == 50035
    assert "In data.embeds.0.description: Must be 4096 or fewer in length." in error.text
    assert fake.errors[0]["body"]["errors"]["data"]["embeds"]["0"]["description"]["_errors"][0]["code"] == \
        "BASE_TYPE_MAX_LENGTH"
    assert fake.interactions[inter["id"]].ack_type is None  # a rejected callback does not acknowledge
    fake.errors.clear(), bot.errors.clear()


# ---------------------------------------------------------------------------------- faults
async def test_429_on_a_followup_is_retried_by_discord_py(env, caplog):
    fake, _bot = env
    fault = fake.fail_next(r"POST /webhooks/", 429, retry_after=0.2)
    inter = await fake.send_slash_command("ask", {"question": "q"})
    body = await fake.wait_for_followup(inter)
    assert body["embeds"][0]["title"] == "Answer"
    limited, accepted = [r for r in fake.requests_for(inter) if r.method == "POST" and r.path.startswith("/webhooks/")]
    assert fault.served == [limited] and fault.remaining == 0
    assert (limited.status, accepted.status) == (429, 200)
    assert limited.response == {"message": "You are being rate limited.", "retry_after": 0.2, "global": False}
    assert accepted.at - limited.at >= 0.2
    assert any("rate limited" in r.getMessage() for r in caplog.records)


async def test_global_429_on_a_rest_route_is_retried(env):
    fake, bot = env
    fake.fail_next(lambda r: r.method == "GET" and r.path.endswith("/commands"), 429, retry_after=0.1, is_global=True)
    commands = await bot.tree.fetch_commands()
    assert {c.name for c in commands} == {c["name"] for c in fake.commands[None]}
    assert [r.status for r in fake.requests if r.method == "GET"][-2:] == [429, 200]


async def test_502_on_an_edit_is_retried_by_discord_py(env):
    fake, _bot = env
    asked = await fake.send_slash_command("ask", {"question": "q"})
    await fake.wait_for_followup(asked)
    fake.fail_next(r"PATCH /webhooks/", 502)
    click = await fake.click_button("vote:down")
    edits = lambda: [r for r in fake.requests_for(click) if r.method == "PATCH"]  # noqa: E731
    await fake.wait_for(lambda: len(edits()) == 2 and edits()[1].status, timeout=4, what="the retried PATCH")
    assert [r.status for r in edits()] == [502, 200]
    assert fake.messages[click["message"]["id"]]["content"] == "Noted."


async def test_a_fault_after_the_route_keeps_the_routes_effect(env):
    """after_route: the follow-up is posted, only its answer is a 500; discord.py's retry posts it again."""
    fake, _bot = env
    fault = fake.fail_next(r"POST /webhooks/", 500, after_route=True)
    inter = await fake.send_slash_command("ask", {"question": "q"})

    def posts() -> list:
        return [r for r in fake.requests_for(inter) if r.method == "POST" and r.path.startswith("/webhooks/")]

    await fake.wait_for(lambda: len(posts()) == 2 and posts()[1].status, timeout=4, what="the retried follow-up")
    assert [r.status for r in posts()] == [500, 200] and fault.served == posts()[:1]
    answers = [m for m in fake.messages.values() if m.get("embeds") and m["embeds"][0].get("title") == "Answer"]
    assert len(answers) == 2  # the lost reply's message exists: a retried POST duplicates it, as on Discord


async def test_gateway_close_4000_leads_to_resume_on_the_resume_url(env):
    fake, bot = env
    seq_before = fake.seq
    session = fake.session_id
    conn = await fake.drop_gateway(4000)
    resume = await fake.wait_for_resume()
    assert conn.resumed and conn.path == "/gateway-resume"
    assert resume | {"at": 0} == {"session_id": session, "seq": seq_before, "path": "/gateway-resume", "at": 0,
                                  "accepted": True, "replayed": [], "answered": True}
    assert fake.gateway_connections[0].close_code == 4000
    assert len(fake.identifies) == 1 and _ops(fake).count(6) == 1
    await fake.wait_for(lambda: "resumed" in bot.events, timeout=2, what="on_resumed")
    inter = await fake.send_slash_command("ask", {"question": "still there?"})  # the session goes on
    await fake.wait_for_followup(inter)


async def test_op7_reconnect_request_leads_to_resume(env):
    fake, _bot = env
    await fake.request_reconnect()
    resume = await fake.wait_for_resume()
    assert resume["accepted"] and resume["path"] == "/gateway-resume"
    inter = await fake.send_slash_command("ask", {"question": "after op 7"})
    await fake.wait_for_followup(inter)


async def test_abrupt_drop_replays_events_missed_while_disconnected(env):
    fake, _bot = env
    await fake.drop_gateway(None, wait=False)
    inter = await fake.send_slash_command("ask", {"question": "sent while down"})  # buffered
    body = await fake.wait_for_followup(inter)
    assert body["embeds"][0]["description"] == "You asked: sent while down"
    resume = await fake.wait_for_resume()
    assert resume["accepted"] and len(resume["replayed"]) == 1


async def test_refused_resume_leads_to_a_new_identify(env):
    fake, _bot = env
    fake.accept_resumes = False
    first_session = fake.session_id
    await fake.drop_gateway(4000)
    assert not fake.resumes[0]["accepted"]
    assert len(fake.identifies) == 2 and fake.session_id != first_session
    inter = await fake.send_slash_command("ask", {"question": "new session"})
    await fake.wait_for_followup(inter)


async def test_heartbeats_keep_being_acknowledged(env):
    fake, bot = env
    start = len(fake.heartbeats_acked)
    since = asyncio.get_running_loop().time()
    await fake.wait_for(lambda: len(fake.heartbeats_acked) >= start + 3, timeout=2, what="3 more heartbeat ACKs")
    assert fake.max_heartbeat_gap(since) < 0.5
    assert fake.heartbeats[-1][1] == fake.seq  # the client heartbeats its latest sequence number
    assert bot.latency < 0.5


async def test_a_blocked_event_loop_shows_as_a_heartbeat_gap(env):
    fake, _bot = env
    since = time.monotonic()
    await fake.wait_for(lambda: len(fake.heartbeats) >= 2 and fake.heartbeats[-1][0] > since, timeout=2,
                        what="a heartbeat")
    assert fake.max_heartbeat_gap(since) < 0.3
    inter = await fake.send_slash_command("block")
    await fake.wait_for_callback(inter)
    count = len(fake.heartbeats)
    await fake.wait_for(lambda: len(fake.heartbeats) > count, timeout=2, what="heartbeats after the block")
    assert fake.max_heartbeat_gap(since) >= 0.35


# ---------------------------------------------------------------------------------- standalone
async def test_standalone_cli_serves_and_accepts_injections():
    proc = subprocess.Popen([sys.executable, "-m", "tests.discord_double.fake_discord", "--port", "0", "--guilds", "2"],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        lines = dict(proc.stdout.readline().strip().split("=", 1) for _ in range(5))
        assert len(lines["FAKE_DISCORD_GUILDS"].split(",")) == 2
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{lines['CITEBOT_DISCORD_API_BASE']}/gateway") as resp:
                assert (await resp.json())["url"] == lines["CITEBOT_DISCORD_GATEWAY"]
            async with http.post(f"{lines['FAKE_DISCORD_CONTROL']}slash",
                                 json={"command": "ask", "options": {"question": "q"}, "user_id": "5"}) as resp:
                payload = await resp.json()  # no bot connected: the event waits for a RESUME
                assert payload["member"]["user"]["id"] == "5" and payload["data"]["options"][0]["value"] == "q"
            async with http.get(f"{lines['FAKE_DISCORD_CONTROL']}state") as resp:
                assert (await resp.json())["requests"] == ["GET /gateway -> 200"]
    finally:
        proc.terminate()
        proc.wait(5)
        proc.stdout.close()
