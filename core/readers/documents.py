"""What the JSON, NDJSON and YAML readers share: nesting limit, numbers kept as text, and the
document shapes (an array of records, or an object with records, counties and province)."""
from __future__ import annotations

import json
from typing import Any, Iterable

import polars as pl

from ..limits import LIMITS, limit_message
from ..loading import (InputError, LoadedFile, NumberText, check_cell_chars, concat, fill_province, header_names,
                       json_kind, note_notice, records_frame, settle_columns, split_county)
from ..problems import Problem


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


def settled_records(name: str, items: Iterable[tuple[int, str, Any]]) -> tuple[pl.DataFrame, list[Problem]]:
    """Records ``(row number, where, object)`` as one frame, their keys read as a table's
    headers are (:func:`~edubalance.loading.settle_columns`): a key in another unit converted,
    keys no field names dropped with one W401, a key whose note says it may hold something else
    than its field told (W406)."""
    given: list[Any] = []
    frame = records_frame(name, items, keys=given)
    check_cell_chars(name, frame)
    keys = [c for c in frame.columns if not c.startswith("_")]
    columns = [(c, fname, c, ("键", "key")) for c, fname in zip(keys, header_names(name, keys))]
    frame, notices = settle_columns(name, frame, columns, name)
    noted = [note_notice(key, name, ("键", "key")) for key in given]
    return frame, [n for n in noted if n is not None] + notices


def drop_empty(frame: pl.DataFrame) -> pl.DataFrame:
    """The frame without the field columns that are empty in every row."""
    names = [c for c in frame.columns if not c.startswith("_")]
    if not names or frame.height == 0:
        return frame.select([c for c in frame.columns if c.startswith("_")])
    used = frame.select(pl.col(names).is_not_null().any()).row(0)
    return frame.drop([c for c, u in zip(names, used) if not u])


def from_document(name: str, fmt: str, doc: Any) -> LoadedFile:
    """Records from a parsed JSON/YAML document (an array, or an object with records)."""
    province = None
    counties: list[Any]
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
    frame, notices = settled_records(name, ((i, f"record {i}", item) for i, item in enumerate(records, start=1)))
    schools, county = split_county(frame)
    if counties:
        more, more_notices = settled_records(name, ((i, f"county record {i}", item)
                                                    for i, item in enumerate(counties, start=1)))
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
