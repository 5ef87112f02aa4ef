"""Loading files into raw rows, and the schemas and field index the loader relies on."""
from __future__ import annotations

import csv
import io
import json
import random
from pathlib import Path

import openpyxl
import pytest
import yaml
from jsonschema import Draft202012Validator

from edubalance import Evaluator, fields, loading, table
from edubalance.loading import InputError
from edubalance.readers import csvfile, load_file
from edubalance.schemas import county_schema, load_schema, rulepack_schema, school_schema
from edubalance.validation import validate, validate_counties

DATA = Path(__file__).parent / "data"
polars_csv = csvfile._polars

CHINESE_HEADER = ["学校标识码", "学校名称", "学段", "县级行政区划代码", "学年", "在校生数", "寄宿生数",
                  "专任教师数", "公办", "城乡类型", "教学仪器设备资产值（元）"]
CHINESE_ROWS = [
    ["5201020001", "花溪第一小学", "小学", "520111", "2023", "1,200", "30", "60", "是", "乡村", "2400000"],
    ["5201020002", "花溪中学", "初中", "520111", "2023", "900", "0", "70", "否", "镇区", "3000000"],
]


def write_csv(path: Path, header: list[str], rows: list[list[str]], encoding: str) -> Path:
    buf = io.StringIO()
    csv.writer(buf).writerows([header, *rows])
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


# --- schemas and fields -----------------------------------------------------------------

def test_schemas_are_valid_2020_12_and_document_every_property():
    for schema in (school_schema(), county_schema()):
        Draft202012Validator.check_schema(schema)
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert schema["additionalProperties"] is False
        for name, prop in schema["properties"].items():
            assert prop["title"] and not prop["title"].isascii(), name   # a Chinese label
            assert prop["description"], name


def test_school_schema_matches_the_data_dictionary():
    s = school_schema()
    props = s["properties"]
    assert s["required"] == ["school_id", "stage", "county_code", "year", "students"]
    assert props["stage"]["enum"] == ["primary", "junior"]
    assert props["location"]["enum"] == ["urban", "town", "rural"]
    assert len(props["school_type"]["enum"]) == 7
    assert props["county_code"]["pattern"] == "^[0-9]{6}$"
    assert (props["year"]["minimum"], props["year"]["maximum"]) == (1990, 2100)
    assert props["students"] == {**props["students"], "type": "integer", "minimum": 0}
    assert props["land_area_m2"]["type"] == "number" and props["land_area_m2"]["minimum"] == 0
    assert props["is_public"]["type"] == "boolean"
    assert props["students"]["title"] == "在校生数"


def test_county_schema_rates_are_fractions_and_vetoes_booleans():
    props = county_schema()["properties"]
    assert county_schema()["required"] == ["county_code", "year"]
    for name in ("training_completion_rate", "rotation_rate", "junior_retention_rate",
                 "public_satisfaction_rate", "teacher_certified_rate"):
        assert (props[name]["minimum"], props[name]["maximum"]) == (0, 1), name
    vetoes = [n for n in props if n.startswith("veto_")]
    assert len(vetoes) == 7
    assert all(props[n]["type"] == "boolean" for n in vetoes)
    assert props["government_work_score"]["maximum"] == 100


def test_schema_copies_do_not_leak_mutations():
    s = school_schema()
    s["properties"].clear()
    assert "students" in school_schema()["properties"]


def test_schema_loader_reads_other_files_by_name():
    assert rulepack_schema()["$schema"].endswith("2020-12/schema")
    with pytest.raises(FileNotFoundError):
        load_schema("no-such.schema.json")


def test_field_lists_follow_the_schema():
    assert fields.SCHOOL_FIELDS[:3] == ("school_id", "school_name", "stage")
    assert set(fields.TEXT_FIELDS) == set(table.TEXT_FIELDS)
    assert fields.BOOLEAN_FIELDS[:2] == ("is_public", "is_boarding")
    # the inputs only a province's rules need are declared by its pack (plugins/*/pack.yaml), not the schema
    assert not {"dorm_in_basement", "is_small_rural_school", "beds", "canteen_area_m2"} & set(fields.SCHOOL_FIELDS)
    assert "students" in fields.NUMERIC_FIELDS and "land_area_m2" in fields.NUMERIC_FIELDS
    assert not set(fields.NUMERIC_FIELDS) & set(fields.TEXT_FIELDS + fields.BOOLEAN_FIELDS)
    assert set(fields.SCHOOL_FIELDS) == set(fields.NUMERIC_FIELDS + fields.BOOLEAN_FIELDS + fields.TEXT_FIELDS)
    assert "teacher_avg_salary_yuan" in fields.COUNTY_ONLY_FIELDS
    assert "year" not in fields.COUNTY_ONLY_FIELDS


def test_labels_and_units_for_fields_and_measures():
    assert fields.label("students") == "在校生数"
    assert fields.label("teaching_aux_area_per_pupil") == "生均教学及辅助用房面积"
    assert fields.label("computers_per_100") == "每百名学生拥有计算机台数"
    assert fields.label("veto_falsified_data") == "弄虚作假"
    assert fields.label("no_such_thing") == "no_such_thing"
    assert fields.unit("sports_area_m2") == "m²"
    assert fields.unit("equipment_value_per_pupil") == "yuan"
    assert fields.unit("school_name") == "" and fields.unit("nope") == ""
    for name in ("teaching_aux_area_per_pupil", "sports_area_per_pupil", "equipment_value_per_pupil",
                 "books_per_pupil", "land_area_per_pupil", "building_area_per_pupil", "teachers_per_pupil",
                 "qualified_teachers_per_pupil", "titled_teachers_per_pupil", "qualified_teachers_per_100",
                 "backbone_teachers_per_100", "pe_art_teachers_per_100", "multimedia_rooms_per_100",
                 "computers_per_100", "dorm_area_per_boarder", "pupils_per_staff", "pupils_per_teacher"):
        assert name in fields.MEASURES and fields.label(name) != name


