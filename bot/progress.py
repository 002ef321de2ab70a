"""A small progress bar on stderr for long work (embedding passages)."""
from __future__ import annotations

import sys
import time
from typing import TextIO


class ProgressBar:
    """Redraws one line on a terminal; prints a few plain lines when stderr is a file or pipe."""

    def __init__(self, label: str, stream: TextIO | None = None) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.interactive = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.started = time.monotonic()
        self._last_quarter = -1

    def __call__(self, done: int, total: int) -> None:
        """Show that done of total items are finished."""
        if total <= 0:
            return
        share = min(1.0, done / total)
        if self.interactive:
            filled = int(share * 30)
            rate = done / max(time.monotonic() - self.started, 1e-6)
            self.stream.write(f"\r{self.label} [{'#' * filled}{'.' * (30 - filled)}] {done}/{total} ({rate:.0f}/s)")
            if done >= total:
                self.stream.write("\n")
        else:
            quarter = int(share * 4)
            if quarter != self._last_quarter:
                self._last_quarter = quarter
                self.stream.write(f"{self.label}: {done}/{total}\n")
        self.stream.flush()
