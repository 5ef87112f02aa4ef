"""What national-scale runs rely on: --verdicts findings, --timings, compact streamed JSON, the
column paths (validation → table) and the shortcuts that must not change a result."""
from __future__ import annotations

import csv
import json

import numpy as np
import polars as pl
import pytest
from click.testing import CliRunner

from edubalance import Evaluator, cli, output
from edubalance.fields import label
from edubalance.loading import RawRow
from edubalance.readers import load_file
from edubalance.render import render_table
from edubalance.synthetic import county_records, generate
from edubalance.table import Table
from edubalance.validation import validate


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A small national-style file: Chinese headers, 是/否, empty cells for missing values."""
    records = generate(300, seed=21, missing_rate=0.08)
    counties = county_records(records, seed=21)
    folder = tmp_path_factory.mktemp("scale")
    out = []
    for name, rows in (("schools.csv", records), ("counties.csv", counties)):
        names = sorted({k for r in rows for k in r})
        path = folder / name
        with path.open("w", encoding="utf-8", newline="") as f:
            w = csv.writer(f)
            w.writerow([label(n) for n in names])
            for r in rows:
                w.writerow(["" if r.get(n) is None else ("是" if r[n] is True else "否" if r[n] is False else r[n])
                            for n in names])
        out.append(path)
    return out


def run(*args):
    result = CliRunner().invoke(cli.main, [str(a) for a in args], catch_exceptions=False)
    assert "Traceback" not in result.output
    return result


def evaluate_json(files, tmp_path, *extra):
    out = tmp_path / f"r{len(extra)}{'_'.join(map(str, extra))}.json"
    result = run("evaluate", *files, "-e", "vector", "-f", "json", "-o", out, *extra)
    assert result.exit_code in (0, 1)
    return out, json.loads(out.read_text(encoding="utf-8"))


def test_findings_lists_only_failed_and_missing_verdicts_and_keeps_the_rest(files, tmp_path):
    _, full = evaluate_json(files, tmp_path)
    _, slim = evaluate_json(files, tmp_path, "--verdicts", "findings")
    assert slim["summary"] == full["summary"] and slim["counties"] == full["counties"]
    assert len(slim["schools"]) == len(full["schools"]) > 250
    for a, b in zip(slim["schools"], full["schools"]):
        assert [v for v in b["verdicts"] if v["status"] in ("fail", "missing_data")] == a["verdicts"]
        assert {k: v for k, v in a.items() if k != "verdicts"} == {k: v for k, v in b.items() if k != "verdicts"}
        assert len(a["verdicts"]) == a["counts"]["fail"] + a["counts"]["missing_data"]
    assert any(s["counts"]["pass"] for s in slim["schools"])
    assert not any(v["status"] in ("pass", "not_applicable") for s in slim["schools"] for v in s["verdicts"])


def test_unknown_verdicts_mode_is_a_usage_error(files):
    result = run("evaluate", files[0], "--verdicts", "some")
    assert result.exit_code == 2


def test_timings_go_to_stderr_and_name_every_stage(files, tmp_path):
    out = tmp_path / "t.json"
    result = CliRunner().invoke(cli.main, ["evaluate", *map(str, files), "-e", "vector", "-f", "json",
                                           "-o", str(out), "--timings"])
    line = next(x for x in result.output.splitlines() if x.startswith("计时 timings"))
    stages = dict(p.rsplit(" ", 1) for p in line.split(": ", 1)[1].split(", "))
    assert set(stages) >= {"setup", "load", "validate", "table", "derive", "school_rules", "scores",
                           "county", "report", "write", "total"}
    assert all(float(v) >= 0 for v in stages.values())
    assert float(stages["total"]) >= float(stages["load"]) + float(stages["validate"])
    json.loads(out.read_text(encoding="utf-8"))       # the report itself is untouched


def test_large_reports_are_written_compact_with_the_same_content(files, tmp_path, monkeypatch):
    indented_path, indented = evaluate_json(files, tmp_path)
    assert "\n  " in indented_path.read_text(encoding="utf-8")
    monkeypatch.setattr(output, "JSON_INDENT_MAX", 10)
    out = tmp_path / "compact.json"
    run("evaluate", *files, "-e", "vector", "-f", "json", "-o", out)
    text = out.read_text(encoding="utf-8")
    assert "\n" not in text.strip() and json.loads(text) == indented
    stdout = run("evaluate", *files, "-e", "vector", "-f", "json").output
    assert json.loads(stdout.split("\n", 1)[0]) == indented


def test_evaluator_timings_are_filled_and_summed(files):
    times: dict[str, float] = {}
    ev = Evaluator(engine="vector", timings=times)
    ev.evaluate_files(files)
    first = dict(times)
    assert {"load", "validate", "table", "derive", "school_rules", "scores", "county", "report"} <= set(first)
    ev.evaluate_files(files)
    assert all(times[k] >= first[k] for k in first)
    assert Evaluator(engine="vector").timings is None


def test_evaluate_record_equals_the_entry_of_a_full_evaluation(vector_evaluator):
    records = [r for r in generate(40, seed=4, missing_rate=0.1)]
    together = {(s["school_id"], s["stage"]): s for s in vector_evaluator.evaluate_records(records).schools}
    checked = 0
    for rec in records:
        key = (rec["school_id"], rec["stage"])
        if key not in together:
            continue
        alone = vector_evaluator.evaluate_record(rec)
        # school_total_students sums the records of one school: alone, a nine-year school has one
        if sum(r["school_id"] == rec["school_id"] for r in records) > 1:
            assert alone["measures"]["school_total_students"] == rec.get("students")
            continue
        expected = dict(together[key], source={"file": "<records>", "row": 1})
        assert alone == expected
        checked += 1
    assert checked > 15


def test_frame_table_equals_the_record_table(files):
    rows = load_file(files[0]).frame
    result = validate(rows, known_provinces=["guizhou", "shaanxi", "anhui", "national"])
    assert result.frame.height == len(result.accepted) > 250
    numeric = Evaluator()._numeric
    a = Table.from_frame(result.frame[::3], numeric)
    b = Table.from_records(result.accepted[::3], numeric)
    assert a.columns.keys() == b.columns.keys()
    for name in a.columns:
        x, y = a.columns[name], b.columns[name]
        assert x.dtype == y.dtype, name
        if x.dtype == object:
            assert x.tolist() == y.tolist(), name
        else:
            assert np.array_equal(x, y, equal_nan=True), name
    assert np.isnan(a.columns["boarders"]).any()         # missing values stay missing


def test_repeated_cells_are_judged_each_time():
    """A value remembered for one field never stands in for another, and a bad one stays bad."""
    base = {"school_id": "5201020001", "school_name": "一小", "stage": "小学", "school_type": "小学",
            "province": "guizhou", "county_code": "520102", "year": "2023", "location": "乡村",
            "students": "1", "is_boarding": "1", "classes": "abc"}
    rows = [RawRow("f", i + 2, dict(base, school_id=f"52010200{i:02d}")) for i in range(4)]
    rows[3].data["is_boarding"] = "2"          # "2" is a fine count but not a boolean
    result = validate(rows, known_provinces=["guizhou"])
    assert len(result.rejected) == 4
    assert all(any(p.code == "E102" and p.field == "classes" for p in r.problems) for r in result.rejected)
    assert any(p.field == "is_boarding" for p in result.rejected[3].problems)
    ok = validate([RawRow("f", 2, dict(base, classes="2"))], known_provinces=["guizhou"])
    rec = ok.accepted[0]
    assert rec["students"] == 1 and rec["is_boarding"] is True and rec["classes"] == 2
    assert rec["stage"] == "primary" and rec["location"] == "rural"


def test_csv_cells_are_stripped_unless_the_file_has_no_spaces(tmp_path):
    header = "学校标识码,学校名称,学段,在校生数\n"
    spaced = tmp_path / "spaced.csv"
    spaced.write_text(header + "5201020001, 一小 ,小学, 12\n5201020002,二小,初中,\n", encoding="utf-8")
    plain = tmp_path / "plain.csv"
    plain.write_text(header + "5201020001,一小,小学,12\n5201020002,二小,初中,\n", encoding="utf-8")
    a, b = load_file(spaced).rows, load_file(plain).rows
    assert [r.data for r in a] == [r.data for r in b]
    assert load_file(spaced).frame.equals(load_file(plain).frame.with_columns(_file=pl.lit(str(spaced))))
    assert a[0].data["school_name"] == "一小" and a[1].data["students"] is None


def test_the_text_report_builds_only_the_schools_it_shows(vector_evaluator):
    records = generate(600, seed=13, missing_rate=0.1)
    lazy = vector_evaluator.evaluate_records(records)
    n, top = lazy.schools_with_findings(25)
    assert lazy._schools is None                      # nothing else was built
    assert not any("text_columns" in vars(b) for b in lazy.blocks)     # nor the blocks' text columns
    assert lazy.school(7) == vector_evaluator.evaluate_records(records).schools[7]
    assert not any("text_columns" in vars(b) for b in lazy.blocks)
    full = vector_evaluator.evaluate_records(records)
    failing = [s for s in full.schools if s["status"] in ("fail", "incomplete")]
    failing.sort(key=lambda s: (s["status"] != "fail", s["score"]["overall"] or 0))
    assert n == len(failing) > 25 and top == failing[:25]
    assert full.schools_with_findings(25) == (n, top)
    assert render_table(lazy, 25) == render_table(full, 25)
