"""Index save/load, incremental updates (counting what is embedded), model changes and damage detection."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from embeddings.encoder import Encoder
from embeddings.index_store import IndexDamagedError, IndexMissingError, IndexStore
from knowledge.corpus_loader import CorpusFolder, load_corpus


class CountingEncoder:
    """The real encoder, counting how many passages it is asked to embed."""

    def __init__(self, real: Encoder, model_name: str | None = None) -> None:
        self.real = real
        self.model_name = model_name or real.model_name
        self.embedded = 0

    @property
    def dimension(self) -> int:
        return self.real.dimension

    @property
    def identity(self) -> str:
        return self.model_name

    @property
    def description(self) -> str:
        return self.real.description

    def encode_passages(self, items, progress=None):
        self.embedded += len(items)
        return self.real.encode_passages(items, progress)


def corpus_of(folder: Path):
    return load_corpus([CorpusFolder(folder)])


def test_build_load_and_unchanged_rebuild_embeds_nothing(tmp_path, encoder, mini_corpus):
    store = IndexStore(tmp_path)
    counting = CountingEncoder(encoder)
    first = store.build(corpus_of(mini_corpus), counting)
    assert first.changed and first.embedded == first.passages == counting.embedded > 0
    stored = store.load()
    assert stored.manifest.model == encoder.model_name and stored.manifest.dimension == 384
    assert stored.vectors.shape == (first.passages, 384)
    assert np.allclose(np.linalg.norm(stored.vectors, axis=1), 1.0, atol=1e-4)
    assert stored.sentence_vectors.shape[0] == sum(len(r.passage.sentence_spans) for r in stored.passages)

    second = store.build(corpus_of(mini_corpus), counting)
    assert (second.embedded, second.reused, second.changed) == (0, first.passages, False)
    assert counting.embedded == first.embedded


def test_changed_file_reembeds_only_its_passages(tmp_path, encoder, mini_corpus):
    store = IndexStore(tmp_path)
    counting = CountingEncoder(encoder)
    first = store.build(corpus_of(mini_corpus), counting)
    path = mini_corpus / "articles" / "detainers.md"
    path.write_text(path.read_text().replace("48 hours", "two business days"))
    (mini_corpus / "statistics" / "figures.csv").unlink()
    report = store.build(corpus_of(mini_corpus), counting)
    assert report.embedded == 1  # the detainer article is one passage
    assert report.removed == 3  # its old passage and the two statistics rows
    assert report.reused == report.passages - 1 == first.passages - 3
    texts = [r.passage.text for r in store.load().passages]
    assert any("two business days" in t for t in texts) and not any("48 hours" in t for t in texts)


def test_metadata_change_rewrites_without_embedding(tmp_path, encoder, mini_corpus):
    store = IndexStore(tmp_path)
    counting = CountingEncoder(encoder)
    store.build(corpus_of(mini_corpus), counting)
    before = counting.embedded
    path = mini_corpus / "articles" / "quinn-illinois.md"
    path.write_text(path.read_text().replace("Example Tribune", "Example Herald"))
    report = store.build(corpus_of(mini_corpus), counting)
    assert report.changed and report.embedded == 0 and counting.embedded == before
    assert store.load().sources["shared/mini-illinois-withdraws"].publisher == "Example Herald"


def test_model_change_rebuilds_everything(tmp_path, encoder, mini_corpus):
    store = IndexStore(tmp_path)
    first = store.build(corpus_of(mini_corpus), CountingEncoder(encoder))
    other = CountingEncoder(encoder, model_name="another-model")
    report = store.build(corpus_of(mini_corpus), other)
    assert report.embedded == first.passages and store.load().manifest.model == "another-model"


def test_missing_index_is_reported(tmp_path):
    with pytest.raises(IndexMissingError, match="citebot index"):
        IndexStore(tmp_path).load()


@pytest.mark.parametrize("damage", ["truncate-vectors", "garble-db", "garble-manifest", "bad-pointer"])
def test_damage_is_detected_with_rebuild_advice(tmp_path, encoder, mini_corpus, damage):
    store = IndexStore(tmp_path)
    store.build(corpus_of(mini_corpus), CountingEncoder(encoder))
    generation = store.current_generation()
    if damage == "truncate-vectors":
        path = generation / "vectors.npy"
        path.write_bytes(path.read_bytes()[:-100])
    elif damage == "garble-db":
        path = generation / "metadata.sqlite"
        data = bytearray(path.read_bytes())
        data[200:260] = b"\xff" * 60
        path.write_bytes(bytes(data))
    elif damage == "garble-manifest":
        (generation / "manifest.json").write_text("{not json")
    else:
        (tmp_path / "index" / "CURRENT").write_text("../../etc")
    with pytest.raises(IndexDamagedError) as caught:
        store.load()
    assert "citebot index --rebuild" in str(caught.value)


def test_old_generations_are_collected(tmp_path, encoder, mini_corpus):
    store = IndexStore(tmp_path)
    counting = CountingEncoder(encoder)
    for n in range(4):
        path = mini_corpus / "articles" / "quinn-illinois.md"
        path.write_text(path.read_text().replace("Example Tribune", f"Example Tribune {n}"))
        store.build(corpus_of(mini_corpus), counting)
    assert len(list((tmp_path / "index").glob("gen-*"))) == 2
    manifest = json.loads((store.current_generation() / "manifest.json").read_text())
    assert set(manifest["files"]) == {"metadata.sqlite", "vectors.npy", "sentence_vectors.npy", "bm25.npz",
                                      "sentence_bm25.npz"}


def test_bm25_is_stored_with_the_generation_and_scores_as_one_built_at_load(tmp_path, encoder, mini_corpus):
    from embeddings.bm25_store import BM25_FILE, build_bm25
    from embeddings.tokenizer import tokenize

    store = IndexStore(tmp_path)
    store.build(corpus_of(mini_corpus), encoder)
    stored = store.load()
    assert stored.bm25 is not None and (stored.generation / BM25_FILE).is_file()
    fresh = build_bm25((stored.sources[r.source_key].title, r.passage.text) for r in stored.passages)
    for question in ("Which governor ended the Illinois agreement?", "ICE detainer 48 hours", "nothing matches zzz"):
        tokens = tokenize(question)
        assert np.allclose(stored.bm25.scores(tokens), fresh.scores(tokens))
    assert stored.bm25.vocabulary == fresh.vocabulary


def test_a_stored_bm25_from_other_tokenizing_is_ignored_and_rebuilt(tmp_path, encoder, mini_corpus, monkeypatch):
    from embeddings import bm25_store
    from embeddings.search import SearchIndex

    store = IndexStore(tmp_path)
    store.build(corpus_of(mini_corpus), encoder)
    monkeypatch.setattr(bm25_store, "tokenizer_fingerprint", lambda config: "a tokenizer changed since")
    stored = store.load()
    assert stored.bm25 is None  # made by the old tokenizer: not trusted
    search = SearchIndex(stored, encoder)
    assert search.search("Which governor ended the Illinois agreement?").hits[0].source.id == "mini-illinois-withdraws"


def test_the_tokenizer_fingerprint_is_the_tokenizer_alone():
    """Editing question analysis (or any other module) leaves stored BM25 valid: only tokenizer.py counts."""
    import hashlib

    from embeddings import tokenizer

    recorded = tokenizer.TOKENIZER_FINGERPRINT
    assert recorded == hashlib.sha256(Path(tokenizer.__file__).read_bytes()).hexdigest()
    assert Path(tokenizer.__file__).name == "tokenizer.py"


def test_an_edited_tokenizer_makes_index_rebuild_the_stored_bm25(tmp_path, encoder, mini_corpus, monkeypatch):
    from embeddings import bm25_store, index_store
    from embeddings.bm25_store import BM25_FILE, load_bm25

    store = IndexStore(tmp_path)
    store.build(corpus_of(mini_corpus), encoder)
    before = store.current_generation()
    assert not store.build(corpus_of(mini_corpus), encoder).changed  # same tokenizer: nothing to do
    for module in (bm25_store, index_store):  # what editing tokenizer.py changes
        monkeypatch.setattr(module, "TOKENIZER_FINGERPRINT", "an edited tokenizer")
    assert load_bm25(before / BM25_FILE) is None  # the old file is stale now ...
    report = store.build(corpus_of(mini_corpus), encoder)
    assert report.changed and report.embedded == 0  # ... so `citebot index` writes a generation, embedding nothing
    after = store.current_generation()
    assert after != before and load_bm25(after / BM25_FILE) is not None
    assert store.load().bm25 is not None


def test_a_generation_without_stored_bm25_still_loads(tmp_path, encoder, mini_corpus):
    """Generations written before BM25 was stored have no bm25.npz: the search builds it at load."""
    from embeddings.bm25_store import BM25_FILE
    from embeddings.search import SearchIndex

    store = IndexStore(tmp_path)
    store.build(corpus_of(mini_corpus), encoder)
    generation = store.current_generation()
    manifest = json.loads((generation / "manifest.json").read_text())
    del manifest["files"][BM25_FILE]
    (generation / "manifest.json").write_text(json.dumps(manifest))
    (generation / BM25_FILE).unlink()
    stored = store.load()
    assert stored.bm25 is None
    assert SearchIndex(stored, encoder).search("ICE detainer 48 hours").hits[0].source.id == "mini-detainers"
