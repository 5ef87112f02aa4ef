"""The checks: each schema keyword as a column expression, the cross-field rules, and the
messages of one row (through ``jsonschema``, which has the last word on a row it examines).

The column expressions only pick rows out: a row none of them picks is valid by construction
(every keyword of the schema is an expression here, and a keyword this module does not know
picks every row that has the field). A picked row goes through :func:`row_problems`, which
writes its problems — so the same rules give the same verdict and the same messages whichever
way a row arrives.
"""
from __future__ import annotations

import copy
from functools import cached_property, lru_cache
from typing import Any, Collection, Mapping

import jsonschema_rs
import polars as pl

from . import fields, regions
from .coercion import Bad, Coercer, coercer
from .problems import SCHEMA_CODES, RowProblems, expected_text, known_field_hint
from .schemas import county_schema, school_schema

ANNOTATIONS = {"title", "description", "$comment", "examples", "default", "deprecated", "readOnly",
               "writeOnly", "format"}

TEACHER_SUBSETS = ("teachers_above_required_degree", "teachers_mid_senior_title", "backbone_teachers",
                   "pe_art_teachers", "certified_teachers")
#: The cross-field checks of a school record, in the order they are reported: ``(code, a, b,
#: English)`` — ``a`` must not exceed ``b``; the problem is about ``a``.
CROSS_RULES: tuple[tuple[str, str, str, str], ...] = (
    ("E201", "boarders", "students", "boarders exceed students"),
    *(("E202", name, "teachers", f"{name} exceed teachers") for name in TEACHER_SUBSETS),
    ("W303", "teachers", "staff", "teachers exceed staff (teachers are part of the staff)"),
    ("E203", "special_needs_students", "students", "special-needs pupils exceed students"),
    ("W301", "max_class_size", "students", "max_class_size exceeds students"),
    ("W302", "classes", "students", "classes exceeds students"),
)
CROSS_CHECKED: tuple[tuple[str, str], ...] = tuple((a, b) for _, a, b, _ in CROSS_RULES)


def cell_failures(value: pl.Expr, spec: dict[str, Any]) -> pl.Expr:
    """True where a present, coerced value fails a keyword of the field's ``spec``."""
    fails: list[pl.Expr] = []
    for key, bound in spec.items():
        if key in ANNOTATIONS or key.startswith("x-") or key == "type":
            continue
        if key == "minimum":
            fails.append(value < bound)
        elif key == "maximum":
            fails.append(value > bound)
        elif key == "exclusiveMinimum":
            fails.append(value <= bound)
        elif key == "exclusiveMaximum":
            fails.append(value >= bound)
        elif key == "enum":
            fails.append(~value.is_in([v for v in bound if isinstance(v, str)]))
        elif key == "pattern":
            fails.append(~value.str.contains(bound))
        elif key == "minLength":
            fails.append(value.str.len_chars() < bound)
        elif key == "maxLength":
            fails.append(value.str.len_chars() > bound)
        else:
            fails.append(pl.lit(True))           # not known here: jsonschema decides
    if spec.get("type") in ("integer", "number"):
        fails.append(value.is_infinite() | value.is_nan())
    if not fails:
        return pl.lit(False)
    return value.is_not_null() & pl.any_horizontal(fails).fill_null(True)


def cross_failures(usable: Mapping[str, pl.Expr]) -> pl.Expr:
    """True where a cross-field check fires (warnings included); ``usable[name]`` is the value
    where it exists and did not fail, else null."""
    fires = [usable[a] > usable[b] for a, b in CROSS_CHECKED if a in usable and b in usable]
    return pl.any_horizontal(fires).fill_null(False) if fires else pl.lit(False)


