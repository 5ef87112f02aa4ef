"""What the JSON, NDJSON and YAML readers share: nesting limit, numbers kept as text, and the
document shapes (an array of records, or an object with records, counties and province)."""
from __future__ import annotations

import json
from typing import Any

from ..limits import LIMITS, limit_message
from ..loading import (InputError, LoadedFile, NumberText, concat, drop_empty, fill_province, json_kind,
                       records_frame, settle_document, split_county)


def check_depth(name: str, text: str) -> None:
    """Refuse brackets nested deeper than the limit (a cheap scan that ignores strings'
    content only roughly: a bracket inside a string can only make it stricter)."""
    depth = deepest = 0
    for ch in text:
        if ch in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > LIMITS.max_depth + 2:
                    raise InputError(name, limit_message("max_depth"))
        elif ch in "]}":
            depth -= 1


def parse(text: str) -> Any:
    """``json.loads`` keeping every number as its text."""
    return json.loads(text, parse_int=NumberText, parse_float=NumberText, parse_constant=NumberText)


def from_document(name: str, fmt: str, doc: Any) -> LoadedFile:
    """Records from a parsed JSON/YAML document (an array, or an object with records)."""
    province = None
    if isinstance(doc, list):
        records, counties = doc, []
    elif isinstance(doc, dict) and ("records" in doc or "counties" in doc):
        unknown = sorted(str(k) for k in doc if k not in ("records", "counties", "province"))
        if unknown:
            raise InputError(name, f"未知的顶层键 / unexpected top-level key(s) {', '.join(unknown)} "
                                   "(expected records, counties, province)")
        records, counties = doc.get("records") or [], doc.get("counties") or []
        province = doc.get("province")
        for key, value in (("records", records), ("counties", counties)):
            if not isinstance(value, list):
                raise InputError(name, f"'{key}' 不是数组 / '{key}' is {json_kind(value)}, not an array")
    else:
        raise InputError(name, f"应为记录数组或含 records 的对象 / expected an array of records or an object "
                               f"with 'records', found {json_kind(doc)}")
    frame, notices = settle_document(name, records_frame(
        name, ((i, f"record {i}", item) for i, item in enumerate(records, start=1))))
    schools, county = split_county(frame)
    if counties:
        more, more_notices = settle_document(name, records_frame(
            name, ((i, f"county record {i}", item) for i, item in enumerate(counties, start=1))))
        county = concat([county, more])
        notices += more_notices
    province = str(province).strip() or None if province is not None else None
    return LoadedFile(name, fmt, drop_empty(schools), drop_empty(county), province=province,
                      notices=notices)


def finish(loaded: LoadedFile, default_province: str | None, encoding: str) -> LoadedFile:
    province = loaded.province or default_province
    loaded.frame = fill_province(loaded.frame, province)
    loaded.county = fill_province(loaded.county, province)
    loaded.encoding = encoding
    return loaded
