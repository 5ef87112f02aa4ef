"""Files as county offices save them: extra columns, title rows, instructions sheet first, totals
and signature rows, blank rows, headers in other units — in GBK CSV, UTF-8 CSV, XLSX and XLS,
through both ``validate`` and ``evaluate``, which must agree."""
from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from office_files import (FIRST_RECORD_ROW, INSTRUCTIONS, demo_as_office, demo_tables, office_sheet, save_csv,
                          save_xls, save_xlsx, skipped_rows, typed, with_units_row)

from edubalance import Evaluator
from edubalance.loading import InputError
from edubalance.readers import load_file

FORMATS = ("xlsx", "xls", "csv")
N_DEMO = 28
DEMO_SCHOOLS, DEMO_COUNTY = (Path(__file__).resolve().parents[1] / "plugins" / "guizhou" / "data" / name
                             for name in ("demo_schools.csv", "demo_county.csv"))


def both(run, paths, *extra):
    """(validate JSON, evaluate JSON report, validate result, evaluate result)."""
    checked = run("validate", *paths, "-f", "json", *extra)
    judged = run("evaluate", *paths, "-f", "json", *extra)
    data = json.loads(checked.stdout) if checked.exit_code != 2 else None
    report = json.loads(judged.stdout) if judged.exit_code != 2 else None
    return data, report, checked, judged


def agree(data, report):
    """validate and evaluate accept, reject and skip the same rows, and say the same about files."""
    rejected = {(r["file"], r["row"]) for r in data["rejected"]}
    in_report = {(r["file"], r["row"]) for r in report["rejected"] + report.get("rejected_counties", [])}
    assert rejected == in_report
    assert data["skipped"] == report["skipped"] and data["notices"] == report["notices"]
    rec, counts = data["records"], report["records"]
    assert rec["read"] == counts["read"] == counts["evaluated"] + counts["rejected"] + counts["skipped"]
    assert rec["accepted"] == counts["evaluated"] and rec["skipped"] == counts["skipped"]


@pytest.fixture(scope="module")
def plain_demo():
    """The demo county's report, from the plain demo files."""
    from edubalance import Evaluator
    data = Path(__file__).resolve().parents[1] / "plugins" / "guizhou" / "data"
    report = Evaluator().evaluate_files([data / "demo_schools.csv", data / "demo_county.csv"])
    return json.loads(report.to_json()), report.exit_code


def save_office(tmp_path, fmt, sheet, county):
    """Schools and county as two GBK CSV files, or one workbook with 填表说明 first."""
    if fmt == "csv":
        return [save_csv(tmp_path / "s.csv", sheet), save_csv(tmp_path / "c.csv", county)]
    save = save_xlsx if fmt == "xlsx" else save_xls
    return [save(tmp_path / f"w.{fmt}", [("填表说明", INSTRUCTIONS), ("学校", sheet), ("县级", county)])]


def statuses(report):
    return {(s["school_id"], s["stage"]): (s["status"], s["score"]["overall"]) for s in report["schools"]}


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_demo_county_as_an_office_saves_it(run, tmp_path, fmt, plain_demo):
    expected, exit_code = plain_demo
    paths = demo_as_office(tmp_path, fmt)
    data, report, checked, judged = both(run, paths)
    assert checked.exit_code == 0, checked.output          # nothing wrong with any record
    assert judged.exit_code == exit_code                     # findings only, as the plain demo's
    agree(data, report)
    school_file = str(paths[0])
    skipped = skipped_rows(N_DEMO)
    assert [(s["file"], s["row"]) for s in report["skipped"]] == [(school_file, r) for r in skipped]
    assert report["records"] == {"read": N_DEMO + len(skipped), "evaluated": N_DEMO, "rejected": 0,
                                 "skipped": len(skipped)}
    codes = [n["code"] for n in report["notices"]]
    assert codes == ["W401", "W403"]
    assert "序号" in report["notices"][0]["message"] and "备注" in report["notices"][0]["message"]
    assert f"{skipped[0]}–{skipped[-1]}" in report["notices"][1]["message"]
    assert statuses(report) == statuses(expected)
    assert [c["status"] for c in report["counties"]] == [c["status"] for c in expected["counties"]]
    rows = sorted(s["source"]["row"] for s in report["schools"])
    assert rows == list(range(FIRST_RECORD_ROW, FIRST_RECORD_ROW + N_DEMO))   # the rows the clerk sees
    assert "W401" in judged.stderr and "W401" in checked.stderr
    if fmt != "csv":
        assert "跳过工作表 skipped sheet 「填表说明」" in judged.stderr
        assert "读取工作表 read sheet 「学校」" in checked.stderr


def test_utf8_csv_with_totals_written_with_spaces_and_notes(run, tmp_path):
    (header, rows), _ = demo_tables()
    sheet = office_sheet(header, rows[:4], title=None, serial=False, totals=False, signature=False)
    width = len(sheet[0])
    sheet += [["合 计"] + [None] * (width - 1),
              [None] * (width - 1) + ["只在备注里写了字"],
              ["注：数据截至 2023 年 9 月"] + [None] * (width - 1),
              [None, "审核人：王五"] + [None] * (width - 2)]
    path = save_csv(tmp_path / "s.csv", sheet, encoding="utf-8")
    data, report, checked, judged = both(run, [path])
    agree(data, report)
    assert [s["row"] for s in report["skipped"]] == [6, 7, 8, 9]
    assert report["records"]["evaluated"] == 4 and report["records"]["rejected"] == 0


def test_a_school_whose_name_opens_with_a_note_word_is_still_a_record(tmp_path):
    from edubalance.readers import load_file
    path = tmp_path / "s.csv"
    path.write_text("学校标识码,学校名称,学段\n5226980001,全区实验小学,小学\n,合计,\n", encoding="utf-8")
    loaded = load_file(path)
    assert loaded.frame["school_name"].to_list() == ["全区实验小学"]
    assert [s.row for s in loaded.skipped] == [3]


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_header_in_wan_yuan_is_converted_with_a_warning(run, tmp_path, fmt, plain_demo):
    expected, _ = plain_demo
    (header, rows), (county_header, county_rows) = demo_tables()
    j = header.index("教学仪器设备资产值")
    header = list(header)
    header[j] = "教学仪器设备资产值（万元）"
    rows = [r[:j] + [str(int(r[j]) / 10_000)] + r[j + 1:] for r in rows]
    paths = save_office(tmp_path, fmt, office_sheet(header, rows), [county_header, *county_rows])
    data, report, checked, judged = both(run, paths)
    agree(data, report)
    [converted] = [n for n in report["notices"] if n["code"] == "W402"]
    assert converted["field"] == "equipment_value_yuan" and "×10000" in converted["message"]
    assert "万元" in judged.stderr and "W402" in checked.stderr
    assert statuses(report) == statuses(expected)
    values = {s["school_id"]: s["measures"]["equipment_value_per_pupil"] for s in report["schools"]}
    assert values == {s["school_id"]: s["measures"]["equipment_value_per_pupil"] for s in expected["schools"]}


@pytest.mark.parametrize("header,cell,value", [("图书（千册）", "52.976", 52976), ("占地面积（亩）", "15", 10000),
                                               ("占地面积(公顷)", "2.3220", 23220),
                                               ("公用经费实际拨付数万元", "139.75", 1397500)])
def test_other_certain_units(tmp_path, header, cell, value):
    from edubalance import Evaluator
    path = tmp_path / "s.csv"
    path.write_text(f"学校标识码,学段,{header}\n5226980001,小学,{cell}\n", encoding="gbk")
    loaded = Evaluator().load([path])
    field = [c for c in loaded.schools.columns if not c.startswith("_") and c not in ("school_id", "stage")][0]
    assert float(loaded.schools[field][0]) == value
    assert [n.code for n in loaded.notices] == ["W402"]


