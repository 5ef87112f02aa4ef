"""The Parquet report: a folder of plain tables that pandas, DuckDB, Polars or any BI tool
reads without edubalance installed.

One file per table, in report order:

- ``schools.parquet`` — one row per school entry (the JSON report's, flattened):
  ``school_key`` (0, 1, … in report order), identity, ``ruleset``, ``source_file``/``source_row``,
  ``counts_*``, ``funding_*``, ``score_overall``/``score_<dimension>``, ``status``,
  ``provisional_rules``, ``meets_basic_standard`` and one ``measure_<name>`` column per measure
  (null where missing);
- ``verdicts.parquet`` — one row per listed verdict: ``school_key``, ``rule_id``, ``status``,
  ``value``, ``threshold``, ``gap``, ``gap_share`` (every rule with ``--verdicts all``, failed and
  missing-data ones with ``findings``). A number that is not finite is null, as in the JSON report;
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

import re
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from itertools import chain
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .entries import CODED_VERDICT_TYPE, IDENTITY
from .problems import record_text
from .report import each_problem
from .serialise import clean, clean_text, dumps, gc_paused

#: Schools per row group of the school and verdict files (memory stays flat).
ROWS = 65_536
#: Schools per entry table (measured: a tenth less building time than 2,048; from 16,384 on,
#: fresh memory is mapped for each table).
CHUNK = 8_192


def write_parquet(report: Any, folder: Path, progress: Callable[[int], None] | None = None) -> None:
    """Write ``report`` as the folder of Parquet tables described above."""
    with gc_paused():
        _write_parquet(report, folder, progress)


def _write_parquet(report: Any, folder: Path, progress: Callable[[int], None] | None) -> None:
    folder.mkdir()
    with _Writers(folder) as out:
        _write_schools(report, out, progress)
        for name, build in _SMALL.items():
            out.write_file(name, build(report))


def _counties(report: Any) -> pa.Table:
    """One row per county. A column no county fills (every CV of a stage uncomputed, no school
    left out, no rejected row) keeps the type it has when filled, so that a reader can tell what
    it holds: a null column would be of no type, an empty list of null items."""
    rows = [{"county_key": k} | _county_row(c) for k, c in enumerate(report.counties)]
    columns = _Columns(len(rows), ("county_key", "county_code", "county_name", "province", "year", "ruleset",
                                   "status"), flat=True)
    for i, row in enumerate(rows):
        columns.put(row, i, "verdicts")
    table = pa.table({name: _listing(values, _county_type(name)) for name, values in columns.columns.items()})
    for i, column in enumerate(table.schema):
        kind = column.type
        if pa.types.is_null(kind) or (pa.types.is_list(kind) and pa.types.is_null(kind.value_type)):
            table = table.set_column(i, column.name, pa.array(table.column(i).to_pylist(), type=_county_type(column.name)))
    return table


_TEXT, _TEXTS = pa.string(), pa.list_(pa.string())
_NAMED = [("school_id", _TEXT), ("school_name", _TEXT), ("stage", _TEXT)]
#: The item type of each list a county entry holds (the schools its listings name, the fields it needs).
_COUNTY_LISTS = {
    "excluded": pa.struct(_NAMED + [("reason_code", _TEXT), ("reason", _TEXT)]),
    "missing": pa.struct(_NAMED + [("measure", _TEXT), ("field", _TEXT), ("label", _TEXT), ("cvs", _TEXTS)]),
    "scope_unknown": pa.struct(_NAMED + [("condition", _TEXT), ("text", _TEXT), ("effect", _TEXT)]),
    "gates_unknown": pa.struct(_NAMED + [("measure", _TEXT)]),
    "rejected_schools": pa.struct(_NAMED + [("file", _TEXT), ("row", pa.int64()), ("codes", _TEXTS),
                                            ("reason", _TEXT), ("matched_by", _TEXT)]),
    "needs": pa.struct([("field", _TEXT), ("label", _TEXT), ("rules", _TEXTS)]),
}
_COUNTY_WORDS = (("cv_not_applicable_", _TEXT), ("cv", pa.float64()), ("score_", pa.float64()),
                 ("counts_", pa.int64()), ("schools_", pa.int64()), ("students_", pa.int64()))


def _listing(values: list[Any], kind: pa.DataType) -> pa.Array:
    """A county column; a listing of schools (``kind``: a list of objects) converted with its
    known type when its items have no other field: pyarrow then reads each item once, not once
    to find the type and again to convert it (the 130,000 listed schools of a national report:
    0.2 s → 0.1 s)."""
    if pa.types.is_list(kind) and pa.types.is_struct(kind.value_type):
        known = {f.name for f in kind.value_type}
        items = [x for v in values if type(v) is list for x in v]
        if all(type(v) is list or v is None for v in values) and all(type(x) is dict and x.keys() <= known
                                                                     for x in items):
            return pa.array(values, type=kind)
    return _texts(values, None)


def _county_type(name: str) -> pa.DataType:
    """The type of a county column by its name (``stages_primary_cv_books_per_pupil``): a
    listing's items, a CV or a score a float, a count an integer, a yes/no a boolean, else text."""
    last = name.rsplit("_", 1)[-1]
    for key, item in _COUNTY_LISTS.items():
        if name == key or name.endswith("_" + key):
            return pa.list_(item)
    if last in ("notes", "reasons", "rules") or name == "provisional_rules":
        return _TEXTS
    if name in ("vetoed", "county_record") or name.endswith(("_vetoed", "_single_school")):
        return pa.bool_()
    if name in ("year", "school_records", "county_key"):
        return pa.int64()
    if name.startswith("needs_schools_"):
        return _TEXT
    part = re.sub(r"^(stages_[a-z]+_|basic_balance_|quality_balance_)", "", name)
    for word, kind in _COUNTY_WORDS:
        if part.startswith(word) or (word == "cv" and "composite_cv" in part):
            return kind
    return _TEXT