@pytest.mark.parametrize("header, expected", [
    ("students", "students"), ("  Students ", "students"), ("School ID", "school_id"),
    ("county-code", "county_code"), ("在校生数", "students"), ("在 校 生 数", "students"),
    ("县（市、区）", "county_name"), ("县(市、区)", "county_name"),
    ("体育、艺术(音乐、美术)专任教师数", "pe_art_teachers"), ("【学段】", "stage"),
    ("占地面积（平方米）", "land_area_m2"), ("占地面积(m²)", "land_area_m2"),
    ("教学仪器设备资产值（元）", "equipment_value_yuan"),
    ("教学仪器设备资产值（万元）", None),          # a different unit must not be read as yuan
    ("教师年平均工资收入", "teacher_avg_salary_yuan"), ("备注", None), ("", None), (None, None),
    # what county offices write (and what the planner's own workbook heads its columns with)
    ("县代码", "county_code"), ("县名称", "county_name"), ("县名", "county_name"), ("年份", "year"),
    ("县(区)", "county_name"), ("区县", "county_name"), ("校名", "school_name"), ("在校生", "students"),
    ("学生数", "students"), ("专任教师", "teachers"), ("班数", "classes"), ("住宿生数", "boarders"),
    ("城乡", "location"), ("校舍面积", "building_area_m2"),
    ("寄宿学生数", None), ("学校类型", None),      # not a field's name: a notice names them, nothing is guessed
    # a note in brackets after a field that has no unit (text, code, 是/否) is no unit to convert
    ("学校标识码（10位）", "school_id"), ("学校名称(全称)", "school_name"), ("学段（小学/初中）", "stage"),
    ("公办（是/否）", "is_public"), ("县级行政区划代码（6位）", "county_code"), ("弄虚作假（是/否）", "veto_falsified_data"),
    ("在校生数（人次）", None),      # a field with a unit: another word is a unit, refused (header_unit)
    ("学年（2023）", "year"), ("在校生数（2023年）", "students"),      # a school year is a note, not a unit
    ("学校标识码（十位）", "school_id"), ("公办（是或否）", "is_public"), ("学校名称（英文/拼音）", "school_name"),
    # invisible characters pasted from web pages and other files: a zero-width space, a BOM, a soft hyphen
    ("在校生数\u200b", "students"), ("\ufeff班级数", "classes"), ("专任\u00ad教师数", "teachers"),
    ("\u200b图书（万册）\u200b", None),
])
def test_header_to_field(header, expected):
    assert fields.header_to_field(header) == expected


@pytest.mark.parametrize("header, expected", [
    ("studnets", "students"), ("学校代号", "school_id"), ("教职工总数", "staff"), ("所在县（区）", "county_name"),
    # the closest field, not the first whose label the header contains (学生数 is in both)
    ("寄宿学生数", "boarders"), ("随班就读学生数", "special_needs_students"),
    ("教学仪器设备值（万元）", None),      # a bare label would drop the unit: nothing suggested
])
def test_did_you_mean_suggests_the_closest_field(header, expected):
    assert fields.suggest_field(header) == expected


def test_a_column_beside_its_field_with_another_bracket_is_ignored_not_a_second_copy():
    """学校名称（英文/拼音） beside 学校名称 is another column (named by the W401), not the school name
    twice (which would refuse the whole sheet); alone, a note in brackets after a field without a
    unit names the field; a field with a unit in another unit is still refused."""
    assert loading.header_names("f.csv", ["学校名称", "学校名称（英文/拼音）", "学校标识码（旧）", "学校标识码"]) == [
        "school_name", None, None, "school_id"]
    assert loading.header_names("f.csv", ["学校标识码（十位）", "公办（是或否）"]) == ["school_id", "is_public"]
    # of two noted columns, the one whose note only says how it is written is the field
    assert loading.header_names("f.csv", ["学校名称（中文）", "学校名称（英文）"]) == ["school_name", None]
    assert loading.header_names("f.csv", ["学校标识码（旧）", "学校标识码（10位）"]) == [None, "school_id"]
    with pytest.raises(InputError, match="都是 学校名称"):              # two columns, as sure as each other
        loading.header_names("f.csv", ["学校名称（英文）", "学校名称（简称）"])
    assert fields.header_unit("在校生数（人次）") == fields.UnitHeader("students", "人次", None)


def test_a_unit_header_with_invisible_characters_is_converted():
    assert fields.header_unit("\u200b图书（万册）\u200b") == fields.header_unit("图书（万册）") != None   # noqa: E711


def test_enum_values_accept_chinese_labels():
    assert fields.enum_value("stage", "小学") == "primary"
    assert fields.enum_value("stage", "JUNIOR") == "junior"
    assert fields.enum_value("location", "农村") == "rural"
    assert fields.enum_value("school_type", "九年一贯制") == "nine_year"
    assert fields.enum_value("stage", "高中") is None
    assert fields.enum_label("stage", "primary") == "小学"


@pytest.mark.parametrize("written, location", [
    ("主城区", "urban"), ("城乡结合区", "urban"), ("镇中心区", "town"), ("镇乡结合区", "town"), ("特殊区域", "town"),
    ("乡中心区", "rural"), ("村庄", "rural"), ("111", "urban"), ("123", "town"), ("220", "rural"),
    ("城区", "urban"), ("县镇", "town"), ("230", None), ("郊区", None),
])
def test_the_statistics_urban_rural_sub_categories_and_codes_are_their_location(written, location):
    """教育统计 forms write the urban–rural sub-category (or its code) of 统计上划分城乡的规定."""
    assert fields.enum_value("location", written) == location


def test_a_sheet_headed_with_the_urban_rural_sub_category_is_read(tmp_path):
    path = tmp_path / "s.csv"
    path.write_bytes("学校标识码,学段,县级行政区划代码,省份,学年,在校生数,城乡分类\n5201020001,小学,520102,贵州,2023,120,村庄\n"
                     "5201020002,初中,520102,贵州,2023,860,镇中心区\n".encode("gbk"))
    assert load_file(path).frame["location"].to_list() == ["村庄", "镇中心区"]     # read as written, checked later
    checked = Evaluator().check(Evaluator().load([path]))
    assert checked.schools.frame["location"].to_list() == ["rural", "town"] and not checked.rejected


