"""XLSX and XLS workbooks through calamine (python-calamine).

Every sheet whose first rows name two known fields holds records, whatever its place in the
workbook: a sheet named like ``county``/``县级``/``县域`` holds county records, the others school
records (a row without 学校标识码 but with county fields is a county record there too). Other
sheets (instructions, charts' data, a cover page) are skipped, and ``LoadedFile.sheets`` says
which sheets were read and which skipped and why. The first school sheet's rows have the file
as ``_file``; every other sheet's ``path#sheet``. A merged area's value is in its first cell; the
sheet's merged areas go to the table reader, which reads a merged name, code or year in each of
its rows (:func:`~edubalance.readers.tables.fill_merged`). Before an XLSX is opened, its zip
directory is checked against the unpacked-size and ratio limits.

A cell a clerk typed as ``15%`` holds 0.15 with a percent number format; calamine gives the
0.15 alone. So when a column of fractions is written in percent (``辍学率（%）``, or ``%`` in a
units row), the formats of that column's cells are read (openpyxl for an XLSX, xlrd for an
.xls), and a cell formatted as a percentage is read as the percentage it shows. A sheet without such a column costs nothing more.
"""
from __future__ import annotations

import io
import itertools
import re
import unicodedata
import zipfile
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Callable, Collection, Iterable, Iterator, Mapping, Sequence, cast

import polars as pl

from ..limits import LIMITS, limit_message
from ..loading import (FORMATS_BY_SUFFIX, InputError, LoadedFile, PercentCells, cell_text, check_cell_chars,
                       checked_stat, concat, fill_province)
from ..problems import Problem, file_notice
from .tables import HEADER_SEARCH_ROWS, SheetRead, header_index, headers_found, table_frames

_COUNTY_SHEET = re.compile(r"^(county|counties|县|县级|县域|县区)")


def is_county_sheet(title: str) -> bool:
    t = unicodedata.normalize("NFKC", title).strip().lower()
    return bool(_COUNTY_SHEET.match(t)) and "school" not in t and "学校" not in t


def check_zip(name: str) -> None:
    """Refuse a workbook that would unpack to more than the limits allow (a zip bomb), and a zip
    archive that is no workbook (files zipped to be sent), naming what it holds."""
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
    if not any(i.filename == "[Content_Types].xml" for i in infos):     # every Office Open XML file has one
        held = "、".join(i.filename for i in infos[:5]) + (f" 等 {len(infos)} 个文件" if len(infos) > 5 else "")
        raise InputError(name, f"这是压缩包（zip），不是 Excel 工作簿：请先解压，再读取其中的文件（{held}）/ this is a zip "
                               f"archive, not an Excel workbook: unzip it and give the files inside")


def _first_filled(rows: list[list]) -> list[tuple[int, list]]:
    """The first rows with a filled cell (at most as many as a header is looked for in), with
    their 0-based place in the sheet; none for an empty sheet."""
    filled = ((i, r) for i, r in enumerate(rows) if any(c is not None and str(c).strip() for c in r))
    return list(itertools.islice(filled, HEADER_SEARCH_ROWS))


#: Sheets of instructions by their names (说明, 填表说明, 填报说明, 指标解释, 填表须知 …): one may copy the
#: header with a row of what to write under it (``10位教育部学校标识码``, ``小学或初中``), which is no record.
_NOTES_SHEET = re.compile(r"^(?:(?:填表|填报|指标|数据)?(?:说明|解释|须知)|instructions?|readme)")
NOTES_SHEET = ("填表说明工作表（按名称）", "a sheet of instructions (by its name)")


def is_notes_sheet(title: str) -> bool:
    return bool(_NOTES_SHEET.match(unicodedata.normalize("NFKC", title).strip().lower()))


def _has_header(first: list[tuple[int, list]]) -> bool:
    return bool(first) and header_index([[cell_text(c) for c in r] for _, r in first]) is not None


