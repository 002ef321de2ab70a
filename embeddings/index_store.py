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

from embeddings.atomic import crash_point, fsync_directory, fsync_file, write_text_atomic
from embeddings.bm25 import BM25Index
from embeddings.bm25_store import BM25_FILE, SENTENCE_BM25_FILE, build_bm25, build_sentence_bm25, load_bm25, save_bm25
from embeddings.encoder import Encoder, EncoderInput
from embeddings.files import exclusive_lock, file_sha256
from embeddings.tokenizer import TOKENIZER_FINGERPRINT
from knowledge.corpus_loader import Corpus
from knowledge.passages import split_into_passages
from knowledge.records import SHARED_SCOPE, Passage, Source, StatisticRow

# 3: sentences are embedded on their own, and BM25 over sentences is stored beside BM25 over passages.
# 4: sources record their language and, for a summary of another source, which one.
FORMAT_VERSION = 4
CURRENT_POINTER = "CURRENT"
KEEP_GENERATIONS = 2  # the current one and the one before it, which a reader may still be loading


class IndexError_(Exception):
    """Base class for index problems."""


class IndexMissingError(IndexError_):
    """No index has been built yet under this home."""


class IndexOutdatedError(IndexMissingError):
    """The index was written by an older citebot in a format this one does not read: build a new one."""


class IndexDamagedError(IndexError_):
    """An index file is truncated, garbled or inconsistent with its manifest."""

    def __init__(self, what: str) -> None:
        super().__init__(f"the index is damaged: {what}. Rebuild it from the sources with `citebot index --rebuild`.")
        self.what = what


@dataclass(frozen=True)
class Manifest:
    """What a generation holds: model, dimension, corpus fingerprint, counts, and file checksums."""

    format_version: int
    model: str
    dimension: int
    corpus_fingerprint: str
    sources: int
    passages: int
    sentences: int
    statistics: int
    created: float
    files: dict[str, dict]
    encoder: str = "unknown"  # the runtime that embedded the newest vectors ("onnxruntime fp32", "transformers")


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


@dataclass(frozen=True)
class PassageRecord:
    """A stored passage: its text and sentences, and the source it came from."""

    row: int
    source_key: str  # "scope/id"
    passage: Passage
    content_hash: str


def source_key(scope: str, source_id: str) -> str:
    """Unique key of a source across scopes."""
    return f"{scope}/{source_id}"


def encoder_input(source: Source, passage: Passage) -> EncoderInput:
    """What the encoder sees: the source title, a newline, then the passage (spans shifted)."""
    prefix = f"{source.title}\n"
    spans = tuple((a + len(prefix), b + len(prefix)) for a, b in passage.sentence_spans)
    return EncoderInput(prefix + passage.text, spans)


def content_hash(model: str, item: EncoderInput) -> str:
    """Identity of an embedding: same model and same input text give the same vectors."""
    digest = hashlib.sha256()
    digest.update(f"{model}\0format {FORMAT_VERSION}\0".encode())
    digest.update(item.text.encode())
    digest.update(json.dumps(item.sentence_spans).encode())
    return digest.hexdigest()


_SCHEMA = """
CREATE TABLE sources (key TEXT PRIMARY KEY, scope TEXT NOT NULL, id TEXT NOT NULL, title TEXT NOT NULL,
    publisher TEXT NOT NULL, published TEXT NOT NULL, kind TEXT NOT NULL, url TEXT NOT NULL,
    author TEXT NOT NULL, path TEXT NOT NULL, added_by TEXT NOT NULL, text TEXT NOT NULL,
    language TEXT NOT NULL, summary_of TEXT NOT NULL);
CREATE TABLE passages (row INTEGER PRIMARY KEY, source_key TEXT NOT NULL REFERENCES sources(key),
    position INTEGER NOT NULL, text TEXT NOT NULL, spans TEXT NOT NULL, scope TEXT NOT NULL,
    content_hash TEXT NOT NULL, first_sentence INTEGER NOT NULL);
CREATE TABLE statistics (id TEXT NOT NULL, scope TEXT NOT NULL, data TEXT NOT NULL);
CREATE TABLE aliases (alias TEXT PRIMARY KEY, meaning TEXT NOT NULL);
"""


_SOURCE_COLUMNS = ("scope", "id", "title", "publisher", "published", "kind", "url", "author", "path", "added_by",
                   "text", "language", "summary_of")


