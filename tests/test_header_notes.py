"""A header's note in brackets after a field's name: a note on how the value is written
(学校标识码（10位）, 公办（是/否）, 学段（小学/初中）) reads the column as the field with no word said; a note
saying the column holds something else (学校名称（英文）, 学校标识码（旧）, 在校生数（上年）), or one no list
knows, reads a lone column as the field with a notice (W406) naming the column, its header and why
to check it — in the command's output, the JSON report, the workbook's 未通过校验 sheet and
``validate`` alike."""
from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest

from office_files import INSTRUCTIONS, demo_tables, office_sheet, save_csv, save_xls, save_xlsx

from edubalance import Evaluator, fields, loading
from edubalance.readers import load_file

N_DEMO = 28
ENGLISH = [f"Qinglan School No. {k}" for k in range(1, N_DEMO + 1)]
OLD_IDS = [f"52269890{k:02d}" for k in range(1, N_DEMO + 1)]


@pytest.mark.parametrize("header, field, note", [
    ("学校标识码（10位）", "school_id", "10位"), ("学校标识码（十位）", "school_id", "十位"),
    ("县级行政区划代码(6位数字)", "county_code", "6位数字"), ("公办（是/否）", "is_public", "是/否"),
    ("公办（是或否）", "is_public", "是或否"), ("寄宿制学校（√/×）", "is_boarding", "√/×"),
    ("学段（小学/初中）", "stage", "小学/初中"), ("城乡类型（城区、镇区、乡村）", "location", "城区、镇区、乡村"),
    ("学校名称(全称)", "school_name", "全称"), ("学校名称（中文）", "school_name", "中文"),
    ("学校标识码（如：5226980001）", "school_id", "如:5226980001"),
])
def test_a_format_note_needs_no_check(header, field, note):
    assert fields.header_note(header) == fields.HeaderNote(field, note, None)
    assert loading.note_notice(header, "f.csv", ("第 A 列", "column A")) is None


@pytest.mark.parametrize("header, field, note, holds", [
    ("学校名称（英文）", "school_name", "英文", "an English or pinyin form"),
    ("在校生数（上年）", "students", "上年", "last year's value"),
    ("在校生数（上年/人）", "students", "上年/人", "last year's value"),
    ("公用经费实际拨付数（Last Year）", "public_funds_received_yuan", "Last Year", "last year's value"),
    ("学校名称(English Name)", "school_name", "English Name", "an English or pinyin form"),
    ("学校名称（拼音）", "school_name", "拼音", "an English or pinyin form"),
    ("学校名称（简称）", "school_name", "简称", "a short form"),
    ("学校标识码（旧）", "school_id", "旧", "a former value"),
    ("学校标识码（原）", "school_id", "原", "a former value"),
    ("学校标识码（撤并前）", "school_id", "撤并前", "a former value"),
    ("县级行政区划代码（old）", "county_code", "old", "a former value"),
    ("县（市、区）（原）", "county_name", "原", "a former value"),
    ("公办（上年）", "is_public", "上年", "last year's value"),
    ("学校名称（蒙古文）", "school_name", "蒙古文", "a form in a minority script"),
])
def test_a_note_that_changes_what_the_column_holds(header, field, note, holds):
    found = fields.header_note(header)
    assert (found.field, found.note, found.holds[1]) == (field, note, holds)
    assert fields.header_to_field(header) == field            # alone, still read as the field


@pytest.mark.parametrize("header", ["学校名称", "学校标识码", "县（市、区）", "【学段】", "占地面积（平方米）",
                                    "占地面积（亩）", "教学仪器设备资产值（万元）", "在校生数（人）", "序号", None])
def test_a_plain_header_a_unit_or_no_field_has_no_note(header):
    assert fields.header_note(header) is None
    assert loading.note_notice(header, "f.csv", ("第 A 列", "column A")) is None


