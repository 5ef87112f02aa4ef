"""Cells as county offices write them, on real files (GBK and UTF-8 CSV, XLSX, XLS): placeholders
for "none" in numeric cells, 学年 in its everyday forms and as Excel dates, 省份 as a name, in
pinyin or from the county code, a county code of another province, and -P against a file."""
from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import pytest

from edubalance import Evaluator
from edubalance.coercion import coercer
from edubalance.loading import RawRow
from edubalance.problems import row_runs
from edubalance.regions import code_provinces, province_id, province_of_code
from edubalance.schemas import school_schema
from edubalance.validation import validate

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "plugins" / "guizhou" / "data" / "demo_schools.csv"
DEMO_COUNTY = ROOT / "plugins" / "guizhou" / "data" / "demo_county.csv"
PLACEHOLDERS = ["/", "／", "—", "——", "－", "-", "--", "无", "空", "N/A", "n/a", "NA", "#N/A", "不适用"]
#: Rows (0-based) of the demo county's schools that pass: one lacking value leaves them incomplete.
PASSING_ROWS = (2, 3, 10)
PASSING = ("5226980003", "5226980004", "5226980010")


@pytest.fixture(scope="module")
def ev():
    return Evaluator(engine="vector")


def demo_table() -> tuple[list[str], list[list[str]]]:
    with DEMO.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def edited(**columns) -> tuple[list[str], list[list[object]]]:
    """The demo table with cells changed: ``{label: {row index: value}}`` or ``{label: value}`` for
    every row (None: the column removed)."""
    header, rows = demo_table()
    rows = [list(r) for r in rows]
    for label, change in columns.items():
        j = header.index(label)
        if change is None:
            header = header[:j] + header[j + 1:]
            rows = [r[:j] + r[j + 1:] for r in rows]
        elif isinstance(change, dict):
            for i, value in change.items():
                rows[i][j] = value
        else:
            for r in rows:
                r[j] = change
    return header, rows


