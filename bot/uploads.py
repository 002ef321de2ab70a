"""Organizers' original files: one folder per server, each file with a provenance sidecar beside it."""
from __future__ import annotations

import json
import logging
import re
import shutil
import threading
from dataclasses import replace
from pathlib import Path

from bot.errors import SourceRejected
from embeddings.atomic import write_bytes_atomic, write_text_atomic
from knowledge.corpus_loader import Corpus
from knowledge.readers import SourceDefaults
from knowledge.records import SHARED_SCOPE

log = logging.getLogger(__name__)
SCOPE_PATTERN = re.compile(r"[A-Za-z0-9_-]+")  # a server id; never a path


def provenance(defaults: SourceDefaults) -> dict[str, str]:
    """An upload's metadata, kept beside the untouched original file (the corpus loader skips it)."""
    return {"added_by": defaults.added_by, "publisher": defaults.publisher, "url": defaults.url,
            "published": defaults.published}


def sidecar(path: Path) -> Path:
    """Hidden file beside an organizer's source holding who added it and where it came from."""
    return path.with_name(f".{path.name}.meta.json")


class UploadFolders:
    """The servers' folders under one root; writes hold the service's write lock."""

    def __init__(self, root: Path, lock: threading.Lock) -> None:
        self.root = root
        self._lock = lock

    def folder(self, scope: str) -> Path:
        """Folder holding a server's original source files; SourceRejected for anything but a server id."""
        if not SCOPE_PATTERN.fullmatch(scope) or scope == SHARED_SCOPE:
            raise SourceRejected(f"{scope!r} is not a valid server scope")
        return self.root / scope

    def store(self, scope: str, name: str, data: bytes, meta: dict[str, str]) -> None:
        """Write an organizer's file and its provenance sidecar into the server's folder."""
        target = self.folder(scope) / Path(name).name  # a name from the queue never leaves the folder
        with self._lock:
            target.parent.mkdir(parents=True, exist_ok=True)
            write_bytes_atomic(target, data)
            write_text_atomic(sidecar(target), json.dumps(meta))

    def delete(self, scope: str, name: str) -> None:
        """Delete one of a server's files and its sidecar (a CSV takes all its rows with it)."""
        path = self.folder(scope) / Path(name).name
        with self._lock:
            if path.is_file():
                path.unlink()
                sidecar(path).unlink(missing_ok=True)

    def delete_scope(self, scope: str) -> None:
        """Delete a server's whole folder."""
        with self._lock:
            folder = self.folder(scope)
            if folder.exists():
                shutil.rmtree(folder)

    def count(self, scope: str) -> int:
        """How many files a server added (sidecars not counted)."""
        folder = self.folder(scope)
        if not folder.is_dir():
            return 0
        return sum(1 for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))

    def with_metadata(self, corpus: Corpus) -> Corpus:
        """Fill what an organizer's file does not say itself (uploader, publisher, link) from its sidecar."""
        generic = SourceDefaults()
        sources = []
        for source in corpus.sources:
            path = sidecar(Path(source.path))
            if source.scope != SHARED_SCOPE and path.is_file():
                try:
                    meta = json.loads(path.read_text(encoding="utf-8"))
                except (OSError, ValueError):
                    log.warning("ignored unreadable %s", path)
                    meta = {}
                source = replace(
                    source, added_by=str(meta.get("added_by") or source.added_by),
                    publisher=str(meta.get("publisher") or source.publisher)
                    if source.publisher == generic.publisher else source.publisher,
                    url=source.url or str(meta.get("url") or ""),
                    published=str(meta.get("published") or source.published)
                    if source.published == generic.published else source.published)
            sources.append(source)
        return replace(corpus, sources=tuple(sources))