# --- CSV ---------------------------------------------------------------------------------

def test_csv_utf8_rows_numbers_and_county_rows():
    lf = load_file(DATA / "schools.csv")
    assert (lf.format, lf.encoding) == ("csv", "utf-8")
    assert [r.row for r in lf.rows] == [2, 3, 5]          # the blank line 4 still counts
    assert [r.row for r in lf.county_rows] == [6]
    first = lf.rows[0].data
    assert first["students"] == "1200" and first["is_public"] == "true"   # text stays text
    assert "notes_unused" not in first                     # an all-empty column is dropped
    assert first["teacher_avg_salary_yuan"] is None         # empty cell of a used column
    assert lf.county_rows[0].data["teacher_avg_salary_yuan"] == "98000"
    assert all(r.file == str(DATA / "schools.csv") for r in lf.rows)


def test_csv_gbk_with_chinese_headers_loads_and_validates(tmp_path):
    path = write_csv(tmp_path / "gbk.csv", CHINESE_HEADER, CHINESE_ROWS, "gbk")
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")                  # really not UTF-8
    lf = load_file(path, default_province="guizhou")
    assert lf.encoding == "gb18030"
    assert lf.rows[0].data["school_name"] == "花溪第一小学"
    assert lf.rows[0].data["equipment_value_yuan"] == "2400000"
    result = validate(lf.rows)
    assert result.rejected == []
    a = result.accepted[0]
    assert (a["stage"], a["students"], a["is_public"], a["location"], a["province"]) == \
        ("primary", 1200, True, "rural", "guizhou")
    assert result.accepted[1]["is_public"] is False and result.accepted[1]["stage"] == "junior"


def test_a_gbk_csv_that_starts_as_ascii_is_read_whole_as_gbk(tmp_path, monkeypatch):
    """A clerk's file: an ASCII title and header, ASCII rows past the first 64 KB, then Chinese in
    GBK. Its encoding is decided before the CSV is parsed, which happens once; its values are
    those of the same text saved as UTF-8."""
    header = ["school_id", "school_name", "stage", "county_code", "year", "students", "is_public", "location"]
    ascii_rows = [[str(5201020000 + i), f"School {i}", "primary", "520111", "2023", str(100 + i), "true", "urban"]
                  for i in range(2000)]
    text = "Nanming county schools 2023,,,\n" + "\n".join(",".join(r) for r in [header, *ascii_rows])
    assert len(text) > 64 * 1024
    text += "\n" + "\n".join(",".join(r) for r in [
        ["5201020001", "花溪第一小学", "小学", "520111", "2023", "1200", "是", "乡村"],
        ["5201029999", "花溪“第二”小学", "初中", "520111", "2023", "88", "否", "镇区"]]) + "\n"
    gbk, utf8 = tmp_path / "gbk.csv", tmp_path / "utf8.csv"
    gbk.write_bytes(text.encode("gbk"))
    utf8.write_bytes(text.encode("utf-8"))
    assert gbk.read_bytes()[:64 * 1024].isascii()
    parsed = []
    monkeypatch.setattr(csvfile, "_polars", lambda *a, **k: parsed.append((*a[1:], *k.values())) or polars_csv(*a, **k))
    lf = load_file(gbk)
    assert lf.encoding == "gb18030" and parsed == [(",", 8, False)]
    rows = lf.rows
    assert len(rows) == 2002 and rows[0].row == 3 and rows[-1].row == 2004
    assert rows[-2].data["school_name"] == "花溪第一小学" and rows[-2].data["stage"] == "小学"
    assert rows[-1].data == {"school_id": "5201029999", "school_name": "花溪“第二”小学", "stage": "初中",
                             "county_code": "520111", "year": "2023", "students": "88", "is_public": "否",
                             "location": "镇区"}
    assert rows[1999].data["school_name"] == "School 1999"
    same = load_file(utf8)
    assert same.encoding == "utf-8"
    assert lf.frame.drop("_file").equals(same.frame.drop("_file"))


@pytest.mark.parametrize("size", [1, 2, 3, 7, 1 << 20])
def test_utf8_is_checked_in_slices_that_never_cut_a_character(monkeypatch, size):
    monkeypatch.setattr(loading, "_UTF8_SLICE", size)
    text = "学校,a\n花溪第一小学,\U0001f600\n\n中\n" * 3
    assert loading._is_utf8(text.encode("utf-8"))
    for bad in (text.encode("gbk", "ignore"), text.encode("utf-8")[:-2], text.encode("utf-8") + b"\xed\xa0\x80\n"):
        assert not loading._is_utf8(bad)


def test_a_csv_that_turns_to_binary_late_is_refused_whole(tmp_path):
    path = tmp_path / "late.csv"
    path.write_bytes(("school_id,stage\n" + "5201020001,primary\n" * 5000).encode() + b"\x81\x20\xff\xfe\n")
    with pytest.raises(InputError, match="GB18030/GBK"):
        load_file(path)


@pytest.mark.parametrize("line", [2, 3001])
@pytest.mark.parametrize("encoding", ["utf-8", "gbk", "utf-16"])
def test_a_control_character_anywhere_in_a_csv_is_refused_by_its_line(tmp_path, line, encoding):
    """A NUL (or another control character) in a text table is a damaged file: refused with its
    line, whether it sits in the first kilobytes or deep in the file (it was read as part of a
    school's name there)."""
    rows = ["school_id,school_name,stage"] + [f"52010200{i:02d},花溪第{i}小学,primary" for i in range(3500)]
    rows[line - 1] = rows[line - 1].replace("花溪", "花\x00溪")
    path = tmp_path / "nul.csv"
    path.write_bytes("\n".join(rows).encode(encoding) + "\n".encode(encoding))
    with pytest.raises(InputError, match=f"第 {line} 行有控制字符 U\\+0000.*line {line} holds the control character"):
        load_file(path)


