"""NDJSON (``.ndjson``/``.jsonl``): one object per line, blank lines ignored.

Lines are split on ``\\n`` only: U+2028 or U+0085 inside a string are characters of the
record, not line ends.
"""
from __future__ import annotations

import json

from ..hookspecs import hookimpl
from ..loading import (InputError, LoadedFile, drop_empty, read_text, records_frame,
                       split_county)
from .documents import check_depth, finish, parse


def from_text(name: str, text: str) -> LoadedFile:
    items = []
    for lineno, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        check_depth(name, line)
        try:
            items.append((lineno, f"line {lineno}", parse(line)))
        except json.JSONDecodeError as exc:
            raise InputError(name, f"不是有效的 JSON / not valid JSON at line {lineno} column {exc.colno}: "
                                   f"{exc.msg}") from None
    schools, county = split_county(records_frame(name, items))
    return LoadedFile(name, "ndjson", drop_empty(schools), drop_empty(county))


@hookimpl(trylast=True)
def edubalance_load_file(path, default_province):
    """Read NDJSON into school and county frames."""
    found = read_text(path, "ndjson")
    if found is None:
        return None
    name, text, encoding = found
    return finish(from_text(name, text), default_province, encoding)