def write(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    """The table as the office saves it: CSV in the suffix's encoding (``.gbk.csv`` GBK), XLSX or XLS
    (numbers as numbers, dates as date cells)."""
    def typed(v):
        if isinstance(v, str) and v.isdigit() and len(v) < 9:
            return int(v)
        return v
    if path.suffix == ".csv":
        enc = "gbk" if path.name.endswith(".gbk.csv") else "utf-8"
        with path.open("w", encoding=enc, newline="") as f:
            csv.writer(f).writerows([header, *rows])
    elif path.suffix == ".xlsx":
        import xlsxwriter
        wb = xlsxwriter.Workbook(str(path))
        ws = wb.add_worksheet("学校")
        date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
        ws.write_row(0, 0, header)
        for i, r in enumerate(rows, 1):
            for j, v in enumerate(r):
                if isinstance(v, dt.date):
                    ws.write_datetime(i, j, dt.datetime.combine(v, dt.time()), date_fmt)
                else:
                    ws.write(i, j, typed(v))
        wb.close()
    else:
        import xlwt
        wb = xlwt.Workbook(encoding="utf-8")
        ws = wb.add_sheet("学校")
        date_style = xlwt.easyxf(num_format_str="YYYY-MM-DD")
        for j, h in enumerate(header):
            ws.write(0, j, h)
        for i, r in enumerate(rows, 1):
            for j, v in enumerate(r):
                if isinstance(v, dt.date):
                    ws.write(i, j, v, date_style)
                else:
                    ws.write(i, j, typed(v))
        wb.save(str(path))
    return path


def rejected_rows(checked_or_report) -> list[tuple[str, int]]:
    return sorted((r["file"], r["row"]) for r in checked_or_report)


def agree(run, *files, province=None) -> tuple[dict, dict]:
    """``validate`` and ``evaluate`` accept and reject the same rows of ``files``; their JSON."""
    opts = ["-P", province] if province else []
    v = run("validate", *files, *opts, "-f", "json")
    e = run("evaluate", *files, *opts, "-f", "json")
    assert v.exit_code in (0, 1) and e.exit_code in (0, 1), (v.output, e.output)
    vdoc = json.loads(v.stdout)
    edoc = json.loads(e.stdout)
    assert rejected_rows(vdoc["rejected"]) == rejected_rows(edoc["rejected"] + edoc["rejected_counties"])
    assert vdoc["records"]["accepted"] == edoc["records"]["evaluated"]
    assert [(w["file"], w["row"], w["code"]) for w in vdoc["warnings"]] == \
           [(w["file"], w["row"], w["code"]) for w in edoc["warnings"]]
    return vdoc, edoc


# --- placeholders ------------------------------------------------------------------------

@pytest.mark.parametrize("placeholder", PLACEHOLDERS)
def test_each_placeholder_is_a_missing_value_not_a_rejection(tmp_path, ev, placeholder):
    path = write(tmp_path / "schools.csv", *edited(图书册数={2: placeholder}, 最大班额={3: placeholder}))
    empty = write(tmp_path / "empty.csv", *edited(图书册数={2: ""}, 最大班额={3: ""}))
    report, blank = ev.evaluate_files([path]), ev.evaluate_files([empty])
    assert not report.rejected and report.evaluated == 28
    status = {e["school_id"]: e["status"] for e in report.schools}
    assert status[PASSING[0]] == status[PASSING[1]] == "incomplete"
    # exactly what an empty cell gives, for every school
    assert [(e["school_id"], e["status"], e["score"]) for e in report.schools] == \
           [(e["school_id"], e["status"], e["score"]) for e in blank.schools]


@pytest.mark.parametrize("suffix", [".gbk.csv", ".csv", ".xlsx", ".xls"])
def test_placeholders_in_every_format_leave_the_schools_incomplete(tmp_path, run, suffix):
    path = write(tmp_path / f"schools{suffix}", *edited(图书册数=dict(zip(PASSING_ROWS, ["/", "—", "无"]))))
    vdoc, edoc = agree(run, path)
    assert vdoc["records"] == {"read": 28, "accepted": 28, "rejected": 0, "skipped": 0}
    status = {e["school_id"]: e["status"] for e in edoc["schools"]}
    assert [status[s] for s in PASSING] == ["incomplete"] * 3


def test_zero_stays_zero_and_a_closed_school_is_still_not_applicable(ev):
    spec = school_schema()["properties"]
    assert coercer("students", spec["students"])("0") == 0
    assert coercer("land_area_m2", spec["land_area_m2"])("0") == 0.0
    assert coercer("students", spec["students"])("-") is None
    record = {"school_id": "5201020009", "stage": "primary", "county_code": "520102", "year": "2023",
              "province": "贵州省", "students": "0", "teachers": "2", "books": "无", "land_area_m2": "/"}
    entry = ev.evaluate_record(record)
    assert entry["measures"].get("books_per_pupil") is None
    verdicts = {v["rule_id"]: v["status"] for v in entry["verdicts"]}
    assert verdicts["guizhou.books_per_pupil"] == verdicts["guizhou.land_area_per_pupil"] == "not_applicable"


# --- 学年 ----------------------------------------------------------------------------------

YEAR_FORMS = ["2023", "2023年", "2023-2024", "2023—2024", "2023–2024学年", "2023/2024", "2023-24", "2023学年",
              "２０２３", "２０２３－２０２４", "2023——2024", "2023年-2024年", "2023 - 2024 学年", "2023～2024",
              "2023学年度", "2023-09-01", "2024/3/1", "2023年9月1日", "45170",
              # terms as statistics forms name them: autumn starts the school year, spring ends it
              "2023年秋季学期", "2023年秋季", "2023秋", "2024年春季学期", "2023-2024学年第一学期", "2023-2024学年第二学期",
              "2023—2024学年下学期"]


@pytest.mark.parametrize("form", YEAR_FORMS)
def test_each_school_year_form_is_the_year_it_starts(tmp_path, ev, form):
    path = write(tmp_path / "schools.gbk.csv", *edited(学年=form))
    checked = ev.check(*ev.load([path]))
    assert not checked.rejected and {r["year"] for r in checked.schools.accepted} == {2023}
    one = {"school_id": "5201020001", "stage": "primary", "county_code": "520102", "year": form, "students": "9"}
    assert validate([RawRow("<r>", 1, one)]).accepted[0]["year"] == 2023          # row by row too


@pytest.mark.parametrize("form", ["2023-2025", "2024-2023", "2023-22", "2023-13-01", "明年", "2023年第一学期", "秋季"])
def test_a_school_year_that_is_not_one_is_rejected_with_what_to_write(tmp_path, run, form):
    path = write(tmp_path / "schools.csv", *edited(学年={4: form}))
    vdoc, _ = agree(run, path)
    [rej] = vdoc["rejected"]
    [problem] = rej["problems"]
    assert (rej["row"], problem["code"], problem["field"], problem["observed"]) == (6, "E102", "year", form)
    assert problem["message"].startswith("学年（year） 应为")
    if form in ("2023-2025", "2024-2023"):
        assert "相邻两年" in problem["message"] and "consecutive" in problem["message"]


@pytest.mark.parametrize("suffix", [".xlsx", ".xls"])
def test_excel_date_cells_name_the_school_year_they_fall_in(tmp_path, ev, suffix):
    days = {0: dt.date(2023, 9, 1), 1: dt.date(2023, 12, 31), 2: dt.date(2024, 8, 31), 3: dt.date(2023, 8, 31),
            4: dt.date(2024, 9, 1)}
    header, rows = edited(学年=days)
    path = write(tmp_path / f"schools{suffix}", header, rows)
    checked = ev.check(*ev.load([path]))
    years = {r["_row"]: r["year"] for r in checked.schools.accepted}
    assert [years[k] for k in (2, 3, 4, 5, 6)] == [2023, 2023, 2023, 2022, 2024]
    assert years[7] == 2023


def test_an_excel_date_serial_typed_as_a_number(tmp_path, ev):
    # 45170 is 2023-09-01, 45352 is 2024-03-01 (both 2023-24); 45169 is 2023-08-31 (2022-23)
    path = write(tmp_path / "schools.xlsx", *edited(学年={0: 45170, 1: 45352, 2: 45169}))
    checked = ev.check(*ev.load([path]))
    years = {r["_row"]: r["year"] for r in checked.schools.accepted}
    assert (years[2], years[3], years[4]) == (2023, 2023, 2022)


# --- 学校标识码 --------------------------------------------------------------------------------

def test_a_school_code_in_scientific_notation_is_refused_with_what_to_do(tmp_path, run):
    """Excel shows a column of codes too narrow for them as 5.22698E+09 and saves that to CSV: the
    digits are lost, and the school was judged under that "code" (two such schools: a duplicate)."""
    path = write(tmp_path / "schools.gbk.csv", *edited(学校标识码={0: "5.22698E+09", 1: "５.２２６９８Ｅ＋０９"}))
    vdoc, _ = agree(run, path)
    assert vdoc["records"]["rejected"] == 2 and vdoc["records"]["accepted"] == vdoc["records"]["read"] - 2
    problems = [p for r in vdoc["rejected"] for p in r["problems"]]
    assert [(p["code"], p["field"]) for p in problems] == [("E105", "school_id")] * 2
    assert problems[0]["message"].startswith("学校标识码（school_id） 格式不对，应为完整的标识码，如 5226980001（不能是科学计数法：5.2E+09 "
                                             "已丢失位数，请把该列设为文本后重新填写），实际为 5.22698E+09 / expected the whole code")


@pytest.mark.parametrize("copies", [1, 10], ids=["28 rows", "280 rows"])
@pytest.mark.parametrize("wide", [False, True], ids=["ASCII", "a full-width code"])
def test_codes_a_program_wrote_as_floats_are_the_codes(tmp_path, ev, copies, wide):
    """A CSV a script exported from a column with gaps writes 5226980001.0 and 522698.0: the county
    code was refused on every row (E105) and the school code kept its .0 (a nine-year school's two
    rows with and without it were two schools). Few codes are read one by one, many by polars."""
    header, rows = demo_table()
    sid, code = header.index("学校标识码"), header.index("县级行政区划代码")
    plain, floated = [], []
    for k in range(copies):
        for r in rows:
            r = list(r)
            r[sid] = str(int(r[sid]) + 1000 * k)
            plain.append(list(r))
            r[sid] += ".0"
            r[code] += ".00"
            floated.append(r)
    floated[0][sid] = floated[0][sid].translate(str.maketrans("0123456789.", "０１２３４５６７８９．")) if wide else \
        floated[0][sid]
    floated[1][sid] = floated[1][sid][:-2]                         # one written without: the same code
    got = [ev.check(*ev.load([write(tmp_path / f"{name}.csv", header, table)]))
           for name, table in (("plain", plain), ("floated", floated))]
    assert not got[1].rejected
    assert [(r["school_id"], r["county_code"]) for r in got[1].schools.accepted] == \
        [(r["school_id"], r["county_code"]) for r in got[0].schools.accepted]


# --- 省份 ----------------------------------------------------------------------------------

@pytest.mark.parametrize("written", ["贵州省", "贵州", "Guizhou", "GUIZHOU", "guizhou", " 贵州省 ", "贵 州"])
def test_the_province_as_a_name_or_in_pinyin(tmp_path, run, written):
    path = write(tmp_path / "schools.gbk.csv", *edited(省份=written))
    vdoc, edoc = agree(run, path)
    assert vdoc["records"]["rejected"] == 0 and not vdoc["warnings"]
    assert {e["ruleset"] for e in edoc["schools"]} == {"guizhou/2023"}


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".xls"])
def test_the_province_inferred_from_the_county_code(tmp_path, run, suffix):
    path = write(tmp_path / f"schools{suffix}", *edited(省份=None))
    vdoc, edoc = agree(run, path)
    assert vdoc["records"]["rejected"] == 0 and not vdoc["warnings"]
    assert {e["province"] for e in edoc["schools"]} == {"guizhou"}


