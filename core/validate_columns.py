"""Validate a CSV file held as columns: the same verdicts as row by row, in array operations.

:func:`edubalance.validation.validate` hands every :class:`~edubalance.csv_columns.CsvColumns`
block here. Per column, each cell is converted by the field's own coercer — a column of plain
numbers all at once (:meth:`~edubalance.csv_columns.CsvColumns.plain_numbers`), every other
distinct cell once — and checked by the field's fast check (as an array comparison where the
check is only bounds or lengths). A row is then *slow* when anything about it is not certainly
fine: a cell that would not convert or fails its check, an unknown column with a value, a
required field missing, a province missing or unknown. Slow rows go through the row path
(:func:`edubalance.validation._school_row`), which lets the JSON Schema decide, so a verdict
can never depend on this module. The other rows need only the cross-field checks, compared
as columns, and the duplicate check, done by sorting one integer per identity; rows either
picks out get their problems from the row path's own functions.

If the row path ever judges a slow row's identity otherwise than the columns did (it cannot
with the shipped schemas; the tests force it to), the block is done again row by row, so the
result stays the row path's.
"""
from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .csv_columns import CsvColumns
from .loading import RawRow
from .validation import (
    _PROVENANCE, CROSS_CHECKED, RecordChecker, Rejected, ValidationResult, _add_duplicate, _Bad,
    _cross_checks, _ident, _RowProblems, _school_key, _school_row, _Seen, _validate_row,
    fast_check_array, text_lengths, text_unchanged,
)

_KINDS = {"integer": "int", "number": "float", "boolean": "bool"}
#: Above this many distinct texts in a column, a field whose coercer leaves text unchanged is
#: checked without converting each distinct value (school ids, names).
_MANY = 2048


class _Mismatch(Exception):
    """The row path judged a slow row's identity fields otherwise than the columns did."""


@dataclass
class _Column:
    """One field's converted column. ``values``: float64 (NaN: no value) or objects (None)."""

    name: str
    kind: str                                  # int, float, bool, str
    values: np.ndarray
    have: np.ndarray                           # the record holds a value (present, converted)
    bad: np.ndarray                            # present but would not convert
    fail: np.ndarray                           # converted, but the fast check fails (or is none)
    codes: np.ndarray | None = None            # text columns: index into ``distinct``
    distinct: list[Any] = field(default_factory=list)
    huge: np.ndarray | None = None             # integers a float cannot hold exactly


def validate_block(block: CsvColumns, checker: RecordChecker, default_province: str | None,
                   known: frozenset[str] | None, seen: _Seen, result: ValidationResult,
                   memo: dict[str, Any]) -> None:
    """Judge every row of ``block``, appending to ``result`` exactly what the row path would."""
    marks = (len(result.problems), len(result.rejected))
    try:
        if not checker.fast_enabled:
            raise _Mismatch()
        _validate_block(block, checker, default_province, known, seen, result, memo)
    except _Mismatch:
        del result.problems[marks[0]:]
        del result.rejected[marks[1]:]
        for row in block.rows():
            _validate_row(checker, row, default_province, known, memo, seen, result)


def _validate_block(block: CsvColumns, checker: RecordChecker, default_province: str | None,
                    known: frozenset[str] | None, seen: _Seen, result: ValidationResult,
                    memo: dict[str, Any]) -> None:
    n = block.n
    slow = np.zeros(n, dtype=bool)
    cols: dict[str, _Column] = {}
    order: list[str] = []
    for k, name in enumerate(block.names):
        if name in _PROVENANCE:
            continue
        spec = checker.props.get(name)
        if spec is None:
            slow |= block.present(k)          # E106: the schema reports it
            continue
        col = _convert(block, k, name, spec, checker)
        slow |= col.bad | col.fail
        if col.huge is not None:
            slow |= col.huge
        cols[name] = col
        order.append(name)

    defaulted = _province(cols, checker, default_province, known, slow, n)
    for name in checker.required:
        col = cols.get(name)
        slow |= ~col.have if col is not None else True

    flagged = np.zeros(n, dtype=bool)
    for a, b in CROSS_CHECKED:
        if a in cols and b in cols and cols[a].kind != "str" and cols[b].kind != "str":
            flagged |= cols[a].values > cols[b].values      # NaN (no value) compares False

    key_ok, firsts, block_first = _duplicates(block, cols, seen)

    rejected = np.zeros(n, dtype=bool)
    own: dict[int, dict[str, Any]] = {}
    special = slow | flagged
    special[list(firsts)] = True
    numbers = block.numbers
    rows = np.flatnonzero(special)
    records = iter(_records(cols, rows[~slow[rows]]))
    for i in rows.tolist():
        if slow[i]:
            row = block.row(i)
            record, rp = _school_row(checker, row, default_province, known, memo)
            key = _school_key(record, rp)
            if (key is not None) != bool(key_ok[i]) or key is not None and key != _key_of(cols, i):
                raise _Mismatch()
            if key is not None and i in firsts:
                _add_duplicate(rp, record, firsts[i])
        else:
            record = next(records)
            row = RawRow(block.file, int(numbers[i]), {})
            rp = _RowProblems(row, _ident(record, "school_id"))
            _cross_checks(record, rp)
            if i in firsts:
                _add_duplicate(rp, record, firsts[i])
            if rp.has_error:
                row = block.row(i)
        result.problems.extend(rp.items)
        if rp.has_error:
            rejected[i] = True
            result.rejected.append(Rejected(row.file, row.row, rp.ident, _ident(row.data, "school_name"),
                                            rp.items, row.data))
        elif slow[i]:
            record["_file"] = row.file
            record["_row"] = row.row
            own[i] = record

    seen.add_block(block_first, block.file, numbers)
    _accept(block, cols, order, ~rejected, defaulted, own, result)