class IndexStore:
    """Reads and writes index generations under `<home>/index`."""

    def __init__(self, home: Path) -> None:
        self.home = Path(home)
        self.root = self.home / "index"

    # ----- reading -------------------------------------------------------------------------------------

    def current_generation(self) -> Path:
        """Folder of the generation CURRENT points to; raises IndexMissingError if none."""
        pointer = self.root / CURRENT_POINTER
        try:
            name = pointer.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            raise IndexMissingError(f"no index under {self.root}; build it with `citebot index`") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise IndexDamagedError(f"{pointer} cannot be read ({exc})") from None
        if not name.startswith("gen-") or "/" in name or not (self.root / name).is_dir():
            raise IndexDamagedError(f"{pointer} names {name[:80]!r}, which is not an index generation here")
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
                sources = {row["key"]: Source(**{name: row[name] for name in _SOURCE_COLUMNS})
                           for row in db.execute(f"SELECT key, {', '.join(_SOURCE_COLUMNS)} FROM sources")}
                db.row_factory = None
                records = []
                offsets = [0]
                for row, key, position, text, spans, scope, digest, first in db.execute(
                        "SELECT row, source_key, position, text, spans, scope, content_hash, first_sentence "
                        "FROM passages ORDER BY row"):
                    spans_t = tuple(tuple(s) for s in json.loads(spans))
                    passage = Passage(sources[key].id, position, text, spans_t, scope)
                    records.append(PassageRecord(row, key, passage, digest))
                    offsets.append(first + len(spans_t))
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
        except IndexError_:
            return None
        return previous if previous.manifest.model == model else None

    def _build_locked(self, corpus: Corpus, encoder: Encoder, rebuild: bool,
                      progress: Callable[[int, int], None] | None) -> BuildReport:
        model = encoder.identity
        previous = None if rebuild else self._previous(model)
        items: list[tuple[Source, Passage, EncoderInput, str]] = []
        for source in corpus.sources:
            for passage in split_into_passages(source):
                item = encoder_input(source, passage)
                items.append((source, passage, item, content_hash(model, item)))
        fingerprint = self._fingerprint(corpus, [digest for *_, digest in items], model)
        if previous is not None and previous.manifest.corpus_fingerprint == fingerprint:
            return BuildReport(0, len(items), 0, len(items), len(corpus.sources), previous.generation.name, False)

        known = previous.vectors_by_hash() if previous is not None else {}
        todo = [i for i, (*_, digest) in enumerate(items) if digest not in known]
        unique_todo: dict[str, int] = {}
        for i in todo:
            unique_todo.setdefault(items[i][3], i)
        done = 0

        def step(count: int) -> None:
            nonlocal done
            done += count
            if progress:
                progress(done, len(unique_todo))

        encoded = encoder.encode_passages([items[i][2] for i in unique_todo.values()], progress=step)
        fresh = {digest: (e.vector, e.sentence_vectors) for digest, e in zip(unique_todo, encoded)}
        if fresh:
            dimension = next(iter(fresh.values()))[0].shape[0]
        else:
            dimension = previous.manifest.dimension if previous else 0
        if not dimension and items:
            dimension = encoder.dimension
        vectors = np.zeros((len(items), dimension), dtype=np.float32)
        sentence_blocks: list[np.ndarray] = []
        for row, (*_, digest) in enumerate(items):
            vector, sentences = fresh.get(digest) or known[digest]
            vectors[row] = vector
            sentence_blocks.append(sentences)
        sentence_vectors = (np.concatenate(sentence_blocks) if sentence_blocks
                            else np.zeros((0, dimension), dtype=np.float32))
        kept_hashes = {digest for *_, digest in items}
        removed = len(set(known) - kept_hashes) if previous is not None else 0
        runtime = encoder.description if unique_todo or previous is None else previous.manifest.encoder
        generation = self._write_generation(corpus, items, vectors, sentence_vectors, model, runtime, dimension,
                                            fingerprint)
        return BuildReport(len(unique_todo), len(items) - len(todo), removed, len(items), len(corpus.sources),
                           generation.name, True)

    @staticmethod
    def _fingerprint(corpus: Corpus, hashes: list[str], model: str) -> str:
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

    def _write_generation(self, corpus: Corpus, items: list, vectors: np.ndarray, sentence_vectors: np.ndarray,
                          model: str, runtime: str, dimension: int, fingerprint: str) -> Path:
        name = f"gen-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{time.time_ns() % 1_000_000:06d}"
        staging = self.root / f".staging-{name}"
        staging.mkdir(parents=True)
        db_path = staging / "metadata.sqlite"
        with contextlib.closing(sqlite3.connect(db_path)) as db, db:
            db.executescript(_SCHEMA)
            db.executemany(
                f"INSERT INTO sources (key, {', '.join(_SOURCE_COLUMNS)}) "
                f"VALUES (?, {', '.join('?' for _ in _SOURCE_COLUMNS)})",
                [(source_key(s.scope, s.id), *(getattr(s, name) for name in _SOURCE_COLUMNS))
                 for s in corpus.sources])
            first = 0
            rows = []
            for row, (source, passage, _item, digest) in enumerate(items):
                rows.append((row, source_key(source.scope, source.id), passage.position, passage.text,
                             json.dumps(passage.sentence_spans), passage.scope, digest, first))
                first += len(passage.sentence_spans)
            db.executemany("INSERT INTO passages VALUES (?,?,?,?,?,?,?,?)", rows)
            scope_of = {s.path: s.scope for s in corpus.sources}
            db.executemany("INSERT INTO statistics VALUES (?,?,?)", [
                (r.id, scope_of.get(r.path, SHARED_SCOPE), json.dumps(asdict(r))) for r in corpus.statistics])
            db.executemany("INSERT INTO aliases VALUES (?,?)", corpus.aliases)
        crash_point("after-metadata")
        np.save(staging / "vectors.npy", vectors)
        crash_point("after-vectors")
        np.save(staging / "sentence_vectors.npy", sentence_vectors)
        # BM25 built here, once, rather than at every load: at a million passages that saves minutes.
        save_bm25(build_bm25((source.title, passage.text) for source, passage, _item, _digest in items),
                  staging / BM25_FILE)
        save_bm25(build_sentence_bm25(sentence for _source, passage, _item, _digest in items
                                      for sentence in passage.sentences), staging / SENTENCE_BM25_FILE)
        files = {}
        for path in sorted(staging.iterdir()):
            fsync_file(path)
            files[path.name] = {"size": path.stat().st_size, "sha256": file_sha256(path)}
        manifest = Manifest(FORMAT_VERSION, model, int(dimension), fingerprint, len(corpus.sources), len(items),
                            int(sentence_vectors.shape[0]), len(corpus.statistics), time.time(), files, runtime)
        write_text_atomic(staging / "manifest.json", json.dumps(asdict(manifest), indent=2))
        fsync_directory(staging)
        generation = self.root / name
        crash_point("before-generation-rename")
        os.rename(staging, generation)
        fsync_directory(self.root)
        crash_point("after-generation-rename")
        # The switch: until this rename lands, readers keep using the previous generation.
        write_text_atomic(self.root / CURRENT_POINTER, name + "\n")
        crash_point("after-pointer")
        self._collect_garbage(keep=name)
        return generation

    def _collect_garbage(self, keep: str) -> None:
        """Delete old generations and abandoned staging folders, keeping the newest few."""
        generations = sorted((p for p in self.root.glob("gen-*") if p.is_dir()), key=lambda p: p.stat().st_mtime)
        old = [p for p in generations if p.name != keep][: max(0, len(generations) - KEEP_GENERATIONS)]
        for path in old + list(self.root.glob(".staging-*")):
            shutil.rmtree(path, ignore_errors=True)


@dataclass
class StoredIndex:
    """A loaded generation: metadata, vectors and statistics, read-only after load."""

    manifest: Manifest
    generation: Path
    sources: dict[str, Source]
    passages: list[PassageRecord]
    vectors: np.ndarray
    sentence_vectors: np.ndarray
    sentence_offsets: np.ndarray  # passage row -> index of its first sentence vector; len = passages + 1
    statistics: list[tuple[str, StatisticRow]]
    aliases: dict[str, str]
    bm25: BM25Index | None = None  # stored with the generation; None means build it from the passages
    sentence_bm25: BM25Index | None = None  # likewise, over single sentences

    def vectors_by_hash(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Embeddings of this generation keyed by content hash, for reuse by the next build."""
        return {r.content_hash: (self.vectors[r.row],
                                 self.sentence_vectors[self.sentence_offsets[r.row]:self.sentence_offsets[r.row + 1]])
                for r in self.passages}