@pytest.mark.parametrize("fmt", ("csv", "xlsx"))
def test_an_unknown_unit_is_refused_in_both_commands(run, tmp_path, fmt):
    (header, rows), _ = demo_tables()
    header = [h if h != "教学仪器设备资产值" else "教学仪器设备资产值（美元）" for h in header]
    sheet = office_sheet(header, rows[:3])
    path = (save_csv(tmp_path / "s.csv", sheet) if fmt == "csv"
            else save_xlsx(tmp_path / "s.xlsx", [("学校", sheet)]))
    for command in ("validate", "evaluate"):
        result = run(command, path)
        assert result.exit_code == 2
        assert "「美元」无法换算" in result.stderr and "cannot be converted" in result.stderr
        assert "did you mean" not in result.stderr and result.stderr.count("edubalance: 错误 error:") == 1


@pytest.mark.parametrize("header, zh, en", [
    ("在校生数（人次）", "无法换算为 在校生数 的单位 人，请改为 人（可换算的单位：无）",
     "give the values in pupils (units converted: none)"),
    ("学生用计算机台数（套）", "无法换算为 学生用计算机台数 的单位 台，请改为 台（可换算的单位：无）",
     "give the values in computers (units converted: none)"),
    ("教学仪器设备资产值（美元）", "请改为 元（可换算的单位：万元、",
     "give the values in yuan (units converted: 万元, "),
])
def test_a_refused_unit_says_in_chinese_which_unit_to_give(tmp_path, header, zh, en):
    """The Chinese half names the field's unit in Chinese (人, not pupils), the English half in English."""
    path = tmp_path / "s.csv"
    path.write_text(f"学校标识码,学段,{header}\n5226980001,小学,1\n", encoding="gbk")
    with pytest.raises(InputError) as refused:
        Evaluator().load([path])
    zh_half, en_half = refused.value.message.split("/ column ")
    assert zh in zh_half and en in en_half


def test_json_keys_follow_the_same_column_rules(tmp_path):
    from edubalance import Evaluator
    path = tmp_path / "r.json"
    path.write_text(json.dumps([{"school_id": "5226980001", "stage": "primary", "备注": "x",
                                 "教学仪器设备资产值（万元）": 12.5}], ensure_ascii=False), encoding="utf-8")
    loaded = Evaluator().load([path])
    assert loaded.schools["equipment_value_yuan"].to_list() == ["125000"]
    assert [n.code for n in loaded.notices] == ["W401", "W402"]


def test_api_keys_in_another_unit_are_converted_as_a_files_headers_are(plain_demo):
    from edubalance import Evaluator
    from edubalance.errors import InvalidInput
    expected, _ = plain_demo
    (header, rows), _ = demo_tables()
    plain = [dict(zip(header, r)) for r in rows]
    given = [{("教学仪器设备资产值（万元）" if k == "教学仪器设备资产值" else k): (int(v) / 10_000 if k == "教学仪器设备资产值" else v)
              for k, v in r.items()} for r in plain]
    ev = Evaluator()
    report = ev.evaluate_records(given).to_dict()
    assert report["records"]["rejected"] == 0 and report["records"]["evaluated"] == N_DEMO
    [converted] = report["notices"]                          # once for the key, not once per record
    assert (converted["code"], converted["file"], converted["field"]) == ("W402", "<records>", "equipment_value_yuan")
    assert converted["message"].startswith("键「教学仪器设备资产值（万元）」按万元填写，已换算为教学仪器设备资产值（元，×10000）")
    values = {s["school_id"]: s["measures"]["equipment_value_per_pupil"] for s in report["schools"]}
    assert values == {s["school_id"]: s["measures"]["equipment_value_per_pupil"] for s in expected["schools"]}
    assert ev.evaluate_record(given[0])["measures"] == ev.evaluate_record(plain[0])["measures"]
    in_mu = {("占地面积（亩）" if k == "占地面积" else k): ("15" if k == "占地面积" else v) for k, v in plain[0].items()}
    assert ev.evaluate_record(in_mu)["measures"]["land_area_per_pupil"] == 10_000 / int(plain[0]["在校生数"])
    with pytest.raises(InvalidInput) as refused:                   # no exact factor: never read as yuan
        ev.evaluate_records([{("教学仪器设备资产值（美元）" if k == "教学仪器设备资产值" else k): v for k, v in plain[0].items()}])
    [p] = refused.value.problems
    assert (p.code, p.field, p.observed) == ("E106", "equipment_value_yuan", "教学仪器设备资产值（美元）")
    assert "「美元」无法换算" in p.message and "cannot be converted" in p.message
    with pytest.raises(InvalidInput) as each:                      # every record with the key is named
        ev.evaluate_records([{("教学仪器设备资产值（美元）" if k == "教学仪器设备资产值" else k): v for k, v in r.items()}
                             for r in plain[:3]])
    assert [(q.code, q.row) for q in each.value.problems] == [("E106", 1), ("E106", 2), ("E106", 3)]
    with pytest.raises(InvalidInput) as twice:
        ev.evaluate_record({**plain[0], "教学仪器设备资产值（万元）": 463.54})
    assert [q.code for q in twice.value.problems] == ["E191"]
    assert "键「教学仪器设备资产值」和「教学仪器设备资产值（万元）」都是" in twice.value.problems[0].message


def test_the_python_api_still_refuses_an_unknown_key():
    from edubalance import Evaluator
    with pytest.raises(ValueError, match="favourite_colour"):
        Evaluator().evaluate_record({"school_id": "5226980001", "stage": "primary", "province": "guizhou",
                                     "county_code": "522698", "year": 2023, "favourite_colour": "blue"})


@pytest.mark.parametrize("fmt", ("xlsx", "xls"))
def test_a_workbook_without_a_sheet_of_records_is_one_error(run, tmp_path, fmt):
    save = save_xlsx if fmt == "xlsx" else save_xls
    path = save(tmp_path / f"w.{fmt}", [("填表说明", INSTRUCTIONS), ("图表数据", [["月份", "人数"], ["9月", 3]])])
    for command in ("validate", "evaluate"):
        result = run(command, path)
        assert result.exit_code == 2 and result.stderr.count("edubalance: 错误 error:") == 1
        assert "no sheet of the workbook holds school or county records" in result.stderr
        assert "「填表说明」" in result.stderr and "「图表数据」" in result.stderr
        assert "「图表数据」：没有可识别的列名（如填表说明；第 1 行是 「月份」、「人数」）" in result.stderr
        assert "row 1 holds '月份', '人数'" in result.stderr


@pytest.mark.parametrize("fmt", ("xlsx", "xls"))
def test_the_service_parts_a_workbook_error_of_several_sheets_into_chinese_and_english(tmp_path, fmt):
    from edubalance.service.problems import unreadable_file
    save = save_xlsx if fmt == "xlsx" else save_xls
    path = save(tmp_path / f"w.{fmt}", [("填表说明", INSTRUCTIONS), ("图表数据", [["月份", "人数"], ["9月", 3]])])
    with pytest.raises(InputError) as refused:
        load_file(path)
    detail = unreadable_file(refused.value).detail
    zh, en = detail.split(f"The file {str(path)!r} cannot be read: ")
    assert zh.startswith(f"文件 {path} 无法读取：工作簿中没有学校或县级记录的工作表。各工作表：「填表说明」：没有可识别的列名")
    assert "；「图表数据」：没有可识别的列名（如填表说明；第 1 行是 「月份」、「人数」）" in zh
    assert "no known" not in zh and "holds" not in zh
    assert en.startswith("no sheet of the workbook holds school or county records")
    assert "'图表数据': no known column headers (instructions, say; row 1 holds '月份', '人数')" in en
    assert "没有可识别" not in en and "各工作表" not in en


def test_two_sheets_of_schools_in_any_order_are_both_read(tmp_path):
    from edubalance.readers import load_file
    (header, rows), (county_header, county_rows) = demo_tables()
    path = save_xlsx(tmp_path / "w.xlsx", [("县级", [county_header, *county_rows]), ("说明", INSTRUCTIONS),
                                           ("小学", [header, *rows[:10]]), ("初中", [header, *rows[10:]])])
    loaded = load_file(path)
    assert loaded.frame.height == N_DEMO and loaded.county.height == 1
    assert set(loaded.frame["_file"].to_list()) == {str(path), f"{path}#初中"}
    assert any("skipped sheet 「说明」" in s for s in loaded.sheets)


