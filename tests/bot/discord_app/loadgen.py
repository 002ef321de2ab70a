"""Paced /ask traffic against the Discord double, and what each interaction got back.

Shared by test_load_and_faults.py (reduced runs in `make test`) and bench/discord_load.py (the full run).
The tracker reads the fake's recordings incrementally and waits by polling every few milliseconds: one
waiter for the whole run, rather than one fake.wait_for() per interaction, each of which would re-scan every
request on every event and (since the fake shares the bot's event loop) distort what is being measured.
"""
from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import gc
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tests.discord_double import FakeDiscord

# Questions the mini corpus (tests/data/mini) answers, plus one it abstains on: both paths are exercised.
MINI_QUESTIONS = [
    "What is an ICE detainer?",
    "Which state first withdrew from Secure Communities?",
    "How many U.S. citizens were arrested through Secure Communities?",
    "What did the Cook County Board decide about detainers?",
    "What is the capital of France?",
]


def user_ids(count: int, base: int = 310_000_000_000_000_000) -> list[str]:
    """Count distinct snowflake-shaped user ids."""
    return [str(base + i) for i in range(count)]


def rss_bytes() -> int:
    """Resident set size of this process (Linux /proc; 0 elsewhere)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _malloc_trim() -> Callable[[int], int] | None:
    """Glibc's malloc_trim, or None on other C libraries."""
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


MALLOC_TRIM = _malloc_trim()


def settle_memory() -> None:
    """Collect garbage, then hand freed C heap back to the system, so that RSS shows what is still in use.

    Without the trim, glibc keeps freed memory mapped (RSS stays at the high-water mark of, say, the double's
    recordings just dropped), and RSS before/after comparisons would measure fragmentation, not growth.
    """
    gc.collect()
    gc.collect()
    if MALLOC_TRIM is not None:
        MALLOC_TRIM(0)


@dataclass
class Sent:
    """One injected /ask and what came back for it."""

    interaction: dict
    user_id: str
    question: str
    sent_at: float  # time.monotonic() just before the fake dispatched it
    acked_at: float | None = None  # the accepted callback (the fake's clock)
    ack_type: int | None = None
    answered_at: float | None = None  # the first accepted follow-up POST
    followups: int = 0  # accepted follow-up POSTs (exactly one expected)
    title: str | None = None  # the first embed's title in the first accepted follow-up (the question)
    rejected: list[int] = field(default_factory=list)  # statuses of non-2xx callback/webhook answers

    @property
    def token(self) -> str:
        return self.interaction["token"]

    @property
    def ack_seconds(self) -> float | None:
        return None if self.acked_at is None else self.acked_at - self.sent_at

    @property
    def answer_seconds(self) -> float | None:
        return None if self.answered_at is None else self.answered_at - self.sent_at


