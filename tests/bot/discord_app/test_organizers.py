"""Organizers: /kb is checked on every use, changes stay in their server, and every change is audited."""
from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest_asyncio
from aiohttp import web

from tests.bot.discord_app.helpers import MANAGE, assert_never_pings, ephemeral_text
from tests.discord_double import EPHEMERAL

FOOD_BANK = (b"---\ntitle: Springfield food bank hours\npublisher: Springfield Mutual Aid\npublished: 2024-03-01\n"
             b"url: https://example.org/food-bank\n---\n"
             b"The Springfield food bank opens every Tuesday at 9 am in the basement of the public library.\n\n"
             b"Volunteers at the Springfield food bank ask visitors to bring their own bags.\n")
FOOD_Q = "When does the Springfield food bank open?"
NOT_ORGANIZER = ("Only organizers can change this server's knowledge base: you need the Manage Server permission "
                 "or the organizer role set with /kb settings.")


async def upload(fake, data: bytes = FOOD_BANK, filename: str = "food-bank.md", **who) -> dict:
    """/kb upload as an organizer of the first guild (by default); returns the confirmation embed."""
    who.setdefault("permissions", MANAGE)
    inter = await fake.send_slash_command("kb upload", {"file": fake.attachment(filename, data)}, **who)
    return (await fake.wait_for_followup(inter, timeout=10))["embeds"][0]


async def ask(fake, question: str, user_id: str, **who) -> dict:
    inter = await fake.send_slash_command("ask", {"question": question}, user_id=user_id, **who)
    return (await fake.wait_for_followup(inter))["embeds"][0]


async def test_members_without_manage_server_are_refused(bot, fake):
    for command, options in (("kb list", {}), ("kb reindex", {}), ("kb gaps", {}),
                             ("kb upload", {"file": fake.attachment("x.md", b"text")})):
        inter = await fake.send_slash_command(command, options, user_id="301")  # default member permissions
        assert ephemeral_text(await fake.wait_for_callback(inter)) == NOT_ORGANIZER
    assert fake.cdn_requests == []  # nothing was downloaded for a refused upload
    choices = await fake.send_autocomplete("kb remove", {"source": ""}, focused="source", user_id="301")
    assert choices == []
    assert bot.service.activity.audit_entries(fake.guild_id) == []
    fake.assert_clean()


async def test_the_organizer_role_opens_kb_but_cannot_hand_it_on(bot, fake):
    role = fake.organizer_role_id
    inter = await fake.send_slash_command("kb settings", {"organizer_role": role}, permissions=MANAGE, user_id="302")
    embed = (await fake.wait_for_followup(inter))["embeds"][0]
    assert embed["title"] == "Settings changed" and f"Organizer role: <@&{role}>" in embed["description"]

    listed = await fake.send_slash_command("kb list", user_id="303", roles=[role])
    assert (await fake.wait_for_followup(listed))["embeds"][0]["title"] == "This server's sources"
    assert await fake.wait_for_callback(listed) == {"type": 5, "data": {"flags": EPHEMERAL}}

    grab = await fake.send_slash_command("kb settings", {"clear_organizer_role": True}, user_id="303", roles=[role])
    assert ephemeral_text(await fake.wait_for_callback(grab)) == \
        "Changing the organizer role needs the Manage Server permission."
    elsewhere = await fake.send_slash_command("kb list", user_id="303", roles=[role], guild_id=fake.guilds[1].id)
    assert ephemeral_text(await fake.wait_for_callback(elsewhere)) == NOT_ORGANIZER  # the role is per server
    [entry] = bot.service.activity.audit_entries(fake.guild_id)
    assert (entry.user_id, entry.action, entry.detail) == ("302", "settings", f"organizer_role_id={role}")


