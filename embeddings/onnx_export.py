"""Turn a local BERT-style model folder into an ONNX file (needs torch; run once, in its own process).

`python -m embeddings.onnx_export MODEL_DIR OUT_FILE [--int8]` writes OUT_FILE atomically. The serving
process never imports this module: it starts it as a child process (see `embeddings.onnx_model`), so torch
stays out of its memory.
"""
from __future__ import annotations

import argparse
import inspect
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

# The inputs a BERT-style encoder may take, in the order ONNX Runtime will be fed them.
MODEL_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
OUTPUT = "last_hidden_state"
OPSET = 17


def _accepted_inputs(model: Any) -> list[str]:
    """The inputs of MODEL_INPUTS that this model's forward takes (DistilBERT has no token_type_ids)."""
    parameters = inspect.signature(model.forward).parameters
    return [name for name in MODEL_INPUTS if name in parameters]


def export_fp32(model_dir: Path, out_file: Path) -> None:
    """Trace the transformer (without pooling) to ONNX with dynamic batch and sequence axes."""
    import torch
    from transformers import AutoModel
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()
    # Eager attention traces to plain matrix products; the fused kernel's tracing bakes in shape checks.
    model = AutoModel.from_pretrained(str(model_dir), attn_implementation="eager").eval()
    names = _accepted_inputs(model)

    class LastHiddenState(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *inputs: Any) -> Any:
            return self.model(**dict(zip(names, inputs))).last_hidden_state

    # A padded example, so that the traced graph is the one that applies the attention mask. Small ids
    # exist in every vocabulary; the values do not matter to the trace.
    ids = torch.tensor([[1, 5, 6, 7, 8, 2], [1, 5, 2, 0, 0, 0]])
    mask = torch.tensor([[1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0]])
    examples = {"input_ids": ids, "attention_mask": mask, "token_type_ids": torch.zeros_like(ids)}
    axes = {name: {0: "batch", 1: "sequence"} for name in [*names, OUTPUT]}
    with torch.inference_mode():
        torch.onnx.export(LastHiddenState(), tuple(examples[n] for n in names), str(out_file), dynamo=False,
                          input_names=names, output_names=[OUTPUT], dynamic_axes=axes, opset_version=OPSET)


def quantize_int8(fp32_file: Path, out_file: Path) -> None:
    """Dynamic int8 weights, per output channel with reduced range (per-tensor int8 loses too much)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(fp32_file), str(out_file), per_channel=True, reduce_range=True,
                     weight_type=QuantType.QInt8)


def export(model_dir: Path, out_file: Path, int8: bool = False) -> None:
    """Write the model's ONNX file to out_file, replacing it only when complete."""
    out_file.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_file.parent, prefix=".export-") as scratch:
        fp32 = Path(scratch) / "model.onnx"
        export_fp32(model_dir, fp32)
        final = fp32
        if int8:
            final = Path(scratch) / "model.int8.onnx"
            quantize_int8(fp32, final)
        os.replace(final, out_file)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry for the child process."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("out_file", type=Path)
    parser.add_argument("--int8", action="store_true", help="quantize weights to int8 (per channel)")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import warnings
    warnings.filterwarnings("ignore")  # the tracer's warnings are about code paths the padded example covers
    export(args.model_dir, args.out_file, args.int8)
    return 0


if __name__ == "__main__":
    sys.exit(main())
