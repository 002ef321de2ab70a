"""The encoder: bundled model offline, both backends agree, each sentence is embedded on its own."""
from __future__ import annotations

import numpy as np
import pytest

from embeddings.encoder import (
    BUNDLED_MODEL,
    Encoder,
    EncoderError,
    EncoderInput,
    _SentenceTransformersBackend,
    _TransformersBackend,
    resolve_model,
)
from embeddings.onnx_backend import OnnxBackend

TEXTS = ["which states opted out?", "Illinois Gov. Pat Quinn ended the agreement on May 4, 2011. " * 40, "x"]


def test_bundled_model_loads_offline_through_the_onnx_backend(encoder):
    import os

    assert os.environ["HF_HUB_OFFLINE"] == "1"
    assert isinstance(encoder.backend, OnnxBackend) and encoder.onnx_file is not None
    vectors = encoder.encode_queries(TEXTS)
    assert vectors.shape == (3, 384) and np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)


def test_torch_backend_setting_runs_transformers(torch_encoder):
    assert isinstance(torch_encoder.backend, _TransformersBackend)
    assert torch_encoder.description == "transformers" and torch_encoder.onnx_file is None


def test_sentence_transformers_backend_gives_the_same_vectors(torch_encoder):
    fallback = _SentenceTransformersBackend(resolve_model(BUNDLED_MODEL))
    light = torch_encoder.backend.run(TEXTS)
    heavy = fallback.run(TEXTS)
    for a, b in zip(light, heavy):
        assert float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b))) > 0.9999


def test_sentence_vectors_follow_their_spans(encoder):
    text = "Detainers ask jails to hold people for 48 hours. The weather in Boston was sunny and warm."
    first_end = text.index(".") + 1
    encoded = encoder.encode_passages([EncoderInput(text, ((0, first_end), (first_end + 1, len(text))))])[0]
    query = encoder.encode_queries(["How long can a jail hold someone?"])[0]
    scores = encoded.sentence_vectors @ query
    assert scores[0] > scores[1] + 0.2
    assert np.allclose(np.linalg.norm(encoded.sentence_vectors, axis=1), 1, atol=1e-5)
    # Embedded on its own: the same vector as the sentence asked as a text by itself.
    alone = encoder.encode_queries([text[:first_end], text[first_end + 1:]])
    assert np.allclose(encoded.sentence_vectors, alone, atol=1e-5)


def test_unknown_model_is_a_clear_error():
    with pytest.raises(EncoderError, match="downloads are off"):
        Encoder("no-such-org/no-such-model").encode_queries(["hi"])


def test_passages_come_back_in_the_order_given_whatever_their_lengths(encoder):
    """Batches are formed longest first; each result must still belong to the input at its position."""
    items = [EncoderInput(text, ((0, len(text)),)) for text in [*TEXTS, "a short one", TEXTS[1][:300]]]
    encoded = encoder.encode_passages(items)
    one_by_one = [encoder.encode_passages([item])[0] for item in items]
    assert len(encoded) == len(items)
    for together, alone in zip(encoded, one_by_one):
        assert float(together.vector @ alone.vector) > 0.9999
        assert np.allclose(together.sentence_vectors, alone.sentence_vectors, atol=1e-4)