def test_the_province_table_has_the_31_provinces_and_their_codes():
    codes = code_provinces()
    assert len(codes) == 31 and len(set(codes.values())) == 31
    assert (codes["52"], codes["61"], codes["34"], codes["14"], codes["11"], codes["65"]) == \
           ("guizhou", "shaanxi", "anhui", "shanxi", "beijing", "xinjiang")
    assert province_id("陕西省") == "shaanxi" and province_id("山西") == "shanxi"
    assert province_id("广西壮族自治区") == province_id("广西") == province_id("广西自治区") == "guangxi"
    assert province_id("火星") is None and province_of_code("990101") is None and province_of_code("5226") is None


@pytest.mark.parametrize("n", [1, 20], ids=["row by row", "by columns"])
def test_inferred_named_and_unsupported_provinces_in_both_paths(n):
    base = {"school_id": "6101020001", "stage": "primary", "county_code": "610102", "year": "2023", "students": "300"}
    known = ["national", "guizhou", "shaanxi", "anhui"]

    def one(**kw):
        rows = [RawRow("<records>", i + 1, {**base, "school_id": f"61010200{i:02d}", **kw}) for i in range(n)]
        return validate(rows, known_provinces=known)
    assert {r["province"] for r in one().accepted} == {"shaanxi"}
    assert {r["province"] for r in one(province="陕西").accepted} == {"shaanxi"}
    assert {r["province"] for r in one(province="安徽", county_code="340102").accepted} == {"anhui"}
    hunan = one(county_code="430102")
    assert len(hunan.rejected) == n
    [p] = hunan.rejected[0].problems
    assert p.code == "E205" and p.observed == "hunan"
    assert p.message.startswith("省份 湖南（hunan）（由县级行政区划代码 430102 推断） 没有对应的插件，支持的省份：")
    assert "贵州（guizhou）" in p.message and "陕西（shaanxi）" in p.message and "安徽（anhui）" in p.message
    assert "'hunan' (inferred from county code 430102)" in p.message
    for written in ("湖南省", "hunan"):              # named by the record, with its own county code: not inferred
        said = one(province=written, county_code="430102")
        assert len(said.rejected) == n
        assert {q.message for r in said.rejected for q in r.problems} == {p.message.replace(
            "（由县级行政区划代码 430102 推断）", "").replace(" (inferred from county code 430102)", "")}
    mixed = validate([RawRow("<records>", i + 1, {**base, "school_id": f"43010200{i:02d}", "county_code": "430102",
                                                  **({"province": "湖南"} if i % 2 else {})}) for i in range(n)],
                     known_provinces=known)
    assert [("推断" in r.problems[0].message) for r in mixed.rejected] == [i % 2 == 0 for i in range(n)]
    named = one(province="湖南省", county_code="520102")
    assert [q.code for q in named.rejected[0].problems] == ["E205"]     # no W320 on an unsupported province
    mismatch = one(province="陕西省", county_code="520102")
    assert len(mismatch.accepted) == n and {r["province"] for r in mismatch.accepted} == {"shaanxi"}
    assert [w.code for w in mismatch.warnings] == ["W320"] * n
    w = mismatch.warnings[0]
    assert (w.field, w.observed, w.severity) == ("county_code", "520102", "warning")
    assert w.message.startswith("县级行政区划代码 520102 属于贵州（guizhou），而记录的省份是陕西（shaanxi）")