@pytest.mark.parametrize("text", ["学校标识码,学段,在校生数\n", "学校标识码,学段,在校生数\n合计,,1200\n填表人：张三,,\n"])
def test_no_records_is_one_error_in_both_commands(run, tmp_path, text):
    path = tmp_path / "s.csv"
    path.write_text(text, encoding="gbk")
    for command in ("validate", "evaluate"):
        result = run(command, path)
        assert result.exit_code == 2 and "no records found" in result.stderr and "未找到" in result.stderr
        assert result.stderr.count("edubalance: 错误 error:") == 1
        if "合计" in text:                  # every row skipped: said so, by file and rows, not "only a header"
            assert f"全部 2 行都是合计、签名、说明、单位行或空行，已跳过（{path} 第 2–3 行）" in result.stderr
            assert "all 2 row(s) were skipped as not records" in result.stderr and "only a header" not in result.stderr
        else:
            assert "未找到学校或县级记录（只有表头，或没有数据行） / no records found (only a header" in result.stderr


def test_skipped_rows_are_counted_in_every_output(run, tmp_path):
    paths = demo_as_office(tmp_path, "csv")
    skipped = len(skipped_rows(N_DEMO))
    table = run("evaluate", *paths)
    assert (f"读取 {N_DEMO + skipped} read, 评估 {N_DEMO} evaluated, 被拒 0 rejected, 跳过 {skipped} skipped"
            in table.stdout)
    run("evaluate", *paths, "-o", tmp_path / "r.ndjson")
    head = json.loads((tmp_path / "r.ndjson").read_text(encoding="utf-8").splitlines()[0])
    assert head["records"]["skipped"] == skipped and len(head["skipped"]) == skipped
    run("evaluate", *paths, "-f", "parquet", "-o", tmp_path / "pq")
    summary = pq.read_table(tmp_path / "pq" / "summary.parquet").to_pylist()[0]
    assert summary["read"] == summary["evaluated"] + summary["rejected"] + summary["skipped"] == N_DEMO + skipped
    text = run("validate", *paths)
    assert f"读取 {N_DEMO + skipped} read, 通过 {N_DEMO} accepted, 被拒 0 rejected, 跳过 {skipped} skipped" in text.stdout


def test_the_report_schema_holds_the_new_counts(tmp_path):
    from jsonschema import Draft202012Validator

    from edubalance import Evaluator
    from edubalance.schemas import report_schema
    report = Evaluator().evaluate_files(demo_as_office(tmp_path, "xlsx")).to_dict()
    Draft202012Validator(report_schema()).validate(report)
    assert report_schema()["x-version"] == 3


@pytest.mark.parametrize("fmt", FORMATS)
def test_acceptance_the_demo_county_with_office_cells(run, tmp_path, fmt):
    (header, rows), (county_header, county_rows) = demo_tables()
    prov, year = header.index("省份"), header.index("学年")
    books, computers = header.index("图书册数"), header.index("学生用计算机台数")
    rows = [list(r) for r in rows]
    for k, r in enumerate(rows):
        r[prov], r[year] = "贵州省", "2023-2024"
        if k in (2, 3, 10):                 # schools that pass every rule with their data complete
            r[books if k != 3 else computers] = "/"
    paths = save_office(tmp_path, fmt, office_sheet(header, rows), [county_header, *county_rows])
    data, report, checked, judged = both(run, paths)
    agree(data, report)
    assert report["records"]["evaluated"] == N_DEMO and report["records"]["rejected"] == 0
    assert judged.exit_code == 1
    by_row = {s["source"]["row"]: s["status"] for s in report["schools"]}
    assert all(by_row[FIRST_RECORD_ROW + k] == "incomplete" for k in (2, 3, 10))


UNITS = {"学校名称": "（所）", "在校生数": "（人）", "专任教师数": "(人)", "班级数": "个", "占地面积": "（平方米）",
         "图书册数": "册", "教学仪器设备资产值": "单位：万元", "学年": "年"}


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_units_row_is_skipped_and_its_units_applied(run, tmp_path, fmt, plain_demo):
    expected, exit_code = plain_demo
    (header, rows), (county_header, county_rows) = demo_tables()
    j = header.index("教学仪器设备资产值")
    rows = [r[:j] + [str(int(r[j]) / 10_000)] + r[j + 1:] for r in rows]
    sheet = with_units_row(office_sheet(header, rows), UNITS)
    paths = save_office(tmp_path, fmt, sheet, [county_header, *county_rows])
    data, report, checked, judged = both(run, paths)
    assert checked.exit_code == 0, checked.output
    assert judged.exit_code == exit_code
    agree(data, report)
    units_row = FIRST_RECORD_ROW
    skipped = [(s["row"], s["reason"]) for s in report["skipped"]]
    assert skipped[0] == (units_row, "单位行 / units row")
    assert [r for r, _ in skipped[1:]] == [r + 1 for r in skipped_rows(N_DEMO)]
    assert report["records"] == {"read": N_DEMO + len(skipped), "evaluated": N_DEMO, "rejected": 0,
                                 "skipped": len(skipped)}
    [converted] = [n for n in report["notices"] if n["code"] == "W402"]      # 人, 个, 平方米, 册, 年: silent
    assert converted["field"] == "equipment_value_yuan" and "×10000" in converted["message"]
    assert "（单位行）「教学仪器设备资产值」按万元填写" in converted["message"] and "(units row)" in converted["message"]
    assert "单位行" in judged.stderr and "W402" in checked.stderr
    assert statuses(report) == statuses(expected)
    values = {s["school_id"]: s["measures"]["equipment_value_per_pupil"] for s in report["schools"]}
    assert values == {s["school_id"]: s["measures"]["equipment_value_per_pupil"] for s in expected["schools"]}
    assert sorted(s["source"]["row"] for s in report["schools"]) == list(range(units_row + 1, units_row + 1 + N_DEMO))


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("written", ["（美元）", "千人"])
def test_a_unit_in_the_units_row_that_cannot_be_converted_is_refused(run, tmp_path, fmt, written):
    (header, rows), (county_header, county_rows) = demo_tables()
    field = "教学仪器设备资产值" if written == "（美元）" else "在校生数"
    sheet = with_units_row(office_sheet(header, rows[:3]), {**UNITS, field: written})
    paths = save_office(tmp_path, fmt, sheet, [county_header, *county_rows])
    for command in ("validate", "evaluate"):
        result = run(command, *paths)
        assert result.exit_code == 2, result.output
        assert f"「{written.strip('（）')}」无法换算" in result.stderr and "cannot be converted" in result.stderr
        assert "（单位行）" in result.stderr
        assert result.stderr.count("edubalance: 错误 error:") == 1


def test_a_units_row_contradicting_the_header_is_refused(run, tmp_path):
    (header, rows), _ = demo_tables()
    header = [h if h != "教学仪器设备资产值" else "教学仪器设备资产值（元）" for h in header]
    path = save_csv(tmp_path / "s.csv", with_units_row(office_sheet(header, rows[:3]),
                                                        {**UNITS, "教学仪器设备资产值（元）": "（万元）"}))
    for command in ("validate", "evaluate"):
        result = run(command, path)
        assert result.exit_code == 2 and "不一致" in result.stderr and "differ" in result.stderr


def test_a_percent_units_row_and_one_without_words_only(tmp_path):
    from edubalance import Evaluator
    path = tmp_path / "s.csv"
    path.write_text("县级行政区划代码,县（市、区）,教师交流轮岗比例\n单位,—,%\n522698,青岚县,12\n", encoding="gbk")
    loaded = Evaluator().load([path])
    assert [s.row for s in loaded.skipped] == [2] and loaded.counties.height == 1
    [converted] = [n for n in loaded.notices if n.code == "W402"]
    assert converted.field == "rotation_rate" and float(loaded.counties["rotation_rate"][0]) == 0.12
    # A first row of numbers is a record, not a units row.
    path.write_text("学校标识码,学段,在校生数\n5226980001,小学,500\n", encoding="gbk")
    loaded = Evaluator().load([path])
    assert not loaded.skipped and loaded.schools.height == 1


def notice_lines(result):
    """The lines a command says about whole files (sheets read and skipped, W401–W403)."""
    return [line for line in result.stderr.splitlines() if line.startswith("edubalance: ") and "错误" not in line]


