"""Files in: what every reader shares.

A reader (one per format, in :mod:`edubalance.readers`, each an implementation of the
``edubalance_load_file`` hook) turns a file into a :class:`LoadedFile`: two polars frames, school
rows and county rows, whose columns are the canonical English field names holding the cells as
text (stripped; empty cells are null), plus ``_file`` and ``_row``. Checking and converting the
text is :mod:`edubalance.validation`'s job, so every format reaches it the same way.

* ``_row`` is the number a user finds the record by: the spreadsheet row for CSV/XLSX/XLS
  (header = row 1, blank lines counted), the 1-based position in the array for JSON/YAML, the
  line number for NDJSON.
* Headers (and JSON keys) may be English field names or Chinese labels
  (:func:`edubalance.fields.header_to_field`); an unknown header is kept under its own name so
  that validation reports it; two columns naming one field make the file unreadable.
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
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, Iterable, Sequence

import polars as pl

from .fields import COUNTY_ONLY_FIELDS, header_to_field, label
from .limits import LIMITS, limit_message

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
HEADER_SEARCH_ROWS = 10
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
    """A file that cannot be read as records; ``str()`` is ``"<path>: <message>"``."""

    def __init__(self, path: str | Path, message: str) -> None:
        self.path = str(path)
        self.message = message
        super().__init__(f"{self.path}: {message}")


@dataclass(slots=True)
class RawRow:
    """One record as given through the Python API: ``data`` maps field names to values."""

    file: str
    row: int
    data: dict[str, Any]


def _empty_frame() -> pl.DataFrame:
    return pl.DataFrame(schema={"_file": pl.String, "_row": pl.Int64})


@dataclass
class LoadedFile:
    path: str
    format: str                       # csv, xlsx, xls, json, ndjson, yaml
    frame: pl.DataFrame = field(default_factory=_empty_frame)      # school rows
    county: pl.DataFrame = field(default_factory=_empty_frame)     # county rows
    encoding: str | None = None       # text formats: the encoding that decoded the file
    province: str | None = None       # JSON/YAML: the file's own top-level province

    @property
    def rows(self) -> list[RawRow]:
        """The school rows as :class:`RawRow` (cells as text, ``None`` for empty)."""
        return frame_rows(self.frame)

    @property
    def county_rows(self) -> list[RawRow]:
        return frame_rows(self.county)


def frame_rows(frame: pl.DataFrame) -> list[RawRow]:
    """Rows of a loaded frame as :class:`RawRow` (for tests, plug-ins and messages)."""
    names = [c for c in frame.columns if not c.startswith("_")]
    return [RawRow(d["_file"], d["_row"], {k: d[k] for k in names}) for d in frame.iter_rows(named=True)]


# --- the file itself -------------------------------------------------------------------

def checked_stat(name: str) -> os.stat_result:
    """The file's status, refusing what is not a regular file of a sane size."""
    try:
        st = os.stat(name)
    except FileNotFoundError:
        raise InputError(name, "文件不存在 / file not found") from None
    except OSError as exc:
        raise InputError(name, f"无法读取 / cannot read the file ({exc.strerror or exc})") from None
    if stat.S_ISDIR(st.st_mode):
        raise InputError(name, "是文件夹而不是文件 / is a directory, not a file")
    if not stat.S_ISREG(st.st_mode):
        raise InputError(name, "不是普通文件（设备、管道或套接字）/ not a regular file (a device, pipe or socket)")
    if st.st_size > LIMITS.max_file_bytes:
        raise InputError(name, limit_message("max_file_bytes", st.st_size))
    return st


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
    checked_stat(name)
    try:
        with open(name, "rb") as f:
            head = f.read(SNIFF_BYTES)
    except OSError as exc:
        raise InputError(name, f"无法读取 / cannot read the file ({exc.strerror or exc})") from None
    for magic, what in _BINARY_MAGIC:
        if head.startswith(magic):
            raise InputError(name, f"这是二进制文件 / this looks like a binary file ({what}), not CSV/XLSX/JSON")
    if head.startswith(ZIP_MAGIC):
        if fmt in (None, "csv", "xlsx"):
            return "xlsx"                         # a workbook saved under .csv, or without a suffix
        if fmt != "xls":
            raise InputError(name, "这是压缩包 / this looks like a binary file (a zip archive), not CSV/XLSX/JSON")
        return "xlsx"
    if head.startswith(OLE_MAGIC):
        if fmt in (None, "csv", "xls", "xlsx"):
            return "xls"
        raise InputError(name, "这是旧版 Office 文件 / this looks like an old Excel .xls (or other Office) file")
    if fmt in ("xlsx", "xls"):
        if _is_empty(head):
            raise InputError(name, "文件为空 / the file is empty")
        raise InputError(name, "这不是 Excel 工作簿 / this is not an Excel workbook (an .xlsx file is a zip archive, "
                               "an .xls file an OLE document)")
    if fmt is None:
        start = head.lstrip(codecs.BOM_UTF8 + b" \t\r\n")[:1]
        fmt = "json" if start in (b"[", b"{") else "csv"
    return fmt


