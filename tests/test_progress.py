"""Progress on stderr: every stage of a long run is named, counted stages get a bar, and
nothing at all is written when stderr is not a terminal or the run is small."""
from __future__ import annotations

import io
import os
import pty
import re
import sys
import threading
import unicodedata

from edubalance import Evaluator
from edubalance.progress import STAGE_LABELS, ProgressBar
from edubalance.synthetic import generate


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def run(stream, n: int) -> str:
    records = generate(n, seed=4)
    ev = Evaluator(engine="vector")
    bar = ProgressBar(len(records), stream=stream)
    ev.on_stage = bar.stage
    report = ev.evaluate_records(records, progress=bar)
    bar.stage("write", report.evaluated)
    report.write_json(io.BytesIO(), progress=bar)
    bar.close()
    return stream.getvalue()


def test_a_long_run_names_each_stage_and_counts_the_writing():
    text = run(Terminal(), 2500)
    for stage in ("validate", "derive", "school_rules", "county", "write"):
        assert STAGE_LABELS[stage] in text, stage
    last = text.rstrip("\n").split("\r")[-1]
    assert last.startswith(STAGE_LABELS["write"])
    done, total = map(int, re.search(r"\| (\d+)/(\d+) \(", last).groups())
    assert done == total > 2000                                      # every entry counted, once
    assert re.search(r"\(\d{1,3}(,\d{3})* 条/秒 per s\)", last) and text.endswith("\n")   # whole records a second


def test_nothing_is_drawn_off_a_terminal_or_for_a_small_run():
    assert run(io.StringIO(), 2500) == ""
    assert run(Terminal(), 300) == ""


def test_a_shorter_label_clears_the_rest_of_the_line():
    out = Terminal()
    bar = ProgressBar(5000, stream=out)
    bar.stage("derive")
    bar.stage("table")
    last = out.getvalue().split("\r")[-1]
    # measured on screen: each Chinese character takes two columns
    assert last.startswith(STAGE_LABELS["table"]) and width(last) >= width(STAGE_LABELS["derive"] + " …")
    assert width(last.rstrip()) < width(STAGE_LABELS["derive"] + " …")


def width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def test_a_terminal_that_tells_no_size_still_gets_its_line(monkeypatch):
    master, follower = pty.openpty()               # a new pseudo-terminal: 0 columns, 0 rows
    os.set_blocking(master, False)
    with os.fdopen(follower, "w", encoding="utf-8") as terminal:
        monkeypatch.setattr(sys, "stderr", terminal)
        bar = ProgressBar(5000)
        bar.stage("school_rules", 5000)
        bar(5000)
        bar.close()
        terminal.flush()
        chunks = []
        while True:                                # a pseudo-terminal hands over its output in parts
            try:
                chunk = os.read(master, 1 << 16)
            except (BlockingIOError, OSError):
                break
            if not chunk:
                break
            chunks.append(chunk)
        drawn = b"".join(chunks).decode(errors="replace")
    os.close(master)
    assert "5000/5000" in drawn


def test_a_drawn_line_leaves_no_thread_behind():
    """A command's process ends at once only when no other thread runs (``console.end``)."""
    before = threading.active_count()
    bar = ProgressBar(5000, stream=Terminal())
    bar.stage("school_rules", 5000)
    bar(5000)
    assert threading.active_count() == before
    bar.close()
    assert threading.active_count() == before
