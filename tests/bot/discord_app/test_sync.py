"""What citebot registers with Discord: names, descriptions, options and permissions."""
from __future__ import annotations

from tests.bot.discord_app.helpers import MANAGE


def by_name(commands: list[dict]) -> dict[str, dict]:
    return {c["name"]: c for c in commands}


async def test_commands_sync_globally_with_the_documented_shape(bot, fake):
    first = [(r.method, r.path) for r in fake.requests[:3]]
    assert first == [("GET", "/users/@me"), ("GET", "/oauth2/applications/@me"),
                     ("PUT", f"/applications/{fake.app_id}/commands")]
    assert list(fake.commands) == [None]  # global only
    commands = by_name(fake.commands[None])
    assert set(commands) == {"ask", "sources", "stats", "kb", "Ask citebot", "Fix citebot's answer"}

    ask = commands["ask"]
    assert ask["description"] == "Ask a question; the answer quotes and cites its sources"
    assert ask["default_member_permissions"] is None and ask["dm_permission"] is True
    assert [(o["name"], o["type"], o["required"]) for o in ask["options"]] == [("question", 3, True),
                                                                                ("private", 5, False)]
    assert (ask["options"][0]["min_length"], ask["options"][0]["max_length"]) == (1, 500)

    assert [(o["name"], o["type"], o["required"]) for o in commands["sources"]["options"]] == [
        ("query", 3, False), ("private", 5, False)]
    assert [o["name"] for o in commands["stats"]["options"]] == ["query", "private"]
    assert commands["Ask citebot"]["type"] == 3
    fix = commands["Fix citebot's answer"]
    assert fix["type"] == 3 and fix["default_member_permissions"] == 32 and fix["dm_permission"] is False

    kb = commands["kb"]
    assert kb["default_member_permissions"] == 32  # Manage Server, as an integer
    assert kb["dm_permission"] is False  # guild_only
    subcommands = {o["name"]: o for o in kb["options"]}
    assert list(subcommands) == ["add-url", "upload", "remove", "list", "reindex", "gaps", "fix", "pins", "settings"]
    assert all(o["type"] == 1 and o["description"] for o in subcommands.values())
    assert [(o["name"], o["type"]) for o in subcommands["upload"]["options"]] == [("file", 11)]
    assert subcommands["remove"]["options"][0]["autocomplete"] is True
    settings = {o["name"]: o for o in subcommands["settings"]["options"]}
    assert (settings["organizer_role"]["type"], settings["cooldown"]["type"]) == (8, 4)
    assert [c["value"] for c in settings["visibility"]["choices"]] == ["public", "private"]
    assert [(o["name"], o["type"], o["required"]) for o in subcommands["fix"]["options"]] == [
        ("question", 3, True), ("search", 3, False)]
    pins = {o["name"]: o for o in subcommands["pins"]["options"]}
    assert pins["pin"]["autocomplete"] is True and (pins["remove"]["type"], pins["confirm"]["type"]) == (5, 5)
    assert (settings["cooldown"]["min_value"], settings["cooldown"]["max_value"]) == (0, 3600)
    fake.assert_clean()


async def test_dev_guild_gets_every_command_at_once(harness, make_bot_service):
    fake = harness.fake
    await harness.start(make_bot_service(dev_guild=int(fake.guild_id)))
    assert list(fake.commands) == [fake.guild_id]
    assert {c["name"] for c in fake.commands[fake.guild_id]} == {"ask", "sources", "stats", "kb", "Ask citebot",
                                                                 "Fix citebot's answer"}
    inter = await fake.send_slash_command("kb list", permissions=MANAGE)
    await fake.wait_for_followup(inter)
    fake.assert_clean()


async def test_member_commands_are_named_and_described_in_spanish_for_spanish_clients(bot, fake):
    commands = by_name(fake.commands[None])
    ask = commands["ask"]
    for locale in ("es-ES", "es-419"):
        assert ask["name_localizations"][locale] == "preguntar"
        assert ask["description_localizations"][locale].startswith("Haz una pregunta")
        assert ask["options"][0]["name_localizations"][locale] == "pregunta"
        assert commands["sources"]["name_localizations"][locale] == "fuentes"
        assert commands["Ask citebot"]["name_localizations"][locale] == "Preguntar a citebot"
    assert "fr" not in ask["name_localizations"]  # other locales see the English names
