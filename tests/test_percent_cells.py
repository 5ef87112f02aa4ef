"""Rates written in percent: a workbook cell a clerk typed as ``15%`` (stored 0.15, formatted as a
percentage) under a ``（%）`` column or a ``%`` units row is 0.15, a cell typed ``15`` there is 0.15
too, and ``15%`` written as text is 0.15 in every format — asserted on the verdicts of ``evaluate``,
on what ``validate`` accepts, and through the Python API; in .xlsx and .xls workbooks alike. Where
the formats cannot be read, the column says so."""
from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edubalance import Evaluator
from edubalance.fields import label
from edubalance.loading import _times, times_column
from edubalance.readers.excel import shows_percent
from office_files import demo_tables, office_sheet, save_csv, typed

#: (field, header, the cell as a clerk leaves it: (value, number format or None), the fraction meant, rule)
RATES = (
    ("junior_retention_rate", "初中三年巩固率（%）", (0.961, "0.0%"), 0.961, "national.county.junior_retention"),
    ("dropout_rate_primary", "小学年辍学率（%）", (0.006, "0.00%"), 0.006, "guizhou.county.dropout_primary"),
    ("dropout_rate_junior", "初中年辍学率（%）", (0.6, None), 0.006, "guizhou.county.dropout_junior"),
    ("training_completion_rate", "教师5年360学时培训完成率（%）", (97, None), 0.97, "national.county.teacher_training"),
)


def county_sheet(units_row: bool = False):
    """The demo county's row under Chinese headers, the rates of :data:`RATES` in percent (in the
    header, or in a units row below it); a cell is ``(value, number format)``."""
    _, (header, [row]) = demo_tables()
    head, cells = [label(h) for h in header], [(typed(v), None) for v in row]
    for fname, title, cell, _, _ in RATES:
        if fname not in header:
            header, head, cells = [*header, fname], [*head, None], [*cells, None]
        j = header.index(fname)
        head[j], cells[j] = (label(fname) if units_row else title), cell
    units = ["%" if f in {r[0] for r in RATES} else None for f in header]
    return [head, units, cells] if units_row else [head, cells]


def cells_of(rows):
    """Each filled cell of a sheet as ``(row, column, value, number format)``, counted from 0."""
    for i, r in enumerate(rows):
        for j, cell in enumerate(r):
            value, fmt = cell if isinstance(cell, tuple) else (cell, None)
            if value is not None:
                yield i, j, value, fmt


def save_openpyxl(path: Path, sheets) -> Path:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, rows in sheets:
        ws = wb.create_sheet(title)
        for i, j, value, fmt in cells_of(rows):
            c = ws.cell(i + 1, j + 1, value)
            if fmt:
                c.number_format = fmt
    wb.save(path)
    return path


def save_xlsxwriter(path: Path, sheets) -> Path:
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path))
    for title, rows in sheets:
        ws = wb.add_worksheet(title)
        for i, j, value, fmt in cells_of(rows):
            ws.write(i, j, value, wb.add_format({"num_format": fmt}) if fmt else None)
    wb.close()
    return path


def save_xlwt(path: Path, sheets) -> Path:
    import xlwt

    wb = xlwt.Workbook(encoding="utf-8")
    for title, rows in sheets:
        ws = wb.add_sheet(title)
        for i, j, value, fmt in cells_of(rows):
            ws.write(i, j, value, xlwt.easyxf(num_format_str=fmt) if fmt else xlwt.Style.default_style)
    wb.save(str(path))
    return path


def schools_sheet():
    (header, rows), _ = demo_tables()
    return office_sheet(header, rows)


def verdicts(report):
    [county] = report["counties"]
    return {v["rule_id"]: (v["status"], v["value"]) for v in county["verdicts"]}


def judged(run, path):
    checked = run("validate", str(path), "-f", "json")
    result = run("evaluate", str(path), "-f", "json")
    assert checked.exit_code in (0, 1) and result.exit_code in (0, 1), checked.output + result.output
    data, report = json.loads(checked.stdout), json.loads(result.stdout)
    assert data["records"]["accepted"] == report["records"]["evaluated"] == 28 and not data["rejected"]
    assert report["county_records"]["accepted"] == 1 and not report["rejected_counties"]
    assert data["notices"] == report["notices"]
    return report


