"""Files in: what every reader shares.

A reader (one per format, in :mod:`edubalance.readers`, chosen once per file by
:func:`detect_format`) turns a file into a :class:`LoadedFile`: two polars frames, school
rows and county rows, whose columns are the canonical English field names holding the cells as
text (stripped; empty cells are null), plus ``_file`` and ``_row``. Checking and converting the
text is :mod:`edubalance.validation`'s job, so every format reaches it the same way.

* ``_row`` is the number a user finds the record by: the spreadsheet row for CSV/XLSX/XLS
  (header = row 1, blank lines counted), the 1-based position in the array for JSON/YAML, the
  line number for NDJSON.
* Headers (and JSON keys) may be English field names or Chinese labels
  (:func:`edubalance.fields.header_to_field`). A column no field names is dropped with one
  notice per file (W401); a known field in another unit (``（万元）``) is converted (W402) or,
  for a unit without an exact factor, refused; two columns naming one field make the file
  unreadable. In a column of rates in percent (``辍学率（%）``), a workbook cell formatted as a
  percentage is read as the percentage it shows (:data:`PercentCells`).
* In the table formats (CSV/XLSX/XLS), rows that are not records (totals, signatures, notes,
  blank rows among the records) are skipped by :mod:`edubalance.readers.tables`, listed in
  ``LoadedFile.skipped`` with their row numbers and one notice (W403). The document formats
  skip nothing: an item that is not an object makes the file unreadable; NDJSON's blank lines
  are no items (the line numbers still count them).
* A row is a county record when its ``school_id`` is missing and it has a county-only field.
* Rows without a province get the file's own ``province`` (JSON/YAML) or the default province.

A file that cannot be read at all raises :class:`InputError` naming the file, never a traceback.
:func:`edubalance.readers.load_file` reads a file with the core's readers alone.
"""
from __future__ import annotations

import codecs
import json
import math
import os
import re
import stat
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Context, Decimal, InvalidOperation
from fractions import Fraction
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import polars as pl

from .coercion import school_year
from .fields import (COUNTY_ONLY_FIELDS, UNIT_FACTORS, column_unit, header_note, header_to_field, header_unit,
                     in_percent, label, names_plainly, note_year, stated_unit, suggest_field, unit, unit_zh,
                     version as fields_version)
from .limits import LIMITS, limit_message
from .problems import Problem, file_notice, row_runs

FORMATS_BY_SUFFIX = {
    ".csv": "csv", ".txt": "csv", ".tsv": "csv",
    ".xlsx": "xlsx", ".xlsm": "xlsx", ".xls": "xls",
    ".json": "json",
    ".ndjson": "ndjson", ".jsonl": "ndjson",
    ".yaml": "yaml", ".yml": "yaml",
}
EXPECTED = ".csv, .xlsx, .xls, .json, .ndjson, .yaml"
#: Spreadsheets saved in a format no reader takes, which a user can re-save as a workbook.
OTHER_SPREADSHEETS = {".et": ("WPS 表格", "a WPS spreadsheet"), ".ods": ("OpenDocument 表格", "an OpenDocument spreadsheet"),
                      ".numbers": ("Numbers 表格", "a Numbers spreadsheet")}
PROVENANCE = ("_file", "_row")
#: Per row, the fields whose cell held a list or an object (JSON/YAML): never a valid value.
NESTED = "_nested"
SNIFF_BYTES = 8192

_BINARY_MAGIC = (
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"Rar!", "a RAR archive"),
    (b"7z\xbc\xaf", "a 7-Zip archive"),
)
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


class InputError(Exception):
    """A file that cannot be read as records; ``str()`` is ``"<path>: <message>"``.

    ``message`` is written ``中文 / English``; a message of several parts, each in both
    languages, is given as its halves ``zh`` and ``en`` instead (``message`` is made of them),
    since no reader of the message could part it again."""

    def __init__(self, path: str | Path, message: str | None = None, *, zh: str | None = None,
                 en: str | None = None) -> None:
        self.path = str(path)
        self.zh, self.en = zh, en
        self.message = f"{zh} / {en}" if message is None else message
        super().__init__(f"{self.path}: {self.message}")


@dataclass(frozen=True, slots=True)
class Skipped:
    """A row that is not a record (a totals, signature or note row, a blank row): counted as
    read and skipped, never evaluated nor rejected."""

    file: str
    row: int
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "row": self.row, "reason": self.reason}


@dataclass(slots=True)
class RawRow:
    """One record as given through the Python API: ``data`` maps field names to values."""

    file: str
    row: int
    data: dict[str, Any]


def empty_frame() -> pl.DataFrame:
    return pl.DataFrame(schema={"_file": pl.String, "_row": pl.Int64})


@dataclass
class LoadedFile:
    path: str
    format: str                       # csv, xlsx, xls, json, ndjson, yaml
    frame: pl.DataFrame = field(default_factory=empty_frame)      # school rows
    county: pl.DataFrame = field(default_factory=empty_frame)     # county rows
    encoding: str | None = None       # text formats: the encoding that decoded the file
    province: str | None = None       # JSON/YAML: the file's own top-level province
    notices: list[Problem] = field(default_factory=list)     # about the whole file (W401–W406)
    skipped: list[Skipped] = field(default_factory=list)    # rows that are not records
    sheets: list[str] = field(default_factory=list)         # workbooks: what was read and skipped, and why

    @property
    def rows(self) -> list[RawRow]:
        """The school rows as :class:`RawRow` (cells as text, ``None`` for empty)."""
        return frame_rows(self.frame)

    @property
    def county_rows(self) -> list[RawRow]:
        return frame_rows(self.county)


