"""The Parquet report: a folder of plain tables that pandas, DuckDB, Polars or any BI tool
reads without edubalance installed.

One file per table, in report order:

- ``schools.parquet`` — one row per school entry: ``school_key`` (0, 1, … in report order),
  identity, ``ruleset``, ``source_file``/``source_row``, ``counts_*``, ``funding_*``,
  ``score_overall``/``score_<dimension>``, ``status``, ``provisional_rules`` and one
  ``measure_<name>`` column per measure (null where missing);
- ``verdicts.parquet`` — one row per listed verdict: ``school_key``, ``rule_id``, ``status``,
  ``value``, ``threshold``, ``gap``, ``gap_share`` (every rule with ``--verdicts all``, failed and
  missing-data ones with ``findings``);
- ``counties.parquet`` — one row per county entry (``county_key``), nested objects flattened
  into ``_``-joined column names; ``county_verdicts.parquet`` — ``county_key``, ``rule_id``,
  ``stage``, ``status``, ``value``, ``threshold``, ``gap``, ``gap_share``;
- ``rejected.parquet`` — one row per problem of a rejected school or county record (and each
  warning), with the record's file, row and identity;
- ``rules.parquet`` — the rule catalogue: one row per rule set and rule, flattened;
- ``summary.parquet`` — one row: the counts, engine, files, verdicts mode and the JSON report's
  head (``head_json``: summary, packs, rule catalogue with funding parameters, notes).

Text holding a lone surrogate (from a JSON input) is written with U+FFFD in its place.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .entries import IDENTITY, SchoolBlock, gaps_of
from .model import STATUS_NAMES
from .report import each_problem
from .serialise import clean, clean_text, dumps, gc_paused

#: Rows written at a time to the school and verdict files (memory stays flat).
ROWS = 65_536


def write_parquet(report: Any, folder: Path, progress: Callable[[int], None] | None = None) -> None:
    """Write ``report`` as the folder of Parquet tables described above."""
    with gc_paused():
        _write_parquet(report, folder, progress)


def _write_parquet(report: Any, folder: Path, progress: Callable[[int], None] | None) -> None:
    folder.mkdir()
    _write_schools(report, folder, progress)
    counties = report.counties
    _write(folder / "counties.parquet", _table([{"county_key": k} | _flat(_county_row(c), "", skip="verdicts")
                                                 for k, c in enumerate(counties)],
                                                first=("county_key", "county_code", "county_name", "province",
                                                       "year", "ruleset", "status")))
    _write(folder / "county_verdicts.parquet",
           _verdict_rows("county_key", ((k, v) for k, c in enumerate(counties) for v in c.get("verdicts", ())),
                         stage=True))
    _write(folder / "rejected.parquet", _table(_problems(report), first=_PROBLEM_COLUMNS))
    rules = [{"ruleset": key, "kind": kind, **_flat(desc, "")}
             for key, cat in report.rulesets.items()
             for kind, group in (("school", "rules"), ("county", "county_rules"))
             for desc in cat[group].values()]
    _write(folder / "rules.parquet", _table(rules, first=("ruleset", "kind", "rule_id")))
    summary = report.summary()
    _write(folder / "summary.parquet", pa.table({
        "read": [summary["records"]["read"]], "evaluated": [summary["records"]["evaluated"]],
        "rejected": [summary["records"]["rejected"]], "skipped": [summary["records"]["skipped"]],
        "engine": [report.engine],
        "files": _texts([[clean_text(f) for f in report.files]], pa.list_(pa.string())),
        "verdicts": [report.verdicts],
        "head_json": [dumps({**report.head(), "notes": report.notes}).decode("utf-8")]}))


def _write(path: Path, table: pa.Table) -> None:
    pq.write_table(table, path, **_options(table.schema))


def _options(schema: pa.Schema) -> dict[str, Any]:
    """zstd; dictionary encoding for text only (numbers are mostly distinct: it would be tried
    and dropped for every column)."""
    text = [f.name for f in schema if pa.types.is_string(f.type) or pa.types.is_dictionary(f.type)]
    return {"compression": "zstd", "use_dictionary": text}


def _verdict_rows(key: str, verdicts: Iterable[tuple[int, dict]], stage: bool = False) -> pa.Table:
    """The long verdict table of (key, verdict dict) pairs."""
    pairs = list(verdicts)
    found = [v for _, v in pairs]
    gaps = [v.get("gap") or {} for v in found]
    cols: dict[str, list] = {key: [k for k, _ in pairs], "rule_id": [v["rule_id"] for v in found]}
    if stage:
        cols["stage"] = [v.get("stage") for v in found]
    cols.update({"status": [v["status"] for v in found], "value": [v.get("value") for v in found],
                 "threshold": [v.get("threshold") for v in found], "gap": [g.get("value") for g in gaps],
                 "gap_share": [g.get("share") for g in gaps]})
    types = {key: pa.int64(), "value": pa.float64(), "threshold": pa.float64(), "gap": pa.float64(),
             "gap_share": pa.float64()}
    return pa.table({name: _texts(values, types.get(name, pa.string())) for name, values in cols.items()})


# -- schools and their verdicts, from the columns ---------------------------------------------

def _write_schools(report: Any, folder: Path, progress: Callable[[int], None] | None) -> None:
    order = report.positions()
    if not report.columnar or not order:                   # entries given as dicts: a small report
        entries = [e for chunk in report.iter_schools(order=order) for e in chunk]
        schools, verdicts = _from_dicts(entries, 0)
        _write(folder / "schools.parquet", schools)
        _write(folder / "verdicts.parquet", verdicts)
        if progress:
            progress(len(entries))
        return
    measure_names = sorted({m for b in report.blocks for m in b.measure_names})
    dims = list(dict.fromkeys(d for b in report.blocks for d in b.by_dim))
    rule_ids = sorted({r for b in report.blocks for r in b.rule_ids.tolist()})
    rules = (pa.array(rule_ids, type=pa.string()),
             [np.searchsorted(np.array(rule_ids, dtype=object), b.rule_ids).astype(np.int32) for b in report.blocks])
    with _Writers(folder) as out:
        for start in range(0, len(order), ROWS):
            part = order[start:start + ROWS]
            schools, verdicts = _from_blocks(report, part, start, measure_names, dims, rules)
            out.write("schools", schools)
            out.write("verdicts", verdicts)
            if progress:
                progress(len(part))


class _Writers:
    """One ParquetWriter per table, opened with the first batch's schema."""

    def __init__(self, folder: Path):
        self.folder, self.writers = folder, {}

    def write(self, name: str, table: pa.Table) -> None:
        if name not in self.writers:
            self.writers[name] = pq.ParquetWriter(self.folder / f"{name}.parquet", table.schema,
                                                  **_options(table.schema))
        self.writers[name].write_table(table)

    def __enter__(self) -> "_Writers":
        return self

    def __exit__(self, *exc: Any) -> None:
        for w in self.writers.values():
            w.close()


