"""The cached ONNX export of a model folder: found by the folder's file listing, made once in a child process."""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from embeddings.atomic import write_text_atomic
from embeddings.child import run_module
from embeddings.errors import EncoderError
from embeddings.files import exclusive_lock, file_sha256
from embeddings.model_options import PRECISIONS

EXPORT_VERSION = 1  # bump when onnx_export changes what it writes
EXPORT_TIMEOUT_SECONDS = 900
_SKIPPED = {"README.md", "onnx"}  # files that do not change the vectors (and an export someone put inside)


@dataclass(frozen=True)
class ExportRecord:
    """What export.json says of a cached ONNX file: where it came from, and its size and checksum."""

    export_version: int
    model_dir: str
    model_key: str
    precision: str
    size: int
    sha256: str
    created: float


def model_key(model_dir: Path, precision: str) -> str:
    """Identity of a model folder's contents: every file's path, size and modification time."""
    # Stat, not content: hashing 90 MB of weights would cost every cold start a fifth of a second. A new
    # version of the model package rewrites its files, which changes their times.
    digest = hashlib.sha256(f"export {EXPORT_VERSION}\0{precision}\0".encode())
    for path in sorted(p for p in model_dir.rglob("*") if p.is_file()):
        relative = path.relative_to(model_dir)
        if relative.parts[0] in _SKIPPED:
            continue
        stat = path.stat()
        digest.update(f"{relative}\0{stat.st_size}\0{stat.st_mtime_ns}\0".encode())
    return digest.hexdigest()[:20]


def _read_record(folder: Path) -> ExportRecord | None:
    """The export's record if present, readable and matching its file's size."""
    try:
        record = ExportRecord(**json.loads((folder / "export.json").read_text()))
        if (folder / "model.onnx").stat().st_size != record.size:
            return None
    except (OSError, ValueError, TypeError):
        return None
    return record


def _run_export(model_dir: Path, out_file: Path, precision: str) -> None:
    """Export in a child process: torch is imported there, and its memory goes when the child ends."""
    run_module("embeddings.onnx_export", [str(model_dir), str(out_file), *(["--int8"] if precision == "int8" else [])],
               f"exporting {model_dir} to ONNX", EXPORT_TIMEOUT_SECONDS,
               "Export needs torch and onnx (`make setup` installs both); or set CITEBOT_ENCODER_BACKEND=torch.")


def cached_export(model_dir: Path, cache_dir: Path, precision: str = "fp32") -> Path:
    """Path of the model's ONNX file under cache_dir, exporting it first if it is missing or stale."""
    if precision not in PRECISIONS:
        raise EncoderError(f"unknown encoder precision {precision!r}; choose one of {', '.join(PRECISIONS)}")
    key = model_key(model_dir, precision)
    folder = cache_dir / "onnx" / key
    if _read_record(folder) is not None:
        return folder / "model.onnx"
    with exclusive_lock(cache_dir / "onnx" / f".{key}.lock"):
        if _read_record(folder) is None:  # another process may have finished it while we waited
            folder.mkdir(parents=True, exist_ok=True)
            out_file = folder / "model.onnx"
            _run_export(model_dir, out_file, precision)
            record = ExportRecord(EXPORT_VERSION, str(model_dir), key, precision, out_file.stat().st_size,
                                  file_sha256(out_file), time.time())
            write_text_atomic(folder / "export.json", json.dumps(asdict(record), indent=2))
    return folder / "model.onnx"


def verify_export(onnx_file: Path) -> None:
    """Check a cached export against its recorded checksum; raises EncoderError if it differs."""
    record = _read_record(onnx_file.parent)
    if record is None or file_sha256(onnx_file) != record.sha256:
        raise EncoderError(f"the ONNX export {onnx_file} is damaged (size or checksum differs from export.json); "
                           "delete its folder and it is exported again on next start")
