"""Progress on stderr for long runs — and silence when stderr is not a terminal.

A national file spends seconds in each stage, so the line says which stage is running
(``校验 validating …``) and, where records are counted (the rules, writing the report), draws
a bar with the rate. Nothing is drawn for small runs or when stderr is redirected.
"""
from __future__ import annotations

import sys
import time
from typing import Callable, TextIO

#: Told how many records (or report entries) are done so far.
Progress = Callable[[int], None]

#: What a user reads for each stage of the lifecycle (the names of ``Evaluator`` timings).
STAGE_LABELS = {
    "load": "读取 reading",
    "validate": "校验 validating",
    "table": "整理 preparing",
    "derive": "计算指标 deriving measures",
    "school_rules": "学校规则 school rules",
    "scores": "评分 scoring",
    "county": "县域 counties",
    "report": "汇总 summarising",
    "write": "写出 writing",
}


class ProgressBar:
    """Call with the number of records just done; draws at most ten times a second.

    :meth:`stage` starts a new stage (its label, and a new count if ``total`` is given);
    the evaluator calls it as it moves on, the CLI when it writes the report.
    """

    def __init__(self, total: int, label: str = STAGE_LABELS["school_rules"], stream: TextIO | None = None,
                 min_total: int = 2000):
        self.stream = stream or sys.stderr
        self.total = total
        self.label = label
        self.done = 0
        self.enabled = total >= min_total and getattr(self.stream, "isatty", lambda: False)()
        self._last = 0.0
        self._start = time.monotonic()
        self._width = 0

    def stage(self, name: str, total: int | None = None) -> None:
        """A new stage began: show its label; count ``total`` records from now if given."""
        self.label = STAGE_LABELS.get(name, name)
        if total is not None:
            self.total, self.done = total, 0
            self._start = time.monotonic()
        self._draw(f"{self.label} …")
        self._last = 0.0

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
        self._draw(f"{self.label} [{bar:<30}] {self.done}/{self.total} ({rate:,.0f}/s)")

    def _draw(self, text: str) -> None:
        if not self.enabled:
            return
        self.stream.write("\r" + text + " " * max(0, self._width - len(text)))
        self._width = len(text)
        self.stream.flush()

    def close(self) -> None:
        """End the line (once); later calls draw nothing."""
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()
            self.enabled = False