def _convert(block: CsvColumns, k: int, name: str, spec: dict[str, Any], checker: RecordChecker) -> _Column:
    kind = _KINDS.get(spec.get("type"), "str")
    if kind in ("int", "float"):
        return _convert_numbers(block, k, name, spec, checker, kind)
    return _convert_text(block, k, name, spec, checker, kind)


def _convert_numbers(block: CsvColumns, k: int, name: str, spec: dict[str, Any], checker: RecordChecker,
                     kind: str) -> _Column:
    n = block.n
    conv, check = checker.steps[name]
    huge = None
    found = block.plain_numbers(k, decimal=kind == "float")
    present = block.present(k)
    check_array = fast_check_array(spec)
    if found is not None and (check is None or check_array is not None):
        values, plain = found
        have = plain.copy()
        fail = plain & ~check_array(values) if check is not None else plain.copy()
        rest = present & ~plain
    else:
        values = np.full(n, np.nan)
        have = np.zeros(n, dtype=bool)
        fail = np.zeros(n, dtype=bool)
        rest = present
    bad = np.zeros(n, dtype=bool)
    idx = np.flatnonzero(rest)
    if len(idx):
        done: dict[str, tuple[Any, bool] | None] = {}
        for i, cell in zip(idx.tolist(), block.cells(k, idx)):
            if cell is None:
                continue
            outcome = done.get(cell, False)
            if outcome is False:
                outcome = done[cell] = _coerce(conv, check, cell)
            if outcome is None:
                if cell.strip():
                    bad[i] = True               # else blank: missing, as in prepare()
                continue
            value, ok = outcome
            try:
                as_float = float(value)
            except OverflowError:
                as_float = math.nan
            if as_float != value:
                huge = np.zeros(n, dtype=bool) if huge is None else huge
                huge[i] = True
            values[i] = as_float
            have[i] = True
            fail[i] = not ok
    return _Column(name, kind, values, have, bad, fail, huge=huge)


def _convert_text(block: CsvColumns, k: int, name: str, spec: dict[str, Any], checker: RecordChecker,
                  kind: str) -> _Column:
    n = block.n
    conv, check = checker.steps[name]
    found = block.factorize(k)
    if found is not None:
        codes, distinct = found
    else:
        cells = block.cells(k)
        distinct = list(dict.fromkeys(cells))
        index = {cell: j for j, cell in enumerate(distinct)}
        codes = np.fromiter(map(index.__getitem__, cells), dtype=np.intp, count=n)
    m = len(distinct)
    d_have = np.zeros(m, dtype=bool)
    d_bad = np.zeros(m, dtype=bool)
    d_fail = np.zeros(m, dtype=bool)
    d_values: list[Any] = [None] * m
    texts = [c for c in distinct if c is not None]
    lengths = text_lengths(spec)
    if kind == "str" and m > _MANY and text_unchanged(name, spec) and _normal(texts):
        # Stripped, non-empty, NFKC-normal text: the coercer would return each as it is.
        d_values = distinct
        d_have = np.array([c is not None for c in distinct], dtype=bool)
        if check is None:
            d_fail = d_have.copy()
        elif lengths is not None:
            lo, hi = lengths
            size = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
            fails = np.zeros(len(texts), dtype=bool)
            if lo is not None:
                fails |= size < lo
            if hi is not None:
                fails |= size > hi
            d_fail[d_have] = fails
        else:
            d_fail[d_have] = [not check(c) for c in texts]
    else:
        for j, cell in enumerate(distinct):
            if cell is None:
                continue
            outcome = _coerce(conv, check, cell)
            if outcome is None:
                d_bad[j] = bool(cell.strip())
                continue
            value, ok = outcome
            d_values[j] = value
            d_have[j] = True
            d_fail[j] = not ok
    if kind == "str":
        objects = np.empty(m, dtype=object)
        objects[:] = d_values
        values = objects[codes]
    else:
        values = np.array([math.nan if v is None else float(v) for v in d_values], dtype=np.float64)[codes]
    return _Column(name, kind, values, d_have[codes], d_bad[codes], d_fail[codes], codes, d_values)