async def test_an_upload_is_answered_in_its_server_and_invisible_in_another(bot, fake):
    alpha, beta = fake.guilds
    confirmation = await upload(fake, user_id="304", username="alice")
    assert confirmation["title"] == "Source added"
    assert "“Springfield food bank hours” (id `food-bank`)" in confirmation["description"]

    here = await ask(fake, FOOD_Q, "305")
    assert "opens every Tuesday at 9 am" in here["description"]
    assert "Springfield Mutual Aid · March 1, 2024" in here["fields"][0]["value"]
    there = await ask(fake, FOOD_Q, "305", guild_id=beta.id)
    assert there["description"].startswith("**The sources don't answer this.**")
    assert "food bank hours" not in str(there["fields"])

    listed = await fake.send_slash_command("kb list", permissions=MANAGE, user_id="304")
    embed = (await fake.wait_for_followup(listed))["embeds"][0]
    assert "**Springfield food bank hours**" in embed["description"]
    assert "added by alice (304)" in embed["description"]
    empty = await fake.send_slash_command("kb list", permissions=MANAGE, user_id="304", guild_id=beta.id)
    assert "not added sources yet" in (await fake.wait_for_followup(empty))["embeds"][0]["description"]

    [entry] = bot.service.activity.audit_entries(alpha.id)
    assert (entry.user_id, entry.user_name, entry.action) == ("304", "alice", "upload")
    assert entry.detail == "food-bank.md -> food-bank"
    assert bot.service.activity.audit_entries(beta.id) == []
    assert_never_pings(fake)
    fake.assert_clean()


async def test_uploads_of_the_wrong_type_or_size_are_refused_before_download(bot, fake):
    bad_type = await fake.send_slash_command("kb upload", {"file": fake.attachment("tool.exe", b"MZ")},
                                             permissions=MANAGE)
    assert "upload one of .md" in ephemeral_text(await fake.wait_for_callback(bad_type))
    too_big = fake.attachment("huge.pdf", b"%PDF-1.4", size=11 * 1024 * 1024)
    big = await fake.send_slash_command("kb upload", {"file": too_big}, permissions=MANAGE)
    assert ephemeral_text(await fake.wait_for_callback(big)) == "huge.pdf is 11.0 MB; the limit is 10 MB."
    assert fake.cdn_requests == []
    unreadable = await fake.send_slash_command("kb upload", {"file": fake.attachment("x.csv", b"a,b\n1,2\n")},
                                               permissions=MANAGE)
    body = await fake.wait_for_followup(unreadable)
    assert body["flags"] == EPHEMERAL and "is missing the column(s)" in body["content"]


async def test_remove_offers_this_servers_sources_and_removes_them(bot, fake):
    await upload(fake, user_id="306")
    choices = await fake.send_autocomplete("kb remove", {"source": "spring"}, focused="source", permissions=MANAGE)
    assert choices == [{"name": "Springfield food bank hours (food-bank)", "value": "food-bank"}]
    assert await fake.send_autocomplete("kb remove", {"source": "illinois"}, focused="source",
                                        permissions=MANAGE) == []  # shared sources are not this server's to remove
    assert await fake.send_autocomplete("kb remove", {"source": ""}, focused="source", permissions=MANAGE,
                                        guild_id=fake.guilds[1].id) == []

    removed = await fake.send_slash_command("kb remove", {"source": "food-bank"}, permissions=MANAGE, user_id="306")
    embed = (await fake.wait_for_followup(removed, timeout=10))["embeds"][0]
    assert embed["description"] == "Removed “Springfield food bank hours”. Answers here no longer cite it."
    after = await ask(fake, FOOD_Q, "307")
    assert after["description"].startswith("**The sources don't answer this.**")
    assert [e.action for e in bot.service.activity.audit_entries(fake.guild_id)] == ["remove", "upload"]

    unknown = await fake.send_slash_command("kb remove", {"source": "nope"}, permissions=MANAGE)
    assert "This server has no source with id 'nope'" in (await fake.wait_for_followup(unknown))["content"]