def test_a_county_code_of_another_province_is_a_warning_and_judged_as_named(tmp_path, run):
    path = write(tmp_path / "schools.xlsx", *edited(省份="陕西省"))
    vdoc, edoc = agree(run, path)
    assert vdoc["records"]["rejected"] == 0
    assert {w["code"] for w in vdoc["warnings"]} == {"W320"} and len(vdoc["warnings"]) == 28
    assert {e["ruleset"] for e in edoc["schools"]} == {"shaanxi/2023"}
    assert {w["code"] for w in edoc["warnings"]} == {"W320"}
    assert run("validate", path).exit_code == 1                     # a warning is a finding


# --- -P against the file -------------------------------------------------------------------

def test_minus_p_with_a_file_naming_another_province_is_refused(tmp_path, run):
    path = write(tmp_path / "schools.gbk.csv", *edited(省份="贵州省"))
    for command in ("validate", "evaluate"):
        result = run(command, path, "-P", "shaanxi")
        assert result.exit_code == 2
        assert "记录中的省份与 -P/--province 指定的 陕西（shaanxi） 不一致" in result.output
        assert "第 2–29 行为 贵州（guizhou）" in result.output and "--force-province" in result.output
        assert result.output.count("\n") == 1                      # one message
    assert run("validate", path, "-P", "贵州").exit_code == 0        # the same province, named in Chinese
    unknown = run("evaluate", path, "-P", "hunan")
    assert unknown.exit_code == 2
    assert "省份 湖南（hunan） 没有对应的插件，支持的省份：安徽（anhui）、贵州（guizhou）" in unknown.output


