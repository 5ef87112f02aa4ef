"""Report formats and where they go: JSON, NDJSON and Parquet hold the same entries, and every
output error is one message and exit 2 that leaves nothing behind but what was there."""
from __future__ import annotations

import errno
import json
import math
import os
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from edubalance.synthetic import county_records, generate, write_csv

TABLES = {"schools", "verdicts", "counties", "county_verdicts", "rejected", "rules", "summary"}


@pytest.fixture(scope="module")
def demo_files(vector_evaluator):
    demos = {}
    for found in vector_evaluator.pm.hook.edubalance_demo_data():
        demos.update(found or {})
    return demos["guizhou"]


@pytest.fixture(scope="module")
def synthetic_files(tmp_path_factory):
    """A few thousand records with missing values and some bad rows, schools and counties."""
    folder = tmp_path_factory.mktemp("synthetic")
    records = generate(3000, seed=8, missing_rate=0.05)
    records[5]["students"] = -3                      # rejected
    records[9]["stage"] = "college"                  # rejected
    write_csv(folder / "schools.csv", records)
    write_csv(folder / "counties.csv", county_records(records, seed=8))
    return [folder / "schools.csv", folder / "counties.csv"]


def _json_report(run, files, tmp_path, *extra):
    out = tmp_path / "r.json"
    result = run("evaluate", *files, "-e", "vector", "-o", out, *extra)
    assert result.exit_code in (0, 1), result.output
    return json.loads(out.read_bytes())


def _assert_parquet_equals_json(folder: Path, data: dict) -> None:
    assert {p.stem for p in folder.iterdir()} == TABLES
    tables = {name: pq.read_table(folder / f"{name}.parquet").to_pydict() for name in TABLES}
    schools, verdicts = tables["schools"], tables["verdicts"]
    assert schools["school_key"] == list(range(len(data["schools"])))
    for key in ("school_id", "stage", "status", "ruleset", "county_code", "year"):
        assert schools[key] == [s[key] for s in data["schools"]], key
    assert schools["score_overall"] == pytest.approx([s["score"]["overall"] for s in data["schools"]], nan_ok=True)
    assert schools["provisional_rules"] == [s["provisional_rules"] for s in data["schools"]]
    want = [(k, v["rule_id"], v["status"], v["value"], v["threshold"], (v["gap"] or {}).get("value"),
             (v["gap"] or {}).get("share")) for k, s in enumerate(data["schools"]) for v in s["verdicts"]]
    got = list(zip(verdicts["school_key"], verdicts["rule_id"], verdicts["status"], verdicts["value"],
                   verdicts["threshold"], verdicts["gap"], verdicts["gap_share"]))
    assert got == want                                         # one row per listed (school, rule), in order
    assert len({(k, r) for k, r, *_ in got}) == len(got)
    counties = tables["counties"]
    assert counties["county_code"] == [c["county_code"] for c in data["counties"]]
    assert counties["status"] == [c["status"] for c in data["counties"]]
    cv = tables["county_verdicts"]
    assert list(zip(cv["county_key"], cv["rule_id"], cv["stage"], cv["status"])) == [
        (k, v["rule_id"], v.get("stage"), v["status"]) for k, c in enumerate(data["counties"]) for v in c["verdicts"]]
    rejected = tables["rejected"]
    assert len(rejected["code"]) == sum(len(r["problems"]) for r in data["rejected"] + data["rejected_counties"]) \
        + len(data["warnings"])
    rules = tables["rules"]
    assert {(k, r) for k, r in zip(rules["ruleset"], rules["rule_id"])} == {
        (key, r) for key, cat in data["rulesets"].items() for r in [*cat["rules"], *cat["county_rules"]]}
    summary = tables["summary"]
    assert summary["evaluated"] == [data["records"]["evaluated"]] and summary["read"] == [data["records"]["read"]]
    assert json.loads(summary["head_json"][0])["rulesets"] == data["rulesets"]


def test_parquet_of_a_demo_county_holds_the_json_report(run, demo_files, tmp_path):
    data = _json_report(run, demo_files, tmp_path)
    result = run("evaluate", *demo_files, "-e", "vector", "-o", tmp_path / "out.parquet")
    assert result.exit_code == 1 and "out.parquet" in result.output
    _assert_parquet_equals_json(tmp_path / "out.parquet", data)
    verdicts = pq.read_table(tmp_path / "out.parquet" / "verdicts.parquet")
    rules = {r for cat in data["rulesets"].values() for r in cat["rules"]}
    assert verdicts.num_rows == len(data["schools"]) * len(rules)          # every rule of every school


