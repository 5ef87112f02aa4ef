"""Read school and county records from CSV, XLSX, JSON, NDJSON or YAML files.

The loader only reads: it turns a file into :class:`RawRow` objects whose keys are field
names and whose values are what the file holds (text stays text; checking and converting is
:mod:`edubalance.validation`'s job). A file that cannot be read at all raises
:class:`InputError` with one sentence naming the file — never a traceback.

Formats, by extension (a file without one is sniffed):

* CSV — ``.csv``, ``.txt``, ``.tsv``. Encoding: a UTF-16 byte-order mark if present, else
  UTF-8 (with or without BOM), else GB18030 (a superset of GBK, which Chinese government
  exports often use); each tried strictly. The delimiter is the most frequent of
  ``, \\t ; |`` on the header line. A ``.csv`` that is really a zipped workbook is read as XLSX.
* XLSX — the first sheet holds schools; a sheet named like ``county``/``县级``/``县域`` holds
  county records (its rows' ``file`` is ``path#sheet``). Other sheets are ignored.
* JSON — an array of records, or an object ``{"records": [...], "counties": [...],
  "province": "..."}`` (each key optional). A ``.json`` file holding one object per line is
  read as NDJSON.
* NDJSON — ``.ndjson``/``.jsonl``: one object per line, blank lines ignored.
* YAML — ``.yaml``/``.yml``, the same shapes as JSON, read with ``yaml.safe_load`` only.

Rows and headers:

* ``RawRow.row`` is the number a user finds the record by: the spreadsheet row for
  CSV/XLSX (header = row 1, blank lines counted), the 1-based position in the array for
  JSON/YAML, the line number for NDJSON.
* The header is the first non-blank row, unless one of the first ten non-blank rows names at
  least two known fields (a title row above the header is then skipped). Headers (and JSON
  keys) may be English field names or Chinese labels (:func:`edubalance.fields.header_to_field`);
  an unknown header is kept under its own name so that validation reports it. Two columns
  naming the same field make the file unreadable (which one would be meant?).
* Empty cells and empty strings are ``None``; rows with no value at all are skipped; columns
  (keys) that are empty in every row are dropped.
* A row is a county record when its ``school_id`` is missing and it has at least one
  county-only field (:data:`edubalance.fields.COUNTY_ONLY_FIELDS`); rows of a county sheet or
  of a JSON/YAML ``counties`` list are county records whatever they hold.
* Rows without a province get the file's own ``province`` (JSON/YAML object) or else the
  ``default_province`` passed in.

A CSV file's school rows come as :class:`Rows` holding the file as columns
(:mod:`edubalance.csv_columns`): validation reads those directly, and anything that indexes or
iterates them gets the same :class:`RawRow` objects the row reader would give.
"""
from __future__ import annotations

import codecs
import csv
import gc
import io
import json
import re
import unicodedata
from collections.abc import Sequence as SequenceABC
from contextlib import contextmanager
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Sequence

from .fields import COUNTY_ONLY_FIELDS, header_to_field, label

if TYPE_CHECKING:
    from .csv_columns import CsvColumns

FORMATS_BY_SUFFIX = {
    ".csv": "csv", ".txt": "csv", ".tsv": "csv",
    ".xlsx": "xlsx", ".xlsm": "xlsx",
    ".json": "json",
    ".ndjson": "ndjson", ".jsonl": "ndjson",
    ".yaml": "yaml", ".yml": "yaml",
}
_EXPECTED = ".csv, .xlsx, .json, .ndjson, .yaml"
_PROVENANCE = ("_file", "_row")
_HEADER_SEARCH_ROWS = 10
_SNIFF_BYTES = 8192
_DELIMITERS = (",", "\t", ";", "|")

_BINARY_MAGIC = (
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"Rar!", "a RAR archive"),
    (b"7z\xbc\xaf", "a 7-Zip archive"),
)
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


class InputError(Exception):
    """A file that cannot be read as records; ``str()`` is ``"<path>: <message>"``."""

    def __init__(self, path: str | Path, message: str) -> None:
        self.path = str(path)
        self.message = message
        super().__init__(f"{self.path}: {message}")