class RecordChecker:
    """One schema compiled once: its coercers and its validators. ``jsonschema`` writes every
    problem's message; a compiled validator (``jsonschema_rs``, the same draft) first answers
    whether there is any: most records have none, and it answers a hundred times sooner.
    The compiled validator also refuses a schema that breaks its draft; ``jsonschema`` is
    imported only when a record has a problem to word (most runs have none to word)."""

    def __init__(self, schema: dict[str, Any]) -> None:
        self.schema = schema
        self.kind = schema.get("x-kind", "school")
        self.quick = jsonschema_rs.validator_for(schema)
        self.props: dict[str, dict[str, Any]] = schema.get("properties", {})
        self.order = {name: k for k, name in enumerate(self.props)}
        self.required: tuple[str, ...] = tuple(schema.get("required", ()))
        self.coercers: dict[str, Coercer] = {name: coercer(name, spec) for name, spec in self.props.items()}

    def prepare(self, data: dict[str, Any], default_province: str | None = None, nested: Collection[str] = ()
                ) -> tuple[dict[str, Any], list[tuple[str, str, Any, str]]]:
        """``(record, bad)``: the row's values converted, and ``(code, field, cell, expected)`` for
        each cell that would not convert. Unknown fields are kept (the schema reports them)."""
        record: dict[str, Any] = {}
        bad: list[tuple[str, str, Any, str]] = []
        for key, raw in data.items():
            if raw is None or key.startswith("_"):
                continue
            conv = self.coercers.get(key)
            if conv is None:
                record[key] = raw
            elif key in nested:
                bad.append(("E102", key, raw, "单个值 / a single value, not a list"))
            else:
                try:
                    value = conv(raw)
                except Bad as exc:
                    bad.append((exc.code, key, raw, exc.expected))
                else:
                    if value is not None:              # None: a placeholder for a missing value
                        record[key] = value
        if default_province and "province" not in record and "province" in self.coercers:
            try:
                record["province"] = self.coercers["province"](default_province)
            except Bad:
                record["province"] = default_province
        if self.kind == "school" and "province" not in record and "province" in self.coercers and "province" not in data:
            inferred = regions.province_of_code(record.get("county_code"))
            if inferred is not None:
                record["province"] = inferred       # no province named: the county code's
        return record, bad

    @cached_property
    def validator(self) -> Any:
        """The ``jsonschema`` validator that words every problem (made at its first use)."""
        from jsonschema import Draft202012Validator

        return Draft202012Validator(schema=self.schema)

    def schema_problems(self, record: dict[str, Any]) -> list[tuple[str, str | None, Any, Any]]:
        """``(code, field, observed, expected)`` for every schema error in ``record``."""
        out: list[tuple[str, str | None, Any, Any]] = []
        if self.passes(record):
            return out
        done: set[str] = set()       # jsonschema may repeat these once per missing/extra name
        for err in self.validator.iter_errors(record):
            kw = err.validator
            if kw in ("required", "additionalProperties") and err.path:
                kw = "nested"        # not this object's own keyword: report as is
            elif kw == "required":
                if kw not in done:
                    done.add(kw)
                    out.extend(("E101", name, None, "必填 / a value")
                               for name in err.validator_value if name not in record)
                continue
            elif kw == "additionalProperties":
                if kw not in done:
                    done.add(kw)
                    out.extend(("E106", name, record[name], known_field_hint(name))
                               for name in record if name not in self.props)
                continue
            name = str(err.path[0]) if err.path else None
            spec = self.props.get(name or "", {})
            out.append((SCHEMA_CODES.get(kw, "E109"), name, err.instance, expected_text(kw, err.validator_value, spec)))
        return out

    def passes(self, record: dict[str, Any]) -> bool:
        """True when the compiled validator finds no schema error; a value it cannot take (a
        number beyond 64 bits, a Python type JSON has not) is left to ``jsonschema``."""
        try:
            return self.quick.is_valid(record)
        except (ValueError, TypeError, OverflowError):
            return False

    def is_valid(self, record: dict[str, Any]) -> bool:
        return self.passes(record) or not any(True for _ in self.validator.iter_errors(record))


def checker_for(kind: str) -> RecordChecker:
    """The checker of the bundled ``school`` or ``county`` schema, the school fields every pack
    read so far declares included (compiled once per process, and again after a pack declares
    fields): what a header names is a field, and a field is checked, whichever evaluator reads it."""
    return _checker(kind, fields.version() if kind == "school" else 0)


@lru_cache(maxsize=16)
def _checker(kind: str, version: int) -> RecordChecker:
    schema = school_schema() if kind == "school" else county_schema()
    if kind == "school":
        for name, spec in fields.declared().items():
            schema["properties"].setdefault(name, copy.deepcopy(spec))
    return RecordChecker(schema)


# --- one row's messages ------------------------------------------------------------------

def ident(data: dict[str, Any], key: str) -> str | None:
    v = data.get(key)
    if v is None:
        return None
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    s = str(v).strip()
    return s or None


#: The identity a duplicate is judged on, per kind of record.
IDENTITY = {"school": ("school_id", "stage", "year"), "county": ("county_code", "year")}


