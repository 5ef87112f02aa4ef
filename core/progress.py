"""Progress on stderr for long runs — and silence when stderr is not a terminal.

A national file spends seconds in each stage, so the line says which stage is running
(``校验 validating …``) and, where records are counted (the rules, writing the report), draws
a bar with the rate. Nothing is drawn for small runs or when stderr is redirected. The line is
tqdm's: it measures Chinese text by its width on screen, so a shorter line clears a longer one.
"""
from __future__ import annotations

import shutil
import sys
from typing import Any, Callable, TextIO

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

#: A stage whose records are not counted: its label only.
_LABEL = "{desc} …"
#: A counted stage: the label, a bar, how many of how many, and the rate in whole records.
_BAR = "{desc} |{bar:20}| {n_fmt}/{total_fmt} ({per_second} 条/秒 per s)"


class ProgressBar:
    """Call with the number of records just done (the line is redrawn at most ten times a
    second). :meth:`stage` starts a new stage (its label, and a new count if ``total`` is
    given); the evaluator calls it as it moves on, the CLI when it writes the report."""

    def __init__(self, total: int, label: str = STAGE_LABELS["school_rules"], stream: TextIO | None = None,
                 min_total: int = 2000):
        stream = stream or sys.stderr
        self.bar: Any = None
        if total >= min_total and getattr(stream, "isatty", lambda: False)():
            from tqdm import tqdm                  # only when drawn: its import costs a run without a terminal

            class Line(tqdm):
                monitor_interval = 0               # no monitor thread: it outlives the bar and the process must end alone

                @property
                def format_dict(self) -> dict:     # the rate in whole records: tqdm's own has two decimals
                    found = super().format_dict
                    rate = found["rate"] or (found["n"] / found["elapsed"] if found["elapsed"] else 0)
                    return {**found, "per_second": f"{rate:,.0f}"}

            # the terminal's size, or 80 × 24 where it tells none (a new pseudo-terminal: tqdm would draw nothing)
            size = shutil.get_terminal_size()
            # position 0: a command draws one line, never nested under a bar left open elsewhere
            self.bar = Line(total=total, desc=label, file=stream, bar_format=_LABEL, mininterval=0.1,
                            ascii=" #", ncols=size.columns, nrows=size.lines, leave=total > 0, position=0)

    def stage(self, name: str, total: int | None = None) -> None:
        """A new stage began: show its label; count ``total`` records from now if given."""
        if self.bar is None:
            return
        self.bar.set_description_str(STAGE_LABELS.get(name, name), refresh=False)
        self.bar.bar_format = _LABEL
        if total is not None:
            self.bar.reset(total)                  # the count and the rate start again
        self.bar.refresh()

    def __call__(self, n: int) -> None:
        if self.bar is not None:
            self.bar.bar_format = _BAR
            self.bar.update(n)

    def close(self) -> None:
        """End the line (once); later calls draw nothing."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None