class Tracker:
    """Follows the fake's request log and matches callbacks and follow-ups to the interactions sent.

    With prune=True (long runs), what the double recorded for an answered interaction is dropped as soon as
    it is accounted for: its requests, messages, the interaction itself and its frame in the RESUME replay
    buffer. Otherwise the double's recordings (~25 KB a question) would dominate a memory measurement, and
    even once dropped, the Python allocator could not hand their scattered pages back. A second follow-up
    for a pruned interaction is then refused by the double (10015) and shows in fake.errors.
    """

    def __init__(self, fake: FakeDiscord, *, prune: bool = False) -> None:
        self.fake = fake
        self.prune = prune
        self.sent: list[Sent] = []
        self._by_token: dict[str, Sent] = {}
        self._scanned = 0
        self._webhook_prefix = f"/webhooks/{fake.app_id}/"

    async def ask(self, question: str, user_id: str, **who: object) -> Sent:
        """Inject one /ask from user_id."""
        sent_at = time.monotonic()
        payload = await self.fake.send_slash_command("ask", {"question": question}, user_id=user_id, **who)
        item = Sent(payload, user_id, question, sent_at)
        self.sent.append(item)
        self._by_token[item.token] = item
        return item

    async def ask_paced(self, count: int, seconds: float, users: list[str], questions: list[str],
                        on_progress=None, guilds: list[str] | None = None) -> list[Sent]:
        """Count questions spread evenly over seconds, users, questions (and guilds) taken round-robin.

        Each send is scheduled on an absolute clock, so a slow send does not push the rest back.
        on_progress(i) is awaited after the i-th send (e.g. to inject a fault mid-run).
        """
        start = time.monotonic()
        step = seconds / count
        batch = []
        for i in range(count):
            delay = start + i * step - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            where = {"guild_id": guilds[i % len(guilds)]} if guilds else {}
            batch.append(await self.ask(questions[i % len(questions)], users[i % len(users)], **where))
            if self.prune:
                self.scan()
            if on_progress is not None:
                await on_progress(i)
        return batch

    def scan(self) -> None:
        """Account for the requests the fake answered since the last scan."""
        requests = self.fake.requests
        while self._scanned < len(requests):
            r = requests[self._scanned]
            if r.status is None:  # still being answered; look again next time
                break
            self._scanned += 1
            parts = r.path.split("/")
            if r.path.startswith("/interactions/") and r.path.endswith("/callback") and len(parts) > 3:
                item = self._by_token.get(parts[3])
                if item is None:
                    continue
                if r.status < 300:
                    inter = self.fake.interactions.get(item.interaction["id"])
                    item.ack_type = (r.json or {}).get("type")
                    item.acked_at = inter.acked_at if inter is not None else r.at
                else:
                    item.rejected.append(r.status)
            elif r.method == "POST" and r.path.startswith(self._webhook_prefix):
                item = self._by_token.get(r.path[len(self._webhook_prefix):])
                if item is None:
                    continue
                if r.status < 300:
                    item.followups += 1
                    if item.answered_at is None:
                        item.answered_at = r.at
                        item.title = ((r.json or {}).get("embeds") or [{}])[0].get("title")
                else:
                    item.rejected.append(r.status)
        if self.prune:
            self._prune()

    def _prune(self) -> None:
        """Drop the double's records of what has been accounted for (see the class docstring)."""
        fake = self.fake
        del fake.requests[:self._scanned]
        self._scanned = 0
        done = set()
        for item in self.sent:
            if item.followups and item.interaction.get("data") is not None:
                iid = item.interaction["id"]
                inter = fake.interactions.pop(iid, None)
                if inter is not None:
                    for mid in (inter.original_message_id, *inter.followup_ids):
                        fake.messages.pop(mid or "", None)
                        fake._message_guild.pop(mid or "", None)
                item.interaction = {"id": iid, "token": item.token}  # the payload is not needed any more
                done.add(iid)
        if done:
            fake._session_events[:] = [f for f in fake._session_events
                                       if not (f["t"] == "INTERACTION_CREATE" and f["d"]["id"] in done)]

    def pending(self, items: list[Sent] | None = None) -> list[Sent]:
        """Interactions without an answer yet."""
        self.scan()
        return [s for s in (self.sent if items is None else items) if s.followups == 0]

    async def wait_answered(self, items: list[Sent] | None = None, timeout: float = 30.0,
                            poll: float = 0.02) -> None:
        """Wait until every interaction (default: all sent) has a follow-up; AssertionError on timeout."""
        deadline = time.monotonic() + timeout
        while left := self.pending(items):
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(left)} interaction(s) unanswered after {timeout} s, e.g. "
                                     f"{[(s.question, s.user_id, s.ack_type, s.rejected) for s in left[:3]]}; "
                                     f"fake errors: {self.fake.errors[-3:]}")
            await asyncio.sleep(poll)

    async def settle(self, quiet: float = 0.3, timeout: float = 10.0) -> None:
        """Wait until the fake has seen no request for `quiet` seconds (late duplicates would show up)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            last = self.fake.requests[-1].at if self.fake.requests else 0.0
            if time.monotonic() - last >= quiet and all(r.status is not None for r in self.fake.requests):
                break
            await asyncio.sleep(quiet / 3)
        self.scan()


def forget_recordings(fake: FakeDiscord) -> None:
    """Drop what the double has recorded so far, so that a memory measurement sees the bot, not the double.

    The double keeps every request, message, interaction and dispatched frame (its RESUME replay buffer),
    a few kilobytes per question, and every gateway frame and heartbeat it received. Call this only between
    rounds, with nothing in flight and the gateway up, after checking what they recorded.
    """
    assert fake._conn is not None and fake._conn.ready, "the gateway must be up: the replay buffer is dropped"
    for recording in (fake.requests, fake.messages, fake.interactions, fake._session_events,
                      fake.gateway_received, fake.gateway_received_at, fake.heartbeats, fake.heartbeats_acked):
        recording.clear()


def heartbeat_ack_gaps(fake: FakeDiscord, since: float, until: float | None = None) -> list[float]:
    """Gaps between consecutive heartbeat ACKs the fake sent in [since, until] (edges included as points)."""
    until = time.monotonic() if until is None else until
    points = [since] + [t for t in fake.heartbeats_acked if since <= t <= until] + [until]
    return [b - a for a, b in itertools.pairwise(points)]