@pytest.mark.parametrize("fmt", FORMATS)
def test_plan_says_what_validate_says_about_the_files(run, tmp_path, fmt, plain_demo):
    (header, rows), (county_header, county_rows) = demo_tables()
    sheet = with_units_row(office_sheet(header, rows), UNITS)
    j = sheet[1].index("教学仪器设备资产值")
    for r in sheet[3:3 + N_DEMO]:
        r[j] = str(int(r[j]) / 10_000)
    paths = save_office(tmp_path, fmt, sheet, [county_header, *county_rows])
    checked = run("validate", *paths)
    planned = run("plan", *paths, "-e", "vector", "-o", tmp_path / "plan.json")
    plain = run("plan", DEMO_SCHOOLS, DEMO_COUNTY, "-e", "vector", "-o", tmp_path / "plain.json")
    assert planned.exit_code == plain.exit_code
    lines = notice_lines(planned)
    assert lines == notice_lines(checked)
    assert [code for code in ("W401", "W402", "W403") if any(code in line for line in lines)] == ["W401", "W402", "W403"]
    if fmt != "csv":
        assert any("填表说明" in line for line in lines)          # the sheet skipped, and why
    document = json.loads((tmp_path / "plan.json").read_text(encoding="utf-8"))
    expected = json.loads((tmp_path / "plain.json").read_text(encoding="utf-8"))
    assert len(document["schools"]) == len(expected["schools"]) and not document["rejected"]
    def unsourced(doc):
        return [{k: v for k, v in s.items() if k != "source"} for s in doc["schools"]]
    assert unsourced(document) == unsourced(expected)                 # the same plan, the units applied


@pytest.mark.parametrize("text", ["学校标识码,学段,在校生数\n", "学校标识码,学段,在校生数\n合计,,1200\n填表人：张三,,\n"])
def test_plan_refuses_a_file_without_records_as_the_others_do(run, tmp_path, text):
    path = tmp_path / "s.csv"
    path.write_text(text, encoding="gbk")
    for command in ("validate", "evaluate", "plan"):
        result = run(command, path)
        assert result.exit_code == 2 and "no records found" in result.stderr, (command, result.output)
    (tmp_path / "p.json").write_text('{"schools": [], "counties": []}', encoding="utf-8")
    applied = run("plan", path, "--apply", tmp_path / "p.json", "-o", tmp_path / "a.csv")
    assert applied.exit_code == 2 and "no records found" in applied.stderr


def test_a_school_named_after_a_place_like_quanzhou_is_a_record_not_a_total(run, tmp_path):
    from edubalance.readers.tables import NON_RECORD
    assert not NON_RECORD.match("全州县石塘镇中心小学") and NON_RECORD.match("全县合计") and NON_RECORD.match("全 州")
    (header, rows), _ = demo_tables()
    rows = [list(r) for r in rows]
    rows[0][header.index("学校标识码")] = ""                 # no id of its own: judged by its name
    rows[0][header.index("学校名称")] = "全州县石塘镇中心小学"
    path = save_csv(tmp_path / "s.csv", [header, *rows])
    data = json.loads(run("validate", path, "-f", "json").stdout)
    assert data["records"]["skipped"] == 0 and data["records"]["rejected"] == 1


#: Lines offices write under a table (the statistical reports' 单位负责人/统计负责人/填表人/报出日期
#: footer, contacts, the data's source) and subtotal lines (其中：农村): none is a school.
FOOTERS = ["统计负责人：王刚", "报出日期：2024年3月5日", "填报时间：2024年3月5日", "填报单位：青岚县教育局",
           "单位（盖章）：青岚县教育局", "经办人：张敏", "统计员：李四", "主管领导：王刚", "分管领导：王刚", "制表：张敏",
           "联系方式：0851-1234567", "联系电话：0851-1234567", "电话：0851-1234567", "日期：2024.3.5",
           "数据来源：2023年教育事业统计", "资料来源：教育事业统计", "其中：农村学校", "其中 农村"]


@pytest.mark.parametrize("where", ["学校标识码", "学校名称"])
def test_the_lines_offices_write_under_a_table_are_skipped_not_rejected(run, tmp_path, where):
    (header, rows), _ = demo_tables()
    footer = []
    for text in FOOTERS:
        line = [""] * len(header)
        line[header.index(where)] = text
        footer.append(line)
    footer[-1][header.index("在校生数")] = "1200"                # a subtotal carries numbers
    path = save_csv(tmp_path / "s.csv", [header, *rows, *footer])
    data = json.loads(run("validate", path, "-f", "json").stdout)
    assert data["records"] == {"read": len(rows) + len(FOOTERS), "accepted": len(rows), "rejected": 0,
                               "skipped": len(FOOTERS)}
    assert [s["reason"] for s in data["skipped"]] == [f"非记录行 not a record: {t}" for t in FOOTERS]


def merged_demo(path: Path, fmt: str) -> Path:
    """The demo county as offices merge its cells: 县级行政区划代码, 县（市、区）, 省份 and 学年 each one
    cell down the whole table, 学校标识码, 学校名称 and 办学类型 one cell over the two rows of the
    nine-year school 5226980005 (sheet rows 6–7), and 占地面积 one cell over the two rows of the
    nine-year school 5226980022 (rows 24–25: a number, which counts in its first row only)."""
    (header, rows), _ = demo_tables()
    whole = [(header.index(h), 1, len(rows)) for h in ("县级行政区划代码", "县（市、区）", "省份", "学年")]
    pair = [(header.index(h), 5, 6) for h in ("学校标识码", "学校名称", "办学类型")] + [(header.index("占地面积"), 23, 24)]
    if fmt == "xlsx":
        import openpyxl
        wb = openpyxl.Workbook()
        ws = wb.active
        ws.title = "学校"
        for r in [header, *rows]:
            ws.append([typed(c) for c in r])
        for j, r0, r1 in whole + pair:
            ws.merge_cells(start_row=r0 + 1, start_column=j + 1, end_row=r1 + 1, end_column=j + 1)
        wb.save(path)
    else:
        import xlwt
        wb = xlwt.Workbook(encoding="utf-8")
        ws = wb.add_sheet("学校")
        table = [header, *rows]
        inside = {(r, j) for j, r0, r1 in whole + pair for r in range(r0, r1 + 1)}
        for i, r in enumerate(table):
            for j, c in enumerate(r):
                if (i, j) not in inside:
                    ws.write(i, j, typed(c))
        for j, r0, r1 in whole + pair:
            ws.write_merge(r0, r1, j, j, typed(table[r0][j]))
        wb.save(str(path))
    return path


@pytest.mark.parametrize("fmt", ["xlsx", "xls"])
def test_merged_cells_of_names_codes_and_years_count_in_each_of_their_rows(run, tmp_path, fmt):
    """A merged cell shows one value for all its rows, and that is what the clerk meant for a code,
    a name, a year or a kind; a merged number is not spread (a shared campus is not two campuses):
    it counts in its first row only, and the notice says so."""
    data, report, _, judged = both(run, [merged_demo(tmp_path / f"merged.{fmt}", fmt)])
    assert data["records"] == {"read": N_DEMO, "accepted": N_DEMO, "rejected": 0, "skipped": 0}
    plain = json.loads(run("evaluate", DEMO_SCHOOLS, "-f", "json").stdout)
    def verdicts(doc):
        return {(s["school_id"], s["stage"], v["rule_id"]): v["status"] for s in doc["schools"] for v in s["verdicts"]}
    got, want = verdicts(report), verdicts(plain)
    assert {k: v for k, v in got.items() if want[k] != v} == {        # its 占地面积 is in row 24's cell
        ("5226980022", "junior", "guizhou.land_area_per_pupil"): "missing_data"}
    [notice] = [n for n in report["notices"] if n["code"] == "W404"]
    assert "「县级行政区划代码」第 2–29 行" in notice["message"] and "「学校标识码」第 6–7 行" in notice["message"]
    assert "只计入第一行：第 X 列「占地面积」第 24–25 行" in notice["message"]
    assert "W404" in judged.stderr


