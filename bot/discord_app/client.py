"""The Discord client: command tree, persistent buttons, worker threads and per-server state."""
from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import discord
from discord import app_commands

from bot.discord_app.browse import SourcesPageButton, browse_commands
from bot.discord_app.cooldown import Cooldowns
from bot.discord_app.errors import report
from bot.discord_app.feedback import VoteButton
from bot.discord_app.fetch import AddressPolicy, UrlFetcher
from bot.discord_app.guild_config import GuildConfigs
from bot.discord_app.locale import CitebotTranslator
from bot.discord_app.members import member_commands
from bot.discord_app.organizers import KnowledgeBaseGroup
from bot.discord_app.pins import fix_message_command
from bot.service import KnowledgeService

log = logging.getLogger(__name__)
T = TypeVar("T")


class CitebotClient(discord.AutoShardedClient):
    """citebot's Discord client; it reaches the knowledge base only through KnowledgeService.

    Sharded: every shard of CITEBOT_SHARD_IDS (default: as many as Discord recommends) in this one process.
    """

    def __init__(self, service: KnowledgeService, **options: Any) -> None:
        # citebot never joins voice: skip discord.py's start-up warnings about missing voice libraries.
        discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False
        # Default intents only: slash commands, buttons and context menus need no privileged intent.
        sharding = {"shard_count": service.settings.shard_count, "shard_ids": service.settings.shard_ids}
        super().__init__(intents=discord.Intents.default(), allowed_mentions=discord.AllowedMentions.none(),
                         **{**sharding, **options})
        self.service = service
        self.settings = service.settings
        self.tree = app_commands.CommandTree(self)
        self.tree.on_error = self._on_command_error  # type: ignore[method-assign]
        self.cooldowns = Cooldowns()
        self.guild_configs = GuildConfigs(service.activity, self.settings.cooldown_seconds)
        self.fetcher = UrlFetcher(max_bytes=self.settings.url_max_bytes,
                                  timeout_seconds=self.settings.url_timeout_seconds,
                                  policy=AddressPolicy(allow_private=self.settings.allow_private_urls))
        # Answers (model + index) get a bounded pool so a burst of questions cannot starve everything else;
        # index changes get one thread of their own so a long upload never holds up answers.
        self._answer_pool = ThreadPoolExecutor(self.settings.answer_workers, thread_name_prefix="citebot-answer")
        self._write_pool = ThreadPoolExecutor(1, thread_name_prefix="citebot-write")
        self._in_flight = 0
        self._idle: asyncio.Event | None = None
        self.synced: list[app_commands.AppCommand] = []
        for command in (*member_commands(), *browse_commands(), KnowledgeBaseGroup(), fix_message_command()):
            self.tree.add_command(command)

    # ----- start-up ----------------------------------------------------------------------------------

    async def setup_hook(self) -> None:
        """Register the persistent buttons and sync commands (globally, or to the dev guild at once)."""
        # Dynamic items parse state out of custom_id, so buttons sent before a restart keep working.
        self.add_dynamic_items(VoteButton, SourcesPageButton)
        await self.tree.set_translator(CitebotTranslator())  # Spanish names and descriptions for Spanish clients
        if not self.syncs_commands:
            log.info("commands are synced by the process serving shard 0; this one serves shards %s",
                     self.settings.shard_ids)
            return
        dev_guild = discord.Object(self.settings.dev_guild) if self.settings.dev_guild else None
        if dev_guild is not None:
            self.tree.copy_global_to(guild=dev_guild)
        self.synced = await self.tree.sync(guild=dev_guild)
        where = f"to guild {self.settings.dev_guild}" if dev_guild else "globally"
        log.info("synced %d commands %s: %s", len(self.synced), where, ", ".join(c.name for c in self.synced))

    @property
    def syncs_commands(self) -> bool:
        """One process of a sharded bot syncs the commands: the one serving shard 0 (or every shard)."""
        shard_ids = self.settings.shard_ids
        return shard_ids is None or 0 in shard_ids

    async def on_ready(self) -> None:
        """Log where the bot is, and read each server's settings before the first question."""
        user = self.user
        log.info("logged in as %s (id %s) in %d guild(s): %s", user, user.id if user else "?", len(self.guilds),
                 ", ".join(f"{g.name} ({g.id})" for g in self.guilds) or "none yet; invite the bot to a server")
        await self.guild_configs.preload([str(g.id) for g in self.guilds])

    async def on_guild_join(self, guild: discord.Guild) -> None:
        """Log new servers."""
        log.info("joined guild %s (%s)", guild.name, guild.id)

    async def on_guild_remove(self, guild: discord.Guild) -> None:
        """Log removals; the server's sources are kept."""
        # Its sources stay on disk: an accidental kick should not destroy an organizer's work. An operator
        # deletes them deliberately with `citebot forget-server ID`.
        log.info("removed from guild %s (%s); its sources are kept (delete them with `citebot forget-server %s "
                 "--yes`)", guild.name, guild.id, guild.id)

    async def _on_command_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        """Every command error: a short private message, details in the log."""
        await report(interaction, error)

    # ----- worker threads ----------------------------------------------------------------------------

    async def run_answer(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run a model or index call in the bounded answer pool, keeping the event loop free."""
        return await self._run(self._answer_pool, fn, *args, **kwargs)

    async def run_write(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run an index change (add, remove, rebuild) in its own thread."""
        return await self._run(self._write_pool, fn, *args, **kwargs)

    async def run_io(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run a short call (SQLite, an in-memory listing) in the default thread pool."""
        return await self._run(None, fn, *args, **kwargs)

    async def _run(self, pool: ThreadPoolExecutor | None, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """fn(*args, **kwargs) in pool (None: the default pool), counted as work in flight."""
        async with self.busy():
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(pool, functools.partial(fn, *args, **kwargs))

    @contextlib.asynccontextmanager
    async def busy(self) -> AsyncIterator[None]:
        """Count work in flight, so a shutdown can let it finish."""
        if self._idle is None:
            self._idle = asyncio.Event()
        self._in_flight += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._in_flight -= 1
            if self._in_flight == 0:
                self._idle.set()

    async def drain(self, timeout: float) -> bool:
        """Wait up to timeout for work in flight; True when none is left."""
        if self._in_flight == 0 or self._idle is None:
            return True
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
            return True
        except TimeoutError:
            return False

    async def close(self) -> None:
        """Disconnect, then release the worker threads (running calls finish on their own)."""
        await super().close()
        self._answer_pool.shutdown(wait=False, cancel_futures=True)
        self._write_pool.shutdown(wait=False, cancel_futures=True)