@dataclass(slots=True)
class RawRow:
    """One record as read: ``data`` maps field names (or unknown headers) to raw values."""

    file: str
    row: int
    data: dict[str, Any]


class Rows(SequenceABC):
    """Raw rows of one or more files, in order; a CSV file's rows stay columns until needed.

    ``parts`` are lists of :class:`RawRow` and :class:`~edubalance.csv_columns.CsvColumns`
    blocks; validation reads the blocks column by column. Indexing or iterating turns every
    block into RawRows once, and keeps them (so a change to a row sticks, as in a list).
    """

    __hash__ = None  # type: ignore[assignment]

    def __init__(self, parts: Iterable[list[RawRow] | CsvColumns] = ()) -> None:
        self._parts: list[Any] = [p for p in parts if len(p)]

    @property
    def parts(self) -> tuple[Any, ...]:
        return tuple(self._parts)

    def _rows(self) -> list[RawRow]:
        if len(self._parts) != 1 or not isinstance(self._parts[0], list):
            rows: list[RawRow] = []
            for part in self._parts:
                rows.extend(part if isinstance(part, list) else part.rows())
            self._parts = [rows]
        return self._parts[0]

    def __len__(self) -> int:
        return sum(len(p) for p in self._parts)

    def __getitem__(self, index: Any) -> Any:
        return self._rows()[index]

    def __iter__(self) -> Iterator[RawRow]:
        return iter(self._rows())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (list, tuple, Rows)):
            return self._rows() == list(other)
        return NotImplemented

    def __repr__(self) -> str:
        return f"Rows({len(self)} rows in {len(self._parts)} parts)"

    def append(self, row: RawRow) -> None:
        self._rows().append(row)

    def extend(self, rows: Iterable[RawRow] | "Rows") -> None:
        """Add rows after these; a :class:`Rows` hands over its blocks without making rows."""
        if isinstance(rows, Rows):
            self._parts.extend(list(p) if isinstance(p, list) else p for p in rows._parts)
        else:
            rows = list(rows)
            if rows:
                self._parts.append(rows)

    def clear(self) -> None:
        self._parts = []

    def fill_province(self, province: str) -> None:
        """Give every row without a province ``province``."""
        for part in self._parts:
            if isinstance(part, list):
                _fill_province(part, province)
            else:
                part.fill_province(province)


def _fill_province(rows: Iterable[RawRow], province: str) -> None:
    for r in rows:
        if r.data.get("province") in (None, ""):
            r.data["province"] = province


@dataclass
class LoadedFile:
    path: str
    format: str                       # csv, xlsx, json, ndjson, yaml
    rows: list[RawRow] | Rows = field(default_factory=list)
    county_rows: list[RawRow] = field(default_factory=list)
    encoding: str | None = None       # text formats: the encoding that decoded the file
    province: str | None = None       # JSON/YAML: the file's own top-level province


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while many small acyclic objects are built.

    A 200,000-row file becomes millions of dicts and strings with no cycles; the collector
    would otherwise rescan the growing heap again and again (a third of the time).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def load_file(path: str | Path, default_province: str | None = None) -> LoadedFile:
    """Read every school and county record in ``path``; raise :class:`InputError` if unreadable."""
    with paused_gc():
        return _load_file(path, default_province)