def test_force_province_judges_every_record_under_minus_p_with_a_note(tmp_path, run):
    path = write(tmp_path / "schools.csv", *edited(省份={0: "贵州", 1: "guizhou"}))
    result = run("evaluate", path, DEMO_COUNTY, "-P", "anhui", "--force-province", "-f", "json")
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert {e["ruleset"] for e in doc["schools"]} == {"anhui/2023"}
    assert any("--force-province" in n and "贵州（guizhou）" in n for n in doc["notes"])
    assert "注意 Note: 已按 -P/--province 指定的 安徽（anhui） 评估全部记录" in result.stderr
    v = run("validate", path, DEMO_COUNTY, "-P", "anhui", "--force-province", "-f", "json")
    vdoc = json.loads(v.stdout)
    assert vdoc["records"]["accepted"] == 28 and vdoc["notes"] == doc["notes"]
    assert {w["code"] for w in vdoc["warnings"]} == {"W320"}        # their county codes are Guizhou's


def test_records_without_a_province_take_minus_p(tmp_path, run):
    path = write(tmp_path / "schools.csv", *edited(省份=None))
    vdoc, edoc = agree(run, path, province="guizhou")
    assert not vdoc["warnings"] and {e["ruleset"] for e in edoc["schools"]} == {"guizhou/2023"}
    nocode = {"school_id": "9901010001", "stage": "primary", "county_code": "990101", "year": 2023, "students": 9}
    checked = Evaluator(province="anhui", province_conflicts="refuse").check([RawRow("<r>", 1, nocode)])
    assert checked.schools.accepted[0]["province"] == "anhui"


def test_the_python_api_keeps_a_records_own_province_by_default():
    record = {"school_id": "5201020001", "stage": "primary", "county_code": "520102", "year": 2023,
              "province": "guizhou", "students": 300}
    checked = Evaluator(province="anhui").check([RawRow("<r>", 1, record)])
    assert checked.schools.accepted[0]["province"] == "guizhou" and not checked.notes
    with pytest.raises(ValueError, match="province_conflicts"):
        Evaluator(province="anhui", province_conflicts="maybe")


