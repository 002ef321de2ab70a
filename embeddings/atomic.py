"""Write files whole or not at all: temporary file, fsync, rename, fsync the folder."""
from __future__ import annotations

import os
import signal
from pathlib import Path

CRASH_POINT_VARIABLE = "CITEBOT_CRASH_AT"


def crash_point(name: str) -> None:
    """Crash-safety tests set CITEBOT_CRASH_AT=name to SIGKILL the process exactly here."""
    if os.environ.get(CRASH_POINT_VARIABLE) == name:
        os.kill(os.getpid(), signal.SIGKILL)


def fsync_directory(path: Path) -> None:
    """Make a rename inside path durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_file(path: Path) -> None:
    """Flush a file that was written by a library (numpy, FAISS, SQLite) to disk."""
    with open(path, "rb+") as handle:
        os.fsync(handle.fileno())


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Replace path with data so that a crash leaves either the old or the new content."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(temporary, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    crash_point(f"before-replace:{path.name}")
    os.replace(temporary, path)
    fsync_directory(path.parent)


def write_text_atomic(path: Path, text: str) -> None:
    """Text version of write_bytes_atomic (UTF-8)."""
    write_bytes_atomic(path, text.encode("utf-8"))