def _load_file(path: str | Path, default_province: str | None) -> LoadedFile:
    name = str(path)
    p = Path(path)
    suffix = p.suffix.lower()
    fmt = FORMATS_BY_SUFFIX.get(suffix)
    if suffix and fmt is None:
        if suffix == ".xls":
            raise InputError(name, "old Excel .xls files are not supported; save the workbook as .xlsx")
        raise InputError(name, f"unsupported file type '{p.suffix}' (expected {_EXPECTED})")
    if not p.exists():
        raise InputError(name, "file not found")
    if p.is_dir():
        raise InputError(name, "is a directory, not a file")
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise InputError(name, f"cannot read the file ({exc.strerror or exc})") from None

    if _is_empty(raw):
        raise InputError(name, "the file is empty")
    _reject_binary(name, raw)
    is_zip = raw.startswith(_ZIP_MAGIC)
    if fmt is None:                                   # no extension: sniff
        fmt = "xlsx" if is_zip else _sniff_text_format(raw)
    elif fmt == "csv" and is_zip:                     # a workbook saved under .csv
        fmt = "xlsx"
    if fmt == "xlsx":
        if not is_zip:
            raise InputError(name, "this is not an XLSX workbook (an .xlsx file is a zip archive)")
        loaded = _load_xlsx(name, raw)
    else:
        if is_zip:
            raise InputError(name, "this looks like a binary file (a zip archive), not CSV/XLSX/JSON")
        text, encoding = _decode(name, raw)
        if fmt == "csv":
            loaded = _load_csv(name, text, _utf8(text, raw, encoding))
        elif fmt == "json":
            loaded = _load_json(name, text)
        elif fmt == "ndjson":
            loaded = _load_ndjson(name, text)
        else:
            loaded = _load_yaml(name, text)
        loaded.encoding = encoding

    province = loaded.province or default_province
    if province:
        if isinstance(loaded.rows, Rows):
            loaded.rows.fill_province(province)
        else:
            _fill_province(loaded.rows, province)
        _fill_province(loaded.county_rows, province)
    return loaded


# --- bytes ----------------------------------------------------------------------------

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


def _reject_binary(name: str, raw: bytes) -> None:
    head = raw[:_SNIFF_BYTES]
    for magic, what in _BINARY_MAGIC:
        if head.startswith(magic):
            raise InputError(name, f"this looks like a binary file ({what}), not CSV/XLSX/JSON")
    if head.startswith(_OLE_MAGIC):
        raise InputError(name, "this looks like an old Excel .xls (or other Office) file; "
                               "save the workbook as .xlsx")
    if not head.startswith(_ZIP_MAGIC) and not _has_utf16_bom(head) and b"\x00" in head:
        raise InputError(name, "this looks like a binary file, not CSV/XLSX/JSON")


def _sniff_text_format(raw: bytes) -> str:
    start = raw.lstrip(codecs.BOM_UTF8 + b" \t\r\n")[:1]
    return "json" if start in (b"[", b"{") else "csv"


def _utf8(text: str, raw: bytes, encoding: str) -> bytes | None:
    """The decoded text as UTF-8 bytes without a BOM (the file's own bytes when it is UTF-8)."""
    if encoding == "utf-8":
        return raw
    if encoding == "utf-8-sig":
        return raw[len(codecs.BOM_UTF8):]
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return None