@dataclass
class Loaded:
    """Every file of an input read: school rows, county rows (unpacks as the two frames), the
    notices about whole files, the rows that are not records, and which sheets were read."""

    schools: pl.DataFrame
    counties: pl.DataFrame
    notices: list[Problem] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    sheets: list[str] = field(default_factory=list)

    def __iter__(self):
        return iter((self.schools, self.counties))

    def __getitem__(self, k: int) -> pl.DataFrame:
        return (self.schools, self.counties)[k]

    @property
    def empty(self) -> bool:
        """No school and no county record (rows that are not records do not count)."""
        return not self.schools.height and not self.counties.height


def frame_rows(frame: pl.DataFrame) -> list[RawRow]:
    """Rows of a loaded frame as :class:`RawRow` (for tests, plug-ins and messages)."""
    names = [c for c in frame.columns if not c.startswith("_")]
    return [RawRow(d["_file"], d["_row"], {k: d[k] for k in names}) for d in frame.iter_rows(named=True)]


# --- the file itself -------------------------------------------------------------------

def _cannot_read(name: str, exc: OSError) -> InputError:
    return InputError(name, f"无法读取 / cannot read the file ({exc.strerror or exc})")


def checked_stat(name: str, most: int | None = None, too_big: str = "") -> os.stat_result:
    """The file's status, refusing what is not a regular file of at most ``most`` bytes (the
    file limit unless given; ``too_big`` then says what is refused)."""
    try:
        st = os.stat(name)
    except FileNotFoundError:
        raise InputError(name, "文件不存在 / file not found") from None
    except OSError as exc:
        raise _cannot_read(name, exc) from None
    if stat.S_ISDIR(st.st_mode):
        raise InputError(name, "是文件夹而不是文件 / is a directory, not a file")
    if not stat.S_ISREG(st.st_mode):
        raise InputError(name, "不是普通文件（设备、管道或套接字）/ not a regular file (a device, pipe or socket)")
    if st.st_size > (LIMITS.max_file_bytes if most is None else most):
        raise InputError(name, too_big or limit_message("max_file_bytes", st.st_size))
    return st


#: The most bytes of the lock file Excel and WPS keep beside an open file (``~$青岚县.xlsx``: the
#: name of who opened it, 162 or 165 bytes).
_LOCK_FILE_BYTES = 512


def detect_format(path: str | Path) -> str:
    """The format of ``path``: by its suffix, corrected by what its first bytes are."""
    name = str(path)
    p = Path(path)
    suffix = p.suffix.lower()
    fmt = FORMATS_BY_SUFFIX.get(suffix)
    if suffix in OTHER_SPREADSHEETS:
        zh, en = OTHER_SPREADSHEETS[suffix]
        raise InputError(name, f"不能直接读取{zh}文件（{p.suffix}），请另存为 .xlsx 或 .csv 后再试 / "
                               f"{en} ({p.suffix}) cannot be read: save it as .xlsx or .csv")
    if suffix and fmt is None:
        raise InputError(name, f"不支持的文件类型 {p.suffix}（应为 {EXPECTED}）/ unsupported file type '{p.suffix}' "
                               f"(expected {EXPECTED})")
    if checked_stat(name).st_size <= _LOCK_FILE_BYTES and p.name.startswith("~$"):
        raise InputError(name, "这是 Excel 或 WPS 打开文件时生成的临时锁定文件（~$ 开头），不是数据：请不要把它列入要读取的文件"
                               "（关闭 Excel 或 WPS 后它会消失）/ this is the lock file Excel or WPS keeps while a file "
                               "is open (its name starts with ~$), not data: leave it out (it goes when the file is closed)")
    try:
        with open(name, "rb") as f:
            head = f.read(SNIFF_BYTES)
    except OSError as exc:
        raise _cannot_read(name, exc) from None
    for magic, what in _BINARY_MAGIC:
        if head.startswith(magic):
            raise InputError(name, f"这是二进制文件 / this looks like a binary file ({what}), not CSV/XLSX/JSON")
    if head.startswith(ZIP_MAGIC):              # a workbook, maybe saved under .csv or .xls, or without a suffix
        if fmt in ("json", "ndjson", "yaml"):
            raise InputError(name, "这是压缩包 / this looks like a binary file (a zip archive), not CSV/XLSX/JSON")
        return "xlsx"
    if head.startswith(OLE_MAGIC):              # an old workbook, maybe saved under .csv or .xlsx
        if fmt in ("json", "ndjson", "yaml"):
            raise InputError(name, "这是旧版 Office 文件 / this looks like an old Excel .xls (or other Office) file")
        return "xls"
    if fmt in ("xlsx", "xls"):
        if _is_empty(head):
            raise InputError(name, "文件为空 / the file is empty")
        raise _not_a_workbook(name, head)
    if fmt is None:
        start = head.lstrip(codecs.BOM_UTF8 + b" \t\r\n")[:1]
        fmt = "json" if start in (b"[", b"{") else "csv"
    return fmt


_SAVE_AS_XLSX = ("请用 Excel 或 WPS 打开后另存为 .xlsx", "open it in Excel or WPS and save it as .xlsx")


def _not_a_workbook(name: str, head: bytes) -> InputError:
    """Why a file named .xlsx/.xls is no workbook, saying what it is where that is plain: a web
    page's table or Excel 2003's XML (what many systems export as "Excel"), or text (a CSV file
    renamed), with what to do."""
    text = head.decode("utf-16", "replace") if _has_utf16_bom(head) else head.decode("latin-1")
    start = text.lstrip("\ufeff\xef\xbb\xbf \t\r\n")[:200].lower()
    if "urn:schemas-microsoft-com:office:spreadsheet" in text:
        zh, en = "这是 Excel 2003 XML 表格，不能直接读取", "this is an Excel 2003 XML spreadsheet, which cannot be read"
    elif start.startswith(("<!doctype html", "<html", "<table", "<meta")) or "<table" in text.lower():
        zh, en = ("这是网页（HTML）表格，不是 Excel 工作簿（许多系统“导出 Excel”得到的是网页）",
                  "this is a web page (HTML) table, not an Excel workbook (what many systems export as Excel)")
    elif _CONTROL.search(text if _has_utf16_bom(head) else head.decode("gb18030", "replace")) is None:
        return InputError(name, "这是文本文件（如 CSV），不是 Excel 工作簿：如果它是 CSV，请把扩展名改为 .csv / this is a "
                                "text file (CSV, say), not an Excel workbook: if it is CSV, rename it to .csv")
    else:
        return InputError(name, "这不是 Excel 工作簿 / this is not an Excel workbook (an .xlsx file is a zip archive, "
                                "an .xls file an OLE document)")
    return InputError(name, f"{zh}：{_SAVE_AS_XLSX[0]} / {en}: {_SAVE_AS_XLSX[1]}")


