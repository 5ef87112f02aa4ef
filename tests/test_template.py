"""The input template: headers the reader maps back to fields, comments and validation, and a
template filled with a demo county's values evaluates like the demo file itself."""
from __future__ import annotations

import csv
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from edubalance import Evaluator
from edubalance.cli import main
from edubalance.fields import BOOLEAN_FIELDS, COUNTY_BOOLEAN_FIELDS, INTEGER_FIELDS, header_to_field
from edubalance.template import COUNTY_SHEET, HELP_SHEET, SCHOOL_SHEET

ROOT = Path(__file__).resolve().parents[1]


def make_template(tmp_path, province, *extra):
    out = tmp_path / "学校数据模板.xlsx"
    result = CliRunner().invoke(main, ["template", "-P", province, "-o", str(out), *extra], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return out


def cell(field, raw, county=False):
    """A CSV value as a clerk would type it into the template."""
    if raw in (None, ""):
        return None
    if field in (COUNTY_BOOLEAN_FIELDS if county else BOOLEAN_FIELDS):
        return "是" if raw.strip().lower() in ("true", "1", "是", "yes") else "否"
    if field in ("school_id", "county_code", "province", "school_name", "county_name"):
        return raw
    try:
        return int(raw) if field in INTEGER_FIELDS or field == "year" else float(raw)
    except ValueError:
        return raw


def listed(ws, field):
    """The values the dropdown of ``field``'s column offers."""
    col = openpyxl.utils.get_column_letter([header_to_field(c.value) for c in ws[1]].index(field) + 1)
    rule = next(dv for dv in ws.data_validations.dataValidation if str(dv.sqref).startswith(f"{col}2:"))
    return rule.formula1.strip('"').split(",")


def fill(template, province):
    """Copy the demo CSVs into the template, column by column, with openpyxl; the province is
    chosen from the column's dropdown, as a clerk would."""
    data = ROOT / "plugins" / province / "data"
    wb = openpyxl.load_workbook(template)
    for sheet, name, county in ((SCHOOL_SHEET, "demo_schools.csv", False), (COUNTY_SHEET, "demo_county.csv", True)):
        ws = wb[sheet]
        fields = [header_to_field(c.value) for c in ws[1]]
        choice = listed(ws, "province") if "province" in fields else []
        with open(data / name, encoding="utf-8-sig", newline="") as f:
            for r, row in enumerate(csv.DictReader(f), start=2):
                values = {header_to_field(k): v for k, v in row.items()}
                for c, field in enumerate(fields, start=1):
                    value = choice[0] if field == "province" and values.get(field) else values.get(field)
                    ws.cell(r, c, cell(field, value, county))
    wb.save(template)
    return template


def test_template_headers_map_back_to_fields_and_carry_comments_and_validation(tmp_path):
    wb = openpyxl.load_workbook(make_template(tmp_path, "guizhou"))
    assert wb.sheetnames == [HELP_SHEET, SCHOOL_SHEET, COUNTY_SHEET]     # instructions first, as offices keep them
    ws = wb[SCHOOL_SHEET]
    heads = [c.value for c in ws[1]]
    fields = [header_to_field(h) for h in heads]
    assert None not in fields and len(set(fields)) == len(fields)
    assert "占地面积（平方米）" in heads and "在校生数（人）" in heads          # units in the header
    assert all(c.comment and c.comment.text for c in ws[1])
    rules = {str(dv.sqref).split(":")[0]: dv for dv in ws.data_validations.dataValidation}
    col = {f: openpyxl.utils.get_column_letter(j + 1) for j, f in enumerate(fields)}
    assert rules[f"{col['stage']}2"].formula1 == '"小学,初中"'
    assert rules[f"{col['location']}2"].formula1 == '"城区,镇区,乡村"'
    assert rules[f"{col['is_boarding']}2"].formula1 == '"是,否"'
    assert "九年一贯制" in rules[f"{col['school_type']}2"].formula1
    students = rules[f"{col['students']}2"]
    assert (students.type, students.operator, students.formula1) in {("whole", "greaterThanOrEqual", "0"), ("whole", None, "0")}
    assert students.formula2 in (None, "10000000")        # the schema's maximum, where it gives one
    county_fields = [header_to_field(c.value) for c in wb[COUNTY_SHEET][1]]
    assert {"county_code", "year", "teacher_avg_salary_yuan", "veto_falsified_data"} <= set(county_fields)


def test_the_template_holds_only_what_the_province_needs(tmp_path):
    shaanxi = [header_to_field(c.value) for c in openpyxl.load_workbook(make_template(tmp_path, "shaanxi"))[SCHOOL_SHEET][1]]
    assert "canteen_area_m2" in shaanxi and "max_classroom_floor" in shaanxi     # Shaanxi's own rules
    assert "beds" not in shaanxi                                                  # a Guizhou rule only


@pytest.mark.parametrize("province", ["shaanxi", "guizhou", "anhui"])
def test_a_filled_template_evaluates_like_the_demo_file(tmp_path, province):
    filled = fill(make_template(tmp_path, province), province)
    ev = Evaluator(engine="vector")
    data = ROOT / "plugins" / province / "data"
    demo = ev.evaluate_files([data / "demo_schools.csv", data / "demo_county.csv"]).to_dict()
    got = ev.evaluate_files([filled]).to_dict()
    assert got["warnings"] == [] and got["rejected"] == [] and got["rejected_counties"] == []
    assert got["records"] == demo["records"]
    key = lambda s: (s["school_id"], s["stage"])
    for a, b in zip(sorted(got["schools"], key=key), sorted(demo["schools"], key=key)):
        assert key(a) == key(b) and a["status"] == b["status"] and a["score"] == b["score"]
        assert [(v["rule_id"], v["status"], v["value"]) for v in a["verdicts"]] == \
               [(v["rule_id"], v["status"], v["value"]) for v in b["verdicts"]]
    assert len(got["counties"]) == len(demo["counties"]) == 1
    for a, b in zip(got["counties"], demo["counties"]):
        assert a["status"] == b["status"] and a["verdicts"] == b["verdicts"]


def test_the_province_dropdown_offers_the_chinese_name_which_is_read_back(tmp_path):
    """A clerk chooses 贵州省 from the dropdown (not the plug-in id); the file then validates
    and its records are Guizhou's."""
    template = make_template(tmp_path, "guizhou")
    wb = openpyxl.load_workbook(template)
    assert listed(wb[SCHOOL_SHEET], "province") == listed(wb[COUNTY_SHEET], "province") == ["贵州省"]
    filled = fill(template, "guizhou")
    result = CliRunner().invoke(main, ["validate", str(filled)])
    assert result.exit_code == 0, result.output
    got = Evaluator(engine="vector").evaluate_files([filled]).to_dict()
    assert got["rejected"] == [] and got["rejected_counties"] == [] and got["schools"]
    assert {s["province"] for s in got["schools"]} == {"guizhou"}


def test_a_csv_template_is_two_files_with_the_same_headers(tmp_path):
    out = tmp_path / "t.csv"
    result = CliRunner().invoke(main, ["template", "-P", "anhui", "--format", "csv", "-o", str(out)])
    assert result.exit_code == 0, result.output
    heads = out.read_text(encoding="utf-8-sig").strip().split(",")
    xlsx = [c.value for c in openpyxl.load_workbook(make_template(tmp_path, "anhui"))[SCHOOL_SHEET][1]]
    assert heads == xlsx
    assert (tmp_path / "t-县级.csv").read_text(encoding="utf-8-sig").startswith("县级行政区划代码")


def test_an_unknown_province_is_one_message(tmp_path):
    result = CliRunner().invoke(main, ["template", "-P", "atlantis", "-o", str(tmp_path / "t.xlsx")])
    assert result.exit_code == 2 and "atlantis" in result.output and "Traceback" not in result.output