async def test_gaps_reindex_and_settings(bot, fake):
    for user in ("308", "309"):
        await ask(fake, "What is the capital of France?", user)
    gaps = await fake.send_slash_command("kb gaps", permissions=MANAGE)
    embed = (await fake.wait_for_followup(gaps))["embeds"][0]
    assert embed["description"].startswith("**2×** what is the capital of france?\n2 unanswered")

    reindex = await fake.send_slash_command("kb reindex", permissions=MANAGE, user_id="310")
    embed = (await fake.wait_for_followup(reindex, timeout=10))["embeds"][0]
    assert embed["title"] == "Index up to date" and embed["description"].startswith("4 sources")

    change = await fake.send_slash_command("kb settings", {"visibility": "private", "cooldown": 0},
                                           permissions=MANAGE, user_id="310")
    description = (await fake.wait_for_followup(change))["embeds"][0]["description"]
    assert "Answers by default: private" in description and "Cooldown per member: off" in description
    for _ in range(2):  # no cooldown any more, and answers are private unless asked otherwise
        inter = await fake.send_slash_command("ask", {"question": "What is an ICE detainer?"}, user_id="311")
        await fake.wait_for_followup(inter)
        assert await fake.wait_for_callback(inter) == {"type": 5, "data": {"flags": EPHEMERAL}}
    public = await fake.send_slash_command("ask", {"question": "What is an ICE detainer?", "private": False},
                                           user_id="311")
    await fake.wait_for_followup(public)
    assert await fake.wait_for_callback(public) == {"type": 5}
    actions = [(e.action, e.detail) for e in bot.service.activity.audit_entries(fake.guild_id)]
    assert actions[0] == ("settings", "private_by_default=True, cooldown_seconds=0.0")
    assert actions[1][0] == "reindex"


# ---------------------------------------------------------------------------------- add-url
PAGE = (b"<html><head><title>Riverside clinic hours</title></head><body><article><h1>Riverside clinic hours</h1>"
        b"<p>The Riverside free clinic sees patients without appointment every Thursday afternoon.</p>"
        b"<p>The Riverside free clinic offers interpreters for Spanish and Polish speakers.</p>"
        b"</article></body></html>")


