"""Progress on stderr: every stage of a long run is named, counted stages get a bar, and
nothing at all is written when stderr is not a terminal or the run is small."""
from __future__ import annotations

import io

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
    done = int(last.split("] ")[1].split("/")[0])
    assert done == int(last.split("/")[1].split(" ")[0]) > 2000     # every entry counted, once
    assert text.endswith("\n")


def test_nothing_is_drawn_off_a_terminal_or_for_a_small_run():
    assert run(io.StringIO(), 2500) == ""
    assert run(Terminal(), 300) == ""


def test_a_shorter_label_clears_the_rest_of_the_line():
    out = Terminal()
    bar = ProgressBar(5000, stream=out)
    bar.stage("derive")
    bar.stage("table")
    last = out.getvalue().split("\r")[-1]
    assert last.startswith(STAGE_LABELS["table"]) and len(last) == len(STAGE_LABELS["derive"] + " …")
