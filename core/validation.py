"""What is accepted: one function, :func:`check_frame`, for every file and every caller.

Every row ends up accepted (its values typed as the schema says) or rejected with every
problem found, never dropped: ``accepted + rejected == rows``. For a frame of text cells
(:mod:`edubalance.loading`):

1. each field's column is coerced (:mod:`edubalance.coercion`); the province is filled from
   ``default_province`` when a row has none, and is required only when there is no default;
2. the schema's keywords, unknown columns, the cross-field rules, unknown provinces and
   duplicates become column expressions (:mod:`edubalance.checks`) that pick rows out, all
   evaluated in one query;
3. a picked row with a refused cell goes through ``jsonschema`` and the cross-field rules one
   by one for its messages (:func:`edubalance.checks.row_problems`); the problems of a picked
   row whose cells are all valid are made for all such rows at once, check by check, in the
   same words; a picked row with only warnings is accepted.

A duplicate is judged on identity alone — (school_id, stage, year), or (county_code, year) for
county records: the second and later rows with the same key are rejected (naming the first
one's file and row) even if the first was rejected for another reason, so that a user sees
both rows. Cross-field checks skip values that already failed. Problem codes and messages:
:mod:`edubalance.problems`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Collection, Iterable, Literal, Mapping, Sequence

from functools import lru_cache

import polars as pl

from .checks import (CROSS_CHECKED, CROSS_RULES, IDENTITY, RecordChecker, add_duplicate, cell_failures, check_province,
                     checker_for, county_province_problem, cross_failures, cross_problem, ident, row_problems)
from .coercion import Bad, CellPlan, cell_plan, column_type, slow_values
from .errors import InvalidInput
from .fields import label
from .loading import (NESTED, PROVENANCE, RawRow, Skipped, given_value, json_kind, key_field, record_columns, text_frame,
                      twice_text, unit_refused)
from .problems import ERROR, WARNING, Problem, Rejected, RowProblems, show
from .regions import code_provinces

#: Up to this many rows, every row goes through :func:`~edubalance.checks.row_problems` (which
#: decides every row it sees) instead of the column expressions picking rows for it: for one
#: record through the API, building the expressions costs more than checking the record.
FEW = 16
#: The engine of the one query over a frame's cells: its many columns in a few steps cost less in
#: memory than streamed (at 25,000 rows and at 200,000 alike; a few hundred rows take half the time).
ENGINE: Literal["in-memory"] = "in-memory"
#: The fields the rules across fields and rows read.
RULE_FIELDS = frozenset({"province", "county_code", "school_id", *(f for pair in CROSS_CHECKED for f in pair)})


@dataclass
class ValidationResult:
    """The accepted records as a typed frame (one column per schema field, ``_file``, ``_row``),
    the rejected rows, and every problem (errors and warnings) in input order. Rows checked one
    by one keep their accepted records, and the frame is made from them when first asked for:
    one record through the API is judged from its dict."""

    _frame: pl.DataFrame
    rejected: list[Rejected] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    _records: list[dict[str, Any]] | None = field(default=None, repr=False, compare=False)
    _unframed: bool = field(default=False, repr=False, compare=False)     # _records not yet in _frame

    @property
    def frame(self) -> pl.DataFrame:
        if self._unframed and self._records is not None:
            self._frame = pl.from_dicts(self._records, schema=self._frame.schema)
            self._unframed = False
        return self._frame

    @frame.setter
    def frame(self, frame: pl.DataFrame) -> None:
        self._frame, self._unframed = frame, False

    @property
    def count(self) -> int:
        """How many records were accepted."""
        return len(self._records) if self._unframed and self._records is not None else self._frame.height

    @property
    def accepted(self) -> list[dict[str, Any]]:
        """The accepted records as dicts of the values they have (made once, when asked)."""
        if self._records is None:
            self._records = frame_records(self.frame) if self.count else []
        return self._records

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == ERROR]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == WARNING]

    def warning_dicts(self) -> list[dict[str, Any]]:
        """The warnings as reports list them, each with the name of the school it is about (its
        record's ``school_name``, found by file and row), as a rejected row names its school."""
        found = self.warnings
        if not found:
            return []
        names: dict[tuple[str, int | None], str] = {}
        if "school_name" in self.frame.columns:
            wanted = {(p.file, p.row) for p in found}
            rows = self.frame.select("_file", "_row", "school_name").filter(
                pl.col("_row").is_in([r for _, r in wanted if r is not None]))
            names = {(f, r): n for f, r, n in rows.iter_rows() if n and (f, r) in wanted}
        out = []
        for p in found:
            d = p.to_dict()
            name = names.get((p.file, p.row))
            if name:
                d["school_name"] = name
            out.append(d)
        return out

    def with_problems(self, extra: Iterable[Problem]) -> "ValidationResult":
        """A new result with more problems about accepted records (e.g. from plug-ins).

        A problem is matched to its record by ``(file, row)``; an ``error`` moves the record to
        the rejected list (after those already there), a ``warning`` keeps it. A problem that
        matches no accepted record is only listed.
        """
        extra = list(extra)
        by_key: dict[tuple[str, int | None], list[Problem]] = {}
        for p in extra:
            by_key.setdefault((p.file, p.row), []).append(p)
        keep: list[bool] = []
        moved: list[Rejected] = []
        for rec in self.accepted:
            found = by_key.get((rec.get("_file", ""), rec.get("_row", 0)), [])
            if any(p.severity == ERROR for p in found):
                data = {k: v for k, v in rec.items() if k not in ("_file", "_row")}
                moved.append(Rejected(rec.get("_file", ""), rec.get("_row", 0), rec.get("school_id"),
                                      rec.get("school_name"), found, data))
                keep.append(False)
            else:
                keep.append(True)
        frame = self.frame.filter(pl.Series(keep, dtype=pl.Boolean)) if keep else self.frame
        return ValidationResult(frame, self.rejected + moved, self.problems + extra)


@dataclass
class Checked:
    """The verdict on every row of an input: school and county results, and how many were read."""

    schools: ValidationResult
    counties: ValidationResult
    read: int                      # school rows, and the rows that are not records (skipped)
    county_read: int
    #: What the reader should know about the whole input (e.g. a province forced on its records).
    notes: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    notices: list[Problem] = field(default_factory=list)     # about whole files: never an exit code

    @property
    def rejected(self) -> list[Rejected]:
        return self.schools.rejected + self.counties.rejected

    @property
    def warnings(self) -> list[Problem]:
        return self.schools.warnings + self.counties.warnings

    def to_dict(self) -> dict[str, Any]:
        """What ``edubalance validate -f json`` (and the service's ``/v1/validate``) answers."""
        return {
            "records": {"read": self.read, "accepted": self.schools.count,
                        "rejected": len(self.schools.rejected), "skipped": len(self.skipped)},
            "counties": {"read": self.county_read, "accepted": self.counties.count,
                         "rejected": len(self.counties.rejected)},
            "rejected": [r.to_dict() for r in self.rejected],
            "warnings": self.schools.warning_dicts() + self.counties.warning_dicts(),
            "notes": list(self.notes),
            "notices": [p.to_dict() for p in self.notices],
            "skipped": [s.to_dict() for s in self.skipped],
        }


def frame_records(frame: pl.DataFrame) -> list[dict[str, Any]]:
    """Rows of a typed frame as dicts without the missing values."""
    return [{k: v for k, v in d.items() if v is not None} for d in frame.iter_rows(named=True)]


def given_rows(items: Iterable[Any] | pl.DataFrame, file: str) -> list[RawRow]:
    """Records handed to the API (dicts, or a polars DataFrame's rows) as RawRows numbered from 1;
    anything that is not a record raises :class:`~edubalance.errors.InvalidInput` naming each one.
    A frame iterates over its columns, which would be refused one by one as "not a record"."""
    if isinstance(items, pl.DataFrame):
        items = items.to_dicts()
    rows: list[RawRow] = []
    refused: list[Problem] = []
    for i, item in enumerate(items):
        if isinstance(item, Mapping):
            rows.append(RawRow(file, i + 1, dict(item)))
        else:
            kind = json_kind(item)
            refused.append(Problem("E190", ERROR, file, i + 1, None, None, "", show(item), "an object",
                                   f"第 {i + 1} 条不是记录（应为字典/对象，实际为 {kind}）/ "
                                   f"item {i + 1} is {kind}, not a record (a dict)"))
    if refused:
        raise InvalidInput(refused, ("记录无效", "not records"))
    return rows


def _keyed(rows: Sequence[RawRow]) -> list[tuple[int, str, dict[str, Any]]]:
    """Each row's data for :func:`~edubalance.loading.record_columns`, a key in another unit
    (``…（万元）``) with its value converted; a unit with no exact factor raises InvalidInput
    (for every record with the key). Each distinct key is looked up once."""
    units: dict[Any, Any] = {}           # key -> its unit, None for a key in the field's own unit
    out: list[tuple[int, str, dict[str, Any]]] = []
    refused: list[Problem] = []
    for r in rows:
        data = r.data
        convert = False
        for key in data:
            if key in PROVENANCE:
                continue
            if key not in units:
                units[key] = key_field(key)[1]
            found = units[key]
            if found is None:
                continue
            if found.factor is None:                             # every record with the key
                refused.append(Problem("E106", ERROR, r.file, r.row, ident(data, "school_id"), found.field,
                                       label(found.field), key, "a unit converted to the field's",
                                       unit_refused(found.field, str(key), found, ("键", "key"))))
            else:
                convert = True
        if convert:
            data = {k: (given_value(v, units[k]) if units.get(k) is not None else v) for k, v in data.items()}
        out.append((r.row, f"record {r.row}", data))
    if refused:
        raise InvalidInput(refused, ("记录无效", "invalid records"))
    return out


def rows_columns(rows: Sequence[RawRow]) -> dict[str, list[Any]]:
    """RawRows (the Python API) as the columns of a frame of text cells (lists), keeping each
    row's file and number. Keys are English field names or Chinese labels, as a file's headers
    are; a record with two keys for one field (``学段`` and ``stage``) raises InvalidInput (E191):
    which value counts is unknowable, as with a file that has two such columns."""
    twice: list[tuple[int, Any, Any, str]] = []
    data = record_columns("<records>", _keyed(rows), map_keys=_key_column, twice=twice)
    if twice:
        raise InvalidInput([Problem("E191", ERROR, rows[i].file, rows[i].row, ident(rows[i].data, "school_id"), fname,
                                    label(fname), key, "one key per field", twice_text(first, key, fname))
                            for i, first, key, fname in twice], ("记录无效", "invalid records"))
    data["_file"] = [r.file for r in rows]
    return data


def _key_column(key: Any) -> str:
    """The column of a record's key: the field it names, in its own unit or another."""
    return key_field(key)[0]


def check_frame(frame: pl.DataFrame | Mapping[str, list[Any]], kind: str = "school",
                default_province: str | None = None, known_provinces: Collection[str] | None = None,
                originals: Sequence[dict] | None = None, checker: RecordChecker | None = None) -> ValidationResult:
    """Accept or reject every row of ``frame`` (text cells, or their columns as lists as
    :func:`rows_columns` gives them; see the module docstring).

    ``originals``, if given, are the rows as the caller gave them (the Python API): a rejected
    row then keeps its own dict.
    """
    checker = checker or checker_for(kind)
    known = frozenset(known_provinces) if known_provinces is not None else None
    props = checker.props
    if not isinstance(frame, pl.DataFrame):
        if len(frame["_row"]) <= FEW:           # a few records: their rows, with no frame built
            rows = (dict(zip(frame, cells)) for cells in zip(*frame.values()))
            return _check_rows(rows, checker, default_province, known, originals)
        frame = text_frame(dict(frame))
    n = frame.height
    if n <= FEW:
        return _check_rows(frame.iter_rows(named=True), checker, default_province, known, originals)
    default = None
    if default_province and "province" in props:
        try:
            default = checker.coercers["province"](default_province)
        except Bad:
            default = default_province
    # Every cell read in one query, and checked in a second: each field's value, where a cell
    # fails, and the rows the schema or a rule across fields or rows picks out. A numeric cell
    # polars does not read itself (``1,200``, ``95%``, a date serial) is read by the coercer in
    # between, in its column only.
    plan = cell_plan(frame, props)
    extra = [c for c in frame.columns if not c.startswith("_") and c not in props]
    cells = _read(frame, plan, props, extra).collect(engine=ENGINE)
    if cells["s:slow"].any():
        cells = _slow_cells(frame, cells, plan, props)
    judged = _judged(cells.drop("s:slow").lazy(), checker, default, known).collect(engine=ENGINE)
    typed = judged.select(*props, "_file", "_row")
    schema_mask, rule_mask = judged["s:schema"], judged["s:rule"]
    of_code = judged["of:county_code"] if "of:county_code" in judged.columns else None
    inferred = judged["s:inferred"] if "s:inferred" in judged.columns else None
    keys = IDENTITY.get(kind, ())
    duplicates = _duplicates(judged, keys)
    if duplicates:
        rule_mask = rule_mask | pl.repeat(False, n, eager=True).scatter(list(duplicates), True)

    # Rows with a refused cell: everything from the text, through jsonschema.
    names_for_rows = [c for c in frame.columns if not c.startswith("_")]
    found: list[tuple[int, RowProblems, dict[str, Any] | None]] = []
    at = schema_mask.arg_true()
    for pos, row in zip(at.to_list(), frame[at].iter_rows(named=True)):
        given = {k: row[k] for k in names_for_rows if row[k] is not None}
        nested_here = row[NESTED].split(",") if row.get(NESTED) else ()
        _, rp = row_problems(checker, given, row["_file"], row["_row"], default_province, known,
                             duplicates.get(pos), nested_here)
        found.append((pos, rp, given))
    # Rows whose cells are all valid: the rules across fields and rows, over their typed columns.
    found.extend((pos, rp, None) for pos, rp in _rule_problems(typed, (rule_mask & ~schema_mask).arg_true(),
                                                                  kind, known, duplicates, inferred, of_code).items())
    found.sort(key=lambda f: f[0])
    errors = [rp.has_error for _, rp, _ in found]

    result = ValidationResult(typed.head(0))
    rejected_at: list[int] = []
    # The text of the rows rejected by a rule across fields, read at once (their own data).
    texts = iter(frame.select(names_for_rows)[[pos for (pos, _, data), error in zip(found, errors)
                                               if data is None and error]].iter_rows(named=True))
    for (pos, rp, data), error in zip(found, errors):
        result.problems.extend(rp.items)
        if error:
            if data is None:
                data = {k: v for k, v in next(texts).items() if v is not None}
            own = originals[pos] if originals is not None else data
            name = ident(data, "school_name" if kind == "school" else "county_name")
            result.rejected.append(Rejected(rp.file, rp.row, rp.ident, name, rp.items, own))
            rejected_at.append(pos)
    result.frame = typed.filter(pl.repeat(True, n, eager=True).scatter(rejected_at, False)) if rejected_at else typed
    return result


def _read(frame: pl.DataFrame, plan: CellPlan, props: dict[str, dict[str, Any]], extra: Sequence[str]
          ) -> pl.LazyFrame:
    """The columns :func:`_judged` reads, as :func:`~edubalance.coercion.cell_plan` reads the
    cells: each field's value; ``l:`` where a numeric or boolean cell was left unread (``s:slow``:
    a numeric one, for :func:`_slow_cells`); ``b:`` where a cell is refused (unread, or a list or
    an object given for one value); ``x:`` where a column no field names has a cell; whether the
    row names no province (``p:unnamed``); and each row's file and number."""
    nested = NESTED in frame.columns
    refusable = [name for name in plan.values if props[name].get("type") in ("integer", "number", "boolean")]
    unnamed = pl.col("province").is_null() if "province" in frame.columns else pl.lit(True)
    read = frame.lazy().select(
        *(value.alias(name) for name, value in plan.values.items()),
        *(pl.col(name).is_not_null().alias(f"l:{name}") for name in refusable),
        *(pl.col(c).is_not_null().alias(f"x:{c}") for c in extra), *([pl.col(NESTED)] if nested else []),
        unnamed.alias("p:unnamed"), pl.col("_file").cast(pl.String), pl.col("_row").cast(pl.Int64))
    read = read.with_columns((pl.col(f"l:{name}") & pl.col(name).is_null()).alias(f"l:{name}") for name in refusable)
    bad = [pl.col(f"l:{name}") if name in refusable else None for name in plan.values]
    if nested:
        bad = [_nested_in(name) if b is None else b | _nested_in(name) for name, b in zip(plan.values, bad)]
    slow = pl.any_horizontal([pl.lit(False)] + [pl.col(f"l:{name}") for name in plan.numeric])
    read = read.with_columns(*(b.alias(f"b:{name}") for name, b in zip(plan.values, bad) if b is not None),
                             slow.alias("s:slow"), *([pl.col(NESTED).is_not_null().alias("x:_nested")] if nested else []))
    return read.drop(NESTED) if nested else read


def _nested_in(name: str) -> pl.Expr:
    """Where the row's cell of ``name`` held a list or an object (a JSON record)."""
    return pl.col(NESTED).str.split(",").list.contains(name).fill_null(False)


def _slow_cells(frame: pl.DataFrame, cells: pl.DataFrame, plan: CellPlan, props: dict[str, dict[str, Any]]
                ) -> pl.DataFrame:
    """:func:`_read`'s columns ``cells`` with every numeric cell polars did not read read by the
    coercer (only the columns that have such a cell are replaced)."""
    fixed: list[pl.Series] = []
    for name in plan.numeric:
        left = cells[f"l:{name}"]
        if not left.any():
            continue
        slow, bad = slow_values(frame[name].cast(pl.String), left, name, props[name])
        # Refused where the coercer cannot read the cell or where _read refused a cell it read
        # (a list or an object: its JSON text, left unread, is never a number either).
        bad = bad | (cells[f"b:{name}"] & ~left)
        fixed += [slow.zip_with(left, cells[name]).alias(name), bad.alias(f"b:{name}")]
    return cells.with_columns(fixed)


def _judged(cells: pl.LazyFrame, checker: RecordChecker, default: str | None,
            known: frozenset[str] | None) -> pl.LazyFrame:
    """Every check of the columns :func:`_read` gives, as one query: the typed values (integers
    as Int64), ``s:schema`` (a cell the schema refuses, or an unknown column: the row's messages
    come from jsonschema), ``s:rule`` (a rule across fields or an unknown province), ``f:`` where
    an identity field fails, the province of the county code (``of:county_code``) and where the
    province was taken from it (``s:inferred``)."""
    props, kind = checker.props, checker.kind
    have = set(cells.collect_schema().names())
    fill = [pl.lit(None, dtype=column_type(spec)).alias(name) for name, spec in props.items() if name not in have]
    lf = cells.with_columns(fill) if fill else cells
    if default is not None:
        lf = lf.with_columns(pl.col("province").fill_null(default))
    kept: list[str] = []
    if "province" in props and "county_code" in props:
        code = pl.col("county_code")
        ok = code.str.contains(r"^[0-9]{6}$").fill_null(False)
        if "b:county_code" in have:
            ok = ok & ~pl.col("b:county_code")
        prefix = code.str.slice(0, 2).replace_strict(code_provinces(), default=None, return_dtype=pl.String)
        lf = lf.with_columns(pl.when(ok).then(prefix).alias("of:county_code"))
        kept.append("of:county_code")
        if kind == "school":           # no province named: the county code's
            lf = lf.with_columns((pl.col("p:unnamed") & pl.col("province").is_null()).alias("s:inferred")).with_columns(
                pl.when(pl.col("s:inferred")).then(pl.col("of:county_code")).otherwise(pl.col("province"))
                .alias("province"))
            kept.append("s:inferred")
    failed = [(cell_failures(pl.col(name), spec) | pl.col(f"b:{name}") if f"b:{name}" in have
               else cell_failures(pl.col(name), spec)).alias(f"f:{name}") for name, spec in props.items()]
    fails = {name: pl.col(f"f:{name}") for name in props}
    # Rows with a cell the schema refuses.
    by_schema = [pl.any_horizontal(list(fails.values()))]
    by_schema += [pl.col(name).is_null() for name in checker.required]
    if kind == "school" and "province" in props and default is None:
        by_schema.append(pl.col("province").is_null())
    unknown = [pl.lit(False)] + [pl.col(c) for c in sorted(have) if c.startswith("x:")]
    # Rows whose cells are all valid but that break a rule across fields or rows.
    by_rule = [pl.lit(False)]
    if known is not None and "province" in props:
        by_rule.append(~fails["province"] & pl.col("province").is_not_null()
                       & ~pl.col("province").is_in(sorted(known)))
    if "of:county_code" in kept:
        by_rule.append(~fails["province"] & ~fails["county_code"] & pl.col("of:county_code").is_not_null()
                       & pl.col("province").is_not_null() & (pl.col("province") != pl.col("of:county_code")))
    if kind == "school":
        usable = {a: pl.when(~fails[a]).then(pl.col(a)) for pair in CROSS_CHECKED for a in pair}
        by_rule.append(cross_failures(usable))
    typed = [pl.col(name).cast(pl.Int64, strict=False) if spec.get("type") == "integer" else pl.col(name)
             for name, spec in props.items()]
    return lf.with_columns(failed).select(
        *typed, "_file", "_row",
        (pl.any_horizontal(by_schema).fill_null(True) | pl.any_horizontal(unknown)).alias("s:schema"),
        pl.any_horizontal(by_rule).fill_null(True).alias("s:rule"),
        *(fails[k] for k in IDENTITY.get(kind, ()) if k in props), *kept)


def _rule_problems(typed: pl.DataFrame, at: pl.Series, kind: str, known: frozenset[str] | None,
                   duplicates: dict[int, tuple[str, int]], inferred: pl.Series | None = None,
                   of_code: pl.Series | None = None) -> dict[int, RowProblems]:
    """The problems of rows whose every cell is valid: unknown province, the cross-field rules
    and duplicates, each check over the picked rows' columns at once, its problems added to
    the rows it fires on (in the order a row's problems are reported). ``inferred``:
    where the province was taken from the county code; ``of_code``: the province of each row's
    county code (``of:county_code`` of :func:`_judged`)."""
    if not len(at):
        return {}
    keys = IDENTITY.get(kind, ())
    needed = [c for c in typed.columns if c in RULE_FIELDS or c in keys or c.startswith("_")]
    sub = typed.select(needed)[at]
    positions = at.to_list()
    ident_col = "school_id" if kind == "school" else None
    out: dict[int, RowProblems] = {}            # position in ``typed`` -> the row's problems, in order

    def row_at(i: int, file: str, row: int, school: str | None) -> RowProblems:
        rp = out.get(positions[i])
        if rp is None:
            rp = out[positions[i]] = RowProblems(file, row, school)
        return rp
    index = pl.int_range(pl.len()).alias("i")
    who = [pl.col("_file"), pl.col("_row"), pl.col(ident_col) if ident_col else pl.lit(None, dtype=pl.String)]

    if "province" in sub.columns:
        # Only the rows whose province is unknown or not their county code's are looked at.
        named = pl.col("province")
        unknown = ~named.is_in(sorted(known)) if known is not None else pl.lit(False)
        county = pl.col("county_code") if "county_code" in sub.columns else pl.lit(None, dtype=pl.String)
        of_county = (of_code[at] if of_code is not None
                     else pl.Series([None] * len(positions), dtype=pl.String)).alias("of_code")
        other = (pl.col("of_code").is_not_null() & (pl.col("of_code") != named)).fill_null(False)
        picked = sub.select(index, named, county.alias("code"), of_county, *who)
        for i, prov, code, of, file, row, school in picked.filter(named.is_not_null() & (unknown | other)).iter_rows():
            rp = row_at(i, file, row, school)
            if known is not None and prov not in known:
                check_province({"province": prov, "county_code": code}, known, rp,
                               inferred is not None and bool(inferred[positions[i]]))
            else:
                county_province_problem(rp, prov, code, of)
    if kind == "school":
        rules = [rule for rule in CROSS_RULES if rule[1] in sub.columns and rule[2] in sub.columns]
        rows_of = sub.lazy().select(index, *needed)
        fired = pl.collect_all([rows_of.filter(pl.col(a) > pl.col(b)).select("i", a, b, *who)
                                for _, a, b, _ in rules])
        for (code, a, b, english), rows in zip(rules, fired):
            for i, va, vb, file, row, school in rows.iter_rows():
                cross_problem(row_at(i, file, row, school), code, a, va, b, vb, english)
    if duplicates:
        index_of = {pos: i for i, pos in enumerate(positions)}
        for pos, first in duplicates.items():
            i = index_of.get(pos)
            if i is not None:
                rp = row_at(i, sub["_file"][i], sub["_row"][i], sub[ident_col][i] if ident_col else None)
                add_duplicate(rp, {k: sub[k][i] for k in keys}, first, kind == "school")
    return out


def typed_schema(props: dict[str, dict[str, Any]]) -> dict[str, pl.DataType]:
    """The columns of an accepted frame: each field as its coerced type (integers as Int64)."""
    schema = {name: pl.Int64() if spec.get("type") == "integer" else column_type(spec) for name, spec in props.items()}
    return {**schema, "_file": pl.String(), "_row": pl.Int64()}


def empty_accepted(kind: str, checker: RecordChecker | None = None) -> pl.DataFrame:
    """An accepted frame with no row, made once per checker (per kind, and again after a pack
    declares fields): building its hundred typed columns costs more than checking one API
    record, and polars frames are never changed in place."""
    return _empty(checker or checker_for(kind))


@lru_cache(maxsize=64)
def _empty(checker: RecordChecker) -> pl.DataFrame:
    return pl.DataFrame(schema=typed_schema(checker.props))


def _check_rows(rows: Iterable[dict[str, Any]], checker: RecordChecker, default_province: str | None,
                known: frozenset[str] | None, originals: Sequence[dict] | None) -> ValidationResult:
    """:func:`check_frame` for a few rows (dicts of a text frame's cells): each row through row_problems."""
    kind = checker.kind
    result = ValidationResult(empty_accepted(kind, checker))
    seen: dict[tuple, tuple[str, int]] = {}
    accepted: list[dict[str, Any]] = []
    for pos, row in enumerate(rows):
        data = {k: v for k, v in row.items() if v is not None and not k.startswith("_")}
        nested_here = row[NESTED].split(",") if row.get(NESTED) else ()
        record, rp = row_problems(checker, data, row["_file"], row["_row"], default_province, known, None,
                                  nested_here, seen=seen)
        result.problems.extend(rp.items)
        if rp.has_error:
            own = originals[pos] if originals is not None else data
            name = ident(data, "school_name" if kind == "school" else "county_name")
            result.rejected.append(Rejected(row["_file"], row["_row"], rp.ident, name, rp.items, own))
        else:
            record["_file"], record["_row"] = row["_file"], row["_row"]
            accepted.append(record)
    if accepted:
        result._records, result._unframed = accepted, True
    return result


def _duplicates(judged: pl.DataFrame, keys: Sequence[str]) -> dict[int, tuple[str, int]]:
    """Position of every second or later row with a valid identity → the first row's (file, row)."""
    if not keys or judged.height < 2:
        return {}
    valid = pl.all_horizontal([pl.col(k).is_not_null() & ~pl.col(f"f:{k}") for k in keys])
    # Most inputs have none: asked first of the frame as it is (a valid row never matches an invalid one).
    if judged.select((pl.struct(valid.alias("_valid"), *keys).is_first_distinct() | ~valid).all()).item():
        return {}
    keyed = judged.lazy().with_row_index("_pos").filter(valid).select("_pos", "_file", "_row", *keys).collect()
    first = keyed.select(pl.struct(keys).is_first_distinct().alias("f"))["f"]
    later = keyed.filter(~first)
    firsts = keyed.filter(first).join(later.select(keys).unique(), on=keys, nulls_equal=False)
    found = later.join(firsts.select(*keys, pl.col("_file").alias("_ff"), pl.col("_row").alias("_fr")), on=keys)
    return {pos: (f, r) for pos, f, r in found.select("_pos", "_ff", "_fr").iter_rows()}


# --- the forms callers hand in -------------------------------------------------------------

def validate(rows: Sequence[RawRow] | pl.DataFrame, default_province: str | None = None,
             known_provinces: Collection[str] | None = None, kind: str = "school") -> ValidationResult:
    """Accept or reject school (or ``kind="county"``) rows: a loaded frame, or RawRows from the
    Python API."""
    if isinstance(rows, pl.DataFrame):
        return check_frame(rows, kind, default_province, known_provinces)
    rows = list(rows)
    if not rows:
        return ValidationResult(empty_accepted(kind))
    return check_frame(rows_columns(rows), kind, default_province, known_provinces, [r.data for r in rows])


def validate_counties(rows: Sequence[RawRow] | pl.DataFrame, default_province: str | None = None,
                      known_provinces: Collection[str] | None = None
                      ) -> tuple[list[dict[str, Any]], list[Rejected]]:
    """Accept or reject county rows: schema, province, unique (county_code, year)."""
    result = validate(rows, default_province, known_provinces, kind="county")
    return result.accepted, result.rejected


