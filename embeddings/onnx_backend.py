"""Runs a BERT-style model's ONNX export with ONNX Runtime and `tokenizers`: no torch in the process."""
from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from embeddings.errors import EncoderError


def _pad_token(model_dir: Path) -> str | None:
    """The padding token the model's tokenizer configuration names, if any."""
    for name in ("tokenizer_config.json", "special_tokens_map.json"):
        try:
            token = json.loads((model_dir / name).read_text()).get("pad_token")
        except (OSError, ValueError):
            continue
        if isinstance(token, dict):  # {"content": "[PAD]", ...} in some files
            token = token.get("content")
        if isinstance(token, str):
            return token
    return None


class OnnxBackend:
    """Tokenize with the model's tokenizer.json, run the transformer in ONNX Runtime, pool in numpy."""

    def __init__(self, model_dir: Path, onnx_file: Path, pipeline: dict) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        tokenizer_file = model_dir / "tokenizer.json"
        if not tokenizer_file.is_file():
            raise EncoderError(f"{model_dir} has no tokenizer.json, which the ONNX backend needs; "
                               "set CITEBOT_ENCODER_BACKEND=torch for this model")
        self.tokenizer = Tokenizer.from_file(str(tokenizer_file))
        # The same truncation and padding the transformers tokenizer applies when called with
        # truncation=True, max_length=..., padding=True: right side, longest first.
        self.tokenizer.enable_truncation(pipeline["max_length"])
        pad_token = _pad_token(model_dir) or "[PAD]"
        pad_id = self.tokenizer.token_to_id(pad_token)
        self.tokenizer.enable_padding(pad_id=pad_id if pad_id is not None else 0, pad_token=pad_token)
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3  # warnings about unused initializers are not the operator's concern
        self.onnx_file = onnx_file
        self.session = onnxruntime.InferenceSession(str(onnx_file), options, providers=["CPUExecutionProvider"])
        self.inputs = [i.name for i in self.session.get_inputs()]
        # Hand the memory a batch needed back after each run: an index build's batches of long passages would
        # otherwise keep a serving bot at twice its size (bench/RESULTS.md), for no measurable speed.
        self.run_options = onnxruntime.RunOptions()
        self.run_options.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")
        self.mean_pooling = pipeline["mode"] == "pooling_mode_mean_tokens"
        width = self.session.get_outputs()[0].shape[-1]
        self.dimension = width if isinstance(width, int) else int(json.loads((model_dir / "config.json")
                                                                               .read_text())["hidden_size"])

    def run(self, texts: Sequence[str]) -> np.ndarray:
        """Pooled (not yet normalised) vectors of a batch of texts."""
        encodings = self.tokenizer.encode_batch(list(texts))
        arrays = {"input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
                  "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
                  "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64)}
        hidden = self.session.run(None, {name: arrays[name] for name in self.inputs}, self.run_options)[0]
        if not self.mean_pooling:
            return hidden[:, 0].astype(np.float32)
        weights = arrays["attention_mask"][..., None].astype(np.float32)
        return ((hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)).astype(np.float32)
