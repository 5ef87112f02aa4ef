"""County honesty on real files: a county never gets a verdict its data does not support.

- a county with a rejected school row is ``incomplete`` and lists the row (not a verdict on the rest);
- a CV over fewer than two schools is not applicable, never 0;
- rejected county records appear, with their reasons, in the text, workbook and page reports;
- a county file alone is judged on its county items and names the school data it still needs;
- ``--schools-only`` (and ``schools_only=True``) judges no county.
"""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from jsonschema import Draft202012Validator

from edubalance import Evaluator
from edubalance.cli import main
from edubalance.schemas import report_schema

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "plugins" / "guizhou" / "data" / "demo_schools.csv"
DEMO_COUNTY = ROOT / "plugins" / "guizhou" / "data" / "demo_county.csv"


def rows_of(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.reader(f))


def write_csv(path: Path, rows: list[list[str]], encoding: str = "utf-8") -> Path:
    with open(path, "w", encoding=encoding, newline="") as f:
        csv.writer(f).writerows(rows)
    return path


def write_xlsx(path: Path, rows: list[list[str]]) -> Path:
    from openpyxl import Workbook
    wb = Workbook()
    for row in rows:
        wb.active.append(row)
    wb.save(path)
    return path


def run(*args) -> tuple[int, str]:
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    return result.exit_code, result.stdout


def evaluate_json(*args) -> tuple[int, dict]:
    code, out = run("evaluate", *args, "-f", "json")
    report = json.loads(out)
    assert not list(Draft202012Validator(report_schema()).iter_errors(report))
    return code, report


def demo_with_bad_students(tmp_path: Path, fmt: str) -> Path:
    rows = rows_of(DEMO)
    col = rows[0].index("在校生数")
    rows[3][col] = "约四百"                 # 青岚县第三小学: not a number
    if fmt == "xlsx":
        return write_xlsx(tmp_path / "schools.xlsx", rows)
    return write_csv(tmp_path / "schools.csv", rows, "gbk")


@pytest.mark.parametrize("fmt", ["gbk-csv", "xlsx"])
def test_a_county_with_one_of_28_schools_rejected_is_incomplete_and_lists_it(tmp_path, fmt):
    schools = demo_with_bad_students(tmp_path, fmt)
    code, report = evaluate_json(schools, DEMO_COUNTY)
    assert code == 1
    assert report["records"] == {"read": 28, "evaluated": 27, "rejected": 1, "skipped": 0}
    (county,) = report["counties"]
    assert county["status"] == "incomplete"
    assert "1 school record of this county was rejected" in county["status_reason"]
    assert county["basic_balance"]["status"] == county["quality_balance"]["status"] == "incomplete"
    (rej,) = county["rejected_schools"]
    assert rej["school_id"] == "5226980003" and rej["school_name"] == "青岚县第三小学"
    assert rej["stage"] == "primary" and rej["row"] == 4 and rej["codes"] == ["E102"]
    assert "在校生数" in rej["reason"] and rej["file"].endswith(schools.name)
    assert rej["matched_by"] == "county_code"
    # The CVs are still computed on the 27 and shown.
    assert county["school_records"] == 27
    assert county["stages"]["primary"]["cv"]["teaching_aux_area_per_pupil"] > 0
    assert county["verdicts"]
    # The same files without the bad cell: a verdict (the demo county fails).
    _, clean = evaluate_json(DEMO, DEMO_COUNTY)
    assert clean["counties"][0]["status"] == "fail" and clean["counties"][0]["rejected_schools"] == []
    assert clean["counties"][0]["status_reason"] is None


def test_a_rejected_school_of_another_county_or_year_leaves_the_county_alone(tmp_path):
    rows = rows_of(DEMO)
    bad = list(rows[3])
    bad[rows[0].index("在校生数")] = "x"
    bad[rows[0].index("县级行政区划代码")] = "522699"
    other_year = list(rows[4])
    other_year[rows[0].index("在校生数")] = "x"
    other_year[rows[0].index("学年")] = "2022"
    path = write_csv(tmp_path / "s.csv", [rows[0], *rows[5:], bad, other_year])
    code, report = evaluate_json(path, DEMO_COUNTY)
    assert code == 1 and report["records"]["rejected"] == 2
    (county,) = report["counties"]
    assert county["rejected_schools"] == [] and county["status"] == "fail"


