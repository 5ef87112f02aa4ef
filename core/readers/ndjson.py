"""NDJSON (``.ndjson``/``.jsonl``): one object per line, blank lines ignored.

Lines are split on ``\\n`` only: U+2028 or U+0085 inside a string are characters of the
record, not line ends.
"""
from __future__ import annotations

import json

from ..loading import InputError, LoadedFile, read_text, split_county
from .documents import check_depth, drop_empty, finish, parse, settled_records


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
    frame, notices = settled_records(name, items)
    schools, county = split_county(frame)
    return LoadedFile(name, "ndjson", drop_empty(schools), drop_empty(county), notices=notices)


def read(name: str, fmt: str, default_province: str | None) -> LoadedFile:
    """Read NDJSON into school and county frames."""
    text, encoding = read_text(name)
    return finish(from_text(name, text), default_province, encoding)