def two_row_header_demo(path: Path, noted: bool = False) -> Path:
    """The demo county under a two-row header, as statistical forms have one: every column's
    header merged over both rows, but 教师情况 over 专任教师数 and 县级及以上骨干教师数 below it
    (``noted``: and 学校情况 over 学校标识码（10位） and 学校名称)."""
    import openpyxl
    (header, rows), _ = demo_tables()
    order = [j for j in range(len(header)) if header[j] != "县级及以上骨干教师数"]
    at = order.index(header.index("专任教师数"))
    order.insert(at + 1, header.index("县级及以上骨干教师数"))
    top = [header[j] for j in order]
    sub: list = [None] * len(order)
    top[at], top[at + 1], sub[at], sub[at + 1] = "教师情况", None, "专任教师数", "县级及以上骨干教师数"
    groups = [at]
    if noted:                                        # 学校标识码 and 学校名称: the first two columns
        top[0], top[1], sub[0], sub[1] = "学校情况", None, "学校标识码（10位）", "学校名称"
        groups.append(0)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "学校"
    for r in [["青岚县学校情况表"], top, sub, *[[r[j] for j in order] for r in rows]]:
        ws.append([typed(c) for c in r])
    grouped = {c for g in groups for c in (g + 1, g + 2)}
    for g in groups:
        ws.merge_cells(start_row=2, start_column=g + 1, end_row=2, end_column=g + 2)
    for c in range(1, len(order) + 1):
        if c not in grouped:
            ws.merge_cells(start_row=2, start_column=c, end_row=3, end_column=c)
    wb.save(path)
    return path


@pytest.mark.parametrize("noted", [False, True], ids=["plain", "digits in a note"])
def test_a_two_row_header_names_the_columns_its_second_row_names(run, tmp_path, noted):
    """Under a group heading (教师情况) the fields are named in the header's second row: read from
    there, and that row skipped as part of the header (it was ignored, and 专任教师数 lost). Digits
    in a note (学校标识码（10位）) do not make the row a record."""
    data, report, checked, _ = both(run, [two_row_header_demo(tmp_path / "two.xlsx", noted)])
    assert data["records"] == {"read": N_DEMO + 1, "accepted": N_DEMO, "rejected": 0, "skipped": 1}
    assert data["skipped"][0]["row"] == 3 and data["skipped"][0]["reason"] == "表头第二行 / second header row"
    plain = json.loads(run("evaluate", DEMO_SCHOOLS, "-f", "json").stdout)
    assert statuses(report) == statuses(plain)
    assert not [n for n in report["notices"] if n["code"] == "W401"]        # no column left unnamed


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_table_under_a_long_title_and_instructions_is_found(run, tmp_path, fmt):
    """Twelve lines of title, 填报单位 and 填表说明 above the header, as some forms have: the header
    is still found (a GBK file was called binary: no field was named in its first ten rows)."""
    (header, rows), (county_header, county_rows) = demo_tables()
    notes = [["青岚县义务教育学校办学条件统计表（2023年）"], ["填报单位：青岚县教育局"]] + [
        [f"{i}. 填表说明第{i}条：面积单位为平方米，金额单位为元，各项按2023年9月统计。"] for i in range(1, 11)]
    paths = save_office(tmp_path, fmt, [*notes, header, *rows], [county_header, *county_rows])
    data = json.loads(run("validate", *paths, "-f", "json").stdout)
    assert data["records"]["accepted"] == N_DEMO and data["records"]["rejected"] == 0


def test_formulas_a_program_left_uncomputed_are_named(run, tmp_path):
    """A workbook written by a program (not saved by Excel or WPS) holds its formulas without their
    results: a formula in a record is named with what to do (its row still lacks the value); one
    in the 合计 row, skipped, is not."""
    import openpyxl
    (header, rows), _ = demo_tables()
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "学校"
    for r in [header, *rows]:
        ws.append([typed(c) for c in r])
    students = header.index("在校生数") + 1
    ws.cell(row=2, column=students, value="=2000+150")
    ws.append(["合计"] + [None] * (students - 2) + [f"=SUM(L2:L{len(rows) + 1})"])
    wb.save(tmp_path / "generated.xlsx")
    data, _, checked, _ = both(run, [tmp_path / "generated.xlsx"])
    [notice] = [n for n in data["notices"] if n["code"] == "W405"]
    assert notice["message"].startswith("工作簿中的公式没有计算结果（文件由程序生成）：「学校」L2（=2000+150）")
    assert "SUM" not in notice["message"] and "open it in Excel or WPS and save it" in notice["message"]
    assert [(r["row"], p["code"], p["field"]) for r in data["rejected"] for p in r["problems"]] == [(2, "E101", "students")]


def sub_item_header_demo(path: Path, two_rows: bool) -> Path:
    """The demo county with 学生宿舍面积 headed as the sub-item statistical forms make it,
    ``其中：学生宿舍面积``, right after 校舍建筑面积; ``two_rows``: under a two-row header, 校舍面积
    merged over 总面积 and 其中：学生宿舍面积, every other header merged over both rows."""
    import openpyxl
    (header, rows), _ = demo_tables()
    order = [j for j in range(len(header)) if header[j] != "学生宿舍面积"]
    at = order.index(header.index("校舍建筑面积"))
    order.insert(at + 1, header.index("学生宿舍面积"))
    top: list = [header[j] for j in order]
    top[at + 1] = "其中：学生宿舍面积"
    head = [top]
    if two_rows:
        sub: list = [None] * len(order)
        top[at], top[at + 1], sub[at], sub[at + 1] = "校舍面积", None, "总面积", "其中：学生宿舍面积"
        head.append(sub)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "学校"
    for r in [*head, *[[r[j] for j in order] for r in rows]]:
        ws.append([typed(c) for c in r])
    if two_rows:
        ws.merge_cells(start_row=1, start_column=at + 1, end_row=1, end_column=at + 2)
        for c in range(1, len(order) + 1):
            if c not in (at + 1, at + 2):
                ws.merge_cells(start_row=1, start_column=c, end_row=2, end_column=c)
    wb.save(path)
    return path


@pytest.mark.parametrize("two_rows", [False, True], ids=["one header row", "under 校舍面积"])
def test_a_sub_item_header_names_its_field(run, tmp_path, two_rows):
    """``其中：学生宿舍面积`` is the field 学生宿舍面积: the column was ignored (W401, the dormitory
    area lost) and, under a two-row header, that second row was read as a record and rejected."""
    data, report, _, _ = both(run, [sub_item_header_demo(tmp_path / "sub.xlsx", two_rows)])
    assert data["records"] == {"read": N_DEMO + two_rows, "accepted": N_DEMO, "rejected": 0, "skipped": int(two_rows)}
    assert not [n for n in report["notices"] if n["code"] == "W401"]
    plain = json.loads(run("evaluate", DEMO_SCHOOLS, "-f", "json").stdout)
    assert statuses(report) == statuses(plain)
    assert [s["measures"] for s in report["schools"]] == [s["measures"] for s in plain["schools"]]


def test_a_formulas_error_value_is_shown_as_a_csv_of_the_sheet_shows_it(run, tmp_path):
    """A cell holding an error (``#DIV/0!``, ``#REF!``: a broken formula, or its result pasted as a
    value) was read from a workbook as an empty cell — 图书册数 silently missing, 在校生数 "缺失" —
    where the same sheet saved as CSV shows the error: it is refused with the error as its value.
    ``#N/A`` stays a missing value; a row of errors alone below the table is no row."""
    import openpyxl
    (header, rows), _ = demo_tables()
    books, students = header.index("图书册数"), header.index("在校生数")
    cells = [[typed(c) for c in r] for r in rows]
    cells[0][books], cells[1][students], cells[2][books] = "#DIV/0!", "#REF!", "#N/A"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "学校"
    for r in [[*header, "生均图书"], *[[*r, None] for r in cells]]:
        ws.append(r)
    ws.cell(row=len(rows) + 5, column=len(header) + 1, value="#DIV/0!")      # a formula copied down
    wb.save(tmp_path / "errors.xlsx")
    assert ws.cell(row=2, column=books + 1).data_type == "e"
    save_csv(tmp_path / "errors.csv", [header, *cells])
    for path in (tmp_path / "errors.xlsx", tmp_path / "errors.csv"):
        data, _, checked, judged = both(run, [path])
        assert checked.exit_code == judged.exit_code == 1
        assert data["records"] == {"read": N_DEMO, "accepted": N_DEMO - 2, "rejected": 2, "skipped": 0}
        assert [(r["row"], p["code"], p["field"], p["observed"]) for r in data["rejected"] for p in r["problems"]] == [
            (2, "E102", "books", "#DIV/0!"), (3, "E102", "students", "#REF!")]


