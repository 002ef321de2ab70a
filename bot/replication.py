"""One index, many readers: which process builds, and how the others hand it their source changes."""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from bot.activity import ActivityStore, IndexRequest
from bot.activity.database import BuilderLease

log = logging.getLogger(__name__)
BUILDER_WAIT_SECONDS = 300.0  # how long an organizer's change waits for the builder before it is reported queued
BUILDER_MODES = ("auto", "always", "never")


class IndexRole:
    """Whether this process builds the index now, or only loads what the builder publishes."""

    def __init__(self, mode: str, activity: ActivityStore) -> None:
        if mode not in BUILDER_MODES:
            raise ValueError(f"index builder mode must be one of {BUILDER_MODES}, not {mode!r}")
        self.mode = mode
        # With SQLite every process on the machine builds for itself, serialized by the index's writer lock;
        # with PostgreSQL the processes elect one builder through the database.
        self._lease: BuilderLease | None = activity.database.builder_lease() if mode == "auto" else None
        self._was_builder: bool | None = None

    def builds(self) -> bool:
        """True when this process is the builder (taking the lease if nobody holds it)."""
        if self.mode != "auto" or self._lease is None:
            return self.mode != "never"
        try:
            holds = self._lease.try_acquire()
        except Exception as exc:  # the database is unreachable: do not build on a guess
            log.warning("cannot reach the database to check the builder lease: %s", exc)
            holds = False
        if holds != self._was_builder:
            log.info("this process %s the index builder", "is now" if holds else "is not")
            self._was_builder = holds
        return holds

    def release(self) -> None:
        """Give the builder lease up (at shutdown), so that another process takes it at once."""
        if self._lease is not None:
            self._lease.release()


def wait_for_request(activity: ActivityStore, request_id: int, timeout: float = BUILDER_WAIT_SECONDS,
                     poll: float = 0.2) -> IndexRequest | None:
    """The request once the builder has made (or refused) it; None when it is still queued at the timeout."""
    deadline = time.monotonic() + timeout
    while True:
        request = activity.index_request(request_id)
        if request is not None and request.done_at is not None:
            return request
        if time.monotonic() >= deadline:
            return None
        time.sleep(poll)


class IndexKeeper:
    """A background thread: the builder applies queued changes; every process loads newly published indexes."""

    def __init__(self, role: IndexRole, apply_requests: Callable[[], int], load_published: Callable[[], bool],
                 interval: float) -> None:
        self._role = role
        self._apply_requests = apply_requests
        self._load_published = load_published
        self._interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the loop (once)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="citebot-index-keeper", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """End the loop and give the builder lease up."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        self._role.release()

    def tick(self) -> None:
        """One round: build what is queued (builder) and load what was published (everyone)."""
        if self._role.builds():
            applied = self._apply_requests()
            if applied:
                log.info("applied %d queued source change(s) and published the index", applied)
        self._load_published()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.tick()
            except Exception:  # the loop must outlive one bad round (a database restart, a full disk)
                log.exception("index keeper round failed; trying again in %.0f s", self._interval)
