"""Two bot processes, two shards, one PostgreSQL and one published index, over real HTTP and websockets."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.activity import open_store
from embeddings.index_store import IndexStore
from tests.bot.discord_app.helpers import MANAGE, ephemeral_text
from tests.bot.discord_app.replicas import BotProcess, bot_environment, start_bot
from tests.conftest import MINI_CORPUS
from tests.discord_double import FakeDiscord

DETAINER_Q = "What is an ICE detainer?"
FOOD_BANK = (b"---\ntitle: Springfield food bank hours\npublished: 2024-03-01\n---\n"
             b"The Springfield food bank opens every Tuesday at 9 am in the basement of the public library.\n")
FOOD_Q = "When does the Springfield food bank open?"


def vote_ids(body: dict) -> list[str]:
    return [c["custom_id"] for row in body["components"] for c in row["components"]]


async def ask(fake: FakeDiscord, question: str, guild_id: str, user_id: str, timeout: float = 60) -> dict:
    inter = await fake.send_slash_command("ask", {"question": question}, guild_id=guild_id, user_id=user_id)
    body = await fake.wait_for_followup(inter, timeout=timeout)
    body["_interaction"] = inter
    return body


def answered_once(fake: FakeDiscord, interaction: dict) -> bool:
    """One defer and one follow-up: no second process touched it."""
    calls = [r.path.rsplit("/", 1)[-1] for r in fake.requests_for(interaction)]
    return calls == ["callback", interaction["token"]]


@pytest.fixture
async def fake() -> FakeDiscord:
    async with FakeDiscord(guilds=["Shard zero town", "Shard one town"], shards=2) as started:
        yield started


async def test_two_processes_two_shards_one_database_one_builder(fake: FakeDiscord, postgres_url: str,
                                                                 tmp_path: Path) -> None:
    zero, one = fake.guilds
    assert ((int(zero.id) >> 22) % 2, (int(one.id) >> 22) % 2) == (0, 1)  # Discord's shard formula
    corpus, shared = tmp_path / "corpus", tmp_path / "shared-index"
    shutil.copytree(MINI_CORPUS, corpus)

    def environment(name: str, shard: int) -> dict[str, str]:
        return bot_environment(fake, tmp_path / f"home-{name}", shared, postgres_url, corpus, 2, [shard])

    bots: list[BotProcess] = []
    try:
        # The first process takes the builder lease and publishes the index; the second only loads it.
        builder = await start_bot("shard0", environment("a", 0), tmp_path)
        bots.append(builder)
        await builder.wait_for_log("this process is now the index builder")
        await builder.wait_for_log("logged in as")
        reader = await start_bot("shard1", environment("b", 1), tmp_path)
        bots.append(reader)
        await reader.wait_for_log("logged in as")
        assert "published by the builder" in reader.log_text() and "[shard 1/2]" in reader.log_text()
        await fake.wait_for(lambda: fake.connected(0) and fake.connected(1), 30, what="both shards")
        assert sorted(i["shard"] for i in fake.identifies) == [[0, 2], [1, 2]]

        # A question in each shard's guild is answered once, by the process serving that shard.
        first = await ask(fake, DETAINER_Q, zero.id, "101")
        second = await ask(fake, DETAINER_Q, one.id, "102")
        for body in (first, second):
            assert "detainer" in body["embeds"][0]["description"].lower()
            assert answered_once(fake, body["_interaction"])

        # A vote cast through the shard-1 process is in the one database every process reads.
        helpful, _ = vote_ids(second)
        question_id = int(helpful.split(":")[2])
        click = await fake.click_button(helpful, user_id="201", guild_id=one.id)
        assert ephemeral_text(await fake.wait_for_callback(click, timeout=30)) == "Thanks! Noted as helpful."

        # An upload through shard 1 (not the builder) goes through the queue; the shard-0 process builds and
        # publishes it; then shard 1 answers from it.
        upload = await fake.send_slash_command("kb upload", {"file": fake.attachment("food-bank.md", FOOD_BANK)},
                                               guild_id=one.id, permissions=MANAGE, user_id="301")
        confirmation = (await fake.wait_for_followup(upload, timeout=120))["embeds"][0]
        assert confirmation["title"] == "Source added"
        await builder.wait_for_log("applied 1 queued source change(s) and published the index", timeout=30)
        published = IndexStore(shared).load()
        assert (one.id, "food-bank") in {(s.scope, s.id) for s in published.sources.values()}
        food = await ask(fake, FOOD_Q, one.id, "103")
        assert "Tuesday at 9 am" in food["embeds"][0]["description"]

        # SIGKILL the builder in the middle of an answer: the other process keeps serving its shard and takes
        # the builder lease over.
        burst = [await fake.send_slash_command("ask", {"question": DETAINER_Q}, guild_id=zero.id,
                                               user_id=str(400 + n)) for n in range(12)]
        await fake.wait_for_callback(burst[0], timeout=30)  # deferred: answers are being composed
        await builder.kill()
        # What the killed process had not sent is lost with it (Discord shows "did not respond"); nothing is
        # answered twice, and no other process answers for a shard it does not serve.
        assert all(len(fake.requests_for(inter)) <= 2 for inter in burst)
        still = await ask(fake, "Who can be held on a detainer?", one.id, "105")
        assert answered_once(fake, still["_interaction"])
        await reader.wait_for_log("this process is now the index builder", timeout=30)

        # A replacement for shard 0 sees the vote cast through the other process.
        replacement = await start_bot("shard0-again", environment("c", 0), tmp_path)
        bots.append(replacement)
        await replacement.wait_for_log("logged in as")
        await fake.wait_for(lambda: fake.connected(0), 30, what="shard 0 again")
        again = await fake.click_button(helpful, user_id="201", guild_id=one.id)
        assert ephemeral_text(await fake.wait_for_callback(again, timeout=30)).startswith("You already voted")
        store = open_store(postgres_url, tmp_path / "unused.sqlite")
        assert store.votes(question_id) == (1, 0)
        assert [gap.question for gap in store.gaps(one.id)] == []
        store.close()
        after = await ask(fake, DETAINER_Q, zero.id, "106")
        assert answered_once(fake, after["_interaction"])
    finally:
        for bot in bots:
            await bot.stop()
