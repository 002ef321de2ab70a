"""The on-disk index: generations of (SQLite metadata, vectors, manifest) swapped in atomically."""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sqlite3
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from embeddings.atomic import crash_point, fsync_directory, write_text_atomic
from embeddings.bm25_store import BM25_FILE, SENTENCE_BM25_FILE, build_bm25, build_sentence_bm25, load_bm25, save_bm25
from embeddings.encoder import Encoder
from embeddings.errors import EmbeddingsError
from embeddings.files import exclusive_lock, file_sha256
from embeddings.generation import FORMAT_VERSION, SOURCE_COLUMNS, Manifest, StoredIndex, read_passages
from embeddings.generation_build import (
    PlannedPassage,
    PlanVectors,
    embed_plan,
    plan_passages,
    sealed_files,
    write_metadata,
)
from embeddings.tokenizer import TOKENIZER_FINGERPRINT
from knowledge.corpus_loader import Corpus
from knowledge.records import Source, StatisticRow

CURRENT_POINTER = "CURRENT"
KEEP_GENERATIONS = 2  # the current one and the one before it, which a reader may still be loading


class IndexUnusableError(EmbeddingsError):
    """Base class for index problems."""


class IndexMissingError(IndexUnusableError):
    """No index has been built yet under this home."""


class IndexOutdatedError(IndexMissingError):
    """The index was written by an older citebot in a format this one does not read: build a new one."""


class IndexDamagedError(IndexUnusableError):
    """An index file is truncated, garbled or inconsistent with its manifest."""

    def __init__(self, what: str) -> None:
        super().__init__(f"the index is damaged: {what}. Rebuild it from the sources with `citebot index --rebuild`.")
        self.what = what


@dataclass(frozen=True)
class BuildReport:
    """What `citebot index` did."""

    embedded: int
    reused: int
    removed: int
    passages: int
    sources: int
    generation: str
    changed: bool