def _sheet_kind(title: str, first: list[tuple[int, list]]) -> str | None:
    """``school`` or ``county`` for a sheet of records (``first``: its first filled rows), None
    for any other sheet (one without a header, or named as instructions are)."""
    if not _has_header(first) or is_notes_sheet(title):
        return None
    return "county" if is_county_sheet(title) else "school"


def rows_frame(rows: Iterable[Sequence[Any]]) -> pl.DataFrame:
    """A sheet of typed cells as text columns ``c0, c1 …``, short rows padded."""
    texts = [[cell_text(v) for v in r] for r in rows]
    width = max((len(r) for r in texts), default=0)
    columns = {f"c{j}": [r[j] if j < len(r) else None for r in texts] for j in range(width)}
    return pl.DataFrame(columns, schema={c: pl.String for c in columns})


def unknown_headers(first: tuple[int, list]) -> tuple[str, str]:
    """Why a sheet with cells was not read, in Chinese and in English: its first filled row
    names no two fields (shown)."""
    at, row = first
    zh, en = headers_found([cell_text(c) for c in row])
    return f"没有可识别的列名（如填表说明；第 {at + 1} 行是 {zh}）", f"no known column headers (instructions, say; row {at + 1} holds {en})"


#: What a number format shows literally: quoted text, an escaped character, [colour]/[condition].
_FORMAT_LITERAL = re.compile(r'"[^"]*"|\\.|\[[^\]]*\]|_.|\*.')


def shows_percent(number_format: str | None, value: float) -> bool:
    """Whether a number format shows ``value`` as a percentage (``0%``, ``0.00%``, ``0.0%;-0.0%``):
    a ``%`` outside quotes and escapes, in the section the value's sign picks."""
    if not number_format or "%" not in number_format:
        return False
    sections = _FORMAT_LITERAL.sub("", number_format).split(";")
    k = 1 if value < 0 and len(sections) > 1 else 2 if value == 0 and len(sections) > 2 else 0
    return "%" in sections[k]


#: The last row whose cell formats are read: the formats are read about ten times slower than
#: the values, and no county sheet is that long (a county row deep in a sheet of schools is).
FORMATS_MOST_ROWS = 20_000
#: What a W402 adds when the cell formats of a column in percent were not read.
FORMATS_UNREAD = (f"；未能读取单元格格式（工作表的记录超过第 {FORMATS_MOST_ROWS} 行，或格式无法读取），数值按所填数字读取（15 即 "
                  "15%）：设为百分比格式、显示 15% 的单元格（存为 0.15）会被读成 0.15%，请核对，或在该列填写不带格式的数字",
                  f"; the cells' formats were not read (a sheet with records beyond row {FORMATS_MOST_ROWS}, or "
                  "formats that could not be read), so values are read as the numbers typed (15 is 15%): a cell "
                  "formatted as a percentage that shows 15% (stored as 0.15) is read as 0.15% — check the values, "
                  "or type plain numbers in the column")


def percent_shown(text: str | None) -> str | None:
    """A number held by a cell formatted as a percentage (``0.15``) as the percentage the cell
    shows (``15%``, exact), which validation reads as the fraction it is; other text as it is."""
    if text is None:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        return text
    if not value.is_finite():
        return text
    return format(value.scaleb(2).normalize(), "f") + "%"


def _as_shown(frame: pl.DataFrame, column: str, formatted: Mapping[str, Collection[int]] | None
              ) -> tuple[pl.DataFrame, tuple[str, str] | None]:
    """The column (fractions written in percent) with each cell formatted as a percentage read as
    the percentage it shows, and what the W402 adds about it (None: no such cell)."""
    if formatted is None:
        return frame, FORMATS_UNREAD
    at = frame["_row"].is_in(list(formatted.get(column, ())))
    n = int(at.sum())
    if not n:
        return frame, None
    texts = [percent_shown(t) if a else t for t, a in zip(frame[column].to_list(), at.to_list())]
    frame = frame.with_columns(pl.Series(column, texts, dtype=pl.String))
    return frame, (f"；其中 {n} 个单元格设为百分比格式，按显示的百分数读取（存为 0.15、显示 15% 的即 15%）",
                   f"; {n} cell(s) formatted as percentages read as the percentages shown (0.15 shown as 15% is 15%)")


