"""CSV (and tab/semicolon/pipe separated text) through polars' CSV reader.

The encoding is decided once, over the whole file (:func:`edubalance.loading.decode`). A UTF-8
file goes to polars as it is (only its start is decoded, to find the delimiter and the header);
UTF-16 (by BOM) and GB18030/GBK are decoded and handed to polars as UTF-8. The delimiter is the most
frequent of ``, \\t ; |`` on the first lines. Every cell is
read as text, blank lines included (they keep the row numbers a spreadsheet shows).
"""
from __future__ import annotations

import codecs
import re

import numpy as np
import polars as pl

from ..limits import LIMITS, limit_message
from ..loading import (InputError, LoadedFile, check_cell_chars, decode, fill_province, read_bytes,
                       refuse_control_bytes)
from .tables import HEADER_SEARCH_ROWS, table_frames

DELIMITERS = (",", "\t", ";", "|")
#: The characters of a file's start that the delimiter and the header are looked for in.
HEAD_CHARS = 20000
#: White space found at a cell's edge in real exports (space, tab, U+3000): a file
#: holding none has no cell to strip at loading (rarer spaces are stripped by coercion's NFKC).
#: U+3000 is looked for by a compiled pattern (its literal search is faster than ``in``'s).
_IDEOGRAPHIC_SPACE = re.compile("\u3000".encode())


def sniff_delimiter(text: str) -> str:
    head = text[:HEAD_CHARS].splitlines()[:HEADER_SEARCH_ROWS]
    counts = {d: sum(line.count(d) for line in head) for d in DELIMITERS}
    return max(DELIMITERS, key=counts.__getitem__) if any(counts.values()) else ","


def _widest(data: bytes, delimiter: bytes) -> tuple[int, int]:
    """(most cells on one line, longest line in bytes), counted over the bytes at once."""
    arr = np.frombuffer(data, dtype=np.uint8)
    ends = np.flatnonzero(arr == 10)
    ends = np.append(ends, len(arr))
    delims = np.flatnonzero(arr == delimiter[0])
    per_line = np.diff(np.searchsorted(delims, ends), prepend=0)
    lengths = np.diff(ends, prepend=-1)
    if data.startswith(codecs.BOM_UTF8):
        lengths[0] -= len(codecs.BOM_UTF8)
    return int(per_line.max()) + 1, int(lengths.max())


def _polars(data: bytes, delimiter: str, width: int, ragged: bool) -> pl.DataFrame:
    return pl.read_csv(data, separator=delimiter, has_header=False, truncate_ragged_lines=ragged, quote_char='"',
                       schema={f"c{j}": pl.String for j in range(width)}, missing_columns="insert")


def read_csv(name: str, text: str, data: bytes) -> pl.DataFrame:
    """Every cell as text, one row per record (blank lines too), as wide as the widest line.

    ``data`` is the file as UTF-8 bytes (the file itself when it is UTF-8, BOM included), ``text`` at least its
    first :data:`HEAD_CHARS` characters. The width of the
    first lines is tried first; a longer line later makes polars refuse, and the file is read
    again as wide as its widest line."""
    delimiter = sniff_delimiter(text)
    head = text[:HEAD_CHARS].splitlines()[:HEADER_SEARCH_ROWS * 5]
    try:
        raw = _polars(data, delimiter, max(line.count(delimiter) for line in head) + 1, ragged=False)
    except pl.exceptions.PolarsError:
        width, longest = _widest(data, delimiter.encode())
        if longest > LIMITS.max_cell_chars * width + width:
            raise InputError(name, limit_message("max_cell_chars", where=f"line of {longest} bytes")) from None
        try:
            raw = _polars(data, delimiter, width, ragged=True)
        except pl.exceptions.PolarsError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise InputError(name, f"不是有效的 CSV / not valid CSV: {first}") from None
    if len(data) > LIMITS.max_cell_chars:
        check_cell_chars(name, raw)
    return raw


def _without_eof_mark(raw: bytes) -> bytes:
    """``raw`` without the end-of-file mark old DOS programs write (Ctrl-Z): one byte in UTF-8
    and GBK, two in UTF-16."""
    mark = {codecs.BOM_UTF16_LE: b"\x1a\x00", codecs.BOM_UTF16_BE: b"\x00\x1a"}.get(raw[:2], b"\x1a")
    return raw[:-len(mark)] if raw.endswith(mark) and len(raw) % len(mark) == 0 else raw


def read(name: str, fmt: str, default_province: str | None) -> LoadedFile:
    """Read a CSV file into school and county frames."""
    raw = _without_eof_mark(read_bytes(name))
    text, encoding = decode(name, raw, head=HEAD_CHARS)        # UTF-8: the head only, polars reads the bytes
    # polars skips a UTF-8 BOM itself; a decoded file lives on only as its UTF-8 bytes (with the
    # whole text and the original bytes beside them, a large GB18030 file took three times its size)
    data = raw if encoding.startswith("utf-8") else text.encode("utf-8")
    del raw
    refuse_control_bytes(name, data)
    text = text[:HEAD_CHARS]
    cells = read_csv(name, text, data)
    found = table_frames(name, name, cells, need_header=encoding == "gb18030",
                         strip=b" " in data or b"\t" in data or _IDEOGRAPHIC_SPACE.search(data) is not None)
    if found is None:
        raise InputError(name, "文件为空 / the file is empty")
    return LoadedFile(name, "csv", fill_province(found.schools, default_province),
                      fill_province(found.county, default_province), encoding=encoding,
                      notices=found.notices, skipped=found.skipped)