def _county_verdicts(report: Any) -> pa.Table:
    lists = [c.get("verdicts", ()) for c in report.counties]
    keys = np.repeat(np.arange(len(lists), dtype=np.int64), [len(v) for v in lists])
    return _verdict_rows("county_key", keys, list(chain.from_iterable(lists)), stage=True)


_PROBLEM_COLUMNS = ("record", "file", "row", "school_id", "school_name", "county_code", "code", "name",
                    "severity", "field", "label", "observed", "expected", "message", "data")


def _rejected(report: Any) -> pa.Table:
    """One row per problem: of rejected school records, rejected county records, and warnings
    (``record``: school, county or warning), with the record's fields; ``data`` is the rejected
    record as found, and ``observed`` when not text, as JSON text. A rejected school's
    ``county_code`` is its record's, as found (rejected rows are counted per county). The
    columns keep their types when no row fills them (a report with nothing rejected)."""
    found = list(each_problem(report.rejected, report.county_rejected, report.warnings))
    columns = _Columns(len(found), _PROBLEM_COLUMNS)
    kinds, data, county = columns.columns["record"], columns.columns["data"], columns.columns["county_code"]
    last, text, code = None, None, None
    for i, (kind, rec, p) in enumerate(found):
        kinds[i] = kind
        if kind != "warning":
            if rec is not last:
                last, text = rec, (dumps(rec["data"]).decode() if "data" in rec else None)
                code = record_text(rec, "county_code") or None
            columns.put(rec, i, "problems")
            data[i] = text                           # in place of the record's own dict
            county[i] = code
        columns.put(p, i)
    observed = columns.columns["observed"]
    columns.columns["observed"] = [v if v is None or isinstance(v, str) else dumps(v).decode() for v in observed]
    table = columns.table()
    for i, name in enumerate(_PROBLEM_COLUMNS):
        if pa.types.is_null(table.schema.field(name).type):
            kind = pa.int64() if name == "row" else pa.string()
            table = table.set_column(i, name, table.column(name).cast(kind))
    return table


def _rules(report: Any) -> pa.Table:
    return _table([{"ruleset": key, "kind": kind, **desc}
                   for key, cat in report.rulesets.items()
                   for kind, group in (("school", "rules"), ("county", "county_rules"))
                   for desc in cat[group].values()], first=("ruleset", "kind", "rule_id"), flat=True)