def percent_cells(name: str, title: str, fmt: str) -> PercentCells:
    """For the sheet ``title`` of the workbook ``name``: its rows with each cell of the given
    columns (``c0``, ``c1`` … as :func:`rows_frame` names them) that is a number formatted as a
    percentage read as the percentage it shows, and what each column's W402 adds about them.
    The formats are read only for the rows holding values in those columns, and not past
    :data:`FORMATS_MOST_ROWS`."""
    formats = _xlsx_formats if fmt == "xlsx" else _xls_formats

    def cells(columns: Sequence[str], first: int, last: int) -> Mapping[str, Collection[int]] | None:
        found: dict[str, set[int]] = {c: set() for c in columns}
        try:
            for column, row, value, number_format in formats(name, title, columns, first, last):
                if type(value) in (int, float) and shows_percent(number_format, value):
                    found[column].add(row)
        except Exception:         # formats a damaged or unusual file does not give: said, never guessed
            return None
        return found

    def read(frame: pl.DataFrame, columns: Sequence[str]) -> tuple[pl.DataFrame, dict[str, tuple[str, str]]]:
        rows = frame.filter(pl.any_horizontal(pl.col(columns).is_not_null()))["_row"]
        if not len(rows):
            return frame, {}
        first, last = cast(int, rows.min()), cast(int, rows.max())      # row numbers: never empty here
        formatted = cells(columns, first, last) if last <= FORMATS_MOST_ROWS else None
        shown = {}
        for column in columns:
            frame, said = _as_shown(frame, column, formatted)
            if said is not None:
                shown[column] = said
        return frame, shown
    return read


def _xlsx_formats(name: str, title: str, columns: Sequence[str], first: int, last: int) -> Iterator[tuple]:
    """(column, row, value, number format) of the cells of ``columns`` in rows ``first``–``last``
    (openpyxl, read-only: the sheet's XML is streamed once, up to the last row asked for; about
    ten times slower than calamine per row, so only the rows holding values are read)."""
    import openpyxl

    at = {int(c[1:]) + 1: c for c in columns}          # openpyxl counts columns from 1
    with open(name, "rb") as f:                        # a file object: any suffix is read
        wb = openpyxl.load_workbook(f, read_only=True, data_only=True)
        try:
            for row in wb[title].iter_rows(min_row=first, max_row=last, min_col=min(at), max_col=max(at)):
                for cell in row:
                    column = at.get(getattr(cell, "column", 0))     # an empty cell has none; 0 is no column
                    if column is not None:
                        yield column, cell.row, cell.value, cell.number_format
        finally:
            wb.close()


def _xls_formats(name: str, title: str, columns: Sequence[str], first: int, last: int) -> Iterator[tuple]:
    """:func:`_xlsx_formats` for an .xls workbook, with xlrd (the reader of its cell formats)."""
    import xlrd

    book = xlrd.open_workbook(name, formatting_info=True, on_demand=True)
    try:
        sheet = book.sheet_by_name(title)
        for column in columns:
            x = int(column[1:])
            for r in range(first - 1, min(last, sheet.nrows) if x < sheet.ncols else 0):
                cell = sheet.cell(r, x)
                if cell.ctype == xlrd.XL_CELL_NUMBER:
                    xf = book.xf_list[cast(int, cell.xf_index)]     # set: opened with formatting_info
                    yield column, r + 1, cell.value, book.format_map[xf.format_key].format_str
    finally:
        book.release_resources()


def _formula(xml: bytes) -> bool:
    """A formula: ``<f>``, ``<f t="shared" …/>``, ``<x:f>``."""
    return re.search(rb"<(?:\w+:)?f[\s/>]", xml) is not None


def _error_cell(xml: bytes) -> bool:
    """A cell holding an error value (``<c r="L2" s="3" t="e">``: #DIV/0!, #REF!, #VALUE! …); the
    attribute is looked for as it is (no other element has it), a regular expression being six
    times slower."""
    return b't="e"' in xml or b"t='e'" in xml