@pytest.mark.parametrize("name, matched_by", [("青岚县", "county_name"), ("", "file")])
def test_a_rejected_school_with_a_mistyped_county_code_still_withholds_its_county(tmp_path, name, matched_by):
    rows = rows_of(DEMO)
    head = rows[0]
    rows[3][head.index("在校生数")] = "x"
    rows[3][head.index("县级行政区划代码")] = "52269"          # a digit short: no county's code
    rows[3][head.index("县（市、区）")] = name
    code, report = evaluate_json(write_csv(tmp_path / "s.csv", rows, "gbk"), DEMO_COUNTY)
    (county,) = report["counties"]
    assert county["status"] == "incomplete" and code == 1
    assert [(r["school_id"], r["matched_by"]) for r in county["rejected_schools"]] == [("5226980003", matched_by)]


def test_a_mistyped_county_code_in_a_file_of_two_counties_places_the_row_by_name_only(tmp_path):
    rows = rows_of(DEMO)
    head = rows[0]
    for r in rows[20:]:
        r[head.index("县级行政区划代码")] = "522699"
    rows[3][head.index("在校生数")] = "x"
    rows[3][head.index("县级行政区划代码")] = ""
    rows[3][head.index("县（市、区）")] = ""
    code, report = evaluate_json(write_csv(tmp_path / "s.csv", rows), DEMO_COUNTY)
    assert code == 1 and report["records"]["rejected"] == 1
    assert [c["rejected_schools"] for c in report["counties"]] == [[], []]      # no way to tell which


def one_school_county(tmp_path: Path) -> Path:
    rows = rows_of(DEMO)
    stage = rows[0].index("学段")
    junior = next(r for r in rows[1:] if r[stage] == "初中")
    return write_csv(tmp_path / "one.csv", [rows[0], junior])


@pytest.mark.parametrize("engine", ["durable", "vector"])
def test_a_one_school_county_reports_its_cvs_as_not_applicable_never_0(tmp_path, engine):
    code, report = evaluate_json(one_school_county(tmp_path), DEMO_COUNTY, "-e", engine)
    (county,) = report["counties"]
    junior = county["stages"]["junior"]
    assert junior["schools_in_cv_scope"] == {"quality_2017": 1, "basic_2012": 1}
    assert set(junior["cv"].values()) == {None} and set(junior["cv_2012"].values()) == {None}
    assert junior["composite_cv_2012"] is None
    assert "a CV needs at least 2" in junior["cv_not_applicable"]["quality_2017"]
    assert "not applicable (not 0)" in " ".join(junior["notes"])
    cv_verdicts = [v for v in county["verdicts"] if ".cv_" in v["rule_id"] or "composite" in v["rule_id"]]
    assert cv_verdicts and {v["status"] for v in cv_verdicts} == {"not_applicable"}
    assert all(v["value"] is None for v in cv_verdicts)
    code_t, text = run("evaluate", one_school_county(tmp_path), DEMO_COUNTY, "-e", engine)
    assert "a CV needs at least 2" in text and "0.000" not in text
    assert code_t == code


def test_both_back_ends_agree_on_a_one_school_county(tmp_path):
    path = one_school_county(tmp_path)
    reports = [evaluate_json(path, DEMO_COUNTY, "-e", e)[1]["counties"] for e in ("durable", "vector")]
    assert reports[0] == reports[1]


def county_with_bad_record(tmp_path: Path) -> Path:
    rows = rows_of(DEMO_COUNTY)
    rows[1][rows[0].index("training_completion_rate")] = "全部"
    return write_csv(tmp_path / "county.csv", rows, "gbk")


def test_the_text_report_shows_a_rejected_county_record_and_why(tmp_path):
    code, text = run("evaluate", DEMO, county_with_bad_record(tmp_path))
    assert code == 1
    assert "县级记录 county records: 读取 1 read, 通过 0 accepted, 被拒 1 rejected" in text
    section = text[text.index("被拒县级记录 Rejected county records (1):"):]
    assert "county.csv:2 522698 青岚县" in section and "training_completion_rate" in section