#: The demo schools with formulas whose results are errors, saved as .xls by LibreOffice: the demo
#: sheet written with openpyxl, 图书册数 ``=1/0`` in row 2 and ``=NA()`` in row 4, 在校生数
#: ``=INDIRECT("A0")`` in row 3, 教职工数 ``="x"+1`` in row 5 and ``=1/0`` alone below the table (AP33),
#: then ``soffice --headless --convert-to xls``, which computes each and keeps its error.
FORMULA_ERRORS_XLS = Path(__file__).parent / "data" / "formula_errors.xls"
#: (row, field, error) of the cells holding an error in it, as a CSV of its sheet shows them.
XLS_ERRORS = [(2, "books", "#DIV/0!"), (3, "students", "#REF!"), (4, "books", "#N/A"), (5, "staff", "#VALUE!")]


def xls_with_error_values(path: Path) -> Path:
    """The sheet of :data:`FORMULA_ERRORS_XLS` with its errors pasted as values (xlwt writes such
    cells; its table of error names is wrong for #VALUE! and #N/A, so they go by their codes)."""
    import xlwt
    (header, rows), _ = demo_tables()
    at = {f: header.index(h) for f, h in (("books", "图书册数"), ("students", "在校生数"), ("staff", "教职工数"))}
    codes = {"#DIV/0!": 0x07, "#REF!": 0x17, "#N/A": 0x2A, "#VALUE!": 0x0F}
    errors = {(row - 1, at[f]): codes[e] for row, f, e in XLS_ERRORS} | {(len(rows) + 4, len(header)): 0x07}
    wb = xlwt.Workbook(encoding="utf-8")
    ws = wb.add_sheet("学校")
    for i, r in enumerate([header, *rows]):
        for j, c in enumerate(r):
            if (i, j) not in errors:
                ws.write(i, j, typed(c))
    for (i, j), code in errors.items():
        ws.row(i).set_cell_error(j, code)
    wb.save(str(path))
    return path


@pytest.mark.parametrize("made", ["formulas", "pasted values"])
def test_an_xls_error_value_is_read_as_the_xlsx_reads_it(run, tmp_path, made):
    """In an .xls, a cell holding an error (a formula's result, or one pasted as a value) was read as
    empty — 图书册数 and 教职工数 silently missing, 在校生数 "缺失" — where an .xlsx and a CSV of the sheet
    show the error: refused with the error as its value; ``#N/A`` stays a missing value, and the
    error alone below the table is no row."""
    path = FORMULA_ERRORS_XLS if made == "formulas" else xls_with_error_values(tmp_path / "errors.xls")
    (header, rows), _ = demo_tables()
    cells = [list(r) for r in rows]
    for row, field, error in XLS_ERRORS:
        cells[row - 2][header.index({"books": "图书册数", "students": "在校生数", "staff": "教职工数"}[field])] = error
    csv_path = save_csv(tmp_path / "errors.csv", [header, *cells])
    found = {}
    for p in (path, csv_path):
        data, report, checked, judged = both(run, [p])
        assert checked.exit_code == judged.exit_code == 1
        assert data["records"] == {"read": N_DEMO, "accepted": N_DEMO - 3, "rejected": 3, "skipped": 0}
        found[p.suffix] = [(r["row"], p["code"], p["field"], p["observed"]) for r in data["rejected"]
                           for p in r["problems"]]
        found[p.suffix + " report"] = [{k: v for k, v in s.items() if k != "source"} for s in report["schools"]
                                       if s["school_id"] == rows[2][0]]
    assert found[".xls"] == found[".csv"] == [(r, "E102", f, e) for r, f, e in XLS_ERRORS if e != "#N/A"]
    assert found[".xls report"] == found[".csv report"] and found[".xls report"]     # #N/A: judged, as in a CSV


#: A 填表说明 block as offices write one under the table: a heading, then numbered items.
NOTE_ITEMS = ["1. 学校标识码填写10位教育部学校标识码，九年一贯制学校分两行填写。", "2、面积单位为平方米，金额单位为元",
              "（3）学生数以2023年秋季学期统计为准", "一、本表由各学校填写，乡镇中心学校汇总", "②“寄宿生数”不含走读生"]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("where", ["学校标识码", "学校名称"])
def test_numbered_notes_under_a_table_are_skipped_not_rejected(run, tmp_path, fmt, where):
    """The numbered items of a 填表说明 under the table (``1. …``, ``2、…``, ``（3）…``, ``一、…``) were
    each read as a school and rejected with five errors (exit 1); they are notes, skipped. A row
    opening so that fills other fields is still a record (here without its 学校标识码: rejected)."""
    (header, rows), (county_header, county_rows) = demo_tables()
    notes = [["填表说明："], *[[text] for text in NOTE_ITEMS]]
    at = header.index(where)
    block = [[None] * at + n + [None] * (len(header) - at - 1) for n in notes]
    named = list(rows[0])
    named[0], named[1] = "", "1. 青岚县第一小学"
    paths = save_office(tmp_path, fmt, [header, *rows, named, *block], [county_header, *county_rows])
    data, report, checked, judged = both(run, paths)
    agree(data, report)
    assert data["records"] == {"read": len(rows) + 1 + len(notes), "accepted": len(rows), "rejected": 1,
                               "skipped": len(notes)}
    assert [s["reason"] for s in data["skipped"]] == [f"非记录行 not a record: {t[:20]}{'…' if len(t) > 20 else ''}"
                                                      for t in ["填表说明：", *NOTE_ITEMS]]
    [rejected] = data["rejected"]
    assert [p["code"] for p in rejected["problems"]] == ["E101"] and rejected["problems"][0]["field"] == "school_id"


#: Headers as statistical forms write them: a count's or an area's label without its 数 or 面积,
#: the unit it is counted in after it, and 体育运动场（馆）面积.
FORM_HEADERS = {"学生用计算机台数": "学生用计算机（台）", "网络多媒体教室数": "网络多媒体教室（间）", "教职工数": "教职工（人）",
                "寄宿生数": "寄宿生（人）", "随班就读残疾学生数": "随班就读残疾学生（人）", "班级数": "班级（个）",
                "县级及以上骨干教师数": "县级及以上骨干教师（人）", "音乐专用教室数": "音乐专用教室（间）",
                "教学及辅助用房面积": "教学及辅助用房（平方米）", "体育运动场馆面积": "体育运动场（馆）面积（平方米）"}


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_headers_as_forms_write_them_name_their_fields(run, tmp_path, fmt, plain_demo):
    """学生用计算机（台）, 教职工（人）, 体育运动场（馆）面积（平方米） …: each column was ignored (W401), its
    values lost and the schools judged without them."""
    (header, rows), (county_header, county_rows) = demo_tables()
    paths = save_office(tmp_path, fmt, [[FORM_HEADERS.get(h, h) for h in header], *rows], [county_header, *county_rows])
    data, report, checked, judged = both(run, paths)
    assert data["records"] == {"read": N_DEMO, "accepted": N_DEMO, "rejected": 0, "skipped": 0}
    assert not [n for n in report["notices"] if n["code"] == "W401"]
    assert judged.exit_code == plain_demo[1] and statuses(report) == statuses(plain_demo[0])
    assert [s["measures"] for s in report["schools"]] == [s["measures"] for s in plain_demo[0]["schools"]]