def _holds(z: zipfile.ZipFile, member: str, found: Callable[[bytes], bool]) -> bool:
    """Whether ``found`` finds something in a worksheet's XML, read in slices (a sheet may be large)."""
    tail = b""
    with z.open(member) as f:
        while chunk := f.read(1 << 20):
            if found(tail + chunk):
                return True
            tail = chunk[-8:]
    return False


def _sheets_xml(z: zipfile.ZipFile) -> list[str]:
    return [n for n in z.namelist() if n.startswith("xl/worksheets/") and n.endswith(".xml")]


def _error_cells(name: str) -> dict[str, dict[tuple[int, int], str]]:
    """Per sheet, the cells holding an error value a formula gave (``#DIV/0!``, ``#REF!`` …) by their
    0-based (row, column), as the error's text: calamine reads them as empty cells, and a broken
    formula is then a value silently missing, where a CSV of the same sheet shows the error. Costs
    a scan of the sheets' XML, and openpyxl only when some cell holds an error."""
    with zipfile.ZipFile(name) as z:
        if not any(_holds(z, n, _error_cell) for n in _sheets_xml(z)):
            return {}
    import openpyxl

    found: dict[str, dict[tuple[int, int], str]] = {}
    with open(name, "rb") as f:                        # a file object: any suffix is read
        wb = openpyxl.load_workbook(f, read_only=True, data_only=True)
        try:
            for ws in wb.worksheets:
                found[ws.title] = {(c.row - 1, c.column - 1): str(c.value) for row in ws.iter_rows() for c in row
                                   if getattr(c, "data_type", None) == "e" and c.value is not None}
        finally:
            wb.close()
    return found


#: What marks an error value in an .xls workbook's records (BIFF): a BOOLERR cell flagged as an error
#: (a formula's result pasted as a value), or a FORMULA whose cached result is an error (type 2,
#: then 0xFFFF). A match is only a hint (the bytes may be other data): xlrd then reads the cells.
_XLS_ERROR = re.compile(rb"\x05\x02\x08\x00.{7}\x01|\x06[\x00\x02\x04]..(?:.{6})\x02.{5}\xff\xff", re.S)


def _xls_stream(name: str) -> bytes:
    """The workbook stream of an .xls (BIFF8 ``Workbook``, BIFF5 ``Book``); the file itself for an
    older workbook, which is no OLE document."""
    from xlrd.compdoc import CompDoc

    with open(name, "rb") as f:
        data = f.read()
    try:
        doc = CompDoc(data, logfile=io.StringIO())      # its warnings, never on stdout
    except Exception:          # no OLE document: a BIFF2–4 workbook is its stream
        return data
    for stream in ("Workbook", "Book", "WORKBOOK", "BOOK"):
        found = doc.get_named_stream(stream)
        if found is not None:
            return bytes(found)
    return data


def _xls_error_cells(name: str) -> dict[str, dict[tuple[int, int], str]]:
    """:func:`_error_cells` for an .xls workbook, which calamine reads as empty cells too: its
    stream is scanned for an error value, and xlrd reads the cells only when one may be there
    (xlrd reads a sheet twice as slowly as calamine)."""
    import xlrd

    if _XLS_ERROR.search(_xls_stream(name)) is None:
        return {}
    found: dict[str, dict[tuple[int, int], str]] = {}
    book = xlrd.open_workbook(name, on_demand=True, logfile=io.StringIO())
    try:
        for k in range(book.nsheets):
            sheet = book.sheet_by_index(k)
            found[sheet.name] = {(r, c): xlrd.error_text_from_code.get(cast(int, sheet.cell_value(r, c)), "#VALUE!")
                                 for r in range(sheet.nrows)
                                 for c, t in enumerate(sheet.row_types(r)) if t == xlrd.XL_CELL_ERROR}
            book.unload_sheet(k)
    finally:
        book.release_resources()
    return found