def _normal(texts: list[str]) -> bool:
    """Every text is NFKC-normal (text joined by a newline is normal iff each piece is)."""
    joined = "\n".join(texts)
    return joined.isascii() or unicodedata.is_normalized("NFKC", joined)


def _coerce(conv: Any, check: Any, cell: str) -> tuple[Any, bool] | None:
    """``(value, passes the fast check)``, or None if the cell would not convert."""
    try:
        value = conv(cell)
    except _Bad:
        return None
    return value, check is not None and check(value)


def _key_of(cols: dict[str, _Column], i: int) -> tuple:
    """Row ``i``'s identity as the columns hold it (what :func:`_duplicates` judged)."""
    return (cols["school_id"].values[i], cols["stage"].values[i], int(cols["year"].values[i]))


def _records(cols: dict[str, _Column], rows: np.ndarray) -> list[dict[str, Any]]:
    """For ``rows``, the record fields the cross-field checks and the duplicate check read."""
    records: list[dict[str, Any]] = [{} for _ in range(len(rows))]
    wanted = dict.fromkeys(["school_id", *(f for pair in CROSS_CHECKED for f in pair)])
    for name in wanted:
        col = cols.get(name)
        if col is None:
            continue
        cast = {"int": int, "float": float, "bool": bool}.get(col.kind)
        values = col.values[rows].tolist()
        for record, value, has in zip(records, values, col.have[rows].tolist()):
            if has:
                record[name] = cast(value) if cast is not None else value
    return records


def _province(cols: dict[str, _Column], checker: RecordChecker, default_province: str | None,
              known: frozenset[str] | None, slow: np.ndarray, n: int) -> np.ndarray:
    """Fill the default province as prepare() does; mark rows left without one or unknown.
    Returns which rows got the default (their record lists province last)."""
    step = checker.steps.get("province")
    defaulted = np.zeros(n, dtype=bool)
    if step is None:
        return defaulted
    col = cols.get("province")
    lacking = ~col.have if col is not None else np.ones(n, dtype=bool)
    if default_province:
        try:
            value = step[0](default_province)
        except _Bad:
            value = default_province
        if step[1] is None or not step[1](value):
            slow |= lacking
        if col is None:
            objects = np.empty(n, dtype=object)
            col = cols["province"] = _Column("province", "str", objects, np.zeros(n, dtype=bool),
                                             np.zeros(n, dtype=bool), np.zeros(n, dtype=bool))
        col.values = col.values.copy()
        col.values[lacking] = value
        col.have = col.have | lacking
        defaulted = lacking
    else:
        slow |= lacking                                  # E101
    if known is not None and col is not None:
        if col.codes is not None:
            unknown = np.array([v is not None and v not in known for v in col.distinct], dtype=bool)[col.codes]
        else:
            unknown = np.zeros(n, dtype=bool)
        if default_province:
            unknown[defaulted] = value not in known
        slow |= unknown & col.have                       # E205
    return defaulted


