"""Per-user question cooldown: one question per N seconds, kept in memory."""
from __future__ import annotations

import math
import time
from collections.abc import Callable, Hashable

from bot.messages import say
from knowledge.languages import DEFAULT_LANGUAGE


class Cooldowns:
    """When each user may ask next; checks and records in one step (the event loop is single-threaded)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, prune_every: int = 1000) -> None:
        self._clock = clock
        self._next_allowed: dict[Hashable, float] = {}
        self._prune_every = prune_every
        self._calls = 0

    def try_acquire(self, key: Hashable, seconds: float) -> float:
        """0.0 when key may go now (and its cooldown starts); otherwise the seconds left."""
        now = self._clock()
        self._calls += 1
        if self._calls % self._prune_every == 0:  # forget users whose cooldown ended, so memory stays small
            self._next_allowed = {k: t for k, t in self._next_allowed.items() if t > now}
        left = self._next_allowed.get(key, 0.0) - now
        if left > 0:
            return left
        if seconds > 0:
            self._next_allowed[key] = now + seconds
        return 0.0


def cooldown_message(seconds_left: float, language: str = DEFAULT_LANGUAGE) -> str:
    """The polite refusal, with whole seconds left (never '0 seconds'), in the member's language."""
    whole = max(1, math.ceil(seconds_left))
    return say("cooldown_one" if whole == 1 else "cooldown", language, seconds=whole)