@pytest.mark.parametrize("fmt", ["xlsx", "xls"])
def test_a_group_heading_merged_across_the_row_is_skipped_not_rejected(run, tmp_path, fmt):
    """Schools grouped by township under a heading row (城关镇, 一、小学) merged across the table: each
    heading was read as a school named by its text and rejected with five errors (exit 1); it is a
    heading, skipped. A merged cell over a few columns of a record does not make it one."""
    (header, rows), _ = demo_tables()
    table: list[list] = [header]
    headings = []
    for k, r in enumerate(rows):
        if k % 10 == 0:
            table.append(["城关镇" if k == 0 else f"第{k // 10}片区学校"] + [None] * (len(header) - 1))
            headings.append(len(table))
        table.append(list(r))
    books = header.index("图书册数")
    path = tmp_path / f"towns.{fmt}"
    if fmt == "xlsx":
        import openpyxl
        wb = openpyxl.Workbook()
        ws = wb.active
        for r in table:
            ws.append([typed(c) for c in r])
        for n in headings:
            ws.merge_cells(start_row=n, start_column=1, end_row=n, end_column=len(header))
        ws.merge_cells(start_row=3, start_column=books + 1, end_row=3, end_column=books + 3)  # 图书册数 over three
        wb.save(path)
    else:
        import xlwt
        wb = xlwt.Workbook(encoding="utf-8")
        ws = wb.add_sheet("学校")
        for i, r in enumerate(table):
            if i + 1 in headings:
                ws.write_merge(i, i, 0, len(header) - 1, r[0])
            else:
                for j, c in enumerate(r):
                    if c is not None and not (i == 2 and books < j <= books + 2):
                        ws.write(i, j, typed(c))
        ws.merge(2, 2, books, books + 2)
        wb.save(str(path))
    data, report, checked, judged = both(run, [path])
    agree(data, report)
    assert data["records"] == {"read": N_DEMO + len(headings), "accepted": N_DEMO, "rejected": 0,
                               "skipped": len(headings)}
    assert [(s["row"], s["reason"][:5]) for s in data["skipped"]] == [(n, "分组标题行") for n in headings]


