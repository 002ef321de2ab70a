"""The per-user cooldown, with a clock the test controls."""
from __future__ import annotations

from bot.discord_app.cooldown import Cooldowns, cooldown_message


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_one_question_per_window_per_user():
    clock = Clock()
    cooldowns = Cooldowns(clock)
    assert cooldowns.try_acquire("ann", 10) == 0.0
    clock.now += 3
    assert cooldowns.try_acquire("ann", 10) == 7.0
    assert cooldowns.try_acquire("bob", 10) == 0.0  # others are not held up
    clock.now += 7
    assert cooldowns.try_acquire("ann", 10) == 0.0  # the window has passed
    assert cooldowns.try_acquire("ann", 10) == 10.0


def test_zero_seconds_turns_it_off_and_old_entries_are_forgotten():
    clock = Clock()
    cooldowns = Cooldowns(clock, prune_every=3)
    assert [cooldowns.try_acquire("ann", 0) for _ in range(3)] == [0.0, 0.0, 0.0]
    cooldowns.try_acquire("bob", 5)
    clock.now += 6
    cooldowns.try_acquire("cat", 5)
    cooldowns.try_acquire("dan", 5)  # the third call since the last prune drops bob's finished window
    assert "bob" not in cooldowns._next_allowed


def test_the_message_rounds_up_and_never_says_zero():
    assert "wait 1 second " in cooldown_message(0.01)
    assert "wait 8 seconds " in cooldown_message(7.2)
    assert "Espera 8 segundos " in cooldown_message(7.2, "es")