def test_the_workbook_shows_a_rejected_county_record_and_why(tmp_path):
    from openpyxl import load_workbook
    out = tmp_path / "r.xlsx"
    code, _ = run("evaluate", DEMO, county_with_bad_record(tmp_path), "-o", out)
    assert code == 1
    summary = [row for row in load_workbook(out)["汇总"].iter_rows(values_only=True) if row[0] == "522698"]
    rejected = [row for row in summary if row[3] == "未通过校验 rejected"]
    assert len(rejected) == 1 and "county.csv:2" in rejected[0][7] and "training_completion_rate" in rejected[0][7]
    problems = list(load_workbook(out)["未通过校验"].iter_rows(values_only=True))
    assert any(row and "522698" in [str(c) for c in row] for row in problems)


def test_the_workbook_lists_the_rejected_school_rows_of_a_withheld_county(tmp_path):
    from openpyxl import load_workbook
    out = tmp_path / "r.xlsx"
    code, _ = run("evaluate", demo_with_bad_students(tmp_path, "xlsx"), DEMO_COUNTY, "-o", out)
    assert code == 1
    book = load_workbook(out)
    summary = [row for row in book["汇总"].iter_rows(values_only=True) if row[0] == "522698"]
    assert summary[0][3] == "数据不全 incomplete" and "no county verdict" in summary[0][7]
    county = list(book["县域"].iter_rows(values_only=True))
    rows = [row for row in county if row[2] == "5226980003"]
    assert rows and rows[0][:4] == ("522698", "小学", "5226980003", "青岚县第三小学") and "E102" in rows[0][5]


def test_the_page_shows_a_rejected_county_record_and_a_withheld_county(tmp_path):
    out = tmp_path / "r.html"
    code, _ = run("evaluate", demo_with_bad_students(tmp_path, "gbk-csv"), county_with_bad_record(tmp_path),
                  "-o", out)
    assert code == 1
    page = out.read_text(encoding="utf-8")
    assert "Rejected county records" in page and "training_completion_rate" in page
    assert "rejected school records" in page and "青岚县第三小学" in page
    assert "no county verdict until it is corrected" in page


@pytest.mark.parametrize("encoding", ["utf-8", "gbk"])
def test_a_county_file_alone_is_judged_on_its_county_items(tmp_path, encoding):
    path = write_csv(tmp_path / "county.csv", rows_of(DEMO_COUNTY), encoding)
    code, report = evaluate_json(path)
    assert code == 1
    assert report["records"] == {"read": 0, "evaluated": 0, "rejected": 0, "skipped": 0}
    assert report["county_records"] == {"read": 1, "accepted": 1, "rejected": 0}
    (county,) = report["counties"]
    assert county["school_records"] == 0 and county["county_record"] is True
    # Its own items are judged: the demo county trains 97 % of its teachers, 100 % is required.
    training = [v for v in county["verdicts"] if v["rule_id"] == "national.county.teacher_training"]
    assert training and training[0]["status"] == "fail" and training[0]["value"] == 0.97
    assert county["status"] == "fail"
    # What needs the schools is missing data, and named.
    assert "need the school file" in county["needs_schools"]["message"]
    waiting = {v["rule_id"] for v in county["verdicts"] if v["stage"] != "county"}
    assert set(county["needs_schools"]["rules"]) == waiting
    assert {v["status"] for v in county["verdicts"] if v["stage"] != "county"} == {"missing_data"}
    _, text = run("evaluate", path)
    assert "县级记录 county records: 读取 1 read, 通过 1 accepted, 被拒 0 rejected" in text
    assert "need the school file" in text


def test_a_county_file_alone_whose_items_pass_is_incomplete_not_pass(tmp_path):
    rows = rows_of(DEMO_COUNTY)
    for name, value in (("training_completion_rate", "1"), ("teacher_certified_rate", "1"),
                        ("disabled_enrolment_rate", "0.97")):
        rows[1][rows[0].index(name)] = value
    code, report = evaluate_json(write_xlsx(tmp_path / "county.xlsx", rows))
    (county,) = report["counties"]
    assert not [v for v in county["verdicts"] if v["stage"] == "county" and v["status"] == "fail"]
    assert county["status"] == "incomplete" and code == 1