def test_rows_in_a_province_conflict_are_runs():
    assert row_runs([7]) == ("第 7 行", "row 7") and row_runs([4, 2, 3]) == ("第 2–4 行", "rows 2–4")
    assert row_runs([2, 3, 5])[0] == "第 2–3、5 行"
    assert row_runs([2, 4, 6, 8, 10, 12, 14]) == ("第 2、4、6 行等 7 行", "rows 2, 4, 6 … (7 rows)")


# --- the demo county as an office saves it -------------------------------------------------

@pytest.mark.parametrize("suffix", [".gbk.csv", ".xlsx"])
def test_the_demo_county_with_office_cells_evaluates_every_school(tmp_path, run, suffix):
    header, rows = edited(省份="贵州省", 学年="2023-2024", 图书册数=dict.fromkeys(PASSING_ROWS, "/"))
    path = write(tmp_path / f"schools{suffix}", header, rows)
    vdoc, edoc = agree(run, path, DEMO_COUNTY)
    assert vdoc["records"] == {"read": 28, "accepted": 28, "rejected": 0, "skipped": 0} and not vdoc["warnings"]
    status = {e["school_id"]: e["status"] for e in edoc["schools"]}
    assert len(edoc["schools"]) == 28 and [status[s] for s in PASSING] == ["incomplete"] * 3
    assert run("evaluate", path, DEMO_COUNTY).exit_code == 1         # findings, not the file


@pytest.mark.parametrize("suffix", [".gbk.csv", ".xlsx"])
def test_exact_thresholds_hold_with_office_cells(tmp_path, ev, suffix):
    # national.class_size: primary at most 45 — 45 passes, 46 fails, whatever the other cells' forms
    header, rows = edited(省份="贵州省", 学年="2023—2024学年", 最大班额={2: "45", 3: "46"}, 图书册数={3: "／"})
    report = ev.evaluate_files([write(tmp_path / f"schools{suffix}", header, rows)])
    verdict = {e["school_id"]: {v["rule_id"]: (v["status"], v["value"]) for v in e["verdicts"]}
               for e in report.schools if e["stage"] == "primary"}
    assert verdict[PASSING[0]]["national.class_size"] == ("pass", 45)
    assert verdict[PASSING[1]]["national.class_size"] == ("fail", 46)
    assert verdict[PASSING[1]]["guizhou.books_per_pupil"][0] == "missing_data"


def test_records_given_with_chinese_keys_meet_the_given_province_as_file_rows_do():
    from edubalance.loading import InputError
    from edubalance.synthetic import generate
    records = [{("省份" if k == "province" else k): v for k, v in r.items()} for r in generate(3, seed=1, provinces=("anhui",))]
    forced = Evaluator(province="guizhou", province_conflicts="force").evaluate_records(records)
    assert forced.evaluated == 3 and {s["ruleset"].split("/")[0] for s in forced.schools} == {"guizhou"}
    with pytest.raises(InputError, match="第 1–3 行为 安徽"):
        Evaluator(province="guizhou", province_conflicts="refuse").evaluate_records(records)


def test_plan_and_rules_take_minus_p_as_the_other_commands_do(tmp_path, run):
    path = write(tmp_path / "schools.csv", *edited(省份={0: "贵州"}))
    refused = run("plan", path, "-P", "shaanxi")
    assert refused.exit_code == 2 and "--force-province" in refused.output
    assert run("plan", path, "-P", "shaanxi", "--force-province").exit_code in (0, 1)
    listing = run("rules", "-P", "贵州")
    assert listing.exit_code == 0 and listing.stdout.startswith("guizhou ")