@pytest.mark.parametrize("header, unit", [("在校生数（人次）", "人次"), ("教学仪器设备资产值（原值）", "原值"),
                                          ("在校生数（2023年上年）", "2023年上年"), ("教学仪器设备资产值（上年，万元）", "上年,万元"),
                                          ("公用经费实际拨付数（last year, 10k yuan）", "lastyear,10kyuan")])
def test_after_a_field_with_a_unit_any_other_note_is_a_unit_refused(header, unit):
    """A unit beside a note saying what else the column holds is still a unit: never read as the
    field's own."""
    assert fields.header_to_field(header) is None and fields.header_note(header) is None
    assert fields.header_unit(header).unit == unit and fields.header_unit(header).factor is None


def test_a_note_no_list_knows_is_told_to_check():
    found = fields.header_note("学校名称（Lenovo）")
    assert found == fields.HeaderNote("school_name", "Lenovo", ("", ""))
    notice = loading.note_notice("学校名称（Lenovo）", "f.csv", ("第 C 列", "column C"))
    assert notice.code == "W406" and notice.message.startswith("第 C 列「学校名称（Lenovo）」已按学校名称（school_name）读取")
    assert "不是已知的填写说明" in notice.message and "is not a known note" in notice.message


def test_the_surer_of_two_columns_is_the_field():
    assert loading.header_names("f.csv", ["学校名称（英文）", "学校名称（全称）"]) == [None, "school_name"]
    assert loading.header_names("f.csv", ["学校名称（Lenovo）", "学校名称（拼音）"]) == ["school_name", None]
    assert loading.header_names("f.csv", ["学校标识码（旧）", "学校标识码", "学校标识码（10位）"]) == [None, "school_id", None]


def clerk_sheet(replace: dict[str, tuple[str, list[str]]] | None = None,
                beside: dict[str, tuple[str, list[str]]] | None = None) -> list[list]:
    """The demo county's schools as a clerk keeps them (title row, 序号, 备注, 合计, 填表人), with
    columns' headers and values replaced (``replace``: header → (new header, values)) or a
    column added right after one (``beside``)."""
    (header, rows), _ = demo_tables()
    header, rows = list(header), [list(r) for r in rows]
    for old, (new, values) in (replace or {}).items():
        j = header.index(old)
        header[j] = new
        for r, v in zip(rows, values):
            r[j] = v
    for old, (new, values) in (beside or {}).items():
        j = header.index(old) + 1
        header.insert(j, new)
        for r, v in zip(rows, values):
            r.insert(j, v)
    return office_sheet(header, rows)


def save(tmp_path: Path, fmt: str, sheet: list[list]) -> Path:
    if fmt == "csv":
        return save_csv(tmp_path / "学校.csv", sheet)                           # GBK, as Excel saves CSV
    return (save_xlsx if fmt == "xlsx" else save_xls)(tmp_path / f"青岚县.{fmt}", [("填表说明", INSTRUCTIONS), ("学校", sheet)])