def test_a_county_record_without_schools_beside_another_county_is_judged_too(tmp_path):
    rows = rows_of(DEMO_COUNTY)
    other = list(rows[1])
    other[rows[0].index("county_code")] = "522699"
    other[rows[0].index("county_name")] = "另一县"
    path = write_csv(tmp_path / "counties.csv", [rows[0], rows[1], other])
    code, report = evaluate_json(DEMO, path)
    assert [c["county_code"] for c in report["counties"]] == ["522698", "522699"]
    assert [c["school_records"] for c in report["counties"]] == [28, 0]
    assert report["counties"][0]["needs_schools"] is None and report["counties"][1]["needs_schools"]


def test_schools_only_judges_no_county(tmp_path):
    code, report = evaluate_json(DEMO, DEMO_COUNTY, "--schools-only")
    assert report["counties"] == [] and report["records"]["evaluated"] == 28
    assert any("schools only" in n for n in report["notes"])
    assert report["summary"]["counties"] == {"pass": 0, "fail": 0, "incomplete": 0}
    assert code == 1                       # the demo's schools have findings
    _, text = run("evaluate", DEMO, DEMO_COUNTY, "--schools-only")
    assert "县 County" not in text and "注 Note: 按要求只评估学校" in text
    ev = Evaluator(engine="vector")
    assert ev.evaluate_files([DEMO, DEMO_COUNTY], schools_only=True).counties == []
    assert len(ev.evaluate_files([DEMO, DEMO_COUNTY]).counties) == 1
    records = [dict(r) for r in ev.evaluate_files([DEMO]).schools]
    assert ev.evaluate_records([], [], schools_only=True).counties == []
    assert records


def test_schools_only_passes_when_every_school_passes(tmp_path):
    rows = rows_of(DEMO)
    ev = Evaluator(engine="vector")
    failing = {s["school_id"] for s in ev.evaluate_files([DEMO]).schools if s["status"] != "pass"}
    passing = [r for r in rows[1:] if r[0] not in failing]
    assert len(passing) >= 2
    path = write_csv(tmp_path / "passing.csv", [rows[0], *passing])
    assert run("evaluate", path, "--schools-only")[0] == 0
    assert run("evaluate", path)[0] == 1          # judged as a county, it has findings


def test_both_back_ends_agree_on_a_county_file_alone():
    reports = [evaluate_json(DEMO_COUNTY, "-e", e)[1]["counties"] for e in ("durable", "vector")]
    assert reports[0] == reports[1] and reports[0][0]["needs_schools"]


def test_the_parquet_county_table_holds_the_new_fields_in_the_same_columns(tmp_path):
    import pyarrow.parquet as pq
    rows = rows_of(DEMO_COUNTY)
    other = list(rows[1])
    other[rows[0].index("county_code")] = "522699"
    counties = write_csv(tmp_path / "counties.csv", [rows[0], rows[1], other])
    out = tmp_path / "r.parquet"
    code, _ = run("evaluate", demo_with_bad_students(tmp_path, "gbk-csv"), counties, "-o", out)
    assert code == 1
    table = pq.read_table(out / "counties.parquet").to_pylist()
    assert [(c["county_code"], c["status"], c["school_records"]) for c in table] == [
        ("522698", "incomplete", 27), ("522699", "fail", 0)]
    assert table[0]["rejected_schools"][0]["school_id"] == "5226980003" and table[1]["rejected_schools"] == []
    assert "rejected" in table[0]["status_reason"] and table[1]["status_reason"] is None
    assert table[0]["needs_schools_message"] is None and "school file" in table[1]["needs_schools_message"]
    assert table[0]["stages_primary_cv_not_applicable_quality_2017"] is None
    verdicts = pq.read_table(out / "county_verdicts.parquet").to_pylist()
    assert {v["status"] for v in verdicts if v["county_key"] == 1 and v["stage"] != "county"} == {"missing_data"}