@pytest.mark.parametrize("suffix", [".gbk.csv", ".xlsx"])
def test_ticks_and_crosses_and_the_parts_of_a_nine_year_school_as_offices_write_them(tmp_path, run, suffix):
    """√ and × in a 是/否 column (as forms tick them), 小学部 and 初中部 for the stages: each school
    judged as with 是/否 and 小学/初中."""
    header, rows = demo_table()
    yes_no = {"是": "√", "否": "×"}
    stage = {"小学": "小学部", "初中": "初中部"}
    ticked = edited(公办={i: yes_no[r[header.index("公办")]] for i, r in enumerate(rows)},
                    寄宿制学校={i: yes_no[r[header.index("寄宿制学校")]] for i, r in enumerate(rows)},
                    学段={i: stage[r[header.index("学段")]] for i, r in enumerate(rows)})
    plain = json.loads(run("evaluate", DEMO, "-f", "json").stdout)
    report = json.loads(run("evaluate", write(tmp_path / f"s{suffix}", *ticked), "-f", "json").stdout)
    assert report["records"]["rejected"] == 0
    assert [(s["school_id"], s["stage"], s["status"], s["score"]) for s in report["schools"]] == \
           [(s["school_id"], s["stage"], s["status"], s["score"]) for s in plain["schools"]]


def test_invisible_characters_pasted_into_cells_are_not_part_of_the_value(tmp_path, run):
    """A zero-width space, a BOM or a soft hyphen copied in from a web page: the clerk cannot see
    them, so they do not make a number or a stage unreadable."""
    header, rows = edited(在校生数={0: "\u200b2150", 1: "1480\ufeff"}, 学段={2: "小学\u200b"}, 图书册数={3: "36\u00ad960"})
    plain = json.loads(run("evaluate", DEMO, "-f", "json").stdout)
    report = json.loads(run("evaluate", write(tmp_path / "s.csv", header, rows), "-f", "json").stdout)
    assert report["records"]["rejected"] == 0
    assert [(s["school_id"], s["stage"], s["status"], s["score"]) for s in report["schools"]][:3] == \
           [(s["school_id"], s["stage"], s["status"], s["score"]) for s in plain["schools"]][:3]


def test_a_number_written_with_its_fields_own_unit_is_that_number(tmp_path, run):
    """2150人 under 在校生数, 41440册 under 图书册数, 23220平方米 (or ㎡) under 占地面积: the unit the
    field is counted in, typed after the number, says nothing more; any other word (人次, 万元,
    约) is still a rejected row, never read in the wrong unit or guessed."""
    header, rows = demo_table()
    col = header.index
    fine = edited(在校生数={0: rows[0][col("在校生数")] + "人", 1: rows[1][col("在校生数")] + " 名"},
                  班级数={0: rows[0][col("班级数")] + "个"}, 图书册数={0: rows[0][col("图书册数")] + "册"},
                  占地面积={0: rows[0][col("占地面积")] + "平方米", 1: rows[1][col("占地面积")] + "㎡"},
                  教学仪器设备资产值={0: rows[0][col("教学仪器设备资产值")] + "元"})
    plain = json.loads(run("evaluate", DEMO, "-f", "json").stdout)
    report = json.loads(run("evaluate", write(tmp_path / "s.gbk.csv", *fine), "-f", "json").stdout)
    assert report["records"]["rejected"] == 0
    assert [s["measures"] for s in report["schools"]] == [s["measures"] for s in plain["schools"]]
    wrong = edited(在校生数={0: "2150人次", 1: "约1480"}, 教学仪器设备资产值={2: "463.54万元"})
    checked = json.loads(run("validate", write(tmp_path / "w.csv", *wrong), "-f", "json").stdout)
    assert sorted((r["row"], p["code"], p["field"]) for r in checked["rejected"] for p in r["problems"]) == [
        (2, "E102", "students"), (3, "E102", "students"), (4, "E102", "equipment_value_yuan")]


def test_free_text_loses_its_invisible_characters_read_by_polars_or_by_the_coercer():
    """A national file's school names are read by polars, a county's through the coercer: the
    same names either way."""
    import polars as pl

    from edubalance.coercion import fast_values, normal_text
    names = ["青岚县\u200b第一小学", "\ufeff青岚县第二小学 ", "青岚县\u00ad实验学校", "Ｑ岚县"]
    by_polars = pl.DataFrame({"n": names}).select(fast_values(pl.col("n"), {"type": "string"})).to_series()
    assert by_polars.to_list() == [normal_text(n) for n in names] == ["青岚县第一小学", "青岚县第二小学", "青岚县实验学校",
                                                                        "Q岚县"]