def _summary(report: Any) -> pa.Table:
    head = report.head()                             # its summary: counted once
    summary = head["summary"]
    return pa.table({
        "read": [summary["records"]["read"]], "evaluated": [summary["records"]["evaluated"]],
        "rejected": [summary["records"]["rejected"]], "skipped": [summary["records"]["skipped"]],
        "engine": [report.engine],
        "files": _texts([[clean_text(f) for f in report.files]], pa.list_(pa.string())),
        "verdicts": [report.verdicts],
        "head_json": [dumps({**head, "notes": report.notes}).decode("utf-8")]})


#: The files other than schools and verdicts, in the order they are written, and their builders.
_SMALL: dict[str, Callable[[Any], pa.Table]] = {
    "counties": _counties, "county_verdicts": _county_verdicts, "rejected": _rejected, "rules": _rules,
    "summary": _summary}


def _options(name: str, schema: pa.Schema) -> dict[str, Any]:
    """Snappy (every Parquet reader has it; measured: a quarter less encoding time than zstd for
    a fifth larger files); dictionary encoding for text only (numbers are mostly distinct: it
    would be tried and dropped for every column); no min/max statistics for a verdict table's
    rule, stage and status text (every row group holds them all: they would skip nothing, and
    cost a tenth of the table's writing). A dictionary column (a verdict's rule id and status, a
    school's repeating identity texts, source file and status) is written as its dictionary and
    indices; with no Arrow schema stored in the file, every reader reads it back as plain text,
    as the other text columns."""
    text = [f.name for f in schema if pa.types.is_string(f.type) or pa.types.is_dictionary(f.type)]
    options: dict[str, Any] = {"compression": "snappy", "use_dictionary": text}
    if name in ("verdicts", "county_verdicts"):
        options["write_statistics"] = [n for n in schema.names if n not in ("rule_id", "stage", "status")]
    if any(pa.types.is_dictionary(f.type) for f in schema):
        options["store_schema"] = False
    return options


def _verdict_rows(key: str, keys: np.ndarray, verdicts: list[dict], stage: bool = False) -> pa.Table:
    """The long verdict table: ``keys[i]`` and the fields of ``verdicts[i]``. Verdicts that are
    one dict (alike verdicts of different owners) are converted once and repeated: at national
    scale a county verdict dict serves nine rows."""
    ids = np.fromiter(map(id, verdicts), dtype=np.uint64, count=len(verdicts))
    _, first, repeat = np.unique(ids, return_index=True, return_inverse=True)
    found = [verdicts[i] for i in first.tolist()]
    gaps = [v.get("gap") or {} for v in found]
    cols: dict[str, list] = {"rule_id": [v["rule_id"] for v in found]}
    if stage:
        cols["stage"] = [v.get("stage") for v in found]
    cols.update({"status": [v["status"] for v in found], "value": [v.get("value") for v in found],
                 "threshold": [v.get("threshold") for v in found], "gap": [g.get("value") for g in gaps],
                 "gap_share": [g.get("share") for g in gaps]})
    types = {"value": pa.float64(), "threshold": pa.float64(), "gap": pa.float64(), "gap_share": pa.float64()}
    distinct = pa.table({name: _texts(values, types.get(name, pa.string())) for name, values in cols.items()})
    return distinct.take(pa.array(repeat.ravel())).add_column(0, key, pa.array(keys, pa.int64()))


# -- schools and their verdicts, from the entry tables ---------------------------------------

def _write_schools(report: Any, out: "_Writers", progress: Callable[[int], None] | None) -> None:
    rule_ids = pa.array(list(dict.fromkeys(r for block in report.blocks for r in block.rule_ids)), pa.string())
    key = 0
    held: list[tuple[pa.Table, pa.Table]] = []
    since = 0                                        # schools held since the last row group
    for part in report.tables(CHUNK, coded=rule_ids):            # built a chunk at a time, written a row group at a time
        held.append(_flat_entries(part, key))
        key, since = key + part.num_rows, since + part.num_rows
        if since >= ROWS:
            out.write_groups(held)
            held, since = [], 0
        if progress:
            progress(part.num_rows)
    if held:
        out.write_groups(held)
    if not key:                                      # no school: both files, with their main columns
        out.write("schools", pa.table({"school_key": pa.array([], pa.int64()),
                                       **{name: pa.nulls(0, pa.int64() if name == "year" else pa.string())
                                          for name in (*IDENTITY, "ruleset", "status")}}))
        out.write("verdicts", _verdict_table(pa.array([], pa.int64()), pa.array([], CODED_VERDICT_TYPE)))