def _floats(a: np.ndarray) -> pa.Array:
    """A float column with NaN as null (infinities stay: Parquet holds them)."""
    a = np.asarray(a, dtype=float)
    return pa.array(a, mask=np.isnan(a))


_TEXT_COLUMNS = {*IDENTITY, "ruleset", "source_file", "status"} - {"year"}


def _from_blocks(report: Any, part: Sequence[tuple[int, int]], key: int, measure_names: list[str],
                 dims: list[str], rules: tuple[pa.Array, list[np.ndarray]]) -> tuple[pa.Table, pa.Table]:
    """The schools and verdicts tables of ``part`` (block, position pairs), from the columns;
    ``rules``: every rule id, and each block's rules' positions among them."""
    blocks = np.array([b for b, _ in part])
    pos = np.array([i for _, i in part], dtype=np.int64)
    m = len(part)
    cols: dict[str, list[np.ndarray]] = {}
    verdict_parts, provisional = [], []
    for b in np.unique(blocks).tolist():
        sel = np.flatnonzero(blocks == b)
        block: SchoolBlock = report.blocks[b]
        index = pos[sel]
        got = {name: block.identity[name][index] for name in IDENTITY}
        got["ruleset"] = np.full(len(sel), block.ruleset, dtype=object)
        got["source_file"], got["source_row"] = block.files[index], block.rows[index]
        status = block.results.status[:, index]
        for code, name in enumerate(STATUS_NAMES):
            got[f"counts_{name}"] = (status == code).sum(0)
        for name, col in block.funding_columns(index).items():
            got[f"funding_{name}"] = col
        got["score_overall"] = block.overall[index]
        for d in dims:
            got[f"score_{d}"] = block.by_dim[d][index] if d in block.by_dim else np.full(len(sel), np.nan)
        got["status"] = block.status[index]
        school, ids = block.provisional_cells(status, index)
        provisional.append((sel[school], ids))
        present = dict(zip(block.measure_names, block.measures))
        for name in measure_names:
            got[f"measure_{name}"] = present[name][index] if name in present else np.full(len(sel), np.nan)
        for name, col in got.items():
            cols.setdefault(name, []).append((sel, col))
        school, rule = block.listed_cells(index, report.verdicts)
        res = block.results
        c = index[school]
        verdict_parts.append((key + sel[school], rules[1][b][rule], status[rule, school],
                              res.value[rule, c], res.threshold[rule, c]))
    arrays = {}
    for name, pieces in cols.items():
        if len(pieces) == 1:
            col = pieces[0][1]
        else:
            col = np.empty(m, dtype=np.result_type(*[p[1] for p in pieces]) if all(
                p[1].dtype != object for p in pieces) else object)
            for sel, piece in pieces:
                col[sel] = piece
        arrays[name] = col
    fields = {"school_key": pa.array(np.arange(key, key + m, dtype=np.int64))}
    for name, col in arrays.items():
        if name == "source_row":
            fields[name] = pa.array(col.tolist(), type=pa.int64())
        elif name.startswith("counts_"):
            fields[name] = pa.array(col.astype(np.int64))
        elif col.dtype == object:
            fields[name] = _texts(col)
        elif name in _TEXT_COLUMNS:                     # a field no record has: all missing
            fields[name] = pa.nulls(len(col), pa.string())
        elif name == "funding_floor_applied":
            fields[name] = pa.array(col == 1, mask=np.isnan(col))
        elif name == "year":
            fields[name] = pa.array(np.nan_to_num(col).astype(np.int64), mask=np.isnan(col))
        else:
            fields[name] = _floats(col)
    at, where = _in_school_order([p[0] for p in provisional], m)
    fields["provisional_rules"] = pa.ListArray.from_arrays(
        pa.array(at, type=pa.int32()), pa.array(_placed([p[1] for p in provisional], where), type=pa.string()))
    order = ["school_key", *arrays]
    order.insert(order.index("status") + 1, "provisional_rules")
    fields = {name: fields[name] for name in order}
    schools = pa.table(fields)
    _, where = _in_school_order([p[0] - key for p in verdict_parts], m)
    columns = [_placed([p[k] for p in verdict_parts], where) for k in range(5)]
    return schools, _verdict_table(*columns, rules[0])


