"""The ONNX backend: the same tokens and vectors as torch, an export made once and checked, settings that say no."""
from __future__ import annotations

import json
import os
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest

from embeddings import onnx_cache
from embeddings.encoder import BUNDLED_MODEL, Encoder, EncoderError, resolve_model
from embeddings.index_store import IndexStore
from embeddings.onnx_cache import cached_export, model_key, verify_export
from knowledge.corpus_loader import BUNDLED_CORPUS, CorpusFolder, load_corpus
from knowledge.passages import split_into_passages
from tests.embeddings.test_index_store import CountingEncoder, corpus_of

MODEL_DIR = Path(resolve_model(BUNDLED_MODEL))
EDGE_TEXTS = ["", "x", "¿Qué es un detainer? Niños, ñandú y acentos: é à ü. 😀",
              "Fingerprints taken at booking go to the FBI and on to DHS. " * 40]  # the last one is truncated


def corpus_sentences(limit: int = 300) -> list[str]:
    """Sentences of the bundled corpus, as the index embeds them."""
    corpus = load_corpus([CorpusFolder(BUNDLED_CORPUS)])
    sentences = [s for source in corpus.sources for p in split_into_passages(source) for s in p.sentences]
    return sentences[:limit]


def test_onnx_vectors_and_tokens_equal_the_torch_ones(shipped_encoder, torch_encoder):
    texts = corpus_sentences() + EDGE_TEXTS
    onnx, torch = shipped_encoder.encode_queries(texts), torch_encoder.encode_queries(texts)
    cosines = np.sum(onnx * torch, axis=1)
    assert cosines.min() >= 0.9999, texts[int(cosines.argmin())]
    reference = torch_encoder.backend.tokenizer(texts, truncation=True, max_length=256)["input_ids"]
    ours = [e.ids[:sum(e.attention_mask)] for e in shipped_encoder.backend.tokenizer.encode_batch(texts)]  # unpadded
    assert ours == [list(ids) for ids in reference]
    assert len(ours[-1]) == 256  # the long text was truncated where transformers truncates it


def test_a_padded_batch_gives_each_text_its_own_vector(encoder):
    together = encoder.backend.run(EDGE_TEXTS)
    alone = np.concatenate([encoder.backend.run([text]) for text in EDGE_TEXTS])
    assert np.allclose(together, alone, atol=1e-4)


