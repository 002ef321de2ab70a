"""Model work that imports torch runs in a child process: its memory goes when the child ends."""
from __future__ import annotations

import subprocess
import sys

from embeddings.errors import EncoderError


def run_module(module: str, arguments: list[str], doing: str, timeout: float, advice: str) -> None:
    """Run `python -m module arguments`; raise EncoderError saying what failed (`doing`) and what to do."""
    try:
        done = subprocess.run([sys.executable, "-m", module, *arguments], capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        raise EncoderError(f"{doing} took over {timeout:g} s and was stopped; {advice}") from None
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-5:])
        raise EncoderError(f"could not finish {doing} (exit {done.returncode}): {tail}\n{advice}")
