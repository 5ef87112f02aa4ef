"""JSON: an array of records, or an object ``{"records": [...], "counties": [...], "province": ...}``.

Numbers are kept as the text they were written in (no number is too large to read, and none
changes on the way), NaN and Infinity too; nesting deeper than the limit is refused before
parsing. A ``.json`` file holding one object per line is read as NDJSON.
"""
from __future__ import annotations

import json

from ..loading import InputError, LoadedFile, read_text
from . import ndjson
from .documents import check_depth, finish, from_document, parse


def read(name: str, fmt: str, default_province: str | None) -> LoadedFile:
    """Read a JSON document into school and county frames."""
    text, encoding = read_text(name)
    check_depth(name, text)
    try:
        doc = parse(text)
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data":          # several documents: maybe NDJSON under .json
            try:
                return finish(ndjson.from_text(name, text), default_province, encoding)
            except InputError:
                pass
        raise InputError(name, f"不是有效的 JSON / not valid JSON at line {exc.lineno} column {exc.colno}: "
                               f"{exc.msg}") from None
    return finish(from_document(name, "json", doc), default_province, encoding)