class _Writers:
    """One ParquetWriter per file, written by a thread per lane: the school and verdict files
    each have their own, the small whole files share one. pyarrow encodes and compresses
    without the GIL, so the next chunk of entries is built while the last one is written. At
    most ``PENDING`` tables per lane are queued or being written (memory stays flat). A
    writer's error is raised here at the next table or at the end, and nothing more is written
    after it."""

    PENDING = 2
    #: The files written a row group at a time, each in a lane of its own.
    LANES = ("schools", "verdicts")

    def __init__(self, folder: Path):
        self.folder = folder
        self.writers: dict[str, pq.ParquetWriter] = {}
        self.threads: dict[str, ThreadPoolExecutor] = {}
        self.pending: dict[str, deque[Future]] = {}
        self.failed = False

    def _submit(self, name: str, job: Callable[..., None], *args: Any) -> None:
        lane = name if name in self.LANES else "tables"
        if lane not in self.threads:
            self.threads[lane] = ThreadPoolExecutor(1, thread_name_prefix=f"parquet-{lane}")
            self.pending[lane] = deque()
        for waiting in self.pending.values():           # any write that failed stops the report now
            while waiting and waiting[0].done():
                waiting.popleft().result()
        waiting = self.pending[lane]
        while len(waiting) >= self.PENDING:
            waiting.popleft().result()
        waiting.append(self.threads[lane].submit(self._run, job, *args))

    def _run(self, job: Callable[..., None], *args: Any) -> None:
        if self.failed:                                 # the report is abandoned: write no more
            return
        try:
            job(*args)
        except BaseException:
            self.failed = True
            raise

    def write(self, name: str, table: pa.Table) -> None:
        """Append ``table`` to ``name``.parquet (opened with the first table's schema)."""
        self._submit(name, self._append, name, table)

    def _append(self, name: str, table: pa.Table) -> None:
        if name not in self.writers:
            self.writers[name] = pq.ParquetWriter(self.folder / f"{name}.parquet", table.schema,
                                                  **_options(name, table.schema))
        self.writers[name].write_table(table)

    def write_file(self, name: str, table: pa.Table) -> None:
        """``table`` as the whole of ``name``.parquet."""
        self._submit(name, self._whole, name, table)

    def _whole(self, name: str, table: pa.Table) -> None:
        pq.write_table(table, self.folder / f"{name}.parquet", **_options(name, table.schema))

    def write_groups(self, parts: list[tuple[pa.Table, pa.Table]]) -> None:
        """One row group of schools, and their verdicts (in row groups of up to pyarrow's
        1,048,576 rows), from ``parts``."""
        for name, k in (("schools", 0), ("verdicts", 1)):
            tables = [p[k] for p in parts]
            self.write(name, pa.concat_tables(tables) if len(tables) > 1 else tables[0])

    def __enter__(self) -> "_Writers":
        return self

    def __exit__(self, failed: type[BaseException] | None, *exc: Any) -> None:
        """Wait for every write, close every file, then raise the first writer's error (unless
        an error is already on its way: then the tables still queued are not written)."""
        if failed is not None:
            self.failed = True
        errors = []
        try:
            for waiting in self.pending.values():
                for job in waiting:
                    try:
                        job.result()
                    except Exception as e:
                        errors.append(e)
        except BaseException:                           # interrupted while waiting: write no more
            self.failed = True
            raise
        finally:
            for thread in self.threads.values():
                thread.shutdown()
            for w in self.writers.values():
                w.close()
        if errors and failed is None:
            raise errors[0]


#: Nested entry objects → the column name prefix of their fields in ``schools.parquet``.
_PREFIX = {"source": "source_", "counts": "counts_", "funding": "funding_", "score": "score_",
           "measures": "measure_"}


