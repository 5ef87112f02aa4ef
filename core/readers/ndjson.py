"""NDJSON (``.ndjson``/``.jsonl``): one object per line, blank lines ignored.

Lines are split on ``\\n`` only: U+2028 or U+0085 inside a string are characters of the
record, not line ends.
"""
from __future__ import annotations

import json

from ..hookspecs import hookimpl
from ..loading import (InputError, LoadedFile, decode, detect_format, drop_empty, read_bytes, records_frame,
                       split_county)


def from_text(name: str, text: str) -> LoadedFile:
    from .jsonfile import check_depth, parse

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
    if detect_format(path) != "ndjson":
        return None
    from .jsonfile import finish

    name = str(path)
    text, encoding = decode(name, read_bytes(name))
    return finish(from_text(name, text), default_province, encoding)
