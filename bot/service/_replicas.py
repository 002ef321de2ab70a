"""Several processes: one builds the index, the others hand it their changes (README, Running several processes)."""
from __future__ import annotations

import json
import logging
import time
from typing import TYPE_CHECKING

from bot.errors import CitebotError, IndexUnavailable, SourceRejected
from bot.replication import IndexKeeper, wait_for_request
from bot.service._common import IndexOutcome, Progress

if TYPE_CHECKING:  # the service's own attributes, for readers and type checkers
    from bot.activity import ActivityStore
    from bot.replication import IndexRole
    from bot.settings import Settings
    from bot.uploads import UploadFolders


log = logging.getLogger(__name__)


class IndexReplicas:
    """The builder's queue of source changes, and how a reader waits for what the builder publishes."""

    # Set by KnowledgeService.__init__; listed so a reader sees what this part relies on.
    settings: Settings
    activity: ActivityStore
    role: IndexRole
    uploads: UploadFolders

    def _through_builder(self, scope: str, action: str, name: str = "", data: bytes = b"", meta: str = "{}") -> None:
        """Hand a source change to the process that builds the index, wait for it, then load what it published."""
        request_id = self.activity.request_index_change(scope, action, name, data, meta)
        log.info("queued %s of %r in %s for the index builder (request %d)", action, name, scope, request_id)
        done = wait_for_request(self.activity, request_id, timeout=self.settings.builder_wait_seconds)
        if done is None:
            raise IndexUnavailable(f"The change is queued (request {request_id}) but the process that builds the "
                                   "index has not made it yet; it will appear when that process runs again.")
        if done.error:
            raise SourceRejected(done.error)
        self.load_published()

    def apply_index_requests(self) -> int:
        """(Builder) Make every queued source change, publish one new index for them all; returns how many."""
        pending = self.activity.pending_index_requests()
        if not pending:
            return 0
        errors: dict[int, str] = {}
        for request in pending:
            try:
                if request.action == "add":
                    self.uploads.store(request.scope, request.name, request.data, json.loads(request.meta or "{}"))
                elif request.action == "remove":
                    self.uploads.delete(request.scope, request.name)
                elif request.action == "forget":
                    self.uploads.delete_scope(request.scope)
            except (OSError, ValueError, SourceRejected) as exc:
                errors[request.id] = f"the index builder could not make this change: {exc}"
        try:
            self.build_index()
        except CitebotError as exc:
            errors = {request.id: errors.get(request.id) or str(exc) for request in pending}
        for request in pending:
            self.activity.finish_index_request(request.id, errors.get(request.id, ""))
        return len(pending)

    def load_published(self) -> bool:
        """Load the generation the builder published, now, if it is newer than the one answering; True if so."""
        loaded = self._search
        if loaded is None or not self._newer_generation_on_disk(loaded):
            return False
        self._switch_to_newer(loaded)
        return self._search is not loaded

    def prepare(self, progress: Progress | None = None) -> IndexOutcome | None:
        """At start: the builder brings the index up to date; a reader waits for a published one and loads it."""
        if self.role.builds():
            return self.build_index(progress=progress)
        deadline = time.monotonic() + self.settings.builder_wait_seconds
        while True:
            try:
                self.searchable(build_if_missing=False)
                return None
            except IndexUnavailable:
                if time.monotonic() >= deadline:
                    raise
                log.info("waiting for the index builder to publish an index under %s", self.settings.index_home)
                time.sleep(self.settings.index_poll_seconds)

    def index_keeper(self) -> IndexKeeper:
        """The background loop a long-running process (the bot) starts: queued changes and new generations."""
        return IndexKeeper(self.role, self.apply_index_requests, self.load_published,
                           self.settings.index_poll_seconds)