def _flat_entries(entries: pa.RecordBatch, key: int) -> tuple[pa.Table, pa.Table]:
    """One table of entries → the schools table (nested objects as ``prefix_field`` columns) and
    the long verdict table (one row per listed verdict, with its school's key; the rule ids
    coded as the entries give them, on every rule id of the report: one dictionary for every
    table of the file, which the writer keeps for a whole row group)."""
    n = entries.num_rows
    cols: dict[str, pa.Array] = {"school_key": pa.array(np.arange(key, key + n, dtype=np.int64))}
    names = [name for name in entries.column_names if name not in ("measures", "verdicts")]
    for name in [*names, "measures"]:                  # measures last: the widest part
        col = entries.column(name)
        if name not in _PREFIX:
            cols[name] = col
            continue
        for field, values in zip(col.type, col.flatten()):
            if field.name == "by_dimension":
                cols.update({f"score_{d.name}": v for d, v in zip(values.type, values.flatten())})
            else:
                cols[_PREFIX[name] + field.name] = values
    verdicts = entries.column("verdicts")
    owner = pc.list_parent_indices(verdicts)
    items = pc.list_flatten(verdicts)
    return pa.table(cols), _verdict_table(pc.add(owner.cast(pa.int64()), key), items)


def _verdict_table(school_key: pa.Array, items: pa.StructArray) -> pa.Table:
    """The long verdict table: ``school_key``, ``rule_id``, ``status``, ``value``, ``threshold``,
    ``gap`` and ``gap_share``."""
    gap = items.field("gap")
    return pa.table({"school_key": school_key,
                     **{k: items.field(k) for k in ("rule_id", "status", "value", "threshold")},
                     "gap": gap.field("value"), "gap_share": gap.field("share")})


# -- everything else: small lists of dicts, flattened ---------------------------------------------

def _county_row(county: dict) -> dict:
    """A county entry with the same columns whether or not it needs the school file."""
    if county.get("needs_schools", False) is None:
        return {**county, "needs_schools": {"message": None, "rules": None}}
    return county


def _table(rows: list[dict], first: Sequence[str] = (), flat: bool = False, skip: str = "") -> pa.Table:
    """A table from rows of differing keys (see :class:`_Columns`), a row's own ``skip`` field
    left out."""
    columns = _Columns(len(rows), first, flat)
    for i, row in enumerate(rows):                   # one pass over the rows, not one per column
        columns.put(row, i, skip)
    return columns.table()


class _Columns:
    """Columns filled from rows of differing keys: ``first`` columns first, then the others as
    found; ``flat``: nested objects flattened into ``a_b`` columns (an empty one is a null
    ``a``; lists stay lists, of scalars or objects).

    Numbers that are ints in some rows and floats in others become floats; a column whose
    values are of mixed kinds becomes their JSON text."""

    def __init__(self, n: int, first: Sequence[str] = (), flat: bool = False):
        self.n, self.flat = n, flat
        self.columns: dict[str, list] = {name: [None] * n for name in first}
        #: Where an object's fields go: its columns by field, its nested objects' nodes by
        #: field, and its column name prefix (column names are made once, not once a row).
        self.top: tuple[dict[str, list], dict[str, Any], str] = ({}, {}, "")

    def put(self, obj: dict, i: int, skip: str = "", node: tuple | None = None) -> None:
        """``obj``'s fields as row ``i`` (a later field of the same name replaces an earlier)."""
        cols, kids, prefix = node or self.top
        for k, v in obj.items():
            if self.flat and type(v) is dict:
                if v:
                    kid = kids.get(k)
                    if kid is None:
                        kid = kids[k] = ({}, {}, f"{prefix}{k}_")
                    self.put(v, i, "", kid)
                    continue
                v = None
            elif k == skip:
                continue
            column = cols.get(k)
            if column is None:
                column = cols[k] = self.columns.setdefault(prefix + k, [None] * self.n)
            column[i] = v

    def table(self) -> pa.Table:
        return pa.table({name: _texts(values, None) for name, values in self.columns.items()})


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