def _in_school_order(schools: list[np.ndarray], m: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """Rows given per block, each block's rows grouped by school (ascending): where each row
    goes when the rows of all blocks are in school order (a stable merge, without a sort), and
    the offsets of each of the ``m`` schools' rows."""
    every = np.concatenate(schools) if schools else np.zeros(0, np.int64)
    offsets = np.zeros(m + 1, dtype=np.int64)
    np.cumsum(np.bincount(every, minlength=m), out=offsets[1:])
    where = []
    for school in schools:
        within = np.arange(len(school)) - np.searchsorted(school, school)   # rank among the school's rows
        where.append(offsets[school] + within)
    return offsets, where


def _placed(parts: list[np.ndarray], where: list[np.ndarray]) -> np.ndarray:
    """One array of the ``parts``, each row at its place in ``where``."""
    if len(parts) == 1:
        return parts[0]
    out = np.empty(sum(len(p) for p in parts), dtype=np.result_type(*parts))
    for part, at in zip(parts, where):
        out[at] = part
    return out


def _verdict_table(school_key: np.ndarray, rule_code: np.ndarray, status: np.ndarray, value: np.ndarray,
                   threshold: np.ndarray, rule_ids: pa.Array) -> pa.Table:
    _, gap, share = gaps_of(status, value, threshold)
    return pa.table({
        "school_key": pa.array(school_key.astype(np.int64)),
        "rule_id": pa.DictionaryArray.from_arrays(pa.array(rule_code.astype(np.int32)), rule_ids),
        "status": pa.DictionaryArray.from_arrays(pa.array(status.astype(np.int32)),
                                                 pa.array(list(STATUS_NAMES), type=pa.string())),
        "value": _floats(value), "threshold": _floats(threshold), "gap": _floats(gap), "gap_share": _floats(share)})


def _from_dicts(entries: list[dict], key: int) -> tuple[pa.Table, pa.Table]:
    """The same two tables from entry dicts (entries a plug-in gave as dicts)."""
    rows = []
    for k, e in enumerate(entries, start=key):
        flat = {"school_key": k}
        for name, v in e.items():
            if name == "measures":
                flat.update({f"measure_{m}": x for m, x in v.items()})
            elif isinstance(v, dict):
                flat.update(_flat(v, name + "_"))
            elif name != "verdicts":
                flat[name] = v
        rows.append({k.replace("score_by_dimension_", "score_"): v for k, v in flat.items()})
    verdicts = _verdict_rows("school_key", ((k, v) for k, e in enumerate(entries, start=key) for v in e["verdicts"]))
    return _table(rows, first=("school_key", *IDENTITY, "ruleset", "status")), verdicts


# -- everything else: small lists of dicts, flattened ---------------------------------------------

def _county_row(county: dict) -> dict:
    """A county entry with the same columns whether or not it needs the school file."""
    if county.get("needs_schools", False) is None:
        return {**county, "needs_schools": {"message": None, "rules": None}}
    return county


def _flat(obj: dict, prefix: str, skip: str = "") -> dict[str, Any]:
    """Nested objects flattened into ``a_b`` keys; lists stay lists (of scalars or objects)."""
    out: dict[str, Any] = {}
    for k, v in obj.items():
        if type(v) is dict:
            if v:
                out.update(_flat(v, f"{prefix}{k}_"))
            else:
                out[f"{prefix}{k}"] = None
        elif k != skip:
            out[f"{prefix}{k}"] = v
    return out


def _table(rows: list[dict], first: Sequence[str] = ()) -> pa.Table:
    """A table from rows of differing keys: ``first`` columns first, then the others as found.

    Numbers that are ints in some rows and floats in others become floats; a column whose
    values are of mixed kinds becomes their JSON text."""
    names = list(dict.fromkeys([*first, *(k for r in rows for k in r)]))
    return pa.table({name: _texts([r.get(name) for r in rows], None) for name in names})


def _texts(values: Sequence[Any], kind: pa.DataType | None = pa.string()) -> pa.Array:
    """``values`` as an array of ``kind`` (None: inferred); text with lone surrogates gets U+FFFD,
    and values that fit no one type become their JSON text."""
    try:
        return pa.array(values, type=kind, from_pandas=True)
    except (pa.ArrowException, UnicodeEncodeError, TypeError, ValueError):
        pass
    values = clean(list(values))
    try:
        return pa.array(values, type=kind, from_pandas=True)
    except (pa.ArrowException, TypeError, ValueError):
        return pa.array([v if v is None or isinstance(v, str) else dumps(v).decode() for v in values],
                        type=pa.string())


_PROBLEM_COLUMNS = ("record", "file", "row", "school_id", "school_name", "county_code", "code", "name",
                    "severity", "field", "label", "observed", "expected", "message", "data")


def _problems(report: Any) -> list[dict]:
    """One row per problem: of rejected school records, rejected county records, and warnings;
    ``data`` is the rejected record as found, as JSON text."""
    rows = []
    last, data = None, None
    for kind, rec, p in each_problem(report.rejected, report.county_rejected, report.warnings):
        if kind == "warning":
            rows.append({"record": kind, **p})
            continue
        if rec is not last:
            last, data = rec, (dumps(rec["data"]).decode() if "data" in rec else None)
        rows.append({"record": kind, **{k: v for k, v in rec.items() if k not in ("problems", "data")}, **p,
                     "data": data})
    for r in rows:
        if not isinstance(r.get("observed"), (str, type(None))):
            r["observed"] = dumps(r["observed"]).decode()
    return rows
