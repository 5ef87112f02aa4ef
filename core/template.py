"""The input template: a workbook (or CSV) with the columns a province's rules need.

Headers are the Chinese labels with the unit in brackets (``占地面积（平方米）``), which the
reader maps back to the field; each header has a comment saying what to enter; cells have
data validation (dropdowns for 学段, 办学类型, 城乡类型 and 是/否, whole numbers ≥ 0 for
counts). The workbook holds the instructions first (填表说明, as offices keep them), then the
school sheet (学校数据) and the county sheet (县级数据): the reader finds the sheets of records
by their headers, whatever their order.
"""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, Iterable

from . import expr
from .derive import DERIVED_INPUTS
from .fields import (COUNTY_FIELDS, SCHOOL_REQUIRED, COUNTY_REQUIRED, enum_label, label, school_fields, school_spec,
                     unit)
from .regions import province_label, province_name
from .schemas import county_schema

SCHOOL_SHEET, COUNTY_SHEET, HELP_SHEET = "学校数据", "县级数据", "填表说明"
#: Rows that carry data validation (a county's schools fit many times over).
ROWS = 5000
#: Unit words written in headers, per the schema's x-unit (each one the reader accepts).
UNIT_WORDS = {"m²": "平方米", "yuan": "元", "yuan/year": "元/年", "pupils": "人", "persons": "人",
              "teachers": "人", "classes": "个", "rooms": "间", "computers": "台", "volumes": "册",
              "points": "分", "halls": "个", "beds": "张", "floor": "层"}
#: Fields every record carries, whatever the rules: identity, and what decides scope.
IDENTITY = ("school_id", "school_name", "stage", "school_type", "province", "county_code", "county_name", "year",
            "location", "is_public", "is_boarding", "students")
COUNTY_IDENTITY = ("county_code", "county_name", "province", "year")
#: Inputs of the public-funds entitlement (data dictionary §5).
FUNDING_INPUTS = ("students", "special_needs_students", "boarders", "school_type", "location", "is_boarding",
                  "public_funds_received_yuan")


def needed_fields(rulesets: Iterable[Any]) -> tuple[list[str], list[str]]:
    """School and county fields the rules of ``rulesets`` read, in the schemas' order (the fields
    the provinces' packs declare after the schema's)."""
    names: set[str] = set(IDENTITY) | set(SCHOOL_REQUIRED)
    county: set[str] = set(COUNTY_IDENTITY) | set(COUNTY_REQUIRED)
    for rs in rulesets:
        wanted: set[str] = set()
        for rule in rs.rules + rs.composites:
            wanted |= {rule.measure, rule.threshold_measure or ""} | (expr.names(rule.scope) if rule.scope else set())
        params = rs.parameters
        if params.get("funding"):
            wanted |= set(FUNDING_INPUTS)
            for entries in params["funding"].values():
                for e in entries:
                    if e.get("applies_when"):
                        wanted |= expr.names(expr.parse_condition(e["applies_when"]))
        cparams = params.get("county") or {}
        for key, value in cparams.items():
            if key.startswith("exclude_") and isinstance(value, str):
                wanted |= expr.names(expr.parse_condition(value))
        wanted |= set(cparams.get("cv_2017_indicators") or []) | set(cparams.get("cv_2012_indicators") or [])
        names |= _inputs(wanted, rs.measures)
        cwanted: set[str] = set()
        for rule in rs.county_rules:
            cwanted |= {rule.measure} | (expr.names(rule.scope) if rule.scope else set())
        county |= _inputs(cwanted, rs.measures)
    school = school_fields()
    return ([f for f in school if f in names],
            [f for f in COUNTY_FIELDS if f in county and not (f in school and f not in COUNTY_IDENTITY)])


def _inputs(wanted: set[str], measures: dict[str, Any]) -> set[str]:
    """The record fields behind measures: expressions and derived measures followed to their inputs."""
    out: set[str] = set()
    todo, seen = list(wanted), set()
    while todo:
        name = todo.pop()
        if not name or name in seen:
            continue
        seen.add(name)
        if name in measures:
            todo.extend(expr.names(measures[name]))
        elif name in DERIVED_INPUTS:
            todo.extend(DERIVED_INPUTS[name])
        out.add(name)
    return out