def _duplicates(block: CsvColumns, cols: dict[str, _Column], seen: _Seen
                ) -> tuple[np.ndarray, dict[int, tuple[str, int]], Any]:
    """Rows whose identity is whole, the first row each duplicate repeats, and a function
    giving the block's own first rows for later files (called only if a later file asks)."""
    n = block.n
    parts = [cols.get(name) for name in ("school_id", "stage", "year")]
    if any(c is None for c in parts):
        return np.zeros(n, dtype=bool), {}, None
    key_ok = np.ones(n, dtype=bool)
    for c in parts:
        key_ok &= c.have & ~c.fail
    pos = np.flatnonzero(key_ok)
    sid, stage, year = parts
    numbers = block.numbers

    def keys_at(where: np.ndarray) -> list[tuple]:
        return list(zip(sid.values[where].tolist(), stage.values[where].tolist(),
                        year.values[where].astype(np.int64).tolist()))

    key = _key_codes([sid, stage], year, pos)
    if key is not None:
        first_pos = pos[_first_of_each(key)]
    else:                                             # identities as tuples: a dict finds the firsts
        keys = keys_at(pos)
        first = dict(zip(reversed(keys), reversed(pos.tolist())))      # the earliest position wins
        first_pos = np.fromiter(map(first.__getitem__, keys), dtype=np.intp, count=len(keys))
    repeat = np.flatnonzero(first_pos != pos)
    firsts = {j: (block.file, int(numbers[f])) for j, f in zip(pos[repeat].tolist(), first_pos[repeat].tolist())}
    if seen:                                          # an earlier file may hold the first row
        for p, k in zip(pos.tolist(), keys_at(pos)):
            prior = seen.get(k)
            if prior is not None:
                firsts[p] = prior

    def own_firsts() -> dict[tuple, int]:
        mine = np.array([p for p in np.unique(first_pos).tolist() if p not in firsts], dtype=np.intp)
        return dict(zip(keys_at(mine), mine.tolist()))
    return key_ok, firsts, own_firsts


def _first_of_each(key: np.ndarray) -> np.ndarray:
    """For each element, the index of the first element with the same key."""
    order = np.argsort(key)
    ordered = key[order]
    same = ordered[1:] == ordered[:-1]
    first = np.arange(len(key))
    if not same.any():
        return first
    new_group = np.concatenate(([True], ~same))
    starts = np.flatnonzero(new_group)
    lowest = np.minimum.reduceat(order, starts)           # the first index of each group
    first[order] = lowest[np.cumsum(new_group) - 1]
    return first


def _key_codes(texts: list[_Column], year: _Column, pos: np.ndarray) -> np.ndarray | None:
    """One integer per identity (equal iff the converted values are equal) for rows ``pos``;
    None when the columns do not give one cheaply."""
    if any(c.codes is None for c in texts):
        return None
    key = np.zeros(len(pos), dtype=np.int64)
    if not len(pos):
        return key
    years = year.values[pos]
    low, high = float(years.min()), float(years.max())
    scales = [1]
    for c in texts:
        scales.append(scales[-1] * (len(c.distinct) + 1))
    if scales[-1] * (high - low + 2) >= 2 ** 62:
        return None                                # too many for one integer
    for c, scale in zip(texts, scales):
        if len(set(c.distinct)) == len(c.distinct):
            value_id = np.arange(len(c.distinct), dtype=np.int64)
        else:                                      # two texts converted to one value
            ids: dict[Any, int] = {}
            value_id = np.array([ids.setdefault(v, len(ids)) for v in c.distinct], dtype=np.int64)
        key += value_id[c.codes[pos]] * scale
    return key + (years - low).astype(np.int64) * scales[-1]


def _accept(block: CsvColumns, cols: dict[str, _Column], order: list[str], accepted: np.ndarray,
            defaulted: np.ndarray, own: dict[int, dict[str, Any]], result: ValidationResult) -> None:
    """Write the accepted rows into the result's columns and lazily made records."""
    columns = result.columns
    m = int(accepted.sum())
    if m == 0:
        return
    idx = np.flatnonzero(accepted)
    numeric: dict[str, np.ndarray] = {"_row": block.numbers[idx].astype(np.float64)}
    text: dict[str, list[Any]] = {"_file": [block.file] * m}
    for name, col in cols.items():
        if col.kind == "str":
            text[name] = col.values[idx].tolist()
        else:
            numeric[name] = col.values[idx]
    start = columns.put(numeric, text)
    kinds = {name: col.kind for name, col in cols.items()}
    plain_order = [(name, kinds[name]) for name in order]
    orders = [plain_order]
    which = np.zeros(m, dtype=np.int8)
    picked = defaulted[idx]
    if picked.any():
        if "province" in order:
            orders.append([(name, kinds[name]) for name in order if name != "province"] + [("province", "str")])
        else:
            orders.append(plain_order + [("province", "str")])
        which[picked] = 1
    mine: dict[int, dict[str, Any]] = {}
    if own:
        at = np.cumsum(accepted) - 1
        for i, record in own.items():
            k = int(at[i])
            mine[k] = record
            for name in columns.numeric:
                if name != "_row":
                    v = record.get(name)
                    columns.numeric[name][start + k] = math.nan if v is None else float(v)
            for name in columns.text:
                if name != "_file":
                    columns.text[name][start + k] = record.get(name)
    result.accepted.add_columns(start, m, orders, which, mine)
