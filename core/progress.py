"""A progress bar on stderr for long runs — and silence when stderr is not a terminal."""
from __future__ import annotations

import sys
import time
from typing import TextIO


class ProgressBar:
    """Call with the number of records just done; draws at most ten times a second."""

    def __init__(self, total: int, label: str = "evaluating", stream: TextIO | None = None,
                 min_total: int = 2000):
        self.stream = stream or sys.stderr
        self.total = total
        self.label = label
        self.done = 0
        self.enabled = total >= min_total and getattr(self.stream, "isatty", lambda: False)()
        self._last = 0.0
        self._start = time.monotonic()

    def __call__(self, n: int) -> None:
        self.done += n
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last < 0.1 and self.done < self.total:
            return
        self._last = now
        share = min(self.done / self.total, 1.0) if self.total else 1.0
        bar = "#" * int(share * 30)
        rate = self.done / max(now - self._start, 1e-9)
        self.stream.write(f"\r{self.label} [{bar:<30}] {self.done}/{self.total} ({rate:,.0f}/s)")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()
