"""Per-server settings (organizer role, default visibility, cooldown), cached in memory over the activity log."""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, replace

from bot.activity import ActivityStore

ORGANIZER_ROLE, VISIBILITY, COOLDOWN = "organizer_role", "visibility", "cooldown_seconds"
PUBLIC, PRIVATE = "public", "private"
# Read again after this long: another process sharing the database (a restart, a failover) may have changed it.
CONFIG_REFRESH_SECONDS = 30.0


@dataclass(frozen=True)
class GuildConfig:
    """One server's choices; defaults come from Settings."""

    cooldown_seconds: float
    organizer_role_id: int | None = None
    private_by_default: bool = False

    @classmethod
    def from_stored(cls, stored: dict[str, str], default_cooldown: float) -> GuildConfig:
        """Parse the stored strings; anything unreadable falls back to the default."""
        role = stored.get(ORGANIZER_ROLE, "")
        try:
            cooldown = float(stored[COOLDOWN]) if COOLDOWN in stored else default_cooldown
        except ValueError:
            cooldown = default_cooldown
        return cls(cooldown_seconds=max(0.0, cooldown), organizer_role_id=int(role) if role.isdigit() else None,
                   private_by_default=stored.get(VISIBILITY) == PRIVATE)

    def stored(self) -> dict[str, str]:
        """The strings the activity log keeps."""
        return {ORGANIZER_ROLE: str(self.organizer_role_id or ""), VISIBILITY: PRIVATE if self.private_by_default
                else PUBLIC, COOLDOWN: f"{self.cooldown_seconds:g}"}

    def describe(self) -> str:
        """For /kb settings replies."""
        role = f"<@&{self.organizer_role_id}>" if self.organizer_role_id else "none (Manage Server only)"
        cooldown = f"{self.cooldown_seconds:g} s" if self.cooldown_seconds else "off"
        return (f"Organizer role: {role}\nAnswers by default: {PRIVATE if self.private_by_default else PUBLIC}\n"
                f"Cooldown per member: {cooldown}")


class GuildConfigs:
    """Configs by scope; the database is read in worker threads, once per server per CONFIG_REFRESH_SECONDS."""

    def __init__(self, activity: ActivityStore, default_cooldown: float) -> None:
        self._activity = activity
        self._default_cooldown = default_cooldown
        self._cache: dict[str, tuple[float, GuildConfig]] = {}  # scope -> (when read, config)

    def default(self) -> GuildConfig:
        """The config of a server that changed nothing (and of DMs)."""
        return GuildConfig(cooldown_seconds=self._default_cooldown)

    async def get(self, scope: str | None) -> GuildConfig:
        """A server's config (the default in DMs)."""
        if scope is None:
            return self.default()
        cached = self._cache.get(scope)
        if cached is not None and time.monotonic() - cached[0] < CONFIG_REFRESH_SECONDS:
            return cached[1]
        stored = await asyncio.to_thread(self._activity.settings, scope)
        config = GuildConfig.from_stored(stored, self._default_cooldown)
        self._cache[scope] = (time.monotonic(), config)
        return config

    async def preload(self, scopes: list[str]) -> None:
        """Read every server's config at start, so the first question in a server waits for nothing."""
        for scope in scopes:
            await self.get(scope)

    async def update(self, scope: str, **changes: object) -> GuildConfig:
        """Apply changes, store them, and return the new config."""
        config = replace(await self.get(scope), **changes)

        def store() -> None:
            """Write every key (runs in a worker thread)."""
            for key, value in config.stored().items():
                self._activity.set_setting(scope, key, value)
        await asyncio.to_thread(store)
        self._cache[scope] = (time.monotonic(), config)
        return config