def notices(path: Path, code: str) -> list:
    return [n for n in load_file(path).notices if n.code == code]


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "xls"])
def test_a_lone_english_name_column_is_read_with_a_notice(tmp_path, fmt):
    path = save(tmp_path, fmt, clerk_sheet({"学校名称": ("学校名称（英文）", ENGLISH)}))
    loaded = load_file(path)
    assert loaded.frame.height == N_DEMO and loaded.frame["school_name"].to_list() == ENGLISH
    (notice,) = [n for n in loaded.notices if n.code == "W406"]
    assert notice.message.startswith("第 C 列「学校名称（英文）」已按学校名称（school_name）读取，但括号中的「英文」表明"
                                     "其中填的是英文或拼音写法")
    assert " / column C '学校名称（英文）' was read as school_name (学校名称), but its note '英文' says it holds " \
           "an English or pinyin form" in notice.message
    assert "报告将以其中的值标识记录，可能与名册对不上" in notice.message and "may not match the register" in notice.message
    assert (notice.field, notice.observed, notice.row) == ("school_name", "学校名称（英文）", None)
    report = json.loads(Evaluator().evaluate_files([path], schools_only=True).to_json())
    assert report["records"] == {"read": N_DEMO + 3, "evaluated": N_DEMO, "rejected": 0, "skipped": 3}
    assert sorted(s["school_name"] for s in report["schools"]) == sorted(ENGLISH)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_lone_old_code_column_is_read_with_a_notice(tmp_path, fmt):
    path = save(tmp_path, fmt, clerk_sheet({"学校标识码": ("学校标识码（旧）", OLD_IDS)}))
    (notice,) = notices(path, "W406")
    assert notice.message.startswith("第 B 列「学校标识码（旧）」已按学校标识码（school_id）读取，但括号中的「旧」表明"
                                     "其中填的是原来的（旧的）值")
    report = json.loads(Evaluator().evaluate_files([path], schools_only=True).to_json())
    assert report["records"]["evaluated"] == N_DEMO and not report["rejected"]
    assert {s["school_id"] for s in report["schools"]} == set(OLD_IDS)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_noted_column_beside_the_plain_one_is_ignored_without_a_note_notice(tmp_path, fmt):
    (_, rows), _ = demo_tables()
    path = save(tmp_path, fmt, clerk_sheet(beside={"学校名称": ("学校名称（英文）", ENGLISH),
                                                   "学校标识码": ("学校标识码（旧）", OLD_IDS)}))
    loaded = load_file(path)
    assert not [n for n in loaded.notices if n.code == "W406"]
    (ignored,) = [n for n in loaded.notices if n.code == "W401"]
    assert ignored.message.startswith("已忽略 4 列（未知的列，或其字段已由另一列读取；不参与评估）")   # with 序号 and 备注
    assert "第 C 列「学校标识码（旧）」（学校标识码取自第 B 列）" in ignored.message
    assert "第 E 列「学校名称（英文）」（学校名称取自第 D 列）" in ignored.message
    assert "column E '学校名称（英文）' (school_name is read from column D)" in ignored.message
    assert loaded.frame["school_name"].to_list() == [r[1] for r in rows]
    assert loaded.frame["school_id"].to_list() == [r[0] for r in rows]
    report = json.loads(Evaluator().evaluate_files([path], schools_only=True).to_json())
    assert report["records"]["evaluated"] == N_DEMO and not report["rejected"]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_format_notes_alone_give_no_notice(tmp_path, fmt):
    (_, rows), _ = demo_tables()
    ids, stages = [r[0] for r in rows], [r[2] for r in rows]
    path = save(tmp_path, fmt, clerk_sheet({"学校标识码": ("学校标识码（10位）", ids), "学段": ("学段（小学/初中）", stages),
                                            "公办": ("公办（是/否）", [r[9] for r in rows])}))
    loaded = load_file(path)
    assert [n.code for n in loaded.notices] == ["W401", "W403"]        # 序号 and 备注; 合计 and 填表人
    assert loaded.frame["school_id"].to_list() == ids and loaded.frame.height == N_DEMO


def test_every_output_tells_the_notice(run, tmp_path):
    """The command's standard error, validate's JSON, the JSON report and the workbook's 未通过校验
    sheet: the same W406, from the one function that decides."""
    path = save(tmp_path, "csv", clerk_sheet({"学校名称": ("学校名称（英文）", ENGLISH)}))
    checked = run("validate", path, "-f", "json")
    judged = run("evaluate", path, "--schools-only", "-f", "json")
    workbook = run("evaluate", path, "--schools-only", "-o", tmp_path / "r.xlsx")
    assert checked.exit_code == 0 and judged.exit_code == workbook.exit_code == 1
    for result in (checked, judged, workbook):
        assert f"edubalance: {path}: W406 第 C 列「学校名称（英文）」已按学校名称" in result.stderr
    data, report = json.loads(checked.stdout), json.loads(judged.stdout)
    told = [n for n in data["notices"] if n["code"] == "W406"]
    assert len(told) == 1 and told == [n for n in report["notices"] if n["code"] == "W406"]
    assert told[0]["name"] == "column-note" and told[0]["severity"] == "warning" and told[0]["row"] is None
    sheet = openpyxl.load_workbook(tmp_path / "r.xlsx")["未通过校验"]
    cells = [c for row in sheet.iter_rows(values_only=True) for c in row if isinstance(c, str)]
    assert "W406" in cells and told[0]["message"] in cells


