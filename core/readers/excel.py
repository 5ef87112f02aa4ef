"""XLSX and XLS workbooks through calamine (python-calamine).

The first sheet holds schools; a sheet named like ``county``/``县级``/``县域`` holds county
records (their ``_file`` is ``path#sheet``); other sheets are ignored. Cells keep what the
workbook shows: a merged area's value is in its first cell, the others are empty. Before an
XLSX is opened, its zip directory is checked against the unpacked-size and ratio limits.
"""
from __future__ import annotations

import re
import unicodedata
import zipfile

from ..hookspecs import hookimpl
from ..limits import LIMITS, limit_message
from ..loading import InputError, LoadedFile, checked_stat, concat, detect_format, fill_province, rows_frame, table_frames

_COUNTY_SHEET = re.compile(r"^(county|counties|县|县级|县域|县区)")


def is_county_sheet(title: str) -> bool:
    t = unicodedata.normalize("NFKC", title).strip().lower()
    return bool(_COUNTY_SHEET.match(t)) and "school" not in t and "学校" not in t


def check_zip(name: str) -> None:
    """Refuse a workbook that would unpack to more than the limits allow (a zip bomb)."""
    try:
        with zipfile.ZipFile(name) as z:
            infos = z.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise InputError(name, f"不是可读的 Excel 工作簿 / not a readable XLSX workbook ({exc})") from None
    unpacked = sum(i.file_size for i in infos)
    packed = max(1, sum(i.compress_size for i in infos))
    if unpacked > LIMITS.max_xlsx_bytes:
        raise InputError(name, limit_message("max_xlsx_bytes", unpacked))
    if unpacked > 16 << 20 and unpacked // packed > LIMITS.max_xlsx_ratio:
        raise InputError(name, limit_message("max_xlsx_ratio", unpacked // packed))


@hookimpl(trylast=True)
def edubalance_load_file(path, default_province):
    """Read an XLSX or XLS workbook into school and county frames."""
    fmt = detect_format(path)
    if fmt not in ("xlsx", "xls"):
        return None
    from python_calamine import CalamineWorkbook

    name = str(path)
    checked_stat(name)
    if fmt == "xlsx":
        check_zip(name)
    try:
        wb = CalamineWorkbook.from_path(name)
        titles = list(wb.sheet_names)
        county_titles = [t for t in titles if is_county_sheet(t)]
        school_titles = [t for t in titles if t not in county_titles]
        found = []
        if school_titles:
            sheet = wb.get_sheet_by_name(school_titles[0]).to_python(skip_empty_area=False)
            found.append(table_frames(name, name, rows_frame(sheet), strip=False))
        for title in county_titles[:1]:
            sheet = wb.get_sheet_by_name(title).to_python(skip_empty_area=False)
            found.append(table_frames(name, f"{name}#{title}", rows_frame(sheet), all_county=True, strip=False))
    except InputError:
        raise
    except Exception as exc:  # calamine raises several types for a damaged file
        raise InputError(name, f"不是可读的 Excel 工作簿 / not a readable XLSX workbook "
                               f"({type(exc).__name__}: {exc})") from None
    found = [f for f in found if f is not None]
    if not found:
        raise InputError(name, "工作簿为空 / the workbook is empty (no header row on its first sheet)")
    schools = concat([f[0] for f in found])
    county = concat([f[1] for f in found])
    return LoadedFile(name, fmt, fill_province(schools, default_province), fill_province(county, default_province))