@pytest.mark.parametrize("save", [save_openpyxl, save_xlsxwriter])
@pytest.mark.parametrize("units_row", [False, True])
def test_a_cell_formatted_as_a_percentage_is_the_percentage_it_shows(run, tmp_path, save, units_row):
    path = save(tmp_path / "w.xlsx", [("学校", schools_sheet()), ("县级", county_sheet(units_row))])
    report = judged(run, path)
    found = verdicts(report)
    for fname, _, _, meant, rule in RATES:
        assert found[rule][1] == meant, (fname, found[rule])
    assert found["national.county.junior_retention"][0] == "pass"          # 96.1% ≥ 95%, not 0.961%
    notes = {n["field"]: n["message"] for n in report["notices"] if n["code"] == "W402"}
    assert set(notes) == {f for f, *_ in RATES}
    assert "1 个单元格设为百分比格式" in notes["junior_retention_rate"]
    assert "formatted as percentages" in notes["dropout_rate_primary"]
    assert "百分比格式" not in notes["dropout_rate_junior"] and "百分比格式" not in notes["training_completion_rate"]


def test_a_mixed_column_and_the_python_api(tmp_path):
    """One column, four counties: cells formatted as percentages, a general cell typed 1.5, text 1.5%."""
    rows = [["县级行政区划代码", "县（市、区）", "初中年辍学率（%）"], [522698, "青岚县", (0.015, "0.0%")],
            [522699, "乙县", 1.5], [522700, "丙县", "1.5%"], [522701, "丁县", (0.5, "0%")]]
    path = save_openpyxl(tmp_path / "w.xlsx", [("县级", rows)])
    loaded = Evaluator().load([path])
    assert loaded.counties["dropout_rate_junior"].to_list() == ["1.5%", "0.015", "1.5%", "50%"]
    [note] = loaded.notices
    assert "其中 2 个单元格设为百分比格式" in note.message
    # The Python API reads a key in percent as a file's column: 1.5 and "1.5%" are 0.015.
    ev = Evaluator()
    (header, rows_), _ = demo_tables()
    schools = [dict(zip(header, r)) for r in rows_]
    _, (county_header, [county]) = demo_tables()
    base = {k: v for k, v in zip(county_header, county) if k != "dropout_rate_junior"}
    for cell in (1.5, "1.5%", "1.5 %"):
        report = json.loads(ev.evaluate_records(schools, [{**base, "初中年辍学率（%）": cell}]).to_json())
        assert verdicts(report)["guizhou.county.dropout_junior"] == ("pass", 0.015)


@pytest.mark.parametrize("header", ["初中年辍学率（%）", "初中年辍学率"])
def test_a_csv_cell_written_15_percent_is_the_fraction(run, tmp_path, header):
    """Text ``0.7%`` is 0.007 exactly (not 0.7 / 100 = 0.006999999999999999), under a header in %
    or a plain one; ``2.5`` under the header in % is 0.025."""
    _, (county_header, [county]) = demo_tables()
    head = [label(h) for h in county_header] + [header, "小学年辍学率（%）"]
    path = save_csv(tmp_path / "c.csv", [head, [*county, "0.7%", "2.5"]], encoding="gbk")
    schools = save_csv(tmp_path / "s.csv", schools_sheet())
    result = run("evaluate", str(schools), str(path), "-f", "json")
    found = verdicts(json.loads(result.stdout))
    assert found["guizhou.county.dropout_junior"] == ("pass", 0.007)
    assert found["guizhou.county.dropout_primary"] == ("fail", 0.025)


def test_xls_cells_formatted_as_percentages_are_the_percentages_they_show(run, tmp_path):
    """An .xls workbook (as WPS and older Excel save): its cell formats are read as an XLSX's are."""
    path = save_xlwt(tmp_path / "w.xls", [("学校", schools_sheet()), ("县级", county_sheet())])
    report = judged(run, path)
    found = verdicts(report)
    for fname, _, _, meant, rule in RATES:
        assert found[rule][1] == meant, (fname, found[rule])
    assert found["national.county.junior_retention"] == ("pass", 0.961)       # stored 0.961, shown 96.1%
    notes = {n["field"]: n["message"] for n in report["notices"] if n["code"] == "W402"}
    assert "1 个单元格设为百分比格式" in notes["junior_retention_rate"]
    assert not any("未能读取单元格格式" in m for m in notes.values())


def test_formats_that_cannot_be_read_are_said(run, tmp_path, monkeypatch):
    """Where a workbook's formats cannot be read, values are read as typed and the column says so."""
    import xlrd

    def broken(*args, **kwargs):
        raise xlrd.XLRDError("unsupported format")
    monkeypatch.setattr(xlrd, "open_workbook", broken)
    path = save_xlwt(tmp_path / "w.xls", [("学校", schools_sheet()), ("县级", county_sheet())])
    report = judged(run, path)
    assert verdicts(report)["national.county.junior_retention"][1] == 0.00961   # read as typed
    notes = {n["field"]: n["message"] for n in report["notices"] if n["code"] == "W402"}
    assert all("未能读取单元格格式" in m and "check the values" in m for m in notes.values())