def header(field: str) -> str:
    """``在校生数（人）``: the label with the unit the reader accepts for the field."""
    word = UNIT_WORDS.get(unit(field))
    return f"{label(field)}（{word}）" if word else label(field)


def _spec(field: str, county_sheet: bool) -> dict[str, Any]:
    props = county_schema()["properties"] if county_sheet else {}
    return props.get(field) or school_spec(field) or {}


def _what_to_enter(field: str, spec: dict[str, Any], required: bool, provinces: list[str]) -> str:
    kind = spec.get("type")
    en = spec.get("description", "")
    if field == "province":
        names = [province_name(p) for p in provinces]
        zh = f"从下拉列表选择：{'、'.join(names)}（简称或插件名亦可：{'、'.join(map(province_label, provinces))}）"
        en = (f"Choose from the list: {', '.join(names)} (a short name or the plug-in id, such as "
              f"{', '.join(provinces)}, is read as well).")
    elif field == "year":
        zh = "填学年开始的年份，如 2023 表示 2023–2024 学年"
    elif "enum" in spec:
        zh = "从下拉列表选择：" + "、".join(enum_label(field, v) for v in spec["enum"])
    elif kind == "boolean":
        zh = "从下拉列表选择 是 或 否"
    elif kind == "integer":
        zh = f"填整数，不小于 {spec.get('minimum', 0)}" + (f"，单位：{UNIT_WORDS[unit(field)]}" if unit(field) in UNIT_WORDS else "")
    elif kind == "number" and unit(field) == "fraction":
        zh = "填小数（0.95 表示 95%）"
    elif kind == "number":
        zh = "填数字，不小于 0" + (f"，单位：{UNIT_WORDS[unit(field)]}" if unit(field) in UNIT_WORDS else "")
    elif spec.get("x-pattern-hint"):
        zh = "填 " + spec["x-pattern-hint"]
    else:
        zh = "填文字"
    need = "必填" if required else "选填：空着表示缺少数据，相关规则判为“缺数据”"
    return f"{label(field)}（{field}）\n{zh}；{need}。\n{en}".strip()


def _validation(field: str, spec: dict[str, Any], provinces: list[str]) -> dict[str, Any] | None:
    kind = spec.get("type")
    if field == "province":         # the names a clerk chooses; the reader takes each as the province
        return {"validate": "list", "source": [province_name(p) for p in provinces]}
    if "enum" in spec:
        return {"validate": "list", "source": [enum_label(field, v) for v in spec["enum"]]}
    if kind == "boolean":
        return {"validate": "list", "source": ["是", "否"]}
    if kind == "integer":
        lo, hi = spec.get("minimum", 0), spec.get("maximum")
        if hi is not None:
            return {"validate": "integer", "criteria": "between", "minimum": lo, "maximum": hi}
        return {"validate": "integer", "criteria": ">=", "value": lo}
    if kind == "number":
        lo, hi = spec.get("minimum", 0), spec.get("maximum")
        if hi is not None:
            return {"validate": "decimal", "criteria": "between", "minimum": lo, "maximum": hi}
        return {"validate": "decimal", "criteria": ">=", "value": lo}
    if spec.get("pattern") == "^[0-9]{6}$":
        return {"validate": "length", "criteria": "==", "value": 6}
    return None


def write_template(rulesets: list[Any], provinces: list[str], path: Path, fmt: str = "xlsx") -> list[Path]:
    """Write the template; returns the files written (a CSV template is two files)."""
    school, county = needed_fields(rulesets)
    if fmt == "csv":
        county_path = path.with_name(f"{path.stem}-县级{path.suffix or '.csv'}")
        for target, fields in ((path, school), (county_path, county)):
            with open(target, "w", encoding="utf-8-sig", newline="") as f:
                csv.writer(f).writerow([header(x) for x in fields])
        return [path, county_path]
    _write_xlsx(school, county, provinces, path)
    return [path]