@pytest.mark.parametrize("rows", [3, 3500])
@pytest.mark.parametrize("encoding", ["gbk", "utf-8", "utf-16", "utf-16-be"])
def test_a_csv_ending_in_the_old_end_of_file_mark_is_read(tmp_path, rows, encoding):
    """Old DOS programs end a text file with Ctrl-Z (0x1A): the mark, not a damaged file (two
    bytes in UTF-16, either byte order)."""
    lines = ["school_id,school_name,stage"] + [f"52010200{i:02d},花溪第{i}小学,primary" for i in range(rows)]
    path = tmp_path / "dos.csv"
    bom = b"\xfe\xff" if encoding == "utf-16-be" else b""
    path.write_bytes(bom + ("\r\n".join(lines) + "\r\n\x1a").encode(encoding))
    lf = load_file(path)
    assert lf.frame.height == rows and lf.frame["stage"].to_list()[-1] == "primary"


def test_csv_utf8_with_bom(tmp_path):
    path = write_csv(tmp_path / "bom.csv", CHINESE_HEADER, CHINESE_ROWS, "utf-8-sig")
    lf = load_file(path)
    assert lf.encoding == "utf-8-sig"
    assert "school_id" in lf.rows[0].data                   # the BOM is not part of the header
    assert lf.rows[0].data["school_id"] == "5201020001"


def test_utf16_tab_separated_text_as_excel_saves_it(tmp_path):
    text = "\t".join(CHINESE_HEADER) + "\r\n" + "\t".join(CHINESE_ROWS[0]) + "\r\n"
    path = tmp_path / "unicode.txt"
    path.write_bytes(text.encode("utf-16"))
    lf = load_file(path)
    assert lf.encoding == "utf-16"
    assert lf.rows[0].data["students"] == "1,200"