def test_formats_are_read_only_for_a_sheet_with_a_column_in_percent(tmp_path, monkeypatch):
    calls = []
    real = openpyxl.load_workbook
    monkeypatch.setattr(openpyxl, "load_workbook", lambda *a, **k: calls.append(1) or real(*a, **k))
    plain = [["县级行政区划代码", "县（市、区）", "初中年辍学率"], [522698, "青岚县", (0.006, "0.0%")]]
    loaded = Evaluator().load([save_openpyxl(tmp_path / "p.xlsx", [("县级", plain)])])
    assert loaded.counties["dropout_rate_junior"].to_list() == ["0.006"] and not calls and not loaded.notices
    percent = [["县级行政区划代码", "县（市、区）", "初中年辍学率（%）"], [522698, "青岚县", (0.006, "0.0%")]]
    loaded = Evaluator().load([save_openpyxl(tmp_path / "q.xlsx", [("县级", percent)])])
    assert loaded.counties["dropout_rate_junior"].to_list() == ["0.6%"] and calls == [1]


def test_a_workbook_whose_formats_cannot_be_read_is_said_so(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise KeyError("xl/styles.xml")
    monkeypatch.setattr(openpyxl, "load_workbook", broken)
    rows = [["县级行政区划代码", "县（市、区）", "初中年辍学率（%）"], [522698, "青岚县", 0.6]]
    loaded = Evaluator().load([save_openpyxl(tmp_path / "w.xlsx", [("县级", rows)])])
    assert loaded.counties["dropout_rate_junior"].to_list() == ["0.006"]
    [note] = loaded.notices
    assert "未能读取单元格格式" in note.message


def test_formats_beyond_the_rows_read_are_said_unread(tmp_path, monkeypatch):
    from edubalance.readers import excel
    rows = [["县级行政区划代码", "县（市、区）", "初中年辍学率（%）"], [522698, "青岚县", (0.006, "0.0%")],
            [522699, "乙县", 0.6]]
    path = save_openpyxl(tmp_path / "w.xlsx", [("县级", rows)])
    assert Evaluator().load([path]).counties["dropout_rate_junior"].to_list() == ["0.6%", "0.006"]
    monkeypatch.setattr(excel, "FORMATS_MOST_ROWS", 2)
    loaded = Evaluator().load([path])
    assert loaded.counties["dropout_rate_junior"].to_list() == ["0.00006", "0.006"]
    [note] = loaded.notices
    assert "未能读取单元格格式" in note.message and "beyond row 20000" in note.message


@pytest.mark.parametrize("fmt,value,shown", [
    ("0%", 0.15, True), ("0.00%", 0.15, True), ("0.0%;[Red]-0.0%", -0.1, True), ("#,##0.0%", 2, True),
    ("General", 0.15, False), ("0.00", 0.15, False), ('0.00"%"', 15, False), ("0.0\\%", 15, False),
    ("0.00;0.00%", 0.15, False), ("0.00;0.00%", -0.15, True), (None, 0.15, False), ("[$%-409]0.00", 1, False),
])
def test_which_number_formats_show_a_percentage(fmt, value, shown):
    assert shows_percent(fmt, value) is shown


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), st.decimals(allow_nan=False, allow_infinity=False).map(str),
                          st.text(alphabet="0123456789.-+e, %１", max_size=12)), max_size=40),
       st.sampled_from([Fraction(10_000), Fraction(1, 100), Fraction(10 ** 8), Fraction(10_000, 15), Fraction(1, 8)]))
def test_the_column_is_converted_as_each_cell_is(cells, factor):
    column = pl.Series("c", cells, dtype=pl.String)
    assert times_column(column, factor).to_list() == [_times(c, factor) for c in cells]


@pytest.mark.parametrize("header,cell", [("占地面积（亩）", "12345678901234567890123.5"),
                                         ("教学仪器设备资产值（万元）", "1e999999999"),
                                         ("教学仪器设备资产值（万元）", "9" * 5000)])
def test_a_number_too_large_for_any_unit_is_refused_not_a_failure(run, tmp_path, header, cell):
    path = tmp_path / "s.csv"
    path.write_text(f"学校标识码,学段,省份,在校生数,{header}\n5226980001,小学,贵州,300,{cell}\n", encoding="utf-8")
    result = run("validate", str(path))
    assert result.exit_code == 1 and "E107" in result.output and "Traceback" not in result.output