class IndexStore:
    """Reads and writes index generations under `<home>/index`."""

    def __init__(self, home: Path) -> None:
        self.home = Path(home)
        self.root = self.home / "index"
        self._current: tuple[tuple[int, int, int], Path] | None = None  # CURRENT's stat and the folder it names

    # ----- reading -------------------------------------------------------------------------------------

    def current_generation(self) -> Path:
        """Folder of the generation CURRENT points to; raises IndexMissingError if none."""
        pointer = self.root / CURRENT_POINTER
        try:
            seen = pointer.stat()
            # Every answer asks; CURRENT is replaced by rename, so an unchanged inode and time mean the same name.
            signature = (seen.st_ino, seen.st_mtime_ns, seen.st_size)
            cached = self._current
            if cached is not None and cached[0] == signature:
                return cached[1]
            name = pointer.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            raise IndexMissingError(f"no index under {self.root}; build it with `citebot index`") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise IndexDamagedError(f"{pointer} cannot be read ({exc})") from None
        if not name.startswith("gen-") or "/" in name or not (self.root / name).is_dir():
            raise IndexDamagedError(f"{pointer} names {name[:80]!r}, which is not an index generation here")
        self._current = (signature, self.root / name)
        return self.root / name

    def read_manifest(self, generation: Path) -> Manifest:
        """The generation's manifest; raises IndexDamagedError when unreadable."""
        path = generation / "manifest.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            manifest = Manifest(**data)
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, TypeError) as exc:
            raise IndexDamagedError(f"{path} is unreadable ({type(exc).__name__})") from None
        if isinstance(manifest.format_version, int) and manifest.format_version < FORMAT_VERSION:
            raise IndexOutdatedError(f"{path} has format {manifest.format_version}, older than the {FORMAT_VERSION} "
                                     "this citebot reads; `citebot index` builds a new one")
        if manifest.format_version != FORMAT_VERSION:
            raise IndexDamagedError(f"{path} has format {manifest.format_version}, this citebot reads {FORMAT_VERSION}")
        return manifest

    def verify(self, generation: Path, manifest: Manifest) -> None:
        """Check every file against the size and checksum the manifest recorded."""
        for name, expected in manifest.files.items():
            path = generation / name
            try:
                size = path.stat().st_size
            except OSError:
                raise IndexDamagedError(f"{path} is missing") from None
            if size != expected["size"] or file_sha256(path) != expected["sha256"]:
                raise IndexDamagedError(f"{path} is truncated or altered (size or checksum differs from the manifest)")

    def read_generation(self, generation: Path, manifest: Manifest) -> StoredIndex:
        """Load metadata and vectors of a verified generation."""
        try:
            vectors = np.load(generation / "vectors.npy", allow_pickle=False)
            sentence_vectors = np.load(generation / "sentence_vectors.npy", allow_pickle=False)
            with contextlib.closing(sqlite3.connect(f"file:{generation / 'metadata.sqlite'}?mode=ro", uri=True)) as db:
                db.row_factory = sqlite3.Row
                sources = {row["key"]: Source(**{name: row[name] for name in SOURCE_COLUMNS})
                           for row in db.execute(f"SELECT key, {', '.join(SOURCE_COLUMNS)} FROM sources")}
                db.row_factory = None
                records, offsets = read_passages(db, lambda key: sources[key].id)
                statistics = [(scope, StatisticRow(**json.loads(data)))
                              for _, scope, data in db.execute("SELECT id, scope, data FROM statistics ORDER BY rowid")]
                aliases = dict(db.execute("SELECT alias, meaning FROM aliases"))
            bm25 = load_bm25(generation / BM25_FILE)  # None when made by other tokenizing: built at load
            sentence_bm25 = load_bm25(generation / SENTENCE_BM25_FILE)
        except (OSError, ValueError, sqlite3.Error, KeyError, json.JSONDecodeError, TypeError,
                zipfile.BadZipFile) as exc:
            raise IndexDamagedError(f"{generation} cannot be read ({type(exc).__name__}: {exc})") from None
        if vectors.shape[0] != len(records) or sentence_vectors.shape[0] != offsets[-1]:
            raise IndexDamagedError(f"{generation} has vectors that do not match its passages")
        if bm25 is not None and bm25.size != len(records):
            raise IndexDamagedError(f"{generation} has a BM25 index that does not match its passages")
        if sentence_bm25 is not None and sentence_bm25.size != offsets[-1]:
            raise IndexDamagedError(f"{generation} has a sentence BM25 index that does not match its sentences")
        return StoredIndex(manifest, generation, sources, records, vectors, sentence_vectors,
                           np.asarray(offsets, dtype=np.int64), statistics, aliases, bm25, sentence_bm25)

    def load(self, generation: Path | None = None, model: str | None = None) -> StoredIndex:
        """Load a generation (by default the current one), verifying it first and, if given, its model."""
        generation = generation or self.current_generation()
        manifest = self.read_manifest(generation)
        if model is not None and manifest.model != model:
            raise IndexOutdatedError(f"the index in {generation} was embedded with {manifest.model}, and the "
                                     f"settings now ask for {model}; build it again with `citebot index`")
        self.verify(generation, manifest)
        return self.read_generation(generation, manifest)

    # ----- writing -------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def writer_lock(self) -> Iterator[None]:
        """Only one process builds at a time; others wait for it."""
        with exclusive_lock(self.root / ".lock"):
            yield

    def build(self, corpus: Corpus, encoder: Encoder, *, rebuild: bool = False,
              progress: Callable[[int, int], None] | None = None) -> BuildReport:
        """Bring the index up to date with corpus, embedding only passages that are new or changed."""
        with self.writer_lock():
            return self._build_locked(corpus, encoder, rebuild, progress)

    def _previous(self, model: str) -> StoredIndex | None:
        """The current generation if it is readable and made with the same model."""
        try:
            previous = self.load()
        except IndexUnusableError:
            return None
        return previous if previous.manifest.model == model else None

    def _build_locked(self, corpus: Corpus, encoder: Encoder, rebuild: bool,
                      progress: Callable[[int, int], None] | None) -> BuildReport:
        """Plan the passages, stop if nothing changed, embed what is new, write and switch a generation."""
        model = encoder.identity
        previous = None if rebuild else self._previous(model)
        plan = plan_passages(corpus, model)
        fingerprint = self._fingerprint(corpus, [p.content_hash for p in plan], model)
        if previous is not None and previous.manifest.corpus_fingerprint == fingerprint:
            return BuildReport(0, len(plan), 0, len(plan), len(corpus.sources), previous.generation.name, False)
        vectors = embed_plan(plan, previous, encoder, progress)
        runtime = encoder.description if vectors.embedded or previous is None else previous.manifest.encoder
        generation = self._write_generation(corpus, plan, vectors, model, runtime, fingerprint)
        return BuildReport(vectors.embedded, vectors.reused, vectors.removed, len(plan), len(corpus.sources),
                           generation.name, True)

    @staticmethod
    def _fingerprint(corpus: Corpus, hashes: list[str], model: str) -> str:
        """Changes whenever the generation would: sources, statistics, aliases, passages, model, tokenizer."""
        # The tokenizer's fingerprint too: editing it must rebuild the stored BM25 indexes, not only reload them.
        digest = hashlib.sha256(f"{FORMAT_VERSION}\0{model}\0{TOKENIZER_FINGERPRINT}\0".encode())
        for source in corpus.sources:
            meta = asdict(source)
            meta.pop("text")
            digest.update(json.dumps(meta, sort_keys=True).encode())
        for row in corpus.statistics:
            digest.update(json.dumps(asdict(row), sort_keys=True).encode())
        digest.update(json.dumps(corpus.aliases).encode())
        digest.update("".join(hashes).encode())
        return digest.hexdigest()

    def _write_generation(self, corpus: Corpus, plan: list[PlannedPassage], vectors: PlanVectors, model: str,
                          runtime: str, fingerprint: str) -> Path:
        """Write a complete generation beside the current one, then switch CURRENT to it."""
        name = f"gen-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{time.time_ns() % 1_000_000:06d}"
        staging = self.root / f".staging-{name}"
        staging.mkdir(parents=True)
        write_metadata(staging / "metadata.sqlite", corpus, plan)
        crash_point("after-metadata")
        np.save(staging / "vectors.npy", vectors.passages)
        crash_point("after-vectors")
        np.save(staging / "sentence_vectors.npy", vectors.sentences)
        # BM25 built here, once, rather than at every load: at a million passages that saves minutes.
        save_bm25(build_bm25((p.source.title, p.passage.text) for p in plan), staging / BM25_FILE)
        save_bm25(build_sentence_bm25(sentence for p in plan for sentence in p.passage.sentences),
                  staging / SENTENCE_BM25_FILE)
        manifest = Manifest(FORMAT_VERSION, model, vectors.dimension, fingerprint, len(corpus.sources), len(plan),
                            int(vectors.sentences.shape[0]), len(corpus.statistics), time.time(),
                            sealed_files(staging), runtime)
        write_text_atomic(staging / "manifest.json", json.dumps(asdict(manifest), indent=2))
        fsync_directory(staging)
        self._publish(staging, name)
        return self.root / name

    def _publish(self, staging: Path, name: str) -> None:
        """Rename the staged generation into place and switch CURRENT to it, each step durable."""
        crash_point("before-generation-rename")
        os.rename(staging, self.root / name)
        fsync_directory(self.root)
        crash_point("after-generation-rename")
        # The switch: until this rename lands, readers keep using the previous generation.
        write_text_atomic(self.root / CURRENT_POINTER, name + "\n")
        crash_point("after-pointer")
        self._collect_garbage(keep=name)

    def _collect_garbage(self, keep: str) -> None:
        """Delete old generations and abandoned staging folders, keeping the newest few."""
        generations = sorted((p for p in self.root.glob("gen-*") if p.is_dir()), key=lambda p: p.stat().st_mtime)
        old = [p for p in generations if p.name != keep][: max(0, len(generations) - KEEP_GENERATIONS)]
        for path in old + list(self.root.glob(".staging-*")):
            shutil.rmtree(path, ignore_errors=True)