def read_bytes(name: str, most: int | None = None, too_big: str = "") -> bytes:
    """The whole file (a regular file of at most ``most`` bytes, :func:`checked_stat`); never empty."""
    most = LIMITS.max_file_bytes if most is None else most
    checked_stat(name, most, too_big)
    try:
        with open(name, "rb") as f:       # a buffer of the file's size, not of the limit
            raw = f.read(min(os.fstat(f.fileno()).st_size, most) + 1)
    except OSError as exc:
        raise _cannot_read(name, exc) from None
    if len(raw) > most:                   # grew since it was measured
        raise InputError(name, too_big or limit_message("max_file_bytes", len(raw)))
    if _is_empty(raw):
        raise InputError(name, "文件为空 / the file is empty")
    return raw


def read_text(name: str) -> tuple[str, str]:
    """``(text, encoding)`` of a text file (its format already decided)."""
    return decode(name, read_bytes(name))


_CONTENT = re.compile(rb"[^ \t\r\n\x00]")


def _is_empty(raw: bytes) -> bool:
    skip = 0
    for bom in (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        if raw.startswith(bom):
            skip = len(bom)
            break
    return _CONTENT.search(raw, skip) is None


def _has_utf16_bom(raw: bytes) -> bool:
    return raw.startswith(codecs.BOM_UTF16_LE) or raw.startswith(codecs.BOM_UTF16_BE)


#: C0 control characters other than tab, line feed and carriage return: never in a text table.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONTROL_BYTES = re.compile(_CONTROL.pattern.encode())
#: Every byte but those: what is left of a UTF-8 text after deleting these is its control bytes
#: (``bytes.translate`` deletes at several GB/s; a UTF-8 character's bytes are never below 0x80).
_NOT_CONTROL = bytes(b for b in range(256) if not _CONTROL_BYTES.match(bytes([b])))
_BINARY = ("这是二进制文件而不是文本", "this looks like a binary file, not CSV/XLSX/JSON")


def _control_error(name: str, line: int, char: str) -> InputError:
    code = f"U+{ord(char):04X}"
    return InputError(name, f"{_BINARY[0]}（第 {line} 行有控制字符 {code}，文件可能已损坏）/ {_BINARY[1]} (line {line} "
                            f"holds the control character {code}: the file may be damaged)")


def refuse_control_bytes(name: str, data: bytes) -> None:
    """Refuse a text table (as UTF-8 bytes) holding a control character anywhere, naming its
    line: the decoding checks only the file's start, and a NUL deep in a file was read as part
    of a cell."""
    if data.translate(None, _NOT_CONTROL) and (m := _CONTROL_BYTES.search(data)) is not None:
        raise _control_error(name, data.count(b"\n", 0, m.start()) + 1, chr(m.group()[0]))


def decode(name: str, raw: bytes, head: int | None = None) -> tuple[str, str]:
    """Decode strictly: UTF-16 (by BOM), else UTF-8 (BOM optional), else GB18030/GBK — decided
    once, over the whole file (a clerk's file may turn GBK only in row 4,000) — and then check
    that the result is text: GB18030 decodes almost any bytes, so decoding alone proves nothing.
    With ``head``, only the first ``head`` characters of a UTF-8 file are decoded: for a reader
    that hands the bytes themselves on."""
    utf8 = "utf-8-sig" if raw.startswith(codecs.BOM_UTF8) else "utf-8"
    text: str | None
    if _has_utf16_bom(raw):
        text, encoding = _decoded(name, raw, "utf-16", "无法按 UTF-16 解码 / cannot decode as UTF-16")
    elif head is None and (text := _utf8_text(raw)) is not None:
        encoding = utf8                   # decoded once: decoding is the check
    elif head is not None and _is_utf8(raw):
        encoding = utf8                   # a character cut at the end waits for bytes never given
        text = codecs.getincrementaldecoder("utf-8-sig")().decode(raw[:4 * head + 3])[:head]
    else:
        text, encoding = _decoded(name, raw, "gb18030", "无法按 UTF-8 或 GB18030/GBK 解码 / cannot decode as UTF-8 "
                                                        "or GB18030/GBK")
    _reject_binary_text(name, text, encoding)
    return text, encoding


#: The slices UTF-8 is checked in: cut after a line feed (never inside a character), and small
#: enough to stay in the processor's cache (the whole file at once takes four times as long).
_UTF8_SLICE = 1 << 20


def _utf8_text(raw: bytes) -> str | None:
    """``raw`` decoded as UTF-8 (without a BOM), or None if it is not UTF-8."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None


def _is_utf8(raw: bytes) -> bool:
    """Whether every byte of ``raw`` is UTF-8, checked by polars' validator slice by slice (no
    text is made: a fifth of the time Python's own decoding takes)."""
    start = 0
    while start < len(raw):
        end = raw.find(b"\n", start + _UTF8_SLICE) + 1 or len(raw)
        try:
            pl.Series([raw[start:end]], dtype=pl.Binary).cast(pl.String)
        except pl.exceptions.PolarsError:
            return False
        start = end
    return True


def _decoded(name: str, raw: bytes, encoding: str, cannot: str) -> tuple[str, str]:
    try:
        return raw.decode(encoding), encoding
    except UnicodeDecodeError as exc:
        raise InputError(name, f"{cannot} (byte 0x{raw[exc.start]:02x} at offset {exc.start})") from None


def _reject_binary_text(name: str, text: str, encoding: str) -> None:
    """A decoded file that is not text: control characters, or (for the GB18030 fallback)
    mostly characters no table holds."""
    head = text[:SNIFF_BYTES]
    if "\ufffd" in head:
        raise InputError(name, " / ".join(_BINARY))
    if (m := _CONTROL.search(head)) is not None:
        raise _control_error(name, head.count("\n", 0, m.start()) + 1, m.group())
    if encoding == "gb18030":
        odd = sum(1 for ch in head if not (ch.isprintable() or ch in "\t\r\n")
                  or "\ue000" <= ch <= "\uf8ff" or ord(ch) > 0xffff)
        if odd > max(2, len(head) // 50):
            raise InputError(name, " / ".join(_BINARY))


# --- cells -----------------------------------------------------------------------------

class NumberText(str):
    """A number of a JSON document kept as the text it was written in."""

    __slots__ = ()


def cell_text(value: Any) -> str | None:
    """A typed cell (XLSX, JSON, YAML, the Python API) as the text validation reads.

    Numbers keep their digits (an integral float loses its ``.0``: ``5201020001.0`` is the code
    ``5201020001``), booleans become ``true``/``false``, dates ISO text; empty text is missing.
    """
    t = type(value)
    if t is str or t is NumberText:
        value = value.strip()
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:      # lone surrogates ("\ud800" in JSON): pairs joined, the rest U+FFFD
            value = value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
        return str(value) or None
    if value is None:
        return None
    if t is bool:
        return "true" if value else "false"
    if t is int:
        try:
            return str(value)
        except ValueError:          # more digits than Python prints: certainly out of any range
            return f"{'-' if value < 0 else ''}9e{LIMITS.max_cell_chars}"
    if t is float:
        if math.isfinite(value) and value.is_integer() and abs(value) < 2 ** 63:
            return str(int(value))
        return repr(value)
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value).strip() or None


def check_cell_chars(name: str, frame: pl.DataFrame) -> None:
    """Refuse a frame of text cells (a sheet, a document's records) holding a cell longer than
    the limit: one message, whatever the format the file came in."""
    texts = [c for c, t in frame.schema.items() if t == pl.String and not c.startswith("_")]
    if not texts or not frame.height:
        return
    widest = frame.select(pl.max_horizontal(pl.col(texts).str.len_bytes().max())).item()
    if widest is not None and widest > LIMITS.max_cell_chars:       # bytes first: no text is longer
        longest = frame.select(pl.max_horizontal(pl.col(texts).str.len_chars().max())).item()
        if longest > LIMITS.max_cell_chars:
            raise InputError(name, limit_message("max_cell_chars", where=f"a cell of {longest} characters"))


def column_letter(j: int) -> str:
    """Spreadsheet column name of 0-based column ``j`` (0 → A, 26 → AA)."""
    letters = ""
    j += 1
    while j:
        j, rem = divmod(j - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


# --- headers ---------------------------------------------------------------------------

def _named_column(j: int, header: Any) -> tuple[str, str]:
    return f"第 {column_letter(j)} 列「{header}」", f"column {column_letter(j)} '{header}'"


def named_field(header: Any) -> str | None:
    """The field a header names, in its own unit or in another (``教学仪器设备资产值（万元）``)."""
    if header is None:
        return None
    found = header_unit(header)
    return header_to_field(header) or (found.field if found is not None else None)


def _header_rank(header: Any) -> int:
    """How surely a header naming a field names the field itself: plainly (3), with a note on
    how it is written or in a unit (2), with a note no list knows (1), with a note saying it holds
    something else (0: 学校名称（英文）)."""
    if names_plainly(header):
        return 3
    note = header_note(header)
    return 2 if note is None or note.holds is None else 1 if note.holds == ("", "") else 0


def header_names(name: str, header: Sequence[Any]) -> list[str | None]:
    """Field name per column; ``None`` for a column no field names (a blank or unknown header,
    or a known field in another unit: :func:`header_unit`). Of two columns naming one field the
    one that names it more surely (:func:`_header_rank`: 学校名称 before 学校名称（英文）,
    学校标识码（10位） before 学校标识码（旧）) is the field and the other one unknown; two as sure are
    refused, both named. (A document's keys giving one field are refused before, by
    :func:`record_columns`, in a document's words.)"""
    names: list[str | None] = []
    seen: dict[str, int] = {}
    for j, h in enumerate(header):
        fname = named_field(h)
        if fname is not None and fname in seen and _header_rank(h) != _header_rank(header[seen[fname]]):
            # 学校名称 beside 学校名称（英文）: the surer column is the field, the other one is unknown
            if _header_rank(h) < _header_rank(header[seen[fname]]):
                names.append(None)
                continue
            names[seen.pop(fname)] = None
        if fname is not None and fname in seen:
            (a_zh, a_en), (b_zh, b_en) = _named_column(seen[fname], header[seen[fname]]), _named_column(j, h)
            raise InputError(name, f"{a_zh}和{b_zh}都是 {label(fname)}，只能保留一个 / {a_en} and {b_en} both "
                                   f"give {label(fname)} ({fname}); keep one")
        if fname is not None:
            seen[fname] = j
        names.append(fname)
    return names


#: The fields a report names a school or county by: read from a column noted 英文 or 旧, they may
#: not match the register.
NAMING_FIELDS = frozenset({"school_id", "school_name", "county_code", "county_name"})


def note_notice(header: Any, file_label: str, where: tuple[str, str], years: Iterable[int] = ()) -> Problem | None:
    """W406 for a column read as a field though its header's note says it may hold something
    else (学校名称（英文）, 学校标识码（旧）), names a school year none of the records is of
    (``years``: theirs, where the file gives them), or is no note a list knows; None for a plain
    header or a note on how the field is written (学校标识码（10位）, 公办（是/否）, 在校生数（2023年）
    in a file of 2023)."""
    note, year, years = header_note(header), note_year(header), sorted(set(years))
    fname = named_field(header)
    if fname is None:
        return None
    what = label(fname)
    if year is not None and years and year not in years:
        zh = (f"但列名表明其中是 {year} 学年的值，而记录的学年是 {'、'.join(map(str, years))}：记录将按其中的值"
              f"评估，请核对，或填入记录学年的值")
        en = (f"but its header says it holds the values of the {year} school year, and the records are of "
              f"{', '.join(map(str, years))}: the records are judged on its values; check it, or give the values "
              f"of the records' year")
    elif note is None or note.holds is None:
        return None
    elif note.holds == ("", ""):
        zh = f"括号中的说明「{note.note}」不是已知的填写说明，请核对其中确为{what}"
        en = f"its note '{note.note}' is not a known note on how the field is written: check that it holds the {fname}"
    else:
        naming = fname in NAMING_FIELDS
        zh = (f"但括号中的「{note.note}」表明其中填的是{note.holds[0]}，不一定是{what}本身："
              + ("报告将以其中的值标识记录，可能与名册对不上" if naming else "记录将按其中的值评估")
              + f"，请核对，或填入现用的{what}并把列名改为「{what}」")
        en = (f"but its note '{note.note}' says it holds {note.holds[1]}, perhaps not the {fname} itself: "
              + ("the report names the records by its values, which may not match the register" if naming
                 else "the records are judged on its values")
              + f"; check it, or give the current value under the header '{what}'")
    return file_notice("W406", file_label, f"{where[0]}「{header}」已按{what}（{fname}）读取，{zh} / {where[1]} '{header}' "
                                           f"was read as {fname} ({what}), {en}", observed=str(header), field=fname)


def quoted_header(header: Any, guess: str | None) -> tuple[str, str]:
    """A header no field names, quoted, with a "did you mean" when ``guess`` (a field) is close,
    in Chinese and in English."""
    return (f"「{header}」" + (f"（是否应为 {label(guess)}？）" if guess else ""),
            f"'{header}'" + (f" (did you mean {guess}?)" if guess else ""))


# --- columns no field names, and columns in another unit -------------------------------------

#: The columns a W401 names before it counts the rest (its ``observed`` keeps them all).
UNKNOWN_COLUMNS_SHOWN = 20


def unknown_columns_notice(file_label: str, zh: Sequence[str], en: Sequence[str], set_aside: bool = False
                           ) -> Problem:
    """W401: the columns ignored in a file, named once (in Chinese, then in English): the first
    :data:`UNKNOWN_COLUMNS_SHOWN` of them, and how many there are when there are more;
    ``set_aside``: some are ignored because another column gives their field."""
    n = len(zh)
    more = n > UNKNOWN_COLUMNS_SHOWN
    shown_zh = "、".join(zh[:UNKNOWN_COLUMNS_SHOWN]) + (f" 等 {n} 列" if more else "")
    shown_en = ", ".join(en[:UNKNOWN_COLUMNS_SHOWN]) + (f" … ({n} columns)" if more else "")
    what = (("列（未知的列，或其字段已由另一列读取；不参与评估）", "that no field names, or whose field another column gives")
            if set_aside else ("个未知列（不参与评估）", "that no field names"))
    return file_notice("W401", file_label, f"已忽略 {n} {what[0]}：{shown_zh} / ignored {n} column(s) {what[1]} "
                                           f"(not evaluated): {shown_en}", observed=list(en))


def unit_refused(fname: str, header: str, found: Any, where: tuple[str, str]) -> str:
    """Why a column (or a record's key) in a unit with no exact factor is refused."""
    own = unit(fname) or "—"
    known = list(UNIT_FACTORS.get(unit(fname), {}))
    return (f"{where[0]}「{header}」的单位「{found.unit}」无法换算为 {label(fname)} 的单位 {unit_zh(own)}，请改为 "
            f"{unit_zh(own)}（可换算的单位：{'、'.join(known) or '无'}）/ {where[1]} '{header}': the unit '{found.unit}' "
            f"cannot be converted to the unit of {fname} ({own}); give the values in {own} (units converted: "
            f"{', '.join(known) or 'none'})")


def unit_notice(fname: str, header: str, found: Any, file_label: str, where: tuple[str, str],
                shown: tuple[str, str] | None = None) -> Problem:
    """W402: a column (or a record's key) in another unit, converted to the field's own; ``shown``
    (Chinese, English) is added to say how cells formatted as percentages were read."""
    own = unit(fname) or "—"
    factor = found.factor
    times = str(factor.numerator) if factor.denominator == 1 else f"{factor.numerator}/{factor.denominator}"
    return file_notice("W402", file_label,
                       f"{where[0]}「{header}」按{found.unit}填写，已换算为{label(fname)}（{unit_zh(own)}，×{times}）"
                       f"{shown[0] + ' ' if shown else ''}/ {where[1]} '{header}' is in {found.unit}: values converted to "
                       f"{own} (×{times}){shown[1] if shown else ''}", observed=header, field=fname)


def key_field(key: Any) -> tuple[str, Any]:
    """``(field, unit)`` for a key of a record given to the API, read as a file's header is: an
    English name or Chinese label (unit None), or a field in another unit (``教学仪器设备资产值（万元）``,
    its :class:`~edubalance.fields.UnitHeader`); a key no field names is itself, with no unit."""
    return _key_field(key, fields_version())


@lru_cache(maxsize=4096, typed=True)
def _key_field(key: Any, version: int) -> tuple[str, Any]:
    """:func:`key_field`, remembered until a pack declares fields (``version``)."""
    fname = header_to_field(key)
    if fname is not None:
        return fname, None
    found = header_unit(key)
    return (found.field, found) if found is not None else (str(key), None)


def given_value(value: Any, found: Any) -> Any:
    """A value given under a key in another unit, in the field's unit (as text, as a cell of a
    file: what is not a number is left for validation to judge)."""
    if found.factor is None or value is None or isinstance(value, (bool, list, tuple, dict)):
        return value
    return _times(cell_text(value), found.factor, "元" in found.unit)


def given_unit_notices(rows: Sequence[RawRow]) -> list[Problem]:
    """W402 once per key in another unit and per input (``<records>``, ``<counties>``) among
    records given to the API, as a file's column in another unit has; W406 once per key read as
    a field though its note says it may hold something else (学校名称（英文）), as a file's column."""
    keys: dict[str, dict[Any, None]] = {}
    for r in rows:
        keys.setdefault(r.file, {}).update(dict.fromkeys(r.data))
    out = []
    for file, found_keys in keys.items():
        for key in found_keys:
            fname, found = key_field(key)
            noted = note_notice(key, file, ("键", "key")) if fname != key else None
            if noted is not None:
                out.append(noted)
            if found is not None and found.factor is not None:
                out.append(unit_notice(fname, str(key), found, file, ("键", "key")))
    return out


_NUMBER_SPACE = re.compile(r"[\s,，]")


#: Characters (and digits either side of the point) of a number a unit converts.
_MOST_CHARS = 100
#: Digits enough for every product of such a number and a factor, to 6 decimals.
_EXACT = Context(prec=4 * _MOST_CHARS)


def _times(text: str | None, factor: Fraction, money: bool = False) -> str | None:
    """``text`` (a number) times ``factor`` as text (exact, at most 6 decimals); other text as it
    is (validation judges it: a placeholder is missing, a word is refused, ``15%`` — a percentage,
    as a cell formatted so is read — is the fraction it says), and so is a number of
    more than 100 characters or digits (``1e400``: far out of every range, validation refuses it).
    ``money``: the column is in 万元 or the like, where a yuan sign (``￥463.54``, Excel's currency
    format) is the figure in the column's unit, as it is in yuan (coercion)."""
    if text is None:
        return None
    cleaned = _NUMBER_SPACE.sub("", unicodedata.normalize("NFKC", text))
    if money and cleaned.startswith("¥"):
        cleaned = cleaned[1:]
    if len(cleaned) > _MOST_CHARS:
        return text
    try:
        number = Decimal(cleaned)
    except InvalidOperation:
        return text
    if not number.is_finite() or abs(number.adjusted()) > _MOST_CHARS:
        return text
    product = Fraction(number) * factor
    if product.denominator == 1:
        return str(product.numerator)
    exact = _EXACT.divide(Decimal(product.numerator), Decimal(product.denominator))
    return format(exact.quantize(Decimal("0.000001"), context=_EXACT).normalize(_EXACT), "f")


#: A plain decimal (ASCII digits): its sign, whole part and decimals.
_PLAIN_DECIMAL = r"^([+-]?)([0-9]+)(?:\.([0-9]+))?$"
#: Decimals a converted value keeps (:func:`_times`), and their scale.
_DECIMALS, _SCALE = 6, 10 ** 6


def _plain_times(cells: pl.Series, factor: Fraction) -> pl.Series:
    """Each plain decimal of ``cells`` times ``factor``, written as :func:`_times` writes it: in
    whole millionths on 64-bit integers, exact, rounded half to even as :func:`_times` rounds, then
    written without leading or trailing zeros. Null where the cell is not a plain decimal of at
    most 6 decimals, is too long for 64-bit integers, or is a number that rounds to zero (left to
    :func:`_times`, which writes ``-0`` for a negative one)."""
    p, q = factor.numerator, factor.denominator
    room = 18 - len(str(p))                     # digits of a value in millionths: times p stays under 10**18
    sign, whole, decimals = pl.col("sign"), pl.col("whole"), pl.col("decimals")
    n, rounded = pl.col("n"), pl.col("rounded")
    up = (2 * pl.col("rest") > q) | ((2 * pl.col("rest") == q) & (pl.col("quotient") % 2 == 1))
    fraction = (rounded % _SCALE).cast(pl.String).str.pad_start(_DECIMALS, "0").str.strip_chars_end("0")
    return (cells.to_frame("cell").lazy()
            .select(pl.col("cell").str.extract_groups(_PLAIN_DECIMAL).struct.rename_fields(["sign", "whole", "decimals"])
                    .struct.unnest())
            .with_columns(decimals.fill_null(""))
            .with_columns(fits=(decimals.str.len_chars() <= _DECIMALS) & (whole.str.len_chars() + _DECIMALS <= room))
            .with_columns(n=pl.when("fits").then(whole + decimals.str.pad_end(_DECIMALS, "0")).str.to_integer(strict=False))
            .with_columns(quotient=n * p // q, rest=n * p % q)
            .with_columns(rounded=pl.col("quotient") + up.cast(pl.Int64))
            .select(pl.when((rounded != 0) | (n == 0)).then(pl.concat_str(
                pl.when((sign == "-") & (rounded != 0)).then(pl.lit("-")).otherwise(pl.lit("")),
                (rounded // _SCALE).cast(pl.String),
                pl.when(fraction == "").then(pl.lit("")).otherwise("." + fraction))).alias(cells.name))
            .collect().to_series())


def times_column(cells: pl.Series, factor: Fraction, money: bool = False) -> pl.Series:
    """:func:`_times` for a whole column, the same text by construction: plain decimals are
    multiplied by polars over the column (:func:`_plain_times`); every other cell (``1,200``,
    ``1e3``, full-width digits, more decimals, a word) goes through :func:`_times` once per
    distinct cell."""
    fast = _plain_times(cells, factor)
    rest = cells.filter(fast.is_null() & cells.is_not_null()).unique()
    if not len(rest):
        return fast
    converted = pl.Series([_times(text, factor, money) for text in rest.to_list()], dtype=pl.String)
    return fast.fill_null(cells.replace_strict(rest, converted, default=None, return_dtype=pl.String))


#: For a worksheet: given its rows (``_row`` and its columns) and its columns of fractions
#: written in percent, the rows with each cell formatted as a percentage read as the percentage
#: it shows (Excel stores 15% as 0.15), and per column what its W402 adds about them.
PercentCells = Callable[[pl.DataFrame, Sequence[str]], "tuple[pl.DataFrame, dict[str, tuple[str, str]]]"]


def column_units(name: str, fname: str, header: Any, written: str | None, where: tuple[str, str]) -> Any:
    """The foreign unit of a column (:class:`~edubalance.fields.UnitHeader`) from its header or
    from the units row below it (``written``); None when both say the field's own unit. A units
    row contradicting a unit the header states is refused."""
    if written is None:
        return header_unit(header) if header_to_field(header) is None else None
    stated = stated_unit(header) if header_note(header) is None else None      # 在校生数（上年）: a note, no unit
    if stated is not None and stated != written:
        raise InputError(name, f"{where[0]}「{header}」的单位与单位行的「{written}」不一致，请只保留一个 / {where[1]} "
                               f"'{header}': the header's unit ({stated}) and the units row's ({written}) differ; "
                               f"keep one")
    return column_unit(fname, written)


def _school_years(frame: pl.DataFrame, columns: Sequence[tuple[str, str | None, Any, tuple[str, str]]]) -> list[int]:
    """The school years a file's 学年 column gives (read as a record's is), where a column's
    header names one (在校生数（2023年）: :func:`note_notice` sets them side by side)."""
    noted = any(note_year(header) is not None for _, fname, header, _ in columns if fname is not None)
    column = next((column for column, fname, *_ in columns if fname == "year"), None)
    if not noted or column is None:
        return []
    cells = frame[column].drop_nulls().unique().cast(pl.String).to_list()
    return [y for y in map(school_year, cells) if y is not None]


def settle_columns(name: str, frame: pl.DataFrame, columns: Sequence[tuple[str, str | None, Any, tuple[str, str]]],
                   file_label: str, units: dict[str, str] | None = None,
                   percent_cells: PercentCells | None = None) -> tuple[pl.DataFrame, list[Problem]]:
    """Keep the columns a field names (``(column, field, header, (where in Chinese, in English))``;
    field None: unknown), converting those in a foreign unit (named by the header, or in
    ``units``, the units row by column); the unknown ones holding data are dropped with one W401.
    ``percent_cells`` (a worksheet): its cells formatted as percentages, asked for only when a
    column of fractions is written in percent."""
    units = units or {}
    notices: list[Problem] = []
    unknown: tuple[list[str], list[str]] = ([], [])
    set_aside = False
    keep: list[pl.Expr] = [pl.col(c) for c in frame.columns if c.startswith("_")]
    settled = []
    given = {fname: where for _, fname, _, where in columns if fname is not None}
    years = _school_years(frame, columns)
    for column, fname, header, where in columns:
        if fname is None:
            zh, en = quoted_header(header, suggest_field(header)) if header is not None else ("（无列名）", "(no header)")
            other = named_field(header)
            if other in given:              # 学校名称（英文） beside 学校名称: the field is read from that one
                set_aside = True
                zh, en = (f"「{header}」（{label(other)}取自{given[other][0]}）",
                          f"'{header}' ({other} is read from {given[other][1]})")
            unknown[0].append(where[0] + zh)
            unknown[1].append(f"{where[1]} {en}")
            continue
        noted = note_notice(header, file_label, where, years)
        if noted is not None:
            notices.append(noted)
        found = column_units(name, fname, header, units.get(column), where)
        if found is not None and column in units:
            where = (f"{where[0]}（单位行）", f"{where[1]} (units row)")
        if found is not None and found.factor is None:
            raise InputError(name, unit_refused(fname, str(header), found, where))
        settled.append((column, fname, header, where, found))
    percent = [column for column, *_, found in settled if in_percent(found)]
    shown: dict[str, tuple[str, str]] = {}
    if percent and percent_cells is not None:
        frame, shown = percent_cells(frame, percent)
    for column, fname, header, where, found in settled:
        if found is not None:
            frame = frame.with_columns(times_column(frame[column], found.factor, "元" in found.unit))
            notices.append(unit_notice(fname, str(header), found, file_label, where, shown.get(column)))
        keep.append(pl.col(column).alias(fname))
    if unknown[0]:
        notices.insert(0, unknown_columns_notice(file_label, *unknown, set_aside=set_aside))
    return frame.select(keep), notices


# --- school rows, county rows, no records ----------------------------------------------------

def no_records_text(skipped: Iterable[tuple[str, int]]) -> tuple[str, str]:
    """Why an input holds no record (Chinese, English): only a header, or every row skipped as
    not a record (``skipped``: their file and row), named by file and rows."""
    by_file: dict[str, list[int]] = {}
    for file, row in skipped:
        by_file.setdefault(file, []).append(row)
    if not by_file:
        return "未找到学校或县级记录（只有表头，或没有数据行）", "no records found (only a header, or no rows)"
    n = sum(map(len, by_file.values()))
    runs = {f: row_runs(rows) for f, rows in by_file.items()}
    zh = "；".join(f"{f} {run[0]}" for f, run in runs.items())
    en = "; ".join(f"{f} {run[1]}" for f, run in runs.items())
    return (f"未找到学校或县级记录：全部 {n} 行都是合计、签名、说明、单位行或空行，已跳过（{zh}）",
            f"no records found: all {n} row(s) were skipped as not records — totals, signatures, notes, units "
            f"rows or blank rows ({en})")


def split_county(frame: pl.DataFrame, all_county: bool = False) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(school rows, county rows): a county row has no school_id and a county-only value."""
    if all_county:
        return frame.clear(), frame
    county_cols = [c for c in frame.columns if c in COUNTY_ONLY_FIELDS]
    if not county_cols:
        return frame, frame.clear()
    is_county = pl.any_horizontal(pl.col(county_cols).is_not_null())
    if "school_id" in frame.columns:
        is_county = is_county & pl.col("school_id").is_null()
    mask = frame.select(is_county.alias("m")).to_series()
    return frame.filter(~mask), frame.filter(mask)


# --- documents (JSON, NDJSON, YAML, the Python API) ----------------------------------------

def json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float, NumberText)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return f"a {type(value).__name__}"


def records_frame(name: str, items: Iterable[tuple[int, str, Any]], file_label: str | None = None,
                  map_keys: bool = True, keys: list[Any] | None = None) -> pl.DataFrame:
    """One frame from records ``(row number, where, object)``: keys mapped to field names (when
    ``map_keys``), values as text, keys empty in every record dropped; ``keys`` gets every key
    given, once."""
    return text_frame(record_columns(name, items, file_label, map_keys, keys=keys))


def text_frame(data: dict[str, list[Any]]) -> pl.DataFrame:
    """Columns of :func:`record_columns` as a frame (``_row`` whole numbers, every other column text)."""
    return pl.DataFrame(data, schema={k: (pl.Int64 if k == "_row" else pl.String) for k in data})


def twice_text(first: Any, key: Any, fname: str, where: str | None = None) -> str:
    """Two keys of one record give one field: which value counts is unknowable."""
    lab = label(fname)
    zh = f"键「{first}」和「{key}」都是 {lab}，只能给一个"
    en = f"keys '{first}' and '{key}' both give {lab} ({fname}); give one"
    return f"{where} 的{zh} / {where}: {en}" if where else f"{zh} / {en}"


def record_columns(name: str, items: Iterable[tuple[int, str, Any]], file_label: str | None = None,
                   map_keys: bool | Callable[[Any], str] = True,
                   twice: list[tuple[int, Any, Any, str]] | None = None, keys: list[Any] | None = None
                   ) -> dict[str, list[Any]]:
    """The columns of :func:`records_frame` as lists: validation reads a few records' rows
    straight from them, since a frame of one row costs more to build than to check.
    ``map_keys``: a key's column is the field its header names (True), the key itself (False),
    or what the function gives (the Python API's keys, whose values are already converted).

    Two keys giving one field (``stage`` and ``学段``, or ``图书`` and ``图书（千册）``, whose column is
    converted later) are refused, both named as given: in one record, or in two records when
    they would make two columns of one field. With a ``twice`` list, each record's second key
    for a field is listed there as ``(its position in items, first key, key, field)`` instead, and left out.
    ``keys`` gets every key given, once."""
    columns: dict[str, list[str | None]] = {}
    numbers: list[int] = []
    nested: list[str | None] = []
    names: dict[Any, tuple[str, str]] = {}            # key → (its column, the field it gives)
    first: dict[str, tuple[Any, str, str]] = {}       # field → (the first key giving it, where, its column)
    for i, (number, where, item) in enumerate(items):
        if not isinstance(item, dict):
            raise InputError(name, f"{where} 不是对象 / {where} is {json_kind(item)}, not an object (a record)")
        seen: dict[str, Any] = {}
        bad: list[str] = []
        for key, value in item.items():
            if key in PROVENANCE:
                continue
            named = names.get(key)
            if named is None:
                if callable(map_keys):
                    column = map_keys(key)
                    named = names[key] = (column, column)
                else:
                    column = (header_to_field(key) or str(key)) if map_keys else str(key)
                    named = names[key] = (column, key_field(key)[0] if map_keys else column)
                earlier = first.setdefault(named[1], (key, where, column))
                if earlier[2] != column and earlier[1] != where:
                    raise InputError(name, f"{earlier[1]} 的键「{earlier[0]}」和 {where} 的键「{key}」都是 "
                                           f"{label(named[1])}，只能用一个 / {earlier[1]}'s key '{earlier[0]}' and "
                                           f"{where}'s key '{key}' both give {label(named[1])} ({named[1]}); use one")
            fname, given = named
            if given in seen:
                if twice is None:
                    raise InputError(name, twice_text(seen[given], key, given, where))
                twice.append((i, seen[given], key, given))
                continue
            seen[given] = key
            col = columns.get(fname)
            if col is None:
                col = columns[fname] = [None] * i
            if isinstance(value, (list, tuple, dict)):
                bad.append(fname)
            col.append(cell_text(value))
        for fname, col in columns.items():
            if len(col) == i:
                col.append(None)
        numbers.append(number)
        nested.append(",".join(bad) if bad else None)
    if keys is not None:
        keys.extend(names)
    data: dict[str, Any] = {"_file": [file_label or name] * len(numbers), "_row": numbers}
    data.update((k, v) for k, v in columns.items() if any(v))        # cells: None or non-empty text
    if any(nested):
        data[NESTED] = nested
    return data


def fill_province(frame: pl.DataFrame, province: str | None) -> pl.DataFrame:
    """Give every row without a province ``province``."""
    if not province:
        return frame
    if "province" not in frame.columns:
        return frame.with_columns(pl.lit(province, dtype=pl.String).alias("province"))
    return frame.with_columns(pl.col("province").fill_null(province))


def concat(frames: Sequence[pl.DataFrame]) -> pl.DataFrame:
    """Frames of several files one after another (columns united; absent cells null)."""
    frames = [f for f in frames if f.height or f.width > 2]
    if not frames:
        return empty_frame()
    if len(frames) == 1:
        return frames[0]
    return pl.concat(frames, how="diagonal")