def _write_xlsx(school: list[str], county: list[str], provinces: list[str], path: Path) -> None:
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path))
    head = wb.add_format({"bold": True, "bg_color": "#1F4E78", "font_color": "#FFFFFF", "text_wrap": True,
                          "valign": "top", "border": 1})
    required_head = wb.add_format({"bold": True, "bg_color": "#C00000", "font_color": "#FFFFFF", "text_wrap": True,
                                   "valign": "top", "border": 1})
    text = wb.add_format({"num_format": "@"})
    try:
        _write_help(wb, school, county, provinces)
        for name, fields, required, county_sheet in ((SCHOOL_SHEET, school, SCHOOL_REQUIRED, False),
                                                     (COUNTY_SHEET, county, COUNTY_REQUIRED, True)):
            ws = wb.add_worksheet(name)
            ws.freeze_panes(1, 2 if not county_sheet else 1)
            ws.set_row(0, 48)
            for c, field in enumerate(fields):
                spec = _spec(field, county_sheet)
                ws.write_string(0, c, header(field), required_head if field in required else head)
                ws.write_comment(0, c, _what_to_enter(field, spec, field in required, provinces),
                                 {"x_scale": 2.4, "y_scale": 2.2})
                is_text = spec.get("type") == "string" and "enum" not in spec
                ws.set_column(c, c, max(10, min(24, len(header(field)) * 2)), text if is_text else None)
                rule = _validation(field, spec, provinces)
                if rule:
                    rule = {**rule, "error_title": label(field)[:32],
                            "error_message": _what_to_enter(field, spec, False, provinces).split("\n")[1][:250]}
                    ws.data_validation(1, c, ROWS, c, rule)
    finally:
        wb.close()


def _write_help(wb: Any, school: list[str], county: list[str], provinces: list[str]) -> None:
    ws = wb.add_worksheet(HELP_SHEET)
    bold = wb.add_format({"bold": True, "font_size": 13})
    wrap = wb.add_format({"text_wrap": True, "valign": "top"})
    ws.set_column(0, 0, 28)
    ws.set_column(1, 1, 90, wrap)
    lines = [
        ("填表说明", "Instructions"),
        ("适用省份 province", "、".join(map(province_label, provinces))),
        ("学校数据", f"每所学校每个学段一行：九年一贯制学校填两行（小学、初中），学校标识码相同。红色表头为必填项。"
                   f"共 {len(school)} 列。 One row per school and stage; a nine-year school is two rows."),
        ("县级数据", f"每个县每个学年一行：政府保障、满意度、一票否决等县级指标。共 {len(county)} 列。"
                   " One row per county and year."),
        ("单位", "表头括号内为单位（平方米、元、人……）；比例填小数，95% 填 0.95。 Units are in the headers; shares as fractions."),
        ("缺少的数据", "不知道的值请留空，不要填 0：留空的规则判为“缺数据”，填 0 会被当作真实的 0。"
                     " Leave unknown values empty, never 0."),
        ("检查与评估", "edubalance validate 本文件.xlsx （检查）；edubalance evaluate 本文件.xlsx -o 报告.xlsx （评估）"),
        ("工作表", "工作表顺序不限，可增加说明页：按表头识别学校数据和县级数据，其他工作表跳过；可加序号、备注等列（不参与评估），"
                 "合计行和填表人行会被跳过。 Sheets in any order (found by their headers); extra columns such as "
                 "序号, 备注 are ignored; totals and signature rows are skipped."),
    ]
    for r, (k, v) in enumerate(lines):
        ws.write_string(r * 2, 0, k, bold if r == 0 else None)
        ws.write_string(r * 2, 1, v)
    r = len(lines) * 2 + 1
    ws.write_string(r, 0, "各列说明 columns", bold)
    for sheet, fields, county_sheet in ((SCHOOL_SHEET, school, False), (COUNTY_SHEET, county, True)):
        for field in fields:
            r += 1
            ws.write_string(r, 0, f"{sheet}：{header(field)}")
            required = field in (COUNTY_REQUIRED if county_sheet else SCHOOL_REQUIRED)
            ws.write_string(r, 1, _what_to_enter(field, _spec(field, county_sheet), required, provinces)
                            .replace("\n", " "))
