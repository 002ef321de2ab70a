"""The real CitebotClient against the local Discord double, over services that share one built mini index."""
from __future__ import annotations

import contextlib
import itertools
import logging
import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import pytest_asyncio

from bot.discord_app.client import CitebotClient
from bot.service import KnowledgeService
from embeddings.encoder import Encoder
from tests.conftest import MINI_CORPUS, make_service
from tests.discord_double import FakeDiscord, running

MakeService = Callable[..., KnowledgeService]


@pytest.fixture(scope="session")
def built_home(tmp_path_factory: pytest.TempPathFactory, encoder: Encoder) -> Path:
    """A home whose index covers the mini corpus: embedded once for every test here."""
    home = tmp_path_factory.mktemp("discord-index")
    make_service(home, encoder, [MINI_CORPUS]).build_index()
    return home


@pytest.fixture
def make_bot_service(built_home: Path, tmp_path: Path, encoder: Encoder) -> MakeService:
    """Services over a private copy of the built home (uploads, votes and settings stay per test)."""
    counter = itertools.count()

    def make(**settings: object) -> KnowledgeService:
        home = tmp_path / f"home-{next(counter)}"
        shutil.copytree(built_home, home)
        service = make_service(home, encoder, [MINI_CORPUS], **settings)
        service.searchable()  # loads the copied index; nothing is embedded again
        return service
    return make


class Harness:
    """A fake Discord with two guilds, and the clients started against it."""

    def __init__(self, fake: FakeDiscord, stack: contextlib.AsyncExitStack) -> None:
        self.fake = fake
        self._stack = stack

    async def start(self, service: KnowledgeService, **options: object) -> CitebotClient:
        """Start a CitebotClient and wait until it is ready; it is closed at the end of the test."""
        client = CitebotClient(service, guild_ready_timeout=0.05, **options)
        return await self._stack.enter_async_context(running(client, self.fake))

    async def stop(self, client: CitebotClient) -> None:
        """Close a client early (as a restart would)."""
        await client.close()


@pytest_asyncio.fixture
async def harness(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> AsyncIterator[Harness]:
    """The double on 127.0.0.1 with discord.py pointed at it; fails the test on unexpected error logs."""
    caplog.set_level(logging.INFO)
    fake = await FakeDiscord(guilds=["Alpha", "Beta"], heartbeat_interval_ms=100).start()
    fake.patch_discord(monkeypatch)
    try:
        async with contextlib.AsyncExitStack() as stack:
            yield Harness(fake, stack)
    finally:
        await fake.close()


@pytest_asyncio.fixture
async def bot(harness: Harness, make_bot_service: MakeService) -> CitebotClient:
    """A running client over a fresh copy of the mini index."""
    return await harness.start(make_bot_service())


@pytest.fixture
def fake(harness: Harness) -> FakeDiscord:
    return harness.fake


def unexpected_errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    """ERROR records other than the ones a test provoked on purpose."""
    return [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.levelno >= logging.ERROR]