#: Group headings as offices type them, alone in their row (the column each is in, 0: 学校标识码).
HEADINGS = [("城关镇", 0), ("一、石桥乡", 0), ("（二）白岩片区", 1), ("初中", 1)]
#: Rows alone in their row that are no heading: a school's name, a heading with a number.
NOT_HEADINGS = [("青岚县第五小学", 1), ("第2片区", 0)]


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_group_heading_alone_in_its_row_is_skipped_not_rejected(run, tmp_path, fmt):
    """A heading row over a township's schools (城关镇, 一、石桥乡, （二）白岩片区, 初中) with every other cell
    empty — as a CSV keeps a merged heading, or as typed without merging — was read as a school named by
    its text and rejected with five errors (exit 1); it is skipped with its reason. A school's name
    alone, or a heading with a number, is still a record (rejected: nothing lost)."""
    (header, rows), (county_header, county_rows) = demo_tables()
    table: list[list] = [header]
    alone = [*HEADINGS, *NOT_HEADINGS]
    at = {}
    for k, r in enumerate(rows):
        if k % 5 == 0 and k // 5 < len(alone):
            text, j = alone[k // 5]
            table.append([None] * j + [text] + [None] * (len(header) - j - 1))
            at[text] = len(table)
        table.append(list(r))
    paths = save_office(tmp_path, fmt, table, [county_header, *county_rows])
    data, report, checked, judged = both(run, paths)
    agree(data, report)
    assert checked.exit_code == 1
    assert data["records"] == {"read": N_DEMO + len(alone), "accepted": N_DEMO, "rejected": len(NOT_HEADINGS),
                               "skipped": len(HEADINGS)}
    assert [(s["row"], s["reason"]) for s in data["skipped"]] == [
        (at[t], "分组标题行（整行只填了这一格）/ group heading row (the only cell filled in its row)") for t, _ in HEADINGS]
    assert sorted(r["row"] for r in data["rejected"]) == [at[t] for t, _ in NOT_HEADINGS]
    assert all(p["code"] == "E101" for r in data["rejected"] for p in r["problems"])
    assert "W403" in [n["code"] for n in report["notices"]]


def test_a_county_name_alone_in_a_county_table_is_no_heading(run, tmp_path):
    """Headings group schools: in a table of county records a row with only 白岩县 is a county
    record lacking its values, refused, not skipped as a heading."""
    (header, rows), (county_header, county_rows) = demo_tables()
    lone = [None] * len(county_header)
    lone[county_header.index("county_name")] = "白岩县"
    paths = [save_csv(tmp_path / "s.csv", [header, *rows]),
             save_csv(tmp_path / "c.csv", [county_header, *county_rows, lone])]
    data, report, checked, judged = both(run, paths)
    assert checked.exit_code == judged.exit_code == 1 and data["skipped"] == []
    assert [(r["file"], r["row"]) for r in data["rejected"]] == [(str(paths[1]), len(county_rows) + 2)]

@pytest.mark.parametrize("in_wan", [False, True], ids=["元", "万元"])
def test_amounts_saved_with_the_yuan_sign_are_read(run, tmp_path, plain_demo, in_wan):
    """Excel's currency and accounting formats save an amount to CSV as ``￥4,635,400.00`` or
    `` ￥ 1,397,500.00 ``: every such row was rejected (E102). Under a header in 万元 the sign is the
    figure in 万元, converted like any other."""
    (header, rows), (county_header, county_rows) = demo_tables()
    equipment, funds = header.index("教学仪器设备资产值"), header.index("公用经费实际拨付数")
    cells = [list(r) for r in rows]
    for r in cells:
        value = Fraction(r[equipment]) / (10_000 if in_wan else 1)
        r[equipment] = f"￥{float(value):,.{6 if in_wan else 2}f}"
        r[funds] = f" ￥ {int(r[funds]):,}.00 " if r[funds] else r[funds]
    head = [h + ("（万元）" if in_wan and h == "教学仪器设备资产值" else "") for h in header]
    paths = [save_csv(tmp_path / "s.csv", [head, *cells]), save_csv(tmp_path / "c.csv", [county_header, *county_rows])]
    data, report, checked, judged = both(run, paths)
    assert data["records"] == {"read": N_DEMO, "accepted": N_DEMO, "rejected": 0, "skipped": 0}
    assert judged.exit_code == plain_demo[1] and statuses(report) == statuses(plain_demo[0])
    assert [s["measures"] for s in report["schools"]] == [s["measures"] for s in plain_demo[0]["schools"]]


def test_a_record_naming_the_national_pack_is_judged_by_the_national_standards(run, tmp_path):
    """``national`` and ``全国`` name the national standards' pack, which judges a province with no
    plug-in: both are accepted and judged under it (``全国`` was refused, E105, while ``national`` was
    accepted), in validate and evaluate alike. A province without a plug-in (湖南) is refused with
    the provinces to choose from — not the national pack, which was listed as one — and the way to
    be judged by the national standards."""
    (header, rows), _ = demo_tables()
    province = header.index("省份")
    cells = [list(r) for r in rows]
    for r, text in zip(cells, ["national", "全国", "湖南省"]):
        r[province] = text
    data, report, checked, judged = both(run, [save_csv(tmp_path / "s.csv", [header, *cells])])
    agree(data, report)
    assert checked.exit_code == judged.exit_code == 1
    assert data["records"] == {"read": N_DEMO, "accepted": N_DEMO - 1, "rejected": 1, "skipped": 0}
    [rejected] = data["rejected"]
    [problem] = rejected["problems"]
    assert (rejected["row"], problem["code"], problem["observed"]) == (4, "E205", "hunan")
    assert problem["expected"] == "安徽（anhui）、贵州（guizhou）、陕西（shaanxi） / anhui, guizhou, shaanxi"
    assert problem["message"] == (
        "省份 湖南（hunan） 没有对应的插件，支持的省份：安徽（anhui）、贵州（guizhou）、陕西（shaanxi）（或填 全国，只按国家标准评估） / "
        "no plug-in for province 'hunan' (supported: anhui, guizhou, shaanxi; or national, to judge by the national "
        "standards alone)")
    assert [p["message"] for p in report["rejected"][0]["problems"]] == [problem["message"]]
    judged_under = {s["source"]["row"]: (s["province"], s["ruleset"]) for s in report["schools"]}
    assert judged_under[2] == judged_under[3] == ("national", "national/2023")
    assert judged_under[5] == ("guizhou", "guizhou/2023")
    assert {(w["code"], w["row"]) for w in data["warnings"]} == {("W320", 2), ("W320", 3)}

#: Zero as Excel's accounting format shows it and saves it to CSV (with the spaces it pads with);
#: ¥ (U+00A5) only in a UTF-8 CSV, GBK having ￥ alone.
YUAN_ZEROS = ["￥-", " ￥ - ", "￥ -   ", "¥-", " ¥ - "]


@pytest.mark.parametrize("encoding", ["gbk", "utf-8-sig"])
@pytest.mark.parametrize("in_wan", [False, True], ids=["元", "万元"])
def test_a_zero_amount_in_the_accounting_format_is_zero(run, tmp_path, in_wan, encoding):
    """Excel's accounting format shows an amount of 0 as ``￥-``, and a CSV saved from it holds that:
    each such row was rejected (E102, expected a number). It is 0, under a header in 万元 too; a bare
    ``-`` stays a missing value."""
    (header, rows), (county_header, county_rows) = demo_tables()
    equipment, funds = header.index("教学仪器设备资产值"), header.index("公用经费实际拨付数")
    head = [h + ("（万元）" if in_wan and h == "教学仪器设备资产值" else "") for h in header]
    texts = [t for t in YUAN_ZEROS if encoding != "gbk" or "¥" not in t]
    tables: dict[str, list[list[str]]] = {"0": [], "￥-": [], "-": []}
    for kind, cells in tables.items():
        cells += [list(r) for r in rows]
        for k, text in enumerate(texts):
            cells[k][equipment] = cells[k][funds] = text if kind == "￥-" else kind
    county = save_csv(tmp_path / "c.csv", [county_header, *county_rows])
    found = {}
    for n, (kind, cells) in enumerate(tables.items()):
        data, report, checked, judged = both(run, [save_csv(tmp_path / f"{n}.csv", [head, *cells], encoding), county])
        assert data["records"] == {"read": N_DEMO, "accepted": N_DEMO, "rejected": 0, "skipped": 0}, kind
        found[kind] = (judged.exit_code, statuses(report), {s["source"]["row"]: s["measures"] for s in report["schools"]})
    assert found["￥-"] == found["0"]
    per_pupil = [(found["0"][2][row]["equipment_value_per_pupil"], found["-"][2][row]["equipment_value_per_pupil"])
                 for row in range(2, 2 + len(texts))]
    assert per_pupil == [(0, None)] * len(texts)

@pytest.mark.parametrize("fmt", ["xlsx", "xls"])
@pytest.mark.parametrize("title", ["说明", "填表说明", "指标解释"])
def test_an_instructions_sheet_copying_the_header_is_not_read_as_schools(run, tmp_path, fmt, title):
    """A 说明 sheet that copies the header with a row of what to write under it (10位教育部学校标识码,
    小学或初中 …) was read as a sheet of schools and that row rejected with six errors (exit 1)."""
    (header, rows), (county_header, county_rows) = demo_tables()
    wants = ["10位教育部学校标识码", "学校全称", "小学或初中", "小学/初中/九年一贯制学校", "省份名称", "6位行政区划代码", "县名",
             "学年起始年份，如2023"]
    save = save_xlsx if fmt == "xlsx" else save_xls
    path = save(tmp_path / f"w.{fmt}", [(title, [header[:len(wants)], wants]), ("学校", [header, *rows]),
                                        ("县级", [county_header, *county_rows])])
    data, report, checked, judged = both(run, [path])
    assert data["records"] == {"read": N_DEMO, "accepted": N_DEMO, "rejected": 0, "skipped": 0}
    assert f"跳过工作表 skipped sheet 「{title}」: 填表说明工作表（按名称）/ a sheet of instructions (by its name)" in checked.stderr


@pytest.mark.parametrize("where", ["学校标识码", "学校名称"])
def test_a_total_named_after_its_township_is_skipped_not_rejected(run, tmp_path, where):
    """Per-township subtotals name their place first (城关镇小计, 青岚县合计, 中心学校 小 计：): each was
    read as a school and rejected with five errors (exit 1), where 小计 alone was skipped."""
    (header, rows), _ = demo_tables()
    totals = ["城关镇小计", "青岚县合计", "石桥镇中心学校 小 计：", "全县总计"]
    lines = []
    for text in totals:
        line = [""] * len(header)
        line[header.index(where)], line[header.index("在校生数")] = text, "5000"
        lines.append(line)
    table = [header, *rows[:10], lines[0], *rows[10:20], lines[2], *rows[20:], lines[1], lines[3]]
    data, report, _, _ = both(run, [save_csv(tmp_path / "s.csv", table)])
    agree(data, report)
    assert data["records"] == {"read": len(rows) + 4, "accepted": len(rows), "rejected": 0, "skipped": 4}
    assert [s["row"] for s in data["skipped"]] == [12, 23, 32, 33]


@pytest.mark.parametrize("fmt", ["xlsx", "xls"])
def test_a_hidden_sheet_of_records_is_read_and_said_to_be_hidden(run, tmp_path, fmt):
    """Last year's schools kept in a hidden sheet are read and judged with this year's: the clerk,
    who cannot see that sheet in Excel, was told only that a sheet 「2022年」 was read."""
    (header, rows), _ = demo_tables()
    year = header.index("学年")
    last = [[*r[:year], "2022", *r[year + 1:]] for r in rows]
    path = tmp_path / f"w.{fmt}"
    if fmt == "xlsx":
        import openpyxl
        save_xlsx(path, [("2023", [header, *rows]), ("2022年", [header, *last])])
        wb = openpyxl.load_workbook(path)
        wb["2022年"].sheet_state = "hidden"
        wb.save(path)
    else:
        import xlwt
        book = xlwt.Workbook(encoding="utf-8")
        for title, table in (("2023", [header, *rows]), ("2022年", [header, *last])):
            ws = book.add_sheet(title)
            for i, r in enumerate(table):
                for j, c in enumerate(r):
                    ws.write(i, j, typed(c))
        ws.visibility = 1                                  # hidden
        book.save(str(path))
    data, _, checked, _ = both(run, [path])
    assert data["records"]["accepted"] == 2 * N_DEMO
    assert "读取工作表 read sheet 「2022年」(学校记录 school records；隐藏的工作表，其记录同样读取 / a hidden sheet" in checked.stderr
    assert "「2023」(学校记录 school records)" in checked.stderr


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_banxue_xingzhi_column_of_gongban_and_minban_says_whether_a_school_is_public(tmp_path, run, fmt):
    """Statistics forms write 办学性质 as 公办/民办, not 公办 as 是/否: the column is read, and a
    民办 school is private (out of the county CVs), in every format."""
    (header, rows), (county_header, county_rows) = demo_tables()
    col = header.index("公办")
    header = [*header[:col], "办学性质", *header[col + 1:]]
    rows = [[*r[:col], "公办" if r[col] == "是" else "民办", *r[col + 1:]] for r in rows]
    paths = save_office(tmp_path, fmt, office_sheet(header, rows), office_sheet(county_header, county_rows,
                                                                                  totals=False))
    data, report, checked, _ = both(run, paths)
    agree(data, report)
    assert not data["rejected"] and not any("办学性质" in n["message"] for n in data["notices"])
    private = {s["school_id"] for s in report["schools"] if s["school_id"] == "5226980009"}
    excluded = {(e["school_id"], e["reason"]) for c in report["counties"] for st in c["stages"].values()
                for e in st.get("excluded", ())}
    assert private and any(sid == "5226980009" and "民办" in why for sid, why in excluded)
    bad = [[*r[:col], "民营" if k == 0 else r[col], *r[col + 1:]] for k, r in enumerate(rows)]
    (tmp_path / "bad").mkdir()
    paths = save_office(tmp_path / "bad", fmt, office_sheet(header, bad),
                        office_sheet(county_header, county_rows, totals=False))
    data = json.loads(run("validate", *paths, "-f", "json").stdout)
    [problem] = data["rejected"][0]["problems"]
    assert problem["observed"] == "民营" and "公办、民办" in problem["expected"]