@pytest.mark.parametrize("mode", ["all", "findings"])
def test_parquet_of_synthetic_records_holds_the_json_report(run, synthetic_files, tmp_path, mode):
    data = _json_report(run, synthetic_files, tmp_path, "--verdicts", mode)
    assert len(data["schools"]) > 2500 and data["rejected"] and len(data["rulesets"]) >= 3
    run("evaluate", *synthetic_files, "-e", "vector", "--verdicts", mode, "-f", "parquet", "-o", tmp_path / "p")
    _assert_parquet_equals_json(tmp_path / "p", data)
    statuses = set(pq.read_table(tmp_path / "p" / "verdicts.parquet").column("status").to_pylist())
    assert statuses == ({"fail", "missing_data"} if mode == "findings" else
                        {"pass", "fail", "not_applicable", "missing_data"})


def test_ndjson_lines_are_the_json_reports_entries(run, synthetic_files, tmp_path):
    data = _json_report(run, synthetic_files, tmp_path)
    run("evaluate", *synthetic_files, "-e", "vector", "-o", tmp_path / "r.ndjson")
    lines = [json.loads(line) for line in (tmp_path / "r.ndjson").read_bytes().splitlines()]
    head, entries = lines[0], lines[1:]
    assert head == {k: v for k, v in data.items() if k not in ("schools", "counties")}
    schools = [e for e in entries if "school_id" in e]
    counties = [e for e in entries if "school_id" not in e]
    assert schools == data["schools"] and counties == data["counties"]
    assert entries == data["schools"] + data["counties"]


def test_a_parquet_report_cannot_go_to_the_terminal(run, demo_files):
    result = run("evaluate", *demo_files, "-f", "parquet")
    assert result.exit_code == 2
    assert "edubalance: 错误 error:" in result.output and "-o" in result.output


def test_an_earlier_parquet_report_is_replaced_but_no_other_folder(run, demo_files, tmp_path):
    out = tmp_path / "out.parquet"
    run("evaluate", *demo_files, "-o", out)
    (out / "schools.parquet").write_bytes(b"old")
    assert run("evaluate", *demo_files, "-o", out).exit_code == 1
    assert pq.read_table(out / "schools.parquet").num_rows > 0
    folder = tmp_path / "mine.parquet"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me")
    result = run("evaluate", *demo_files, "-o", folder)
    assert result.exit_code == 2 and "not a Parquet report" in result.output
    assert (folder / "notes.txt").read_text() == "keep me" and len(list(folder.iterdir())) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.parquet", "out.parquet"]   # no temporaries


FORMATS = ["table", "json", "ndjson", "parquet"]


@pytest.mark.parametrize("fmt", FORMATS + ["validate"])
def test_a_missing_folder_is_one_message(run, demo_files, tmp_path, fmt):
    out = tmp_path / "missing" / f"r.{fmt}"
    args = ("validate", *demo_files, "-o", out) if fmt == "validate" else ("evaluate", *demo_files, "-f", fmt, "-o", out)
    result = run(*args)
    assert result.exit_code == 2
    assert result.output.count("edubalance: 错误 error:") == 1 and "does not exist" in result.output


@pytest.mark.skipif(not os.path.isdir("/sys/kernel"), reason="needs a read-only /sys")
@pytest.mark.parametrize("fmt", FORMATS + ["validate"])
def test_a_read_only_folder_is_one_message(run, demo_files, fmt):
    out = f"/sys/r.{fmt}"
    args = ("validate", *demo_files, "-o", out) if fmt == "validate" else ("evaluate", *demo_files, "-f", fmt, "-o", out)
    result = run(*args)
    assert result.exit_code == 2
    assert result.output.count("edubalance: 错误 error:") == 1 and "cannot write to /sys" in result.output


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("fmt", ["table", "json", "ndjson", "validate"])
def test_a_full_device_is_one_message_and_is_not_removed(run, demo_files, fmt):
    args = ("validate", *demo_files, "-o", "/dev/full") if fmt == "validate" else \
        ("evaluate", *demo_files, "-f", fmt, "-o", "/dev/full")
    result = run(*args)
    assert result.exit_code == 2
    assert "No space left on device" in result.output and result.output.count("edubalance: 错误 error:") == 1
    assert Path("/dev/full").is_char_device()