@pytest_asyncio.fixture
async def web_site() -> AsyncIterator[str]:
    """A small site on 127.0.0.1: a page, a redirect to a metadata address, a big body, an image."""
    async def page(request: web.Request) -> web.Response:
        return web.Response(body=PAGE, content_type="text/html")

    async def to_metadata(request: web.Request) -> web.Response:
        raise web.HTTPFound("http://169.254.169.254/latest/meta-data/")

    async def big(request: web.Request) -> web.Response:
        return web.Response(body=b"z" * 300_000, content_type="text/plain")

    async def image(request: web.Request) -> web.Response:
        return web.Response(body=b"GIF89a", content_type="image/gif")

    app = web.Application()
    for path, handler in (("/clinic.html", page), ("/redirect", to_metadata), ("/big.txt", big), ("/pic", image)):
        app.router.add_get(path, handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"
    finally:
        await runner.cleanup()


async def add_url(fake, url: str) -> dict:
    inter = await fake.send_slash_command("kb add-url", {"url": url}, permissions=MANAGE, user_id="312")
    return await fake.wait_for_followup(inter, timeout=10)


async def test_add_url_fetches_a_page_that_is_then_cited(harness, make_bot_service, web_site):
    bot = await harness.start(make_bot_service(allow_private_urls=True, url_max_bytes=100_000))
    fake = harness.fake
    body = await add_url(fake, f"{web_site}/clinic.html")
    assert body["embeds"][0]["title"] == "Source added"
    assert "Riverside clinic hours" in body["embeds"][0]["description"]
    answer = await ask(fake, "When does the Riverside free clinic see patients?", "313")
    assert "every Thursday afternoon" in answer["description"]
    assert answer["fields"][0]["value"] == (f"**[1]** Riverside clinic hours\n127.0.0.1 · undated · article\n"
                                            f"{web_site}/clinic.html")
    [entry] = bot.service.activity.audit_entries(fake.guild_id)
    assert entry.action == "add-url" and entry.detail.startswith(f"{web_site}/clinic.html -> ")

    for path, message in (("/redirect", "resolves to a cloud metadata address"),
                          ("/big.txt", "The page is larger than"), ("/pic", "The URL serves image/gif")):
        refused = await add_url(fake, f"{web_site}{path}")
        assert refused["flags"] == EPHEMERAL and message in refused["content"], refused
    assert len(bot.service.activity.audit_entries(fake.guild_id)) == 1
    fake.assert_clean()


async def test_add_url_refuses_local_addresses_without_the_test_setting(bot, fake, web_site):
    body = await add_url(fake, f"{web_site}/clinic.html")
    assert body["flags"] == EPHEMERAL
    assert re.fullmatch(r"127\.0\.0\.1 resolves to a loopback address \(127\.0\.0\.1\); citebot only fetches "
                        r"public web addresses\.", body["content"])
    scheme = await fake.send_slash_command("kb add-url", {"url": "file:///etc/passwd"}, permissions=MANAGE)
    assert ephemeral_text(await fake.wait_for_callback(scheme)) == "Only http:// and https:// URLs can be added."
    assert bot.service.activity.audit_entries(fake.guild_id) == []


async def test_a_statistics_csv_is_listed_and_removed_as_one_file(bot, fake):
    csv = (b"id,statistic,value,unit,scope,as_of,source_title,source_publisher,source_date,source_url,note\n"
           b"pantry-visits,Food pantry visits,1200,visits,Springfield,2024-02,Pantry report,Springfield Mutual Aid,"
           b"2024-03,https://example.org/pantry,\n"
           b"pantry-volunteers,Food pantry volunteers,45,people,Springfield,2024-02,Pantry report,"
           b"Springfield Mutual Aid,2024-03,https://example.org/pantry,\n")
    confirmation = await upload(fake, csv, "pantry.csv")
    assert confirmation["description"].startswith("• “pantry.csv (2 statistics)” (id `pantry-visits`)")
    stats = await fake.send_slash_command("stats", {"query": "pantry volunteers"}, user_id="314")
    [field] = (await fake.wait_for_followup(stats))["embeds"][0]["fields"]
    assert field["value"].startswith("**45 people** · as of February 2024")
    choices = await fake.send_autocomplete("kb remove", {"source": "pantry"}, focused="source", permissions=MANAGE)
    assert choices == [{"name": "pantry.csv (2 statistics) (pantry-visits)", "value": "pantry-visits"}]
    removed = await fake.send_slash_command("kb remove", {"source": "pantry-visits"}, permissions=MANAGE)
    embed = (await fake.wait_for_followup(removed, timeout=10))["embeds"][0]
    assert embed["description"] == "Removed pantry.csv (all its statistics). Answers here no longer cite it."
    assert bot.service.scope_sources(fake.guild_id) == []


async def test_kb_replies_follow_the_organizers_client_language(bot, fake):
    await ask(fake, "What is the capital of France?", "320")
    gaps = await fake.send_slash_command("kb gaps", permissions=MANAGE, locale="es-419")
    embed = (await fake.wait_for_followup(gaps))["embeds"][0]
    assert embed["title"] == "Preguntas que las fuentes no respondieron bien"
    assert "1 sin respuesta" in embed["description"]
    reindex = await fake.send_slash_command("kb reindex", permissions=MANAGE, user_id="321", locale="es-ES")
    embed = (await fake.wait_for_followup(reindex, timeout=10))["embeds"][0]
    assert embed["title"] == "Índice al día" and embed["description"].startswith("4 fuentes")