def test_a_document_key_and_an_api_key_are_told_as_a_column_is(tmp_path):
    (header, rows), _ = demo_tables()
    records = [dict(zip(header, r)) for r in rows[:2]]
    for r, name in zip(records, ENGLISH):
        r["学校名称（英文）"] = name
        del r["学校名称"]
    path = tmp_path / "schools.json"
    path.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    (notice,) = notices(path, "W406")
    assert notice.message.startswith("键「学校名称（英文）」已按学校名称（school_name）读取")
    report = json.loads(Evaluator().evaluate_records(records).to_json())
    assert [n["code"] for n in report["notices"]] == ["W406"] and report["records"]["evaluated"] == 2
    assert "key '学校名称（英文）' was read as school_name" in report["notices"][0]["message"]


def test_a_noted_column_in_a_two_row_header_is_told(tmp_path):
    """Under a group heading (学校情况) the second row's 学校标识码（旧） is read as the field, told by
    its column and header; the second row is skipped as part of the header."""
    (header, rows), _ = demo_tables()
    top = ["学校情况", None, *header[2:]]
    sub = ["学校标识码（旧）", "学校名称", *[None] * (len(header) - 2)]
    body = [[old, *r[1:]] for old, r in zip(OLD_IDS, rows)]
    path = save_csv(tmp_path / "两行表头.csv", [["青岚县学校情况表"], top, sub, *body])
    loaded = load_file(path)
    assert [s.row for s in loaded.skipped] == [3] and loaded.frame.height == N_DEMO
    assert [n.code for n in loaded.notices] == ["W406", "W403"]
    assert loaded.notices[0].message.startswith("第 A 列「学校标识码（旧）」已按学校标识码（school_id）读取")
    assert loaded.frame["school_id"].to_list() == OLD_IDS


def test_last_years_count_alone_is_read_with_a_notice_beside_a_units_row(tmp_path):
    """在校生数（上年） alone is the students column, told (W406); the units row's （人） under it is the
    field's own unit, not a unit contradicting the header's; beside 在校生数 it is another column."""
    (header, rows), _ = demo_tables()
    sheet = office_sheet(["在校生数（上年）" if h == "在校生数" else h for h in header], rows, totals=False)
    k = sheet.index(next(r for r in sheet if "学校标识码" in r))
    sheet.insert(k + 1, ["（人）" if h == "在校生数（上年）" else None for h in sheet[k]])
    loaded = load_file(save_csv(tmp_path / "上年.csv", sheet))
    assert [n.code for n in loaded.notices] == ["W401", "W406", "W403"]
    assert loaded.notices[1].message.startswith("第 M 列「在校生数（上年）」已按在校生数（students）读取，但括号中的「上年」"
                                                "表明其中填的是上一年的值，不一定是在校生数本身：记录将按其中的值评估，请核对")
    assert "the records are judged on its values; check it" in loaded.notices[1].message
    assert loaded.frame["students"].to_list() == [r[header.index("在校生数")] for r in rows]
    beside = office_sheet([*header, "在校生数（上年）"], [[*r, "1"] for r in rows])
    loaded = load_file(save_csv(tmp_path / "两列.csv", beside))
    assert [n.code for n in loaded.notices] == ["W401", "W403"] and "在校生数（上年）" in loaded.notices[0].message