def test_a_device_takes_a_streamed_report(run, demo_files):
    result = run("evaluate", *demo_files, "-o", os.devnull)
    assert result.exit_code == 1 and Path(os.devnull).is_char_device()
    result = run("evaluate", *demo_files, "-f", "parquet", "-o", os.devnull)
    assert result.exit_code == 2 and Path(os.devnull).is_char_device()


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_full_disk_keeps_the_earlier_file_and_leaves_no_temporary(run, demo_files, tmp_path, monkeypatch, fmt):
    """Whatever the format, a write that fails half-way (no space left) removes only what the
    run created: the report the user had at that name stays as it was."""
    real_open = open

    class Full:
        def __init__(self, f):
            self.f, self.n = f, 0

        def write(self, data):
            self.n += len(data)
            if self.n > 100:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return self.f.write(data)

        def __getattr__(self, name):
            return getattr(self.f, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

    def full_open(path, mode="r", *args, **kwargs):
        f = real_open(path, mode, *args, **kwargs)
        return Full(f) if "w" in mode and str(tmp_path) in str(path) else f
    import pyarrow.parquet as parquet
    real_writer = parquet.ParquetWriter

    def full_writer(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    monkeypatch.setattr("builtins.open", full_open)
    monkeypatch.setattr(parquet, "ParquetWriter", full_writer)
    monkeypatch.setattr(parquet, "write_table", full_writer)
    out = tmp_path / ("r.parquet" if fmt == "parquet" else f"r.{fmt}")
    if fmt == "parquet":
        out.mkdir()
        (out / "schools.parquet").write_bytes(b"earlier")
    else:
        out.write_bytes(b"earlier")
    result = run("evaluate", *demo_files, "-f", fmt, "-o", out)
    assert result.exit_code == 2, result.output
    assert "No space left on device" in result.output and result.output.count("edubalance: 错误 error:") == 1
    assert (out / "schools.parquet" if fmt == "parquet" else out).read_bytes() == b"earlier"
    assert [p.name for p in tmp_path.iterdir()] == [out.name]
    monkeypatch.setattr(parquet, "ParquetWriter", real_writer)


SURROGATE_RECORDS = ('[{"school_id":"5201020001","school_name":"\\ud800一小","stage":"primary",'
                     '"school_type":"primary_school","province":"guizhou","county_code":"520102","year":2023,'
                     '"location":"urban","students":450,"max_class_size":45},'
                     '{"school_id":"5201020002","school_name":"二小","stage":"primary","province":"guizhou",'
                     '"county_code":"520102","year":2023,"students":"\\udc80"}]')


@pytest.mark.parametrize("fmt", FORMATS + ["validate"])
def test_lone_surrogates_are_written_as_replacement_characters(run, tmp_path, fmt):
    path = tmp_path / "s.json"
    path.write_text(SURROGATE_RECORDS, encoding="utf-8")
    out = tmp_path / f"r.{fmt}"
    args = ("validate", path, "-f", "json", "-o", out) if fmt == "validate" else \
        ("evaluate", path, "-e", "vector", "-f", fmt, "-o", out)
    result = run(*args)
    assert result.exit_code == 1, result.output
    if fmt == "parquet":
        names = pq.read_table(out / "schools.parquet").column("school_name").to_pylist()
        assert names == ["\ufffd一小"]
        assert pq.read_table(out / "rejected.parquet").num_rows == 1
        return
    text = out.read_text(encoding="utf-8")
    if fmt != "validate":
        assert "\ufffd一小" in text
    if fmt in ("json", "validate"):
        data = json.loads(text)
        assert len(data["rejected"]) == 1


def test_non_finite_numbers_do_not_stop_the_writers(vector_evaluator, tmp_path):
    """Values reaching the writer should be finite; if one is not, the report is still written,
    with null in its place in every format."""
    from edubalance.output import write_core_format
    records = generate(40, seed=3)
    report = vector_evaluator.evaluate_records(records, county_records(records, seed=3))
    block = report.blocks[0]
    block.overall[0] = math.inf
    name = block.measure_names[0]
    block.measures[name] = block.measures[name].copy()      # columns read from the input are read-only
    block.measures[name][0] = -math.inf
    block.results.value[0, 0] = math.inf
    report.counties[0]["score"]["overall"] = math.nan
    report.counties[0]["extra"] = {"x": math.inf}
    k = report.positions().index((0, 0))            # that school's place in the report
    for fmt in FORMATS:
        assert write_core_format(report, fmt, tmp_path / f"r.{fmt}")
    data = json.loads((tmp_path / "r.json").read_bytes())
    assert data["schools"][k]["score"]["overall"] is None
    assert data["counties"][0]["score"]["overall"] is None and data["counties"][0]["extra"] == {"x": None}
    lines = (tmp_path / "r.ndjson").read_bytes().splitlines()
    assert json.loads(lines[1 + k])["score"]["overall"] is None
    overall = pq.read_table(tmp_path / "r.parquet" / "schools.parquet").column("score_overall").to_pylist()
    assert overall[k] is None
    measure = pq.read_table(tmp_path / "r.parquet" / "schools.parquet").column(f"measure_{name}").to_pylist()
    assert measure[k] is None and data["schools"][k]["measures"][name] is None