def test_csv_semicolon_and_title_row_above_header(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("某县义务教育学校基本情况表;;\nschool_id;stage;students\n520;primary;10\n", encoding="utf-8")
    lf = load_file(path)
    assert [(r.row, r.data) for r in lf.rows] == [(3, {"school_id": "520", "stage": "primary", "students": "10"})]


def test_csv_header_only_gives_no_rows(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text("school_id,stage,students\n", encoding="utf-8")
    lf = load_file(path)
    assert lf.rows == [] and lf.county_rows == []


def test_unknown_and_unnamed_columns_are_dropped_with_one_notice(tmp_path):
    path = tmp_path / "u.csv"
    path.write_text("school_id,studnets,,备注\n1,5,x,\n", encoding="utf-8")
    loaded = load_file(path)
    assert loaded.rows[0].data == {"school_id": "1"}
    [notice] = loaded.notices            # the empty 备注 column is not worth a word
    assert notice.code == "W401" and notice.row is None and notice.severity == "warning"
    assert "「studnets」（是否应为 在校生数？）" in notice.message and "'studnets' (did you mean students?)" in notice.message
    assert "column C" in notice.message and "备注" not in notice.message


def test_thousands_of_unknown_columns_are_one_short_notice(tmp_path):
    """A sheet thousands of columns wide (Excel allows 16,384): the notice names the first columns
    and counts the rest, instead of a line of hundreds of kilobytes; the report keeps them all."""
    wb = openpyxl.Workbook()
    wb.active.append(["school_id", "students"] + [f"列{j}" for j in range(2000)])
    wb.active.append(["1", "5"] + list(range(2000)))
    wb.save(tmp_path / "wide.xlsx")
    [notice] = load_file(tmp_path / "wide.xlsx").notices
    assert notice.code == "W401" and len(notice.message) < 1500, notice.message[:3000]
    assert notice.message.startswith("已忽略 2000 个未知列（不参与评估）：第 C 列「列0」")
    assert "等 2000 列" in notice.message and "… (2000 columns)" in notice.message
    assert len(notice.observed) == 2000


def test_two_columns_for_one_field_are_refused(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("students,在校生数\n1,2\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"d\.csv: 第 A 列「students」和第 B 列「在校生数」都是 在校生数，只能保留一个 / "
                                         r"column A 'students' and column B '在校生数' both give 在校生数 \(students\); keep one"):
        load_file(path)


def test_a_header_naming_no_field_is_one_error_showing_what_it_holds(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text("说明\n序号,学校代号,甲,乙,丙,丁,戊,己\n1,5201,,,,,,\n", encoding="gbk")
    with pytest.raises(InputError) as refused:
        load_file(path)
    message = refused.value.message
    assert message.startswith("没有可识别的列名：第 2 行是 「序号」、「学校代号」")     # the widest of the first rows
    path.write_text("序号,学校代号,甲,乙,丙,丁,戊,己\n1,5201,,,,,,\n", encoding="gbk")
    with pytest.raises(InputError) as refused:
        load_file(path)
    message = refused.value.message
    assert message.startswith("没有可识别的列名：第 1 行是 「序号」、「学校代号」（是否应为 学校标识码？）、「甲」、「乙」、「丙」、「丁」 等 8 列；")
    assert "row 1 holds '序号', '学校代号' (did you mean school_id?), '甲', '乙', '丙', '丁', … (8 columns);" in message
    assert "学校标识码/school_id、学校名称/school_name、学段/stage" in message


@pytest.mark.parametrize("fmt", ["json", "yaml", "ndjson"])
def test_two_keys_for_one_field_are_refused_by_their_names(tmp_path, fmt):
    def save(records):
        path = tmp_path / f"d.{fmt}"
        if fmt == "json":
            path.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
        elif fmt == "yaml":
            path.write_text(yaml.safe_dump(records, allow_unicode=True), encoding="utf-8")
        else:
            path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
        return path
    where = "line" if fmt == "ndjson" else "record"
    with pytest.raises(InputError) as one:
        load_file(save([{"school_id": "1", "stage": "primary", "学段": "小学"}]))
    assert one.value.message == (f"{where} 1 的键「stage」和「学段」都是 学段，只能给一个 / {where} 1: keys 'stage' and '学段' "
                                 "both give 学段 (stage); give one")
    with pytest.raises(InputError) as unit:          # a key in another unit gives the field too
        load_file(save([{"school_id": "1", "图书册数": 5000, "图书（千册）": 5}]))
    assert f"{where} 1 的键「图书册数」和「图书（千册）」都是 图书册数" in unit.value.message
    with pytest.raises(InputError) as apart:         # in two records: two columns of one field
        load_file(save([{"school_id": "1", "图书册数": 5000}, {"school_id": "2", "图书（千册）": 5}]))
    assert apart.value.message.startswith(f"{where} 1 的键「图书册数」和 {where} 2 的键「图书（千册）」都是 图书册数，只能用一个 / "
                                          f"{where} 1's key '图书册数' and {where} 2's key '图书（千册）' both give")
    mixed = load_file(save([{"school_id": "1", "stage": "primary"}, {"school_id": "2", "学段": "初中"}]))
    assert mixed.frame["stage"].to_list() == ["primary", "初中"]          # one column, as given by either name


# --- XLSX --------------------------------------------------------------------------------

def make_workbook(path: Path) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "学校"
    ws.append(["花溪区学校情况"])                             # a title row above the header
    ws.append(CHINESE_HEADER + ["寄宿制学校"])
    ws.append([5201020001, "花溪第一小学", "小学", 520111, 2023, 1200, 30, 60, True, "乡村", 2400000.0, "否"])
    ws.append([])                                           # blank row, counted
    ws.append([5201020002, "花溪中学", "初中", "520111", 2023, 900, 0, 70, "是", "镇区", 3e6, 1])
    cs = wb.create_sheet("县级指标")
    cs.append(["县级行政区划代码", "学年", "教师年平均工资收入", "以考试方式招生"])
    cs.append(["520111", 2023, 98000, "否"])
    wb.save(path)
    return path


def test_xlsx_schools_and_county_sheet(tmp_path):
    path = make_workbook(tmp_path / "w.xlsx")
    lf = load_file(path)
    assert lf.format == "xlsx"
    assert [r.row for r in lf.rows] == [3, 5]
    first = lf.rows[0].data
    assert first["school_id"] == "5201020001" and first["is_public"] == "true"   # typed cells as text
    assert [r.row for r in lf.county_rows] == [2]
    assert lf.county_rows[0].file == f"{path}#县级指标"
    result = validate(lf.rows, default_province="guizhou")
    assert result.rejected == []
    assert result.accepted[0]["school_id"] == "5201020001"
    assert result.accepted[0]["county_code"] == "520111"
    assert result.accepted[0]["is_boarding"] is False and result.accepted[1]["is_boarding"] is True
    accepted, rejected = validate_counties(lf.county_rows)
    assert rejected == [] and accepted[0]["veto_exam_admission"] is False


def test_workbook_saved_as_csv_is_read_as_xlsx(tmp_path):
    path = make_workbook(tmp_path / "w.xlsx")
    renamed = tmp_path / "w.csv"
    renamed.write_bytes(path.read_bytes())
    assert load_file(renamed).format == "xlsx"


def test_damaged_xlsx_is_an_input_error(tmp_path):
    path = tmp_path / "bad.xlsx"
    path.write_bytes(b"PK\x03\x04" + b"not really a zip" * 10)
    with pytest.raises(InputError, match=r"bad\.xlsx: .*not a readable XLSX workbook"):
        load_file(path)
    text = tmp_path / "text.xlsx"
    text.write_text("school_id\n1\n")
    with pytest.raises(InputError, match="not an Excel workbook"):
        load_file(text)


# --- JSON, NDJSON, YAML --------------------------------------------------------------------

def test_json_object_with_records_counties_and_province():
    lf = load_file(DATA / "schools.json")
    assert lf.format == "json" and lf.province == "guizhou"
    assert [r.row for r in lf.rows] == [1, 2]
    assert lf.rows[0].data["province"] == "guizhou"          # filled from the file
    assert lf.rows[1].data["province"] == "anhui"            # a row's own value wins
    assert lf.rows[1].data["county_code"] == "520102"        # a number, as the text it was written in
    assert lf.county_rows[0].data["veto_exam_admission"] == "false"


def test_json_array_and_default_province(tmp_path):
    path = tmp_path / "a.json"
    path.write_text(json.dumps([{"school_id": "1", "在校生数": 5}, {"county_code": "520102", "year": 2023,
                                                                  "rotation_rate": 0.1}]), encoding="utf-8")
    lf = load_file(path, default_province="anhui")
    assert [r.data for r in lf.rows] == [{"school_id": "1", "students": "5", "province": "anhui"}]
    assert lf.county_rows[0].row == 2


def test_ndjson_rows_are_line_numbers():
    lf = load_file(DATA / "schools.ndjson")
    assert lf.format == "ndjson"
    assert [r.row for r in lf.rows] == [1, 3]
    assert [r.row for r in lf.county_rows] == [4]


def test_json_file_holding_ndjson_is_read_line_by_line(tmp_path):
    path = tmp_path / "lines.json"
    path.write_text('{"school_id": "1"}\n{"school_id": "2"}\n', encoding="utf-8")
    lf = load_file(path)
    assert lf.format == "ndjson" and [r.row for r in lf.rows] == [1, 2]


def test_yaml_same_shape_as_json():
    lf = load_file(DATA / "schools.yaml")
    assert lf.format == "yaml"
    assert lf.rows[1].data["students"] == "650" and lf.rows[1].data["stage"] == "初中"
    result = validate(lf.rows)
    assert result.rejected == []
    assert [a["province"] for a in result.accepted] == ["shaanxi", "shaanxi"]
    accepted, rejected = validate_counties(lf.county_rows)
    assert accepted[0]["junior_retention_rate"] == 0.97 and rejected == []


def test_yaml_cannot_build_python_objects(tmp_path):
    path = tmp_path / "evil.yaml"
    path.write_text("- !!python/object/apply:os.system ['echo hi']\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"evil\.yaml: .*not valid YAML"):
        load_file(path)


# --- unreadable files ----------------------------------------------------------------------

@pytest.mark.parametrize("name, content, message", [
    ("empty.csv", b"", "the file is empty"),
    ("blank.csv", b"  \r\n\n", "the file is empty"),
    ("bom.csv", b"\xef\xbb\xbf", "the file is empty"),
    ("empty.json", b"", "the file is empty"),
    ("empty.yaml", b"# nothing\n", "the file is empty"),
    ("img.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "this looks like a binary file (a PNG image), not CSV/XLSX/JSON"),
    ("nul.csv", b"a,b\n1,\x00\x01\x02\n", "this looks like a binary file, not CSV/XLSX/JSON"),
    ("old.csv", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 20, "not a readable"),   # read as .xls
    ("zip.json", b"PK\x03\x04rest", "a zip archive"),
    ("bytes.csv", b"school_id,name\n1,\xff\xfe\xfd\n", "cannot decode as UTF-8 or GB18030/GBK (byte 0xff at offset 17)"),
    ("bad.json", b'[\n  {"school_id": "1"},\n  {"school_id": }\n]', "not valid JSON at line 3 column 17: Expecting value"),
    ("bad.ndjson", b'{"school_id": "1"}\n{"school_id": 2,,}\n', "not valid JSON at line 2 column 17"),
    ("bad.yaml", b"records:\n  - school_id: [1\n", "not valid YAML at line"),
    ("scalar.json", b"42", "expected an array of records or an object with 'records', found a number"),
    ("item.json", b'[{"school_id": "1"}, 7]', "record 2 is a number, not an object"),
    ("line.ndjson", b'{"school_id": "1"}\n[1]\n', "line 2 is an array, not an object"),
    ("keys.json", b'{"schools": []}', "expected an array of records or an object with 'records'"),
    ("extra.json", b'{"records": [], "schools": []}', "unexpected top-level key(s) schools"),
    ("notlist.yaml", b"records: 5\n", "'records' is a number, not an array"),
])
def test_unreadable_files_raise_input_error_naming_the_file(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputError) as info:
        load_file(path)
    assert str(info.value).startswith(f"{path}: ")
    assert message in str(info.value)
    assert info.value.path == str(path)


def test_wrong_extension_missing_file_and_directory(tmp_path):
    doc = tmp_path / "report.docx"
    doc.write_bytes(b"whatever")
    with pytest.raises(InputError, match=r"report\.docx: .*unsupported file type '\.docx' "
                                         r"\(expected \.csv, \.xlsx, \.xls, \.json, \.ndjson, \.yaml\)"):
        load_file(doc)
    xls = tmp_path / "old.xls"
    xls.write_bytes(b"x")
    with pytest.raises(InputError, match="not an Excel workbook"):
        load_file(xls)
    with pytest.raises(InputError, match=r"nope\.csv: .*file not found"):
        load_file(tmp_path / "nope.csv")
    folder = tmp_path / "dir.csv"
    folder.mkdir()
    with pytest.raises(InputError, match="is a directory"):
        load_file(folder)


def test_an_old_workbook_saved_under_xlsx_is_read_by_its_content(tmp_path):
    import xlwt

    wb = xlwt.Workbook(encoding="utf-8")
    ws = wb.add_sheet("学校")
    for i, r in enumerate([CHINESE_HEADER, *CHINESE_ROWS]):
        for j, c in enumerate(r):
            ws.write(i, j, c)
    wb.save(str(tmp_path / "old.xlsx"))
    loaded = load_file(tmp_path / "old.xlsx")
    assert loaded.format == "xls" and [r.data["school_id"] for r in loaded.rows] == ["5201020001", "5201020002"]


#: What systems export as "Excel" that is none: a web page's table, the XML of Excel 2003, plain text.
NOT_WORKBOOKS = [
    ("export.xls", '<html><head><meta charset="utf-8"></head><body><table><tr><td>学校标识码</td></tr></table>',
     "这是网页（HTML）表格，不是 Excel 工作簿.*a web page \\(HTML\\) table, not an Excel workbook"),
    ("export.xls", '<?xml version="1.0"?>\n<?mso-application progid="Excel.Sheet"?>\n<Workbook '
                   'xmlns="urn:schemas-microsoft-com:office:spreadsheet"><Worksheet/></Workbook>',
     "这是 Excel 2003 XML 表格.*an Excel 2003 XML spreadsheet"),
    ("schools.xlsx", "学校标识码,学段\n5201020001,小学\n", "这是文本文件（如 CSV）.*a text file \\(CSV, say\\)"),
]


@pytest.mark.parametrize("name, text, message", NOT_WORKBOOKS)
def test_a_file_named_as_a_workbook_that_is_none_says_what_it_is_and_what_to_do(tmp_path, name, text, message):
    path = tmp_path / name
    path.write_bytes(text.encode("gbk"))
    with pytest.raises(InputError, match=message) as refused:
        load_file(path)
    assert "另存为 .xlsx" in str(refused.value) or "改为 .csv" in str(refused.value)


@pytest.mark.parametrize("name", ["学校.zip.xlsx", "学校.csv"])
def test_a_zip_of_files_is_told_to_be_unpacked(tmp_path, name):
    """Offices zip their files to send them: a zip archive that is no workbook names what it holds."""
    import zipfile

    path = tmp_path / name
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("学校.csv", "学校标识码,学段\n5201020001,小学\n")
        z.writestr("县级.csv", "县级行政区划代码\n520102\n")
    with pytest.raises(InputError, match="这是压缩包（zip），不是 Excel 工作簿：请先解压.*学校.csv、县级.csv.*"
                                         "a zip archive, not an Excel workbook: unzip it"):
        load_file(path)


@pytest.mark.parametrize("name", ["学校.xlsx", "学校.xls"])
def test_a_workbook_with_a_password_to_open_it_is_told_so(tmp_path, name):
    """``data/encrypted.xlsx``: a two-row workbook Excel-encrypted with the password 1234 (by
    msoffcrypto-tool); Excel keeps it as an OLE document, whatever its suffix."""
    path = tmp_path / name
    path.write_bytes((DATA / "encrypted.xlsx").read_bytes())
    with pytest.raises(InputError, match="工作簿设有打开密码.*the workbook is protected by a password"):
        load_file(path)


def test_file_without_extension_is_sniffed(tmp_path):
    j = tmp_path / "export1"
    j.write_text('[{"school_id": "1"}]', encoding="utf-8")
    assert load_file(j).format == "json"
    c = tmp_path / "export2"
    c.write_text("school_id\n1\n", encoding="utf-8")
    assert load_file(c).format == "csv"


def test_empty_workbook_and_header_only_workbook(tmp_path):
    wb = openpyxl.Workbook()
    wb.save(tmp_path / "empty.xlsx")
    with pytest.raises(InputError, match=r"empty\.xlsx: .*the workbook is empty"):
        load_file(tmp_path / "empty.xlsx")
    wb.active.append(["school_id", "students"])
    wb.save(tmp_path / "header.xlsx")
    lf = load_file(tmp_path / "header.xlsx")
    assert lf.rows == [] and lf.county_rows == []


def test_tab_separated_with_a_title_line_without_tabs(tmp_path):
    path = tmp_path / "t.tsv"
    path.write_text("学校基本情况\nschool_id\tstudents\n1\t5\n", encoding="utf-8")
    assert [r.data for r in load_file(path).rows] == [{"school_id": "1", "students": "5"}]


# --- limits and hostile files -----------------------------------------------------------------

@pytest.fixture()
def limits(monkeypatch):
    from edubalance.limits import LIMITS

    def set_(**values):
        for k, v in values.items():
            monkeypatch.setattr(LIMITS, k, v)
    return set_


def test_devices_and_pipes_are_refused_without_reading(tmp_path):
    import os
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    for path in (fifo, Path("/dev/zero")):
        with pytest.raises(InputError, match="not a regular file"):
            load_file(path)


def test_a_file_over_the_size_limit_is_one_message(tmp_path, limits):
    limits(max_file_bytes=100)
    path = write_csv(tmp_path / "big.csv", CHINESE_HEADER, CHINESE_ROWS * 5, "utf-8")
    with pytest.raises(InputError, match=r"文件过大.*max_file_bytes=N or EDUBALANCE_MAX_FILE_BYTES"):
        load_file(path)


def test_a_cell_over_the_limit_is_one_message(tmp_path, limits):
    limits(max_cell_chars=50)
    path = tmp_path / "long.csv"
    path.write_text("school_id,school_name\n1," + "名" * 60 + "\n", encoding="utf-8")
    with pytest.raises(InputError, match="单元格内容过长"):
        load_file(path)


def _long_cell_file(folder: Path, fmt: str, text: str) -> Path:
    """A school file in ``fmt`` whose second record's name is ``text``."""
    import xlwt

    rows = [dict(zip(CHINESE_HEADER, r)) for r in CHINESE_ROWS]
    rows[1]["学校名称"] = text
    path = folder / f"long.{fmt}"
    if fmt == "json":
        path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    elif fmt == "ndjson":
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    elif fmt == "yaml":
        path.write_text(yaml.safe_dump(rows, allow_unicode=True), encoding="utf-8")
    elif fmt == "xlsx":
        wb = openpyxl.Workbook()
        for r in [CHINESE_HEADER, *[list(r.values()) for r in rows]]:
            wb.active.append(r)
        wb.save(path)
    else:
        wb = xlwt.Workbook(encoding="utf-8")
        ws = wb.add_sheet("学校")
        for i, r in enumerate([CHINESE_HEADER, *[list(r.values()) for r in rows]]):
            for j, c in enumerate(r):
                ws.write(i, j, c)
        wb.save(str(path))
    return path


@pytest.mark.parametrize("fmt", ["xlsx", "xls", "json", "ndjson", "yaml"])
def test_a_cell_over_the_limit_is_one_message_in_every_format(tmp_path, limits, fmt):
    limits(max_cell_chars=50)
    assert load_file(_long_cell_file(tmp_path, fmt, "名" * 50)).rows[1].data["school_name"] == "名" * 50
    with pytest.raises(InputError, match="单元格内容过长.*a cell of 51 characters"):
        load_file(_long_cell_file(tmp_path, fmt, "名" * 51))


@pytest.mark.parametrize("name, text", [
    ("deep.json", "[" * 100_000 + "]" * 100_000),
    ("deep.ndjson", '{"school_id": ' + "[" * 100_000 + "]" * 100_000 + "}\n"),
    ("deep.yaml", "[" * 100_000 + "]" * 100_000),
    ("block.yaml", "".join("  " * i + "- \n" for i in range(3000))),
])
def test_nesting_deeper_than_the_limit_is_refused(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match="嵌套层数过深|not valid YAML"):
        load_file(path)


def test_yaml_aliases_are_refused_in_data_files(tmp_path, limits):
    path = tmp_path / "laughs.yaml"
    lines = ["a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    lines += [f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]" for i in range(8)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match="YAML 别名过多"):
        load_file(path)
    limits(max_yaml_aliases=100)
    small = tmp_path / "small.yaml"
    small.write_text("- &s {school_id: '1', stage: primary}\n- *s\n", encoding="utf-8")
    assert len(load_file(small).rows) == 2


def test_a_zip_bomb_saved_as_xlsx_is_refused(tmp_path, limits):
    import zipfile
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/worksheets/sheet1.xml", b"\0" * (40 << 20))
    with pytest.raises(InputError, match="工作簿压缩比异常"):
        load_file(path)
    limits(max_xlsx_bytes=1000)
    with pytest.raises(InputError, match="工作簿解压后过大"):
        load_file(make_workbook(tmp_path / "w.xlsx"))


def test_ndjson_lines_end_only_at_line_feeds(tmp_path):
    path = tmp_path / "u.ndjson"
    path.write_text('{"school_id": "1", "school_name": "一\u2028小\u0085学"}\n{"school_id": "2"}\n', encoding="utf-8")
    lf = load_file(path)
    assert [r.row for r in lf.rows] == [1, 2] and lf.rows[0].data["school_name"] == "一\u2028小\u0085学"


@pytest.mark.parametrize("content", [
    random.Random(4).randbytes(4096),
    bytes(random.Random(5).choices(range(0x81, 0xFE), k=4096)),    # decodes as GB18030
])
def test_binary_bytes_saved_as_csv_are_not_a_table(tmp_path, content):
    path = tmp_path / "random.csv"
    path.write_bytes(content)
    with pytest.raises(InputError, match="binary|cannot decode"):
        load_file(path)


def test_limits_come_from_the_environment_and_the_command_line(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from edubalance.cli import main
    from edubalance.limits import LIMITS, from_environment
    assert from_environment({"EDUBALANCE_MAX_DEPTH": "7"}).max_depth == 7
    with pytest.raises(ValueError, match="whole number"):
        from_environment({"EDUBALANCE_MAX_DEPTH": "deep"})
    monkeypatch.setattr(LIMITS, "max_file_bytes", LIMITS.max_file_bytes)
    path = write_csv(tmp_path / "s.csv", CHINESE_HEADER, CHINESE_ROWS, "utf-8")
    result = CliRunner().invoke(main, ["--limit", "max_file_bytes=10", "validate", str(path)])
    assert result.exit_code == 2 and "文件过大" in result.output and "Traceback" not in result.output
    result = CliRunner().invoke(main, ["--limit", "max_files=10", "validate", str(path)])
    assert result.exit_code == 2 and "unknown limit" in result.output


def test_a_line_wider_than_the_first_lines_is_read_whole(tmp_path):
    path = tmp_path / "wide.csv"
    lines = ["school_id,students"] + [f"{i},5" for i in range(1, 80)] + ["80,5,备注"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    lf = load_file(path)
    assert len(lf.rows) == 80 and lf.rows[-1].data == {"school_id": "80", "students": "5"}
    assert [n.code for n in lf.notices] == ["W401"] and "column C (no header)" in lf.notices[0].message
    assert lf.rows[-1].row == 81


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gb18030", "utf-16"])
def test_a_wider_line_in_a_file_with_a_bom_or_decoded(tmp_path, encoding):
    path = tmp_path / "wide.csv"
    lines = ["学校标识码,在校生数"] + [f"{i},5" for i in range(1, 80)] + ["80,5,备注"]
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    lf = load_file(path)
    assert lf.encoding == encoding and len(lf.rows) == 80
    assert lf.rows[0].data == {"school_id": "1", "students": "5"}           # no BOM in the first header
    assert lf.rows[-1].data == {"school_id": "80", "students": "5"} and lf.rows[-1].row == 81


def test_xls_as_wps_saves_it(tmp_path):
    xlwt = pytest.importorskip("xlwt")
    wb = xlwt.Workbook()
    ws = wb.add_sheet("学校")
    ws.write(0, 0, "花溪区学校情况")                               # a title row
    for j, h in enumerate(CHINESE_HEADER):
        ws.write(1, j, h)
    for i, row in enumerate(CHINESE_ROWS):
        for j, v in enumerate(row):
            ws.write(i + 3, j, float(v.replace(",", "")) if v.replace(",", "").isdigit() else v)  # row 4 blank
    cs = wb.add_sheet("县级指标")
    for j, v in enumerate(["县级行政区划代码", "学年", "教师年平均工资收入"]):
        cs.write(0, j, v)
    for j, v in enumerate(["520111", 2023, 98000]):
        cs.write(1, j, v)
    path = tmp_path / "old.xls"
    wb.save(str(path))
    lf = load_file(path, default_province="guizhou")
    assert lf.format == "xls" and [r.row for r in lf.rows] == [4, 5]
    assert lf.rows[0].data["school_id"] == "5201020001" and lf.rows[0].data["students"] == "1200"
    assert lf.county_rows[0].file == f"{path}#县级指标"
    result = validate(lf.frame)
    assert result.rejected == [] and [a["students"] for a in result.accepted] == [1200, 900]


def test_a_merged_code_counts_in_each_of_its_rows_and_a_merged_title_in_none(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["某县学校情况", None, None])
    ws.merge_cells("A1:C1")
    ws.append(["学校标识码", "学段", "县级行政区划代码"])
    ws.append(["5201020001", "小学", "520111"])
    ws.append(["5201020001", "初中", None])
    ws.merge_cells("C3:C4")
    wb.save(tmp_path / "m.xlsx")
    loaded = load_file(tmp_path / "m.xlsx")
    assert [(r.row, r.data["county_code"]) for r in loaded.rows] == [(3, "520111"), (4, "520111")]
    assert [n.code for n in loaded.notices] == ["W404"]          # the title's merge, above the header, is none


def test_two_keys_for_one_field_are_refused(tmp_path):
    path = tmp_path / "d.json"
    path.write_text('[{"school_id": "5201020001", "equipment_value_yuan": 1, "教学仪器设备资产值（万元）": 2}]',
                    encoding="utf-8")
    with pytest.raises(InputError, match=r"record 1 的键「equipment_value_yuan」和「教学仪器设备资产值（万元）」都是 教学仪器设备资产值"
                                         r".* / record 1: keys 'equipment_value_yuan' and '教学仪器设备资产值（万元）' both give"):
        load_file(path)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "utf-16"])
@pytest.mark.parametrize("name", ["s.json", "s.ndjson", "s.yaml"])
def test_a_document_is_decoded_whole_in_its_encoding(tmp_path, name, encoding):
    records = [{"学校标识码": f"52010{i:05d}", "学校名称": "花溪第一小学"} for i in range(3000)]
    text = ("\n".join(json.dumps(r, ensure_ascii=False) for r in records) if name.endswith("ndjson")
            else json.dumps(records, ensure_ascii=False, indent=1))
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    lf = load_file(path)
    assert lf.encoding == encoding and len(lf.rows) == 3000
    assert lf.rows[-1].data == {"school_id": "5201002999", "school_name": "花溪第一小学"}


def test_a_document_neither_utf8_nor_gb18030_is_one_message(tmp_path):
    path = tmp_path / "bad.json"
    path.write_bytes(b'[{"school_id": "1"}]' + b" " * 5000 + b"\x81\x20\n")
    with pytest.raises(InputError, match="cannot decode as UTF-8 or GB18030/GBK"):
        load_file(path)