def _decode(name: str, raw: bytes) -> tuple[str, str]:
    """Decode strictly: UTF-16 (by BOM), else UTF-8 (BOM optional), else GB18030/GBK."""
    if _has_utf16_bom(raw):
        try:
            return raw.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as exc:
            raise InputError(name, f"cannot decode as UTF-16 (byte 0x{raw[exc.start]:02x} "
                                   f"at offset {exc.start})") from None
    try:
        return raw.decode("utf-8-sig"), ("utf-8-sig" if raw.startswith(codecs.BOM_UTF8) else "utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("gb18030"), "gb18030"
    except UnicodeDecodeError as exc:
        raise InputError(name, f"cannot decode as UTF-8 or GB18030/GBK (byte 0x{raw[exc.start]:02x} "
                               f"at offset {exc.start})") from None


# --- tables (CSV and XLSX) ------------------------------------------------------------

def _column_letter(j: int) -> str:
    """Spreadsheet column name of 0-based column ``j`` (0 → A, 26 → AA)."""
    letters = ""
    j += 1
    while j:
        j, rem = divmod(j - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _cell(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def _header_names(name: str, header: Sequence[Any]) -> list[str | None]:
    """Field name per column; ``None`` for a blank header (named later if it has data)."""
    names: list[str | None] = []
    seen: dict[str, int] = {}
    for j, h in enumerate(header):
        h = _cell(h)
        if h is None:
            names.append(None)
            continue
        fname = header_to_field(h)
        if fname is None:
            fname = str(h)
            if fname in seen:
                fname = f"{fname} (column {_column_letter(j)})"
        elif fname in seen:
            raise InputError(name, f"columns {_column_letter(seen[fname])} and {_column_letter(j)} "
                                   f"both give {label(fname)} ({fname})")
        seen[fname] = j
        names.append(fname)
    return names


def _find_header(rows: Iterator[tuple[int, Sequence[Any]]]) -> tuple[list[tuple[int, Sequence[Any]]], int]:
    """Buffer the first non-blank rows; return them and the index of the header among them."""
    buffered: list[tuple[int, Sequence[Any]]] = []
    for number, cells in rows:
        if any(_cell(c) is not None for c in cells):
            buffered.append((number, cells))
            if len(buffered) >= _HEADER_SEARCH_ROWS:
                break
    for k, (_, cells) in enumerate(buffered):
        known = sum(1 for c in cells if _cell(c) is not None and header_to_field(c) is not None)
        if known >= 2:
            return buffered, k
    return buffered, 0


def _clean_text_row(cells: Sequence[Any]) -> list[Any]:
    return [c.strip() or None for c in cells]          # CSV: every cell is a str


def _clean_plain_row(cells: Sequence[Any]) -> list[Any]:
    return [c or None for c in cells]                  # CSV whose cells cannot hold whitespace


#: Whitespace other than line ends: if a CSV file has none (and no quotes), no cell needs stripping.
_INNER_SPACE = re.compile(r"[^\S\r\n]")


def _clean_row(cells: Sequence[Any]) -> list[Any]:
    return [_cell(c) for c in cells]


def _table_rows(name: str, file_label: str, rows: Iterable[tuple[int, Sequence[Any]]],
                all_county: bool = False, all_text: bool = False, plain: bool = False,
                columns: bool = False) -> tuple[list[RawRow] | CsvColumns, list[RawRow]] | None:
    """Turn numbered rows of cells (header first) into school and county RawRows.

    ``None`` when there is not even a header (every row blank). ``all_text``: every cell is a
    str (CSV); ``plain``: besides, no cell has whitespace to strip. ``columns``: give the school
    rows as :class:`~edubalance.csv_columns.ListColumns` when every row has the header's width.
    """
    it = iter(rows)
    buffered, k = _find_header(it)
    if not buffered:
        return None
    names = _header_names(name, buffered[k][1])
    width = len(names)
    clean = (_clean_plain_row if plain else _clean_text_row) if all_text else _clean_row

    def body() -> Iterator[tuple[int, Sequence[Any]]]:
        yield from buffered[k + 1:]
        yield from it

    numbered: list[tuple[int, list[Any]]] = []
    unused = set(range(width))          # columns with no value so far: soon only the empty ones
    for number, cells in body():
        values = clean(cells)
        n = len(values)
        if n > width:
            if any(v is not None for v in values[width:]):
                unused.update(range(width, n))
                names.extend([None] * (n - width))
                width = n
            else:
                del values[width:]
                n = width
        if values.count(None) == n:
            continue                    # a blank row
        if unused:
            for j in [j for j in unused if j < n and values[j] is not None]:
                unused.discard(j)
        numbered.append((number, values))

    keep = [(j, names[j] if names[j] is not None else f"(column {_column_letter(j)})")
            for j in range(width) if j not in unused]
    keep_names = [fname for _, fname in keep]
    pick = itemgetter(*[j for j, _ in keep]) if len(keep) > 1 else None
    county_cols = [f for f in keep_names if f in COUNTY_ONLY_FIELDS]
    if columns and all(len(values) == width for _, values in numbered):
        return _as_columns(file_label, numbered, keep, all_county)
    out_rows: list[RawRow] = []
    out_county: list[RawRow] = []
    for number, values in numbered:
        if pick is not None and len(values) == width:
            data = dict(zip(keep_names, pick(values)))
        else:
            n = len(values)
            data = {fname: (values[j] if j < n else None) for j, fname in keep}
        row = RawRow(file_label, number, data)
        if all_county or (county_cols and data.get("school_id") is None
                          and any(data[f] is not None for f in county_cols)):
            out_county.append(row)
        else:
            out_rows.append(row)
    return out_rows, out_county


def _as_columns(file_label: str, numbered: list[tuple[int, list[Any]]], keep: list[tuple[int, str]],
                all_county: bool) -> tuple[list[RawRow] | CsvColumns, list[RawRow]]:
    """:func:`_table_rows`' result with the school rows as columns (rows of full width only)."""
    from .csv_columns import ListColumns

    names = [fname for _, fname in keep]
    sid = next((j for j, fname in keep if fname == "school_id"), None)
    county_js = [j for j, fname in keep if fname in COUNTY_ONLY_FIELDS]
    schools: list[list[Any]] = []
    numbers: list[int] = []
    county: list[RawRow] = []
    for number, values in numbered:
        if all_county or (county_js and (sid is None or values[sid] is None)
                          and any(values[j] is not None for j in county_js)):
            county.append(RawRow(file_label, number, {fname: values[j] for j, fname in keep}))
        else:
            schools.append(values)
            numbers.append(number)
    if not schools:
        return [], county
    cols = [[values[j] for values in schools] for j, _ in keep]
    return ListColumns(file_label, numbers, names, cols), county


def _is_county(data: dict[str, Any]) -> bool:
    if data.get("school_id") not in (None, ""):
        return False
    return any(data.get(f) not in (None, "") for f in COUNTY_ONLY_FIELDS)


def _sniff_delimiter(text: str) -> str:
    head = text[:20000].splitlines()[:_HEADER_SEARCH_ROWS]
    counts = {d: sum(line.count(d) for line in head) for d in _DELIMITERS}
    return max(_DELIMITERS, key=counts.__getitem__) if any(counts.values()) else ","


def _load_csv(name: str, text: str, data: bytes | None = None) -> LoadedFile:
    """``data``: the text as UTF-8 bytes. A file without quotes is then read straight into
    columns of byte offsets (:func:`~edubalance.csv_columns.read_unquoted`); any other (or one
    that reader leaves alone) is read by the csv module, its school rows kept as columns when
    every row has the header's width."""
    delimiter = _sniff_delimiter(text)
    if data is not None and b'"' not in data:
        from .csv_columns import Empty, read_unquoted
        try:
            columns = read_unquoted(name, text, data, delimiter)
        except Empty:
            raise InputError(name, "the file is empty") from None
        if columns is not None:
            block, county = columns
            return LoadedFile(name, "csv", Rows([block]) if block is not None else [], county)
    return _read_csv(name, text, delimiter, columns=True)


def _read_csv(name: str, text: str, delimiter: str, columns: bool = False) -> LoadedFile:
    """The row reader: every cell through the csv module (``columns``: see :func:`_table_rows`)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    plain = '"' not in text and _INNER_SPACE.search(text) is None
    try:
        found = _table_rows(name, name, enumerate(reader, start=1), all_text=True, plain=plain, columns=columns)
    except csv.Error as exc:
        raise InputError(name, f"not valid CSV at line {reader.line_num}: {exc}") from None
    if found is None:
        raise InputError(name, "the file is empty")
    rows, county = found
    return LoadedFile(name, "csv", rows if isinstance(rows, list) else Rows([rows]), county)


_COUNTY_SHEET = re.compile(r"^(county|counties|县|县级|县域|县区)")


def _is_county_sheet(title: str) -> bool:
    t = unicodedata.normalize("NFKC", title).strip().lower()
    return bool(_COUNTY_SHEET.match(t)) and "school" not in t and "学校" not in t


def _load_xlsx(name: str, raw: bytes) -> LoadedFile:
    import openpyxl   # imported here: only XLSX input pays for it

    try:
        wb = openpyxl.load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged file
        raise InputError(name, f"not a readable XLSX workbook ({type(exc).__name__}: {exc})") from None
    try:
        sheets = list(wb.worksheets)
        county_sheets = [ws for ws in sheets if _is_county_sheet(ws.title)]
        school_sheets = [ws for ws in sheets if ws not in county_sheets]
        rows: list[RawRow] = []
        county: list[RawRow] = []
        found_any = False
        if school_sheets:
            found = _table_rows(name, name, _sheet_rows(school_sheets[0]))
            if found is not None:
                rows, county = found
                found_any = True
        for ws in county_sheets[:1]:
            found = _table_rows(name, f"{name}#{ws.title}", _sheet_rows(ws), all_county=True)
            if found is not None:
                county.extend(found[1])
                found_any = True
        if not found_any:
            raise InputError(name, "the workbook is empty (no header row on its first sheet)")
    except InputError:
        raise
    except Exception as exc:
        raise InputError(name, f"not a readable XLSX workbook ({type(exc).__name__}: {exc})") from None
    finally:
        wb.close()
    return LoadedFile(name, "xlsx", rows, county)


def _sheet_rows(ws: Any) -> Iterator[tuple[int, Sequence[Any]]]:
    # Dimensions written by other programs are often wrong; read what is there.
    ws.reset_dimensions()
    return enumerate(ws.iter_rows(values_only=True), start=1)


# --- documents (JSON, NDJSON, YAML) ----------------------------------------------------

def _record(name: str, where: str, item: Any) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise InputError(name, f"{where} is {_json_kind(item)}, not an object (a record)")
    data: dict[str, Any] = {}
    for key, value in item.items():
        if key in _PROVENANCE:
            continue
        fname = header_to_field(key) or str(key)
        if fname in data:
            raise InputError(name, f"{where} gives {label(fname)} ({fname}) twice")
        data[fname] = _cell(value)
    return data


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return f"a {type(value).__name__}"


def _drop_empty_keys(rows: list[RawRow]) -> None:
    used: set[str] = set()
    for r in rows:
        used.update(k for k, v in r.data.items() if v is not None)
    for r in rows:
        if any(k not in used for k in r.data):
            r.data = {k: v for k, v in r.data.items() if k in used}


def _from_document(name: str, fmt: str, doc: Any) -> LoadedFile:
    """Records from a parsed JSON/YAML document (an array, or an object with records)."""
    province = None
    if isinstance(doc, list):
        records, counties = doc, []
    elif isinstance(doc, dict) and ("records" in doc or "counties" in doc):
        unknown = sorted(str(k) for k in doc if k not in ("records", "counties", "province"))
        if unknown:
            raise InputError(name, f"unexpected top-level key(s) {', '.join(unknown)} "
                                   "(expected records, counties, province)")
        records, counties = doc.get("records") or [], doc.get("counties") or []
        province = doc.get("province")
        for key, value in (("records", records), ("counties", counties)):
            if not isinstance(value, list):
                raise InputError(name, f"'{key}' is {_json_kind(value)}, not an array")
    else:
        raise InputError(name, f"expected an array of records or an object with 'records', "
                               f"found {_json_kind(doc)}")
    loaded = LoadedFile(name, fmt)
    for i, item in enumerate(records, start=1):
        data = _record(name, f"record {i}", item)
        (loaded.county_rows if _is_county(data) else loaded.rows).append(RawRow(name, i, data))
    for i, item in enumerate(counties, start=1):
        loaded.county_rows.append(RawRow(name, i, _record(name, f"county record {i}", item)))
    _drop_empty_keys(loaded.rows)
    _drop_empty_keys(loaded.county_rows)
    if province is not None:
        loaded.province = str(province).strip() or None
    return loaded


def _load_json(name: str, text: str) -> LoadedFile:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data":          # several documents: maybe NDJSON under .json
            try:
                return _load_ndjson(name, text)
            except InputError:
                pass
        raise InputError(name, f"not valid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    return _from_document(name, "json", doc)


def _load_ndjson(name: str, text: str) -> LoadedFile:
    loaded = LoadedFile(name, "ndjson")
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(name, f"not valid JSON at line {lineno} column {exc.colno}: {exc.msg}") from None
        data = _record(name, f"line {lineno}", item)
        (loaded.county_rows if _is_county(data) else loaded.rows).append(RawRow(name, lineno, data))
    _drop_empty_keys(loaded.rows)
    _drop_empty_keys(loaded.county_rows)
    return loaded


def _load_yaml(name: str, text: str) -> LoadedFile:
    import yaml

    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
        raise InputError(name, f"not valid YAML{where}: {problem}") from None
    if doc is None:
        raise InputError(name, "the file is empty")
    return _from_document(name, "yaml", doc)
