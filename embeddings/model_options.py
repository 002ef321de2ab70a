"""What the model settings can name: the bundled model, the runtimes and the precisions (imports nothing heavy)."""
from __future__ import annotations

BUNDLED_MODEL = "bundled:all-MiniLM-L6-v2"
BACKENDS = ("auto", "onnx", "torch")
PRECISIONS = ("fp32", "int8")