def row_problems(checker: RecordChecker, data: dict[str, Any], file: str, row: int,
                 default_province: str | None, known: frozenset[str] | None,
                 first: tuple[str, int] | None, nested: Collection[str] = (),
                 seen: dict[tuple, tuple[str, int]] | None = None) -> tuple[dict[str, Any], RowProblems]:
    """The row's values and every problem it has (``first``: the earlier row with the same
    identity, if any; or ``seen``, the first rows by identity so far, to find it here)."""
    school = checker.kind == "school"
    record, bad = checker.prepare(data, default_province, nested)
    failed = {name for _, name, _, _ in bad}
    found: list[tuple[str, str | None, Any, Any]] = list(bad)
    for code, name, observed, expected in checker.schema_problems(record):
        if code == "E101" and name in failed:
            continue
        if name in data and code != "E101":
            observed = data[name]          # show what the user wrote
        found.append((code, name, observed, expected))
    big = len(checker.order)
    found.sort(key=lambda t: (checker.order.get(t[1] or "", big), t[0]))
    rp = RowProblems(file, row, (ident(record, "school_id") or ident(data, "school_id")) if school else None)
    for code, name, observed, expected in found:
        rp.add(code, name, observed, expected)
    if school and "province" not in record and "province" not in failed:
        rp.add("E101", "province", None, "a province id, or a default province for the file",
               f"{fields.label('province')}（province）缺失，也没有为整个文件指定 / is missing and "
               "no default province was given")
    inferred = school and "province" not in data and not default_province   # prepare took the county code's
    check_province(record, known, rp, inferred)
    check_county_province(record, rp)
    if school:
        _cross_checks(record, rp)
    keys = IDENTITY.get(checker.kind, ())
    if seen is not None and keys and rp.ok(record, *keys):
        first = seen.setdefault(tuple(record[k] for k in keys), (file, row))
        first = None if first == (file, row) else first
    if first is not None:
        add_duplicate(rp, record, first, school)
    return record, rp


def check_province(record: dict[str, Any], known: frozenset[str] | None, rp: RowProblems,
                   inferred: bool = False) -> None:
    """E205: a province no plug-in judges (the supported ones listed, Chinese first); ``inferred``:
    the record named none and the province is its county code's, which the message then says."""
    if known is None or "province" in rp.bad_fields:
        return
    prov = record.get("province")
    if prov is not None and prov not in known:
        code = record.get("county_code")
        whence = ((f"（由县级行政区划代码 {code} 推断）", f" (inferred from county code {code})") if inferred
                  else ("", ""))
        listed = regions.real_provinces(known)
        names, ids = regions.provinces_text(listed), ", ".join(listed) or "none"
        national = regions.NATIONAL in known
        rp.add("E205", "province", prov, f"{names} / {ids}",
               f"省份 {regions.province_label(prov)}{whence[0]} 没有对应的插件，支持的省份：{names}"
               + ("（或填 全国，只按国家标准评估）" if national else "") + " / "
               f"no plug-in for province {prov!r}{whence[1]} (supported: {ids}"
               + ("; or national, to judge by the national standards alone" if national else "") + ")")


def check_county_province(record: dict[str, Any], rp: RowProblems) -> None:
    """W320: the county code's first two digits name another province than the record's
    (the record is still judged under the province it names)."""
    if "province" in rp.bad_fields or "county_code" in rp.bad_fields:
        return
    prov, code = record.get("province"), record.get("county_code")
    of_code = regions.province_of_code(code)
    if prov is not None and code is not None and of_code is not None and of_code != prov:
        county_province_problem(rp, prov, code, of_code)


def county_province_problem(rp: RowProblems, prov: str, code: str, of_code: str) -> None:
    rp.add("W320", "county_code", code, f"{regions.province_label(prov)}的县级行政区划代码 / a county code of {prov}",
           f"县级行政区划代码 {code} 属于{regions.province_label(of_code)}，而记录的省份是"
           f"{regions.province_label(prov)}，仍按{regions.province_label(prov)}评估 / county code {code} belongs to "
           f"{of_code}, but the record names {prov}; judged under {prov}")


def cross_problem(rp: RowProblems, code: str, a: str, va: Any, b: str, vb: Any, english: str) -> None:
    """Add the problem of a cross-field check that fired to the row's problems: ``a`` (``va``)
    exceeds ``b`` (``vb``). (:func:`~edubalance.fields.label` remembers each field's label.)"""
    word = "大于" if code.startswith("W30") and b == "students" else "超过"
    rp.add(code, a, va, f"≤ {fields.label(b)}（{vb}）/ ≤ {b} ({vb})",
           f"{fields.label(a)} {va} {word} {fields.label(b)} {vb} / {english}")


def _cross_checks(record: dict[str, Any], rp: RowProblems) -> None:
    for code, a, b, english in CROSS_RULES:
        if rp.ok(record, a, b) and record[a] > record[b]:
            cross_problem(rp, code, a, record[a], b, record[b], english)


def add_duplicate(rp: RowProblems, record: dict[str, Any], first: tuple[str, int], school: bool) -> None:
    file, row = first
    if school:
        rp.add("E204", "school_id", record["school_id"], "唯一（学校标识码、学段、学年）/ unique (school_id, stage, year)",
               f"重复记录：与 {file} 第 {row} 行相同（学校标识码、学段、学年）/ "
               f"duplicate of {file} row {row} (same school_id, stage, year)")
    else:
        rp.add("E206", "county_code", record["county_code"], "唯一（县级行政区划代码、学年）/ unique (county_code, year)",
               f"重复的县级记录：与 {file} 第 {row} 行相同（县级行政区划代码、学年）/ "
               f"duplicate of {file} row {row} (same county_code, year)")
