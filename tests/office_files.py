"""Files built the way a county office builds them, for tests: the demo county with a title row,
a 序号 column and a filled 备注 column, a 合计 row, a blank row and a 填表人 row, an instructions
sheet (填表说明) first — saved as XLSX (openpyxl), XLS (xlwt) or CSV in GBK.

:func:`demo_as_office` is "the demo county as an office saves it"; :func:`office_sheet` and the
``save_*`` functions build other variants. Row numbers below are those a spreadsheet shows.
"""
from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Any, Sequence

DEMO = Path(__file__).resolve().parents[1] / "plugins" / "guizhou" / "data"
TITLE = "青岚县义务教育学校办学条件统计表（2023年）"
INSTRUCTIONS = [["填表说明"], ["1. 学校标识码填写 10 位教育部学校标识码。"], ["2. 面积单位为平方米，金额单位为元。"],
                ["3. 九年一贯制学校按小学、初中分两行填写。"], ["注：本表由县教育局汇总上报。"]]
#: Where the demo's records sit in :func:`office_sheet`'s rows (title row 1, header row 2).
FIRST_RECORD_ROW = 3


def read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def demo_tables() -> tuple[tuple[list[str], list[list[str]]], tuple[list[str], list[list[str]]]]:
    """((school header, school rows), (county header, county rows)) of the Guizhou demo county."""
    return read_csv(DEMO / "demo_schools.csv"), read_csv(DEMO / "demo_county.csv")


def office_sheet(header: Sequence[str], rows: Sequence[Sequence[Any]], *, title: str | None = TITLE,
                 serial: bool = True, note: bool = True, totals: bool = True, signature: bool = True,
                 blank_before_signature: bool = True) -> list[list[Any]]:
    """The rows of a sheet as an office fills it: title row, header, the records (with 序号 first
    and 备注 last, filled on some rows), a 合计 row, a blank row and a 填表人 row."""
    head = (["序号"] if serial else []) + list(header) + (["备注"] if note else [])
    out: list[list[Any]] = [[title] + [None] * (len(head) - 1)] if title else []
    out.append(head)
    for k, row in enumerate(rows, start=1):
        cells = ([k] if serial else []) + list(row)
        if note:
            cells.append("已核实" if k % 3 == 0 else ("新建校舍" if k % 7 == 0 else None))
        out.append(cells)
    if totals:
        total: list[Any] = [None] * len(head)
        total[0] = "合计"
        students = head.index("在校生数")
        total[students] = sum(int(r[students - (1 if serial else 0)]) for r in rows)
        out.append(total)
    if signature:
        if blank_before_signature:
            out.append([None] * len(head))
        out.append(["填表人：张敏", None, "审核人：李强", None, "填表日期：2024年3月5日"] + [None] * (len(head) - 5))
    return out


def skipped_rows(n_records: int, *, title: bool = True, totals: bool = True, signature: bool = True,
                 blank_before_signature: bool = True) -> list[int]:
    """The spreadsheet rows :func:`office_sheet` adds that are not records."""
    row = (2 if title else 1) + n_records
    out = []
    if totals:
        row += 1
        out.append(row)
    if signature:
        if blank_before_signature:
            row += 1
            out.append(row)
        row += 1
        out.append(row)
    return out


_NUMBER = re.compile(r"-?\d+(\.\d+)?")


def typed(value: Any) -> Any:
    """A cell as a spreadsheet program stores what a clerk typed: numbers as numbers."""
    if isinstance(value, str) and _NUMBER.fullmatch(value):
        return float(value) if "." in value else int(value)
    return value


def save_xlsx(path: Path, sheets: Sequence[tuple[str, Sequence[Sequence[Any]]]]) -> Path:
    import openpyxl

    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, rows in sheets:
        ws = wb.create_sheet(title)
        for r in rows:
            ws.append([typed(c) for c in r])
    wb.save(path)
    return path


def save_xls(path: Path, sheets: Sequence[tuple[str, Sequence[Sequence[Any]]]]) -> Path:
    import xlwt

    wb = xlwt.Workbook(encoding="utf-8")
    for title, rows in sheets:
        ws = wb.add_sheet(title)
        for i, r in enumerate(rows):
            for j, c in enumerate(r):
                if c is not None:
                    ws.write(i, j, typed(c))
    wb.save(str(path))
    return path


def save_csv(path: Path, rows: Sequence[Sequence[Any]], encoding: str = "gbk") -> Path:
    with open(path, "w", encoding=encoding, newline="") as f:
        csv.writer(f).writerows([["" if c is None else c for c in r] for r in rows])
    return path


def demo_as_office(folder: Path, fmt: str) -> list[Path]:
    """The demo county as an office saves it, in ``fmt`` (``xlsx``, ``xls`` or ``csv``): a
    workbook with 填表说明 first, then the schools (title row, 序号, 备注, 合计, blank, 填表人) and
    the county sheet; for CSV two GBK files, schools and county."""
    (header, rows), (county_header, county_rows) = demo_tables()
    schools = office_sheet(header, rows)
    county = [county_header, *county_rows]
    if fmt == "csv":
        return [save_csv(folder / "学校.csv", schools), save_csv(folder / "县级.csv", county)]
    sheets = [("填表说明", INSTRUCTIONS), ("学校", schools), ("县级指标", county)]
    save = save_xlsx if fmt == "xlsx" else save_xls
    return [save(folder / f"青岚县.{fmt}", sheets)]


def with_units_row(sheet: list[list[Any]], units: dict[str, str]) -> list[list[Any]]:
    """``sheet`` (from :func:`office_sheet`) with a units row right below its header, as many
    offices write one: ``units`` maps a header to the unit written under it (``（人）``,
    ``单位：万元``). Rows below move down by one."""
    k = next(i for i, r in enumerate(sheet) if "学校标识码" in r or "县级行政区划代码" in r)
    header = sheet[k]
    return [*sheet[: k + 1], [units.get(h) for h in header], *sheet[k + 1:]]