def read_bytes(name: str) -> bytes:
    """The whole file (a regular file within the size limit); never empty."""
    checked_stat(name)
    try:
        with open(name, "rb") as f:       # a buffer of the file's size, not of the limit
            raw = f.read(min(os.fstat(f.fileno()).st_size, LIMITS.max_file_bytes) + 1)
    except OSError as exc:
        raise InputError(name, f"无法读取 / cannot read the file ({exc.strerror or exc})") from None
    if len(raw) > LIMITS.max_file_bytes:
        raise InputError(name, limit_message("max_file_bytes", len(raw)))
    if _is_empty(raw):
        raise InputError(name, "文件为空 / the file is empty")
    return raw


def read_text(path: str | Path, fmt: str) -> tuple[str, str, str] | None:
    """``(name, text, encoding)`` of a text file in format ``fmt``; None if it is another format."""
    if detect_format(path) != fmt:
        return None
    name = str(path)
    text, encoding = decode(name, read_bytes(name))
    return name, text, encoding


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


def decode(name: str, raw: bytes) -> tuple[str, str]:
    """Decode strictly: UTF-16 (by BOM), else UTF-8 (BOM optional), else GB18030/GBK — and
    then check that the result is text: GB18030 decodes almost any bytes, so decoding alone
    proves nothing."""
    if _has_utf16_bom(raw):
        try:
            text, encoding = raw.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as exc:
            raise InputError(name, f"无法按 UTF-16 解码 / cannot decode as UTF-16 (byte 0x{raw[exc.start]:02x} "
                                   f"at offset {exc.start})") from None
    else:
        try:
            text = raw.decode("utf-8-sig")
            encoding = "utf-8-sig" if raw.startswith(codecs.BOM_UTF8) else "utf-8"
        except UnicodeDecodeError:
            try:
                text, encoding = raw.decode("gb18030"), "gb18030"
            except UnicodeDecodeError as exc:
                raise InputError(name, f"无法按 UTF-8 或 GB18030/GBK 解码 / cannot decode as UTF-8 or GB18030/GBK "
                                       f"(byte 0x{raw[exc.start]:02x} at offset {exc.start})") from None
    _reject_binary_text(name, text, encoding)
    return text, encoding


