"""CSV (and tab/semicolon/pipe separated text) through polars' CSV reader.

The bytes are decoded first (UTF-16 by BOM, UTF-8, else GB18030/GBK) and handed to polars as
UTF-8; the delimiter is the most frequent of ``, \\t ; |`` on the first lines. Every cell is
read as text, blank lines included (they keep the row numbers a spreadsheet shows).
"""
from __future__ import annotations

import polars as pl

from ..hookspecs import hookimpl
from ..limits import LIMITS, limit_message
from ..loading import (HEADER_SEARCH_ROWS, InputError, LoadedFile, decode, detect_format, fill_province,
                       read_bytes, table_frames)

DELIMITERS = (",", "\t", ";", "|")


def sniff_delimiter(text: str) -> str:
    head = text[:20000].splitlines()[:HEADER_SEARCH_ROWS]
    counts = {d: sum(line.count(d) for line in head) for d in DELIMITERS}
    return max(DELIMITERS, key=counts.__getitem__) if any(counts.values()) else ","


def read_csv(name: str, text: str) -> pl.DataFrame:
    """Every cell as text, one row per record (blank lines too), as wide as the widest line."""
    delimiter = sniff_delimiter(text)
    data = text.encode("utf-8")
    lines = data.split(b"\n")
    width = max(line.count(delimiter.encode()) for line in lines) + 1
    longest = max(map(len, lines))
    if longest > LIMITS.max_cell_chars * width + width:
        raise InputError(name, limit_message("max_cell_chars", where=f"line of {longest} bytes"))
    # The first line names every column, so that a title row narrower than the table is fine.
    names = [f"c{j}" for j in range(width)]
    padded = delimiter.join(names).encode() + b"\n" + data
    try:
        raw = pl.read_csv(padded, separator=delimiter, has_header=True, infer_schema=False,
                          truncate_ragged_lines=True, quote_char='"')
    except pl.exceptions.PolarsError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(name, f"不是有效的 CSV / not valid CSV: {first}") from None
    if raw.height:
        too_long = raw.select(pl.max_horizontal(pl.all().str.len_chars().max())).item()
        if too_long is not None and too_long > LIMITS.max_cell_chars:
            raise InputError(name, limit_message("max_cell_chars", where=f"a cell of {too_long} characters"))
    return raw


@hookimpl(trylast=True)
def edubalance_load_file(path, default_province):
    """Read a CSV file into school and county frames."""
    if detect_format(path) != "csv":
        return None
    name = str(path)
    text, encoding = decode(name, read_bytes(name))
    if text.startswith("\ufeff"):
        text = text[1:]
    found = table_frames(name, name, read_csv(name, text))
    if found is None:
        raise InputError(name, "文件为空 / the file is empty")
    schools, county = found
    return LoadedFile(name, "csv", fill_province(schools, default_province),
                      fill_province(county, default_province), encoding=encoding)