def test_export_runs_once_for_concurrent_callers_and_is_checksummed(tmp_path, monkeypatch):
    exports = []
    real = onnx_cache._run_export
    monkeypatch.setattr(onnx_cache, "_run_export", lambda *a: (exports.append(a), real(*a)))
    results: list[Path] = []
    threads = [threading.Thread(target=lambda: results.append(cached_export(MODEL_DIR, tmp_path))) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(exports) == 1 and results[0] == results[1] and results[0].is_file()
    record = json.loads((results[0].parent / "export.json").read_text())
    assert record["size"] == results[0].stat().st_size and record["precision"] == "fp32"
    verify_export(results[0])
    assert cached_export(MODEL_DIR, tmp_path) == results[0] and len(exports) == 1  # found, not exported again

    with results[0].open("r+b") as handle:  # same size, one byte changed: only the checksum can tell
        handle.seek(1000)
        byte = handle.read(1)
        handle.seek(1000)
        handle.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(EncoderError, match="damaged"):
        verify_export(results[0])


def test_the_export_key_follows_the_model_files(tmp_path):
    model = tmp_path / "model"
    shutil.copytree(MODEL_DIR, model)
    before = model_key(model, "fp32")
    assert model_key(model, "int8") != before
    (model / "README.md").write_text("notes")  # documentation does not change the vectors
    assert model_key(model, "fp32") == before
    stat = (model / "config.json").stat()
    os.utime(model / "config.json", ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert model_key(model, "fp32") != before


def test_a_failed_export_says_what_to_do(tmp_path):
    broken = tmp_path / "model"
    broken.mkdir()
    (broken / "config.json").write_text("{}")
    with pytest.raises(EncoderError, match="CITEBOT_ENCODER_BACKEND=torch"):
        cached_export(broken, tmp_path / "cache")


def test_backend_and_precision_settings_are_checked(tmp_path):
    with pytest.raises(EncoderError, match="auto, onnx, torch"):
        Encoder(backend="tensorflow")
    with pytest.raises(EncoderError, match="fp32, int8"):
        Encoder(precision="fp16")
    plain = tmp_path / "model"
    shutil.copytree(MODEL_DIR, plain)
    modules = json.loads((plain / "modules.json").read_text())
    modules.append({"idx": 3, "name": "3", "path": "3_Dense", "type": "sentence_transformers.models.Dense"})
    (plain / "modules.json").write_text(json.dumps(modules))
    with pytest.raises(EncoderError, match="not a plain Transformer -> Pooling model"):
        Encoder(str(plain), backend="onnx", cache_dir=tmp_path).encode_queries(["hi"])
    with pytest.raises(EncoderError, match="needs the ONNX backend"):
        Encoder(backend="torch", precision="int8").encode_queries(["hi"])


def test_auto_without_a_cache_folder_runs_on_torch():
    assert Encoder(cache_dir=None).description == "transformers"


def test_vectors_made_by_torch_are_reused_by_onnx_and_the_manifest_says_who_made_them(
        tmp_path, shipped_encoder, torch_encoder, mini_corpus):
    store = IndexStore(tmp_path / "home")
    store.build(corpus_of(mini_corpus), torch_encoder)
    assert store.load().manifest.encoder == "transformers"
    counting = CountingEncoder(shipped_encoder)
    (mini_corpus / "articles" / "extra.md").write_text(
        "---\nid: extra\ntitle: Extra\npublisher: Example\npublished: 2020-01-01\nurl: https://example.org/x\n"
        "kind: summary\n---\nA new passage about detainers and fingerprints.\n")
    report = store.build(corpus_of(mini_corpus), counting)
    assert report.reused == report.passages - 1 and counting.embedded == 1  # same vectors: nothing redone
    assert store.load().manifest.encoder == "onnxruntime fp32"
    assert store.load(model=shipped_encoder.identity) is not None


def test_int8_is_a_different_model_for_the_index(tmp_path, shipped_encoder, mini_corpus):
    encoder = shipped_encoder
    int8 = Encoder(precision="int8", cache_dir=encoder.cache_dir)
    assert int8.identity != encoder.identity and int8.description == "onnxruntime int8"
    store = IndexStore(tmp_path / "home")
    store.build(corpus_of(mini_corpus), encoder)
    counting = CountingEncoder(int8, model_name=int8.identity)
    report = store.build(corpus_of(mini_corpus), counting)
    assert report.reused == 0 and counting.embedded == report.passages
    texts = corpus_sentences(100)
    cosines = np.sum(int8.encode_queries(texts) * encoder.encode_queries(texts), axis=1)
    assert 0.95 < cosines.min() < 0.99999  # close to fp32, and really quantized


def test_auto_falls_back_to_torch_with_a_warning_when_the_export_cannot_be_made(tmp_path, caplog):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the cache folder should be")
    encoder = Encoder(cache_dir=blocked)
    assert encoder.description == "transformers"
    assert any("ONNX backend unavailable" in r.getMessage() for r in caplog.records)
    with pytest.raises(EncoderError):
        Encoder(backend="onnx", cache_dir=blocked).encode_queries(["hi"])


def test_the_export_lives_in_the_virtualenv_unless_a_folder_is_set(tmp_path):
    import sys

    from bot.settings import Settings

    assert Settings(home=tmp_path, model_cache=tmp_path / "models").model_cache_home == tmp_path / "models"
    if sys.prefix != sys.base_prefix and os.access(sys.prefix, os.W_OK):  # the project's virtualenv
        assert Settings(home=tmp_path).model_cache_home == Path(sys.prefix) / "var" / "citebot"
