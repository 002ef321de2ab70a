"""Building a generation: plan the passages, embed what is new, write the metadata and seal the files."""
from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from embeddings.atomic import fsync_file
from embeddings.encoder import Encoder, EncoderInput
from embeddings.files import file_sha256
from embeddings.generation import (
    PASSAGE_COLUMNS,
    SCHEMA,
    SOURCE_COLUMNS,
    StoredIndex,
    content_hash,
    encoder_input,
    source_key,
)
from knowledge.corpus_loader import Corpus
from knowledge.passages import split_into_passages
from knowledge.records import SHARED_SCOPE, Passage, Source


@dataclass(frozen=True)
class PlannedPassage:
    """One passage of the next generation: where it comes from, what the encoder sees, and its identity."""

    source: Source
    passage: Passage
    encoder_input: EncoderInput
    content_hash: str


@dataclass(frozen=True)
class PlanVectors:
    """The vectors of a plan, row for row, and how many were embedded now, reused, or dropped."""

    passages: np.ndarray
    sentences: np.ndarray
    dimension: int
    embedded: int
    reused: int
    removed: int


def plan_passages(corpus: Corpus, model: str) -> list[PlannedPassage]:
    """Every passage of the corpus, in order, with its encoder input and content hash."""
    plan = []
    for source in corpus.sources:
        for passage in split_into_passages(source):
            item = encoder_input(source, passage)
            plan.append(PlannedPassage(source, passage, item, content_hash(model, item)))
    return plan


def embed_plan(plan: list[PlannedPassage], previous: StoredIndex | None, encoder: Encoder,
               progress: Callable[[int, int], None] | None = None) -> PlanVectors:
    """Vectors for every planned passage: reused from the previous generation by hash, else embedded once."""
    known = previous.vectors_by_hash() if previous is not None else {}
    unique_new: dict[str, EncoderInput] = {}
    for planned in plan:
        if planned.content_hash not in known:
            unique_new.setdefault(planned.content_hash, planned.encoder_input)
    done = 0

    def step(count: int) -> None:
        nonlocal done
        done += count
        if progress:
            progress(done, len(unique_new))

    encoded = encoder.encode_passages(list(unique_new.values()), progress=step)
    fresh = {digest: (e.vector, e.sentence_vectors) for digest, e in zip(unique_new, encoded)}
    dimension = _dimension(fresh, previous, encoder if plan else None)
    passages = np.zeros((len(plan), dimension), dtype=np.float32)
    blocks: list[np.ndarray] = []
    for row, planned in enumerate(plan):
        vector, sentences = fresh.get(planned.content_hash) or known[planned.content_hash]
        passages[row] = vector
        blocks.append(sentences)
    sentences = np.concatenate(blocks) if blocks else np.zeros((0, dimension), dtype=np.float32)
    reused = sum(planned.content_hash in known for planned in plan)
    removed = len(set(known) - {planned.content_hash for planned in plan})
    return PlanVectors(passages, sentences, dimension, len(unique_new), reused, removed)


def _dimension(fresh: dict[str, tuple[np.ndarray, np.ndarray]], previous: StoredIndex | None,
               encoder: Encoder | None) -> int:
    """The vectors' width: of what was just embedded, else of the previous generation, else the model's."""
    if fresh:
        return int(next(iter(fresh.values()))[0].shape[0])
    if previous is not None and previous.manifest.dimension:
        return previous.manifest.dimension
    return encoder.dimension if encoder is not None else 0


def write_metadata(path: Path, corpus: Corpus, plan: list[PlannedPassage]) -> None:
    """The generation's metadata.sqlite: sources, passages (with their first sentence's row), statistics, aliases."""
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.executescript(SCHEMA)
        db.executemany(f"INSERT INTO sources (key, {', '.join(SOURCE_COLUMNS)}) "
                       f"VALUES (?, {', '.join('?' for _ in SOURCE_COLUMNS)})",
                       [(source_key(s.scope, s.id), *(getattr(s, name) for name in SOURCE_COLUMNS))
                        for s in corpus.sources])
        db.executemany(f"INSERT INTO passages ({', '.join(PASSAGE_COLUMNS)}) "
                       f"VALUES ({', '.join('?' for _ in PASSAGE_COLUMNS)})", passage_rows(plan))
        scope_of = {s.path: s.scope for s in corpus.sources}
        db.executemany("INSERT INTO statistics (id, scope, data) VALUES (?,?,?)", [
            (r.id, scope_of.get(r.path, SHARED_SCOPE), json.dumps(asdict(r))) for r in corpus.statistics])
        db.executemany("INSERT INTO aliases (alias, meaning) VALUES (?,?)", corpus.aliases)


def passage_rows(plan: list[PlannedPassage]) -> list[tuple]:
    """The passages table's rows, in PASSAGE_COLUMNS order; first_sentence counts the sentences before."""
    rows, first = [], 0
    for row, planned in enumerate(plan):
        passage = planned.passage
        rows.append((row, source_key(planned.source.scope, planned.source.id), passage.position, passage.text,
                     json.dumps(passage.sentence_spans), passage.scope, planned.content_hash, first))
        first += len(passage.sentence_spans)
    return rows


def sealed_files(staging: Path) -> dict[str, dict]:
    """Size and SHA-256 of every file written so far, each fsynced: what the manifest promises."""
    files = {}
    for path in sorted(staging.iterdir()):
        fsync_file(path)
        files[path.name] = {"size": path.stat().st_size, "sha256": file_sha256(path)}
    return files
