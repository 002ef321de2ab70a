"""An index generation: what it holds, how its files are laid out, and the identities that let builds reuse it."""
from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from embeddings.bm25 import BM25Index
from embeddings.encoder import EncoderInput
from knowledge.records import Passage, Source, StatisticRow

# 3: sentences are embedded on their own, and BM25 over sentences is stored beside BM25 over passages.
# 4: sources record their language and, for a summary of another source, which one.
FORMAT_VERSION = 4


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


SCHEMA = """
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


PASSAGE_COLUMNS = ("row", "source_key", "position", "text", "spans", "scope", "content_hash", "first_sentence")


def read_passages(db: sqlite3.Connection, source_id_of: Callable[[str], str]) -> tuple[list[PassageRecord], list[int]]:
    """Every passage row of a generation's metadata, in row order, and each passage's first sentence index."""
    records = []
    offsets = [0]
    for row, key, position, text, spans, scope, digest, first in db.execute(
            f"SELECT {', '.join(PASSAGE_COLUMNS)} FROM passages ORDER BY row"):
        spans_t = tuple(tuple(s) for s in json.loads(spans))
        records.append(PassageRecord(row, key, Passage(source_id_of(key), position, text, spans_t, scope), digest))
        offsets.append(first + len(spans_t))
    return records, offsets


SOURCE_COLUMNS = ("scope", "id", "title", "publisher", "published", "kind", "url", "author", "path", "added_by",
                   "text", "language", "summary_of")


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: a loaded generation is one object
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