@pytest.mark.parametrize("header, field, year", [
    ("在校生数（2023年）", "students", 2023), ("在校生数（2023学年）", "students", 2023),
    ("在校生数（2023-2024学年）", "students", 2023), ("在校生数（2023—24学年）", "students", 2023),
    ("在校生数(２０２３年)", "students", 2023), ("班级数（2023年度）", "classes", 2023),
    ("在校生数（2023年，人）", "students", 2023), ("学校名称（2023年）", "school_name", 2023),
    ("学年（2023）", "year", 2023), ("公办（2022年）", "is_public", 2022),
])
def test_a_year_note_names_the_field_of_that_year(header, field, year):
    """A note naming the school year (as a 学年 cell writes it) reads the column as the field; it is
    told only where none of the file's records is of that year."""
    assert fields.header_to_field(header) == field and fields.note_year(header) == year
    assert fields.header_unit(header) is None
    assert loading.note_notice(header, "f.csv", ("第 A 列", "column A"), [year]) is None
    assert loading.note_notice(header, "f.csv", ("第 A 列", "column A")) is None          # no 学年 column
    told = loading.note_notice(header, "f.csv", ("第 A 列", "column A"), [year - 1, year + 1])
    assert told.code == "W406" and told.field == field
    assert f"但列名表明其中是 {year} 学年的值，而记录的学年是 {year - 1}、{year + 1}" in told.message
    assert f"says it holds the values of the {year} school year, and the records are of {year - 1}, {year + 1}" \
        in told.message


@pytest.mark.parametrize("header, field, unit, factor", [
    ("占地面积（2023年，亩）", "land_area_m2", "亩", 2000 / 3),
    ("教学仪器设备资产值（2023学年，万元）", "equipment_value_yuan", "万元", 10_000),
    ("在校生数（2023年，万人）", "students", "万人", None),
])
def test_a_year_beside_another_unit_leaves_the_unit(header, field, unit, factor):
    found = fields.header_unit(header)
    assert (found.field, found.unit) == (field, unit) and fields.note_year(header) == 2023
    assert (found.factor is None) if factor is None else float(found.factor) == pytest.approx(factor)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_this_years_columns_are_read_and_another_years_told(tmp_path, fmt, run):
    """A clerk's sheet heads its columns with the year (在校生数（2023年）, 占地面积（2023年，亩）): read
    as the fields, converted where in another unit; in a file of another school year each such
    column is told (W406), and every school is still judged."""
    (header, rows), _ = demo_tables()
    students, land, year = header.index("在校生数"), header.index("占地面积"), header.index("学年")
    renamed = [{"在校生数": "在校生数（2023年）", "占地面积": "占地面积（2023年，亩）",
                "班级数": "班级数（2023-2024学年）"}.get(h, h) for h in header]

    def sheet(school_year: str) -> list[list]:
        return office_sheet(renamed, [[*r[:year], school_year, *r[year + 1:land], "34.83", *r[land + 1:]]
                                     for r in rows], totals=False)

    (tmp_path / "2022").mkdir()
    this, last = save(tmp_path, fmt, sheet("2023")), save(tmp_path / "2022", fmt, sheet("2022"))
    loaded = load_file(this)
    assert "W406" not in [n.code for n in loaded.notices] and "W402" in [n.code for n in loaded.notices]
    assert loaded.frame["students"].cast(str).to_list() == [r[students] for r in rows]
    assert [float(v) for v in loaded.frame["land_area_m2"].to_list()] == pytest.approx([34.83 * 2000 / 3] * N_DEMO)
    checked = run("validate", this)
    assert checked.exit_code == 0 and "W406" not in checked.stderr
    told = [n for n in load_file(last).notices if n.code == "W406"]
    assert [n.field for n in told] == ["students", "classes", "land_area_m2"]
    assert told[0].message.startswith("第 M 列「在校生数（2023年）」已按在校生数（students）读取，但列名表明其中是 2023 "
                                      "学年的值，而记录的学年是 2022")
    report = json.loads(Evaluator().evaluate_files([last], schools_only=True).to_json())
    assert report["records"]["evaluated"] == N_DEMO and not report["rejected"]
    assert [n["code"] for n in report["notices"]].count("W406") == 3