def _reject_binary_text(name: str, text: str, encoding: str) -> None:
    """A decoded file that is not text: control characters, or (for the GB18030 fallback)
    mostly characters no table holds."""
    head = text[:SNIFF_BYTES]
    if _CONTROL.search(head) or "\ufffd" in head:
        raise InputError(name, "这是二进制文件而不是文本 / this looks like a binary file, not CSV/XLSX/JSON")
    if encoding == "gb18030":
        odd = sum(1 for ch in head if not (ch.isprintable() or ch in "\t\r\n")
                  or "\ue000" <= ch <= "\uf8ff" or ord(ch) > 0xffff)
        if odd > max(2, len(head) // 50):
            raise InputError(name, "这是二进制文件而不是文本 / this looks like a binary file, not CSV/XLSX/JSON")


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


def column_letter(j: int) -> str:
    """Spreadsheet column name of 0-based column ``j`` (0 → A, 26 → AA)."""
    letters = ""
    j += 1
    while j:
        j, rem = divmod(j - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


# --- tables (CSV, XLSX, XLS) -------------------------------------------------------------

def header_names(name: str, header: Sequence[Any]) -> list[str | None]:
    """Field name per column; ``None`` for a blank header (named later if it has data)."""
    names: list[str | None] = []
    seen: dict[str, int] = {}
    for j, h in enumerate(header):
        if h is None:
            names.append(None)
            continue
        fname = header_to_field(h)
        if fname is None:
            fname = str(h)
            if fname in seen:
                fname = f"{fname} (column {column_letter(j)})"
        elif fname in seen:
            raise InputError(name, f"第 {column_letter(seen[fname])} 列和第 {column_letter(j)} 列都是 "
                                   f"{label(fname)} / columns {column_letter(seen[fname])} and {column_letter(j)} "
                                   f"both give {label(fname)} ({fname})")
        seen[fname] = j
        names.append(fname)
    return names


def _header_index(first: list[tuple[Any, ...]]) -> int:
    """Which of the first non-blank rows is the header: the first naming two known fields."""
    for k, cells in enumerate(first):
        if sum(1 for c in cells if c is not None and header_to_field(c) is not None) >= 2:
            return k
    return 0


def table_frames(name: str, file_label: str, raw: pl.DataFrame, all_county: bool = False,
                 need_header: bool = False, strip: bool = True) -> tuple[pl.DataFrame, pl.DataFrame] | None:
    """School and county frames from a sheet of text cells (one String column per sheet
    column, one row per sheet row, header and title rows included); None if every row is blank.

    ``need_header``: refuse a sheet none of whose first rows names a known field (a file that
    only decoded as GB18030 is then more likely binary than a table). ``strip``: some cell may
    start or end with white space (False when the caller knows none does)."""
    cells = raw.columns
    if not cells:
        return None
    # Only columns with a cell to strip are rewritten (most exports have none).
    padded = raw.select(pl.col(cells).str.contains(r"^\s|\s$").any()).row(0) if strip else [False] * len(cells)
    stripped = {c: pl.col(c).str.strip_chars() for c, pad in zip(cells, padded) if pad}
    frame = raw.with_columns([pl.when(s.str.len_bytes() > 0).then(s).alias(c) for c, s in stripped.items()])
    frame = frame.with_row_index("_row", offset=1).filter(pl.any_horizontal(pl.col(cells).is_not_null()))
    if frame.height == 0:
        return None
    first = frame.head(HEADER_SEARCH_ROWS).select(cells).rows()
    k = _header_index(first)
    if need_header and not any(c is not None and header_to_field(c) for c in first[k]):
        raise InputError(name, "这不是表格：没有可识别的列名，也不是 UTF-8 文本 / this looks like a binary file, "
                               "not CSV/XLSX/JSON (no known column header, and not UTF-8 text)")
    names = header_names(name, first[k])
    body = frame.slice(k + 1)
    used = body.select(pl.col(cells).is_not_null().any()).row(0) if body.height else (False,) * len(cells)
    keep = [(c, names[j] if names[j] is not None else f"(column {column_letter(j)})")
            for j, c in enumerate(cells) if used[j]]
    body = body.select(pl.lit(file_label).alias("_file"), pl.col("_row").cast(pl.Int64),
                       *[pl.col(c).alias(fname) for c, fname in keep])
    return split_county(body, all_county)


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


def rows_frame(rows: Iterable[Sequence[Any]]) -> pl.DataFrame:
    """A sheet of typed cells (XLSX/XLS) as text columns ``c0, c1 …``, short rows padded."""
    texts = [[cell_text(v) for v in r] for r in rows]
    width = max((len(r) for r in texts), default=0)
    columns = {f"c{j}": [r[j] if j < len(r) else None for r in texts] for j in range(width)}
    return pl.DataFrame(columns, schema={c: pl.String for c in columns})


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
                  map_keys: bool = True) -> pl.DataFrame:
    """One frame from records ``(row number, where, object)``: keys mapped to field names (when
    ``map_keys``), values as text, keys empty in every record dropped."""
    columns: dict[str, list[str | None]] = {}
    numbers: list[int] = []
    nested: list[str | None] = []
    for i, (number, where, item) in enumerate(items):
        if not isinstance(item, dict):
            raise InputError(name, f"{where} 不是对象 / {where} is {json_kind(item)}, not an object (a record)")
        seen: set[str] = set()
        bad: list[str] = []
        for key, value in item.items():
            if key in PROVENANCE:
                continue
            fname = (header_to_field(key) or str(key)) if map_keys else str(key)
            if fname in seen:
                raise InputError(name, f"{where} 两次给出 {label(fname)} / {where} gives {label(fname)} ({fname}) twice")
            seen.add(fname)
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
    data: dict[str, Any] = {"_file": [file_label or name] * len(numbers), "_row": numbers}
    data.update((k, v) for k, v in columns.items() if any(x is not None for x in v))
    if any(nested):
        data[NESTED] = nested
    return pl.DataFrame(data, schema={k: (pl.Int64 if k == "_row" else pl.String) for k in data})


def drop_empty(frame: pl.DataFrame) -> pl.DataFrame:
    """The frame without the field columns that are empty in every row."""
    names = [c for c in frame.columns if not c.startswith("_")]
    if not names or frame.height == 0:
        return frame.select([c for c in frame.columns if c.startswith("_")])
    used = frame.select(pl.col(names).is_not_null().any()).row(0)
    return frame.drop([c for c, u in zip(names, used) if not u])


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
        return _empty_frame()
    if len(frames) == 1:
        return frames[0]
    return pl.concat(frames, how="diagonal")