def _with_errors(rows: list[list[Any]], errors: Mapping[tuple[int, int], str]) -> list[list[Any]]:
    """The sheet's rows (from A1) with each error cell holding its error's text, in rows holding
    something else too (a row of errors alone is formulas copied down below the table)."""
    filled = {r for r, _ in errors if r < len(rows) and any(v is not None and v != "" for v in rows[r])}
    for (r, c), text in errors.items():
        if r in filled:
            row = rows[r]
            if c >= len(row):
                row.extend([""] * (c + 1 - len(row)))
            row[c] = text
    return rows


def _formulas_uncomputed(name: str) -> dict[str, list[tuple[int, str, str]]]:
    """Per sheet, (row, cell, formula) of every formula of a workbook a program wrote and left to be
    computed when opened (``fullCalcOnLoad``: Excel and WPS compute and keep each formula's result
    when they save, such programs leave it empty, or 0); nothing for any other workbook, which
    costs one small read (and a scan of the sheets' XML for a formula, when a program wrote it)."""
    with zipfile.ZipFile(name) as z:
        try:
            book = z.read("xl/workbook.xml")
        except KeyError:
            return {}
        if not re.search(rb"fullCalcOnLoad=[\"'](?:1|true)", book) or not any(
                _holds(z, n, _formula) for n in _sheets_xml(z)):
            return {}
    import openpyxl

    found: dict[str, list[tuple[int, str, str]]] = {}
    with open(name, "rb") as f:                        # a file object: any suffix is read
        wb = openpyxl.load_workbook(f, read_only=True, data_only=False)
        try:
            for ws in wb.worksheets:
                found[ws.title] = [(c.row, c.coordinate, c.value) for row in ws.iter_rows() for c in row
                                   if isinstance(c.value, str) and c.value.startswith("=")]
        finally:
            wb.close()
    return found


#: The formulas a W405 names before it counts the rest.
FORMULAS_SHOWN = 10


def formulas_notice(file_label: str, formulas: Sequence[tuple[str, str, str]]) -> Problem:
    """W405: the formulas in records that a program left uncomputed ((sheet, cell, formula))."""
    shown = "、".join(f"「{t}」{c}（{f[:40]}）" for t, c, f in formulas[:FORMULAS_SHOWN])
    shown_en = ", ".join(f"'{t}'!{c} ({f[:40]})" for t, c, f in formulas[:FORMULAS_SHOWN])
    more = len(formulas) > FORMULAS_SHOWN
    return file_notice("W405", file_label,
                       f"工作簿中的公式没有计算结果（文件由程序生成）：{shown}{f' 等 {len(formulas)} 个' if more else ''}；"
                       f"显示为空的按未填写处理，已有的值也可能不是公式的结果：请在 Excel 或 WPS 中打开并保存后再试 / the "
                       f"workbook's formulas have no computed results (a program wrote it): {shown_en}"
                       f"{f' … ({len(formulas)})' if more else ''}; those empty are read as missing, and a value shown "
                       f"may not be the formula's: open it in Excel or WPS and save it, then try again")


#: The stream an encrypted Office Open XML workbook is kept in, inside an OLE document (its
#: directory names streams in UTF-16).
_ENCRYPTED_STREAM = "EncryptedPackage".encode("utf-16-le")


def _encrypted(name: str) -> bool:
    """Whether an OLE document that is no readable .xls is a workbook with a password to open it
    (looked for only once reading it failed)."""
    with open(name, "rb") as f:
        return _ENCRYPTED_STREAM in f.read()


def _open(name: str, fmt: str) -> Any:
    """The workbook, opened as what its bytes are (``fmt``): calamine goes by a path's suffix, so an
    .xls saved under .xlsx (or a workbook under .csv) is read from the file's content."""
    from python_calamine import CalamineWorkbook

    if FORMATS_BY_SUFFIX.get(Path(name).suffix.lower()) == fmt:
        return CalamineWorkbook.from_path(name)
    with open(name, "rb") as f:
        return CalamineWorkbook.from_filelike(f)


