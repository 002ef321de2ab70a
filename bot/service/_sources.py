"""Organizers' own sources: adding, removing and forgetting a server's files."""
from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from bot.errors import SourceRejected
from bot.service._common import ServerData
from bot.uploads import provenance
from knowledge.errors import SourceReadError
from knowledge.readers import SUPPORTED_SUFFIXES, SourceDefaults, read_source_bytes, slugify
from knowledge.records import Source

if TYPE_CHECKING:  # the service's own attributes, for readers and type checkers
    from bot.activity import ActivityStore
    from bot.pinning import PinBoard
    from bot.replication import IndexRole
    from bot.settings import Settings
    from bot.uploads import UploadFolders



class OrganizerSources:
    """A server's own source files, validated before they reach the index."""

    # Set by KnowledgeService.__init__; listed so a reader sees what this part relies on.
    settings: Settings
    activity: ActivityStore
    pin_board: PinBoard
    uploads: UploadFolders
    role: IndexRole

    def scope_folder(self, scope: str) -> Path:
        """Folder holding a server's original source files."""
        return self.uploads.folder(scope)

    def add_source(self, scope: str, filename: str, data: bytes, *, added_by: str = "",
                   defaults: SourceDefaults | None = None) -> tuple[Source, ...]:
        """Validate and store an organizer's file for one server, then update the index."""
        suffix = Path(filename).suffix.lower()
        if suffix not in SUPPORTED_SUFFIXES:
            raise SourceRejected(f"{filename!r} has type {suffix or '(none)'}; "
                                 f"supported types are {', '.join(SUPPORTED_SUFFIXES)}")
        if len(data) > self.settings.upload_max_bytes:
            raise SourceRejected(f"{filename!r} is {len(data) / 1e6:.1f} MB; the limit is "
                                 f"{self.settings.upload_max_bytes / 1e6:.0f} MB")
        folder = self.scope_folder(scope)
        stem = slugify(Path(filename).stem)
        target = folder / f"{stem}{suffix}"
        defaults = defaults or SourceDefaults(publisher="organizer upload", scope=scope, added_by=added_by)
        try:
            result = read_source_bytes(target, data, defaults)
        except SourceReadError as exc:
            raise SourceRejected(f"{filename!r} {exc.reason}") from None
        search, _ = self.searchable()
        for source in result.sources:
            existing = search.stored.sources.get(f"{scope}/{source.id}")
            if existing is not None and Path(existing.path).name != target.name:
                raise SourceRejected(f"{filename!r} uses the id {source.id!r}, which {Path(existing.path).name} "
                                     "already has in this server; remove that source first or change the id")
        if not self.role.builds():
            self._through_builder(scope, "add", target.name, data, json.dumps(provenance(defaults)))
            return result.sources
        self.uploads.store(scope, target.name, data, provenance(defaults))
        self.build_index()
        return result.sources

    def remove_source(self, scope: str, source_id: str) -> Source:
        """Delete a server's source file (all rows of a CSV go with it) and update the index."""
        search, _ = self.searchable()
        source = search.stored.sources.get(f"{scope}/{source_id}")
        if source is None:
            raise SourceRejected(f"This server has no source with id {source_id!r}. See /kb list.")
        if not self.role.builds():
            self._through_builder(scope, "remove", Path(source.path).name)
            return source
        self.uploads.delete(scope, Path(source.path).name)
        self.build_index()
        return source

    def server_data(self, scope: str) -> ServerData:
        """Count what a server added and did (what forget_server would delete)."""
        return ServerData(scope, self.uploads.count(scope), self.activity.scope_counts(scope))

    def forget_server(self, scope: str) -> ServerData:
        """Delete a server's own sources, provenance and activity records, then re-index without them."""
        # Leaving a server keeps its data (an accidental kick must not destroy organizers' work); this is
        # the operator's deliberate way to delete it.
        before = self.server_data(scope)
        self.activity.forget_scope(scope)
        self.pin_board.changed()
        if not self.role.builds():
            self._through_builder(scope, "forget")
            return before
        self.uploads.delete_scope(scope)
        self.build_index()
        return before

    def scope_sources(self, scope: str) -> list[Source]:
        """Every source one server added itself, statistics rows included (for /kb list and /kb remove)."""
        search, _ = self.searchable()
        items = [s for s in search.stored.sources.values() if s.scope == scope]
        return sorted(items, key=lambda s: (s.published, s.id))