def read(name: str, fmt: str, default_province: str | None) -> LoadedFile:
    """Read an XLSX or XLS workbook into school and county frames, from every sheet of records."""
    checked_stat(name)
    if fmt == "xlsx":
        check_zip(name)
    found: list[SheetRead] = []
    formulas: list[tuple[str, str, str]] = []
    uncomputed = _formulas_uncomputed(name) if fmt == "xlsx" else {}
    sheets: list[str] = []
    unread: list[tuple[str, tuple[str, str] | None]] = []      # (sheet, why in zh and en; None: empty)
    try:
        from python_calamine import SheetVisibleEnum

        errors = _error_cells(name) if fmt == "xlsx" else _xls_error_cells(name)
        wb = _open(name, fmt)
        hidden = {m.name for m in wb.sheets_metadata if m.visible != SheetVisibleEnum.Visible}
        school_label: str | None = name
        for title in wb.sheet_names:
            sheet = wb.get_sheet_by_name(title)
            rows = _with_errors(sheet.to_python(skip_empty_area=False), errors.get(title, {}))
            first = _first_filled(rows)
            kind = _sheet_kind(title, first)
            if kind is None:
                why = (NOTES_SHEET if _has_header(first) else unknown_headers(first[0])) if first else None
                unread.append((title, why))
                continue
            label = f"{name}#{title}" if kind == "county" or school_label is None else school_label
            if kind == "school":
                school_label = None
            formats = percent_cells(name, title, fmt)
            cells = rows_frame(rows)
            check_cell_chars(name, cells)
            read_ = table_frames(name, label, cells, all_county=kind == "county", strip=False,
                                 percent_cells=formats, merged=sheet.merged_cell_ranges or ())
            if read_ is not None:
                found.append(read_)
                if uncomputed.get(title):
                    records = set(read_.schools["_row"].to_list()) | set(read_.county["_row"].to_list())
                    formulas += [(title, cell, f) for row, cell, f in uncomputed[title] if row in records]
                sheets.append(f"「{title}」({'县级记录 county records' if kind == 'county' else '学校记录 school records'}"
                              + ("；隐藏的工作表，其记录同样读取 / a hidden sheet, whose records are read too" if title in hidden
                                 else "") + ")")
    except InputError:
        raise
    except Exception as exc:  # calamine raises several types for a damaged file
        if fmt == "xls" and _encrypted(name):
            raise InputError(name, "工作簿设有打开密码（已加密），无法读取：请在 Excel 或 WPS 中取消密码后另存为 .xlsx / the "
                                   "workbook is protected by a password (encrypted): remove the password in Excel or "
                                   "WPS and save it as .xlsx") from None
        raise InputError(name, f"不是可读的 Excel 工作簿 / not a readable XLSX workbook "
                               f"({type(exc).__name__}: {exc})") from None
    if not found:
        if all(why is None for _, why in unread):
            raise InputError(name, "工作簿为空 / the workbook is empty (no header row on any sheet)")
        raise InputError(name, zh="工作簿中没有学校或县级记录的工作表。各工作表："
                                  + "；".join(f"「{title}」：{why[0] if why else '空表'}" for title, why in unread),
                         en="no sheet of the workbook holds school or county records (a header row naming fields "
                            "such as 学校标识码, 学段) — sheets: "
                            + "; ".join(f"'{title}': {why[1] if why else 'empty'}" for title, why in unread))
    notices = [n for f in found for n in f.notices] + ([formulas_notice(name, formulas)] if formulas else [])
    notes = [f"读取工作表 read sheet {s}" for s in sheets] + [
        f"跳过工作表 skipped sheet 「{title}」: {f'{why[0]}/ {why[1]}' if why else '空表 / empty'}" for title, why in unread]
    schools = concat([f.schools for f in found])
    county = concat([f.county for f in found])
    return LoadedFile(name, fmt, fill_province(schools, default_province), fill_province(county, default_province),
                      notices=notices, skipped=[r for f in found for r in f.skipped],
                      sheets=notes)
