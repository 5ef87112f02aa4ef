"""Check loaded rows against the JSON Schemas and the cross-field rules; convert values.

Every row ends up either accepted (a clean record with Python values) or rejected (with every
problem found, in one pass), never dropped: ``len(accepted) + len(rejected) == len(rows)``.

Steps per row:

1. **Coerce** text to the schema's types. Integers: ``"1,200"``, ``"1 200"``, full-width
   digits, ``"12.0"``; booleans: true/false, t/f, 1/0, yes/no, y/n, 是/否, 有/无; enums: the value,
   its Chinese label or an alias (``"小学"`` → ``primary``, ``"农村"`` → ``rural``); fractions
   also as percentages (``"95%"`` → 0.95); a school or county code typed into a numeric cell
   becomes text; the province is lower-cased. Empty or blank values are missing. A value that
   cannot be converted is an ``E102`` problem. The province is filled from
   ``default_province`` when the row has none, and is required only when there is no default.
2. **Schema**: a fast check of types, bounds, enums and patterns compiled from the schema; a
   row it does not pass is run through ``Draft202012Validator.iter_errors``, which decides.
   So the fast path can only save time, never change a verdict.
3. **Cross-field** checks, duplicates across all rows, and known provinces.

Problem codes (stable; ``Problem.code``; ``Problem.name`` gives the slug):

====  ==================================  ========  =====================================
code  name                                severity  meaning
====  ==================================  ========  =====================================
E101  required-missing                    error     an identity field is missing
E102  wrong-type                          error     the value cannot be read as the type
E103  below-minimum                       error     a count or amount below its minimum
E104  not-in-enum                         error     not one of the allowed values
E105  pattern                             error     wrong form (county code: 6 digits)
E106  unknown-field                       error     a column the schema does not know
E107  above-maximum                       error     above its maximum (year, a rate > 1)
E108  bad-length                          error     text too short or too long
E109  schema                              error     any other schema keyword failed
E201  boarders-exceed-students            error     boarders > students
E202  teacher-subset-exceeds-teachers     error     a kind of teacher > teachers
E203  special-needs-exceed-students       error     special-needs pupils > students
E204  duplicate-record                    error     (school_id, stage, year) seen before
E205  unknown-province                    error     province has no plug-in
E206  duplicate-county-record             error     (county_code, year) seen before
W301  class-size-exceeds-students         warning   max_class_size > students
W302  classes-exceed-students             warning   classes > students
W303  teachers-exceed-staff               warning   teachers > staff
====  ==================================  ========  =====================================

A CSV file read as columns (:mod:`edubalance.csv_columns`) is checked column by column
(:mod:`edubalance.validate_columns`): a column of plain numbers converts in one array operation,
other cells through the same coercers as here, the fast checks and cross-field checks become
array comparisons, and every row that any check picks out goes through the row path below,
which alone writes problems. Both paths give the same verdicts, problems and values.

A duplicate is judged on identity alone: the second and later rows with the same key are
rejected (naming the first one's file and row) even if the first was rejected for another
reason, so that a user sees both rows. Cross-field checks skip values that already failed.
``ValidationResult.problems`` holds every problem (errors and warnings) in input order;
each ``Rejected`` holds its own.
"""
from __future__ import annotations

import math
import re
import unicodedata
from array import array
from collections.abc import Sequence as SequenceABC
from dataclasses import dataclass, field
from typing import Any, Callable, Collection, Iterable, Iterator, Sized

import numpy as np
from jsonschema import Draft202012Validator

from . import fields
from .csv_columns import CsvColumns
from .loading import RawRow, Rows, paused_gc
from .schemas import county_schema, school_schema

ERROR, WARNING = "error", "warning"
_PROVENANCE = ("_file", "_row")

#: code -> (name, severity)
PROBLEM_CODES: dict[str, tuple[str, str]] = {
    "E101": ("required-missing", ERROR),
    "E102": ("wrong-type", ERROR),
    "E103": ("below-minimum", ERROR),
    "E104": ("not-in-enum", ERROR),
    "E105": ("pattern", ERROR),
    "E106": ("unknown-field", ERROR),
    "E107": ("above-maximum", ERROR),
    "E108": ("bad-length", ERROR),
    "E109": ("schema", ERROR),
    "E201": ("boarders-exceed-students", ERROR),
    "E202": ("teacher-subset-exceeds-teachers", ERROR),
    "E203": ("special-needs-exceed-students", ERROR),
    "E204": ("duplicate-record", ERROR),
    "E205": ("unknown-province", ERROR),
    "E206": ("duplicate-county-record", ERROR),
    "W301": ("class-size-exceeds-students", WARNING),
    "W302": ("classes-exceed-students", WARNING),
    "W303": ("teachers-exceed-staff", WARNING),
}

TEACHER_SUBSETS = ("teachers_above_required_degree", "teachers_mid_senior_title",
                   "backbone_teachers", "pe_art_teachers", "certified_teachers")

#: ``(a, b)`` for every cross-field check, which can only fire when ``a > b``: a row none of
#: these pairs exceeds has no cross-field problem (the columnar path relies on it).
CROSS_CHECKED: tuple[tuple[str, str], ...] = (
    ("boarders", "students"), *((name, "teachers") for name in TEACHER_SUBSETS), ("teachers", "staff"),
    ("special_needs_students", "students"), ("max_class_size", "students"), ("classes", "students"))

_SCHEMA_CODES = {
    "required": "E101", "type": "E102", "minimum": "E103", "exclusiveMinimum": "E103",
    "enum": "E104", "const": "E104", "pattern": "E105", "additionalProperties": "E106",
    "maximum": "E107", "exclusiveMaximum": "E107", "minLength": "E108", "maxLength": "E108",
}


@dataclass(frozen=True)
class Problem:
    code: str
    severity: str
    file: str
    row: int
    school_id: str | None
    field: str | None
    label: str
    observed: Any
    expected: Any
    message: str

    @property
    def name(self) -> str:
        return PROBLEM_CODES.get(self.code, ("", ""))[0]

    @classmethod
    def about(cls, record: dict[str, Any], code: str, message: str, *, field: str | None = None,
              severity: str | None = None, observed: Any = None, expected: Any = None) -> "Problem":
        """A problem with an accepted record (provenance from its ``_file``/``_row`` keys).

        For plug-ins' own checks: ``severity`` defaults to the code's, else ``error``.
        """
        if severity is None:
            severity = PROBLEM_CODES.get(code, ("", ERROR))[1]
        if observed is None and field is not None:
            observed = record.get(field)
        return cls(code, severity, record.get("_file", ""), record.get("_row", 0), record.get("school_id"),
                   field, fields.label(field) if field else "", observed, expected, message)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (values a report cannot hold, such as NaN, become text)."""
        return {"code": self.code, "name": self.name, "severity": self.severity, "file": self.file,
                "row": self.row, "school_id": self.school_id, "field": self.field, "label": self.label,
                "observed": _json_safe(self.observed), "expected": _json_safe(self.expected),
                "message": self.message}


@dataclass
class Rejected:
    file: str
    row: int
    school_id: str | None
    school_name: str | None
    problems: list[Problem]
    data: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "row": self.row, "school_id": self.school_id,
                "school_name": self.school_name, "problems": [p.to_dict() for p in self.problems],
                "data": {str(k): _json_safe(v) for k, v in self.data.items()}}


class AcceptedColumns:
    """The accepted records again as typed columns, filled while each record is fresh in memory.

    Building a column table from 200,000 dicts afterwards means revisiting every dict once per
    field; here each value is stored once, as the record is accepted. ``numeric[name]`` holds
    floats (NaN for missing; booleans as 1.0/0.0; ``_row`` too), ``text[name]`` str or None
    (``_file`` too); position ``k`` is ``accepted[k]``.
    """

    def __init__(self, props: dict[str, dict[str, Any]], capacity: int) -> None:
        nan = array("d", [math.nan])
        self.size = 0
        self.numeric: dict[str, array] = {"_row": nan * capacity}
        self.text: dict[str, list[Any]] = {"_file": [None] * capacity}
        for name, spec in props.items():
            if spec.get("type") in ("integer", "number", "boolean"):
                self.numeric[name] = nan * capacity
            else:
                self.text[name] = [None] * capacity

    def add(self, record: dict[str, Any]) -> None:
        pos = self.size
        numeric, text = self.numeric, self.text
        for key, value in record.items():
            col = numeric.get(key)
            if col is not None:
                col[pos] = value
            else:
                text[key][pos] = value
        self.size = pos + 1

    def put(self, numeric: dict[str, np.ndarray], text: dict[str, list[Any]]) -> int:
        """Append a block of records given as columns (fields not given stay missing);
        returns the position of the first."""
        start = self.size
        m = len(next(iter(numeric.values()))) if numeric else len(next(iter(text.values())))
        for name, values in numeric.items():
            np.frombuffer(self.numeric[name], dtype=np.float64)[start:start + m] = values
        for name, values in text.items():
            self.text[name][start:start + m] = values
        self.size = start + m
        return start

    def record(self, pos: int, order: Iterable[tuple[str, str]]) -> dict[str, Any]:
        """Record ``pos`` as a dict: the fields of ``order`` (name, kind) that have a value."""
        out: dict[str, Any] = {}
        for name, kind in order:
            if kind == "str":
                v = self.text[name][pos]
                if v is not None:
                    out[name] = v
                continue
            x = self.numeric[name][pos]
            if x == x:
                out[name] = int(x) if kind == "int" else (x == 1.0) if kind == "bool" else x
        out["_file"] = self.text["_file"][pos]
        out["_row"] = int(self.numeric["_row"][pos])
        return out


class AcceptedRecords(SequenceABC):
    """The accepted records when some were checked as columns: those become dicts only when
    somebody reads them (a national file's 200,000 dicts are not needed to judge it).

    Reading builds every dict once and keeps it, so a change to a record sticks, as in a list.
    """

    __hash__ = None  # type: ignore[assignment]

    def __init__(self, columns: AcceptedColumns) -> None:
        self._columns = columns
        self._parts: list[Any] = []        # lists of dicts, and (start, count, orders, which, own)
        self._size = 0
        self._list: list[dict[str, Any]] | None = None

    def append(self, record: dict[str, Any]) -> None:
        if self._list is not None:
            self._list.append(record)
        elif self._parts and isinstance(self._parts[-1], list):
            self._parts[-1].append(record)
        else:
            self._parts.append([record])
        self._size += 1

    def clear(self) -> None:
        self._parts, self._list, self._size = [], None, 0

    def add_columns(self, start: int, count: int, orders: list[list[tuple[str, str]]], which: np.ndarray,
                    own: dict[int, dict[str, Any]]) -> None:
        """Records ``start .. start+count`` of the columns: record ``k`` has the key order
        ``orders[which[k]]``, unless ``own`` holds the record itself."""
        if not count:
            return
        part = (start, count, orders, which, own)
        if self._list is not None:          # dicts were made already: keep making them
            self._list.extend(self._block(part))
        else:
            self._parts.append(part)
        self._size += count

    def _block(self, part: tuple) -> list[dict[str, Any]]:
        start, count, orders, which, own = part
        record = self._columns.record
        return [own[k] if k in own else record(start + k, orders[w])
                for k, w in enumerate(which.tolist())]

    def _rows(self) -> list[dict[str, Any]]:
        if self._list is None:
            out: list[dict[str, Any]] = []
            for part in self._parts:
                out.extend(part if isinstance(part, list) else self._block(part))
            self._list = out
            self._parts = []
        return self._list

    def __len__(self) -> int:
        return self._size

    def __getitem__(self, index: Any) -> Any:
        return self._rows()[index]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self._rows())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (list, tuple, AcceptedRecords)):
            return self._rows() == list(other)
        return NotImplemented

    def __repr__(self) -> str:
        return f"AcceptedRecords({self._size} records)"


@dataclass
class ValidationResult:
    accepted: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    #: ``accepted`` as columns, when the validation run collected them (None otherwise).
    columns: AcceptedColumns | None = field(default=None, repr=False, compare=False)
    # ``accepted`` is an :class:`AcceptedRecords` (a sequence that makes its dicts when read)
    # when some rows were checked as columns.

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == ERROR]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == WARNING]

    def with_problems(self, extra: Iterable[Problem]) -> "ValidationResult":
        """A new result with more problems about accepted records (e.g. from plug-ins).

        A problem is matched to its record by ``(file, row)``; an ``error`` moves the record to
        the rejected list (after those already there), a ``warning`` keeps it. A problem that
        matches no accepted record is only listed.
        """
        extra = list(extra)
        by_key: dict[tuple[str, int], list[Problem]] = {}
        for p in extra:
            by_key.setdefault((p.file, p.row), []).append(p)
        accepted: list[dict[str, Any]] = []
        moved: list[Rejected] = []
        for rec in self.accepted:
            found = by_key.get((rec.get("_file", ""), rec.get("_row", 0)), [])
            if any(p.severity == ERROR for p in found):
                data = {k: v for k, v in rec.items() if k not in ("_file", "_row")}
                moved.append(Rejected(rec.get("_file", ""), rec.get("_row", 0), rec.get("school_id"),
                                      rec.get("school_name"), found, data))
            else:
                accepted.append(rec)
        return ValidationResult(accepted, self.rejected + moved, self.problems + extra)


def _json_safe(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    return str(value)


# --- coercion -------------------------------------------------------------------------

class _Bad(Exception):
    """A value that cannot be converted; ``expected`` says to what."""

    def __init__(self, expected: str) -> None:
        super().__init__(expected)
        self.expected = expected


_INT_TEXT = re.compile(r"[+-]?\d+(?:\.0*)?")
_NUM_TEXT = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_GROUPED = re.compile(r"(?<=\d)[,，\s](?=\d{3}(?:\D|$))")
_TRUE = frozenset({"true", "t", "1", "yes", "y", "是", "有"})
_FALSE = frozenset({"false", "f", "0", "no", "n", "否", "无"})


def _text(value: str) -> str:
    value = value.strip()
    return value if value.isascii() else unicodedata.normalize("NFKC", value).strip()


def _number_text(value: str) -> str:
    return _GROUPED.sub("", _text(value))


def _to_int(value: Any) -> int:
    t = type(value)
    if t is str:
        s = value.strip()
        if s.isascii() and s.isdigit():          # the common case: plain digits
            return int(s)
        s = _number_text(value)
        if _INT_TEXT.fullmatch(s):
            return int(s.split(".", 1)[0])
        raise _Bad("an integer / 整数")
    if t is int:
        return value
    if t is float:
        if math.isfinite(value) and value.is_integer():
            return int(value)
    raise _Bad("an integer / 整数")


def _make_to_float(percent: bool) -> Callable[[Any], float]:
    expected = ("a fraction (0.95) or a percentage (95%) / 比例或百分数" if percent else "a number / 数值")

    def to_float(value: Any) -> float:
        t = type(value)
        if t is int or t is float:
            v = float(value)
            if math.isfinite(v):
                return v
        elif t is str:
            s = value.strip()
            if s.isascii() and s.replace(".", "", 1).isdigit():   # plain decimal
                return float(s)
            s = _number_text(value)
            if percent and s.endswith("%"):
                s = s[:-1].strip()
                if _NUM_TEXT.fullmatch(s):
                    return float(s) / 100       # not * 0.01: 95 * 0.01 != 0.95
            elif _NUM_TEXT.fullmatch(s):
                return float(s)
        raise _Bad(expected)
    return to_float


def _to_bool(value: Any) -> bool:
    t = type(value)
    if t is bool:
        return value
    if (t is int or t is float) and value in (0, 1):
        return bool(value)
    if t is str:
        s = _text(value).lower()
        if s in _TRUE:
            return True
        if s in _FALSE:
            return False
    raise _Bad("a boolean (true/false, yes/no, 1/0) / 是或否")


def _make_to_str(name: str, spec: dict[str, Any]) -> Callable[[Any], str]:
    lower = name == "province"
    has_enum = "enum" in spec
    direct = frozenset(v for v in spec.get("enum", ()) if isinstance(v, str))

    def to_str(value: Any) -> str:
        t = type(value)
        if t is str:
            s = _text(value)
        elif t is int:
            s = str(value)
        elif t is float and value.is_integer():   # a code typed into a numeric cell
            s = str(int(value))
        else:
            raise _Bad("text / 文本")
        if not s:
            raise _Bad("text / 文本")
        if has_enum:
            return s if s in direct else (fields.enum_value(name, s) or s)
        return s.lower() if lower else s
    return to_str


def text_unchanged(name: str, spec: dict[str, Any]) -> bool:
    """True when the field's coercer returns any non-empty, stripped, NFKC-normal text as it is
    (a text field without an enum, other than the lower-cased province): a column of such
    text needs no converting. Keep in step with :func:`_make_to_str` and :func:`_coercer`."""
    return spec.get("type") not in ("integer", "number", "boolean") and "enum" not in spec and name != "province"


def _coercer(name: str, spec: dict[str, Any]) -> Callable[[Any], Any]:
    kind = spec.get("type")
    if kind == "integer":
        return _to_int
    if kind == "number":
        return _make_to_float(spec.get("x-unit") == "fraction" or spec.get("maximum") == 1)
    if kind == "boolean":
        return _to_bool
    return _make_to_str(name, spec)


# --- fast schema check ----------------------------------------------------------------

_ANNOTATIONS = {"title", "description", "$comment", "examples", "default", "deprecated",
                "readOnly", "writeOnly", "format"}


def _fast_check(spec: dict[str, Any]) -> Callable[[Any], bool] | None:
    """A predicate equivalent to ``spec`` for the keywords it knows; ``None`` otherwise.

    Each bound mirrors jsonschema's own failure test, negated (``not v < minimum``), so the
    predicate accepts exactly what the validator accepts for these keywords.
    """
    known = {"type", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "enum",
             "pattern", "minLength", "maxLength"}
    for key in spec:
        if key not in known and key not in _ANNOTATIONS and not key.startswith("x-"):
            return None
    kind = spec.get("type")
    lo, hi = spec.get("minimum"), spec.get("maximum")
    xlo, xhi = spec.get("exclusiveMinimum"), spec.get("exclusiveMaximum")

    def bounds_ok(v: Any) -> bool:
        return not ((lo is not None and v < lo) or (hi is not None and v > hi)
                    or (xlo is not None and v <= xlo) or (xhi is not None and v >= xhi))

    if kind in ("integer", "number"):
        if any(k in spec for k in ("enum", "pattern", "minLength", "maxLength")):
            return None
        if kind == "integer":
            def check_int(v: Any) -> bool:
                t = type(v)
                if t is not int and not (t is float and v.is_integer()):
                    return False
                return bounds_ok(v)
            if lo is not None and hi is None and xlo is None and xhi is None:
                def check_int_min(v: Any) -> bool:      # the common case, one call
                    if type(v) is int:
                        return not v < lo
                    return check_int(v)
                return check_int_min
            return check_int

        def check_num(v: Any) -> bool:
            t = type(v)
            return (t is int or t is float) and bounds_ok(v)
        if lo is not None and hi is None and xlo is None and xhi is None:
            def check_num_min(v: Any) -> bool:
                if type(v) is float:
                    return not v < lo
                return check_num(v)
            return check_num_min
        return check_num
    if kind == "boolean":
        if len(set(spec) & known) > 1:
            return None
        return lambda v: type(v) is bool
    if kind != "string" or any(k in spec for k in ("minimum", "maximum", "exclusiveMinimum",
                                                   "exclusiveMaximum")):
        return None
    enum = spec.get("enum")
    if enum is not None and not all(type(e) is str for e in enum):
        return None
    allowed = frozenset(enum) if enum is not None else None
    pattern = re.compile(spec["pattern"]) if "pattern" in spec else None
    n_min, n_max = spec.get("minLength"), spec.get("maxLength")

    def check_str(v: Any) -> bool:
        if type(v) is not str:
            return False
        if allowed is not None and v not in allowed:
            return False
        if pattern is not None and pattern.search(v) is None:
            return False
        if n_min is not None and len(v) < n_min:
            return False
        return n_max is None or len(v) <= n_max
    return check_str


def fast_check_array(spec: dict[str, Any]) -> Callable[[np.ndarray], np.ndarray] | None:
    """:func:`_fast_check` of a number field over a float array of converted values: True where
    the check passes. None unless the field is an integer or number whose bounds a float holds
    exactly (then comparing floats is comparing the values; integers up to 2**53 are exact)."""
    if spec.get("type") not in ("integer", "number") or _fast_check(spec) is None:
        return None
    bounds = [spec.get(k) for k in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")]
    for bound in bounds:
        if bound is not None and (type(bound) not in (int, float) or float(bound) != bound):
            return None
    lo, hi, xlo, xhi = bounds

    def check(v: np.ndarray) -> np.ndarray:
        fails = np.zeros(len(v), dtype=bool)     # each test as in _fast_check: a failure is v < lo
        if lo is not None:
            fails |= v < lo
        if hi is not None:
            fails |= v > hi
        if xlo is not None:
            fails |= v <= xlo
        if xhi is not None:
            fails |= v >= xhi
        return ~fails
    return check


def text_lengths(spec: dict[str, Any]) -> tuple[int | None, int | None] | None:
    """``(minLength, maxLength)`` when they are all :func:`_fast_check` tests of a text field
    (so any str of such a length passes); None otherwise."""
    if spec.get("type") != "string" or _fast_check(spec) is None:
        return None
    if any(k not in ("type", "minLength", "maxLength") and k not in _ANNOTATIONS and not k.startswith("x-")
           for k in spec):
        return None
    return spec.get("minLength"), spec.get("maxLength")


#: Distinct values remembered per field and validation run (see ``RecordChecker.prepare``).
MEMO_SIZE = 4096
_NEW = object()


class RecordChecker:
    """One schema compiled once: coercers, fast predicates and the jsonschema validator."""

    def __init__(self, schema: dict[str, Any]) -> None:
        Draft202012Validator.check_schema(schema)
        self.schema = schema
        self.validator = Draft202012Validator(schema)
        self.props: dict[str, dict[str, Any]] = schema.get("properties", {})
        self.order = {name: k for k, name in enumerate(self.props)}
        self.required: tuple[str, ...] = tuple(schema.get("required", ()))
        self.coercers = {name: _coercer(name, spec) for name, spec in self.props.items()}
        top_ok = (schema.get("type") == "object" and schema.get("additionalProperties") is False
                  and all(k in _ANNOTATIONS or k.startswith("x-") or
                          k in ("$schema", "$id", "$defs", "type", "required", "properties",
                                "additionalProperties")
                          for k in schema))
        checks = {name: _fast_check(spec) for name, spec in self.props.items()}
        self.checks: dict[str, Callable[[Any], bool]] = (
            {k: c for k, c in checks.items() if c is not None} if top_ok else {})
        self.fast_enabled = top_ok
        self.steps: dict[str, tuple[Callable[[Any], Any], Callable[[Any], bool] | None]] = {
            name: (self.coercers[name], self.checks.get(name)) for name in self.props}

    def prepare(self, data: dict[str, Any], default_province: str | None = None,
                memo: dict[str, dict[str, Any] | None] | None = None
                ) -> tuple[dict[str, Any], list[tuple[str, Any, str]], bool]:
        """Convert a row: ``(record, values that would not convert, fast schema verdict)``.

        Missing values are left out of ``record``; the province is filled from the default.
        The verdict is True only when the schema certainly accepts ``record``.

        ``memo`` (one dict per validation run) remembers, per field, what a text cell converted
        to when the value passed the fast check: in a large file most columns repeat a few
        values (stage, type, booleans, county, small counts), and a lookup costs a fraction of
        a conversion. A field whose distinct values outgrow :data:`MEMO_SIZE` stops being
        remembered. Conversions are pure functions of the cell, so the result is the same.
        """
        record: dict[str, Any] = {}
        bad: list[tuple[str, Any, str]] = []
        steps = self.steps
        ok = self.fast_enabled
        if memo is not None and not memo:
            memo.update((name, {}) for name in steps)
        memo_get = memo.get if memo is not None else None
        seen = None
        for key, raw in data.items():
            if raw is None:
                continue                        # ("" and blank text are missing too: see below)
            if memo_get is not None:
                seen = memo_get(key)            # only text cells are remembered, so 1 ≠ "1" ≠ True
                if seen is not None:
                    try:
                        value = seen.get(raw, _NEW)
                    except TypeError:           # unhashable (a list in a JSON file): convert it
                        value = _NEW
                    if value is not _NEW:       # converted before and passed the fast check
                        record[key] = value
                        continue
            step = steps.get(key)
            if step is None:
                if key in _PROVENANCE or (type(raw) is str and not raw.strip()):
                    continue
                record[key] = raw           # unknown: the schema reports it
                ok = False
                continue
            conv, check = step
            try:
                value = conv(raw)
            except _Bad as exc:
                if type(raw) is str and not raw.strip():
                    continue                # empty or only spaces: missing (no coercer takes "")
                bad.append((key, raw, exc.expected))
                ok = False
                continue
            record[key] = value
            if check is None or not check(value):
                ok = False
            elif seen is not None and type(raw) is str:
                if len(seen) < MEMO_SIZE:
                    seen[raw] = value
                else:
                    memo[key] = None        # many distinct values: converting is as cheap
        if default_province and "province" not in record and "province" in steps:
            try:
                record["province"] = value = steps["province"][0](default_province)
            except _Bad:
                record["province"] = value = default_province
            if ok and (steps["province"][1] is None or not steps["province"][1](value)):
                ok = False
        if ok:
            for name in self.required:
                if name not in record:
                    ok = False
                    break
        return record, bad, ok

    def fast_ok(self, record: dict[str, Any]) -> bool:
        """True only if the schema certainly accepts ``record``."""
        if not self.fast_enabled:
            return False
        for name in self.required:
            if name not in record:
                return False
        checks = self.checks
        for key, value in record.items():
            check = checks.get(key)
            if check is None or not check(value):
                return False
        return True

    def is_valid(self, record: dict[str, Any]) -> bool:
        """The schema's verdict, by the fast path when it can tell."""
        return self.fast_ok(record) or not any(True for _ in self.validator.iter_errors(record))

    def schema_problems(self, record: dict[str, Any]) -> list[tuple[str, str | None, Any, Any]]:
        """``(code, field, observed, expected)`` for every schema error in ``record``."""
        out: list[tuple[str, str | None, Any, Any]] = []
        done: set[str] = set()       # jsonschema may repeat these once per missing/extra name
        for err in self.validator.iter_errors(record):
            kw = err.validator
            if kw in ("required", "additionalProperties") and err.path:
                kw = "nested"        # not this object's own keyword: report as is
            elif kw == "required":
                if kw not in done:
                    done.add(kw)
                    out.extend(("E101", name, None, "a value / 必填")
                               for name in err.validator_value if name not in record)
                continue
            elif kw == "additionalProperties":
                if kw not in done:
                    done.add(kw)
                    out.extend(("E106", name, record[name], _known_field_hint(name))
                               for name in record if name not in self.props)
                continue
            name = str(err.path[0]) if err.path else None
            spec = self.props.get(name or "", {})
            out.append((_SCHEMA_CODES.get(kw, "E109"), name, err.instance, _expected(kw, err.validator_value, spec)))
        return out


def _known_field_hint(name: str) -> str:
    guess = fields.suggest_field(name)
    if guess is None:
        return "a known field / 已知字段"
    return f"a known field; did you mean {guess} ({fields.label(guess)})? / 是否应为 {fields.label(guess)}"


def _expected(keyword: str, value: Any, spec: dict[str, Any]) -> Any:
    if keyword == "minimum":
        return f"≥ {value}"
    if keyword == "exclusiveMinimum":
        return f"> {value}"
    if keyword == "maximum":
        return f"≤ {value}"
    if keyword == "exclusiveMaximum":
        return f"< {value}"
    if keyword == "enum":
        labels = spec.get("x-enum-labels", {})
        return ", ".join(f"{v} ({labels[v]})" if v in labels else str(v) for v in value)
    if keyword == "pattern":
        return spec.get("x-pattern-hint") or f"text matching {value}"
    if keyword == "type":
        return str(value)
    if keyword in ("minLength", "maxLength"):
        return f"{keyword} {value}"
    return f"{keyword}: {value}"


# --- messages -------------------------------------------------------------------------

def _show(value: Any) -> str:
    """A value as the user would recognise it: numbers bare, other text quoted."""
    if isinstance(value, str) and not _NUM_TEXT.fullmatch(value):
        return repr(value)
    return str(value)


def _message(code: str, fname: str | None, lab: str, observed: Any, expected: Any) -> str:
    who = f"{lab}（{fname}）" if fname and lab != fname else (fname or "")
    if code == "E101":
        return f"{who} 缺失 / is missing"
    if code == "E102":
        en, _, zh = str(expected).partition(" / ")
        return f"{who} 应为{zh or en}，实际为 {_show(observed)} / expected {en}, got {_show(observed)}"
    if code == "E103":
        return f"{who} 应 {expected}，实际为 {_show(observed)} / must be {expected}, got {_show(observed)}"
    if code == "E107":
        hint = " (rates are fractions: 95 % is 0.95)" if expected == "≤ 1" else ""
        return f"{who} 应 {expected}，实际为 {_show(observed)} / must be {expected}, got {_show(observed)}{hint}"
    if code == "E104":
        return f"{who} 取值 {_show(observed)} 不在允许范围 / must be one of {expected}"
    if code == "E105":
        zh, _, en = str(expected).partition(" / ")
        return f"{who} 格式不对，应为{zh}，实际为 {_show(observed)} / expected {en or zh}, got {_show(observed)}"
    if code == "E106":
        return (f"未知列 {fname!r}，可能拼写有误 / unknown field {fname!r}; expected {expected}")
    if code == "E108":
        return f"{who} 长度不对 / wrong length ({expected}): {_show(observed)}"
    return f"{who} 不符合要求 / fails {expected}: {_show(observed)}"


class _RowProblems:
    """Collects one row's problems with its provenance filled in."""

    def __init__(self, row: RawRow, ident: str | None) -> None:
        self.row = row
        self.ident = ident
        self.items: list[Problem] = []
        self.bad_fields: set[str] = set()

    def add(self, code: str, fname: str | None, observed: Any, expected: Any,
            message: str | None = None) -> None:
        lab = fields.label(fname) if fname else ""
        if message is None:
            message = _message(code, fname, lab, observed, expected)
        self.items.append(Problem(code, PROBLEM_CODES[code][1], self.row.file, self.row.row, self.ident,
                                  fname, lab, observed, expected, message))
        if fname and PROBLEM_CODES[code][1] == ERROR:
            self.bad_fields.add(fname)

    @property
    def has_error(self) -> bool:
        return any(p.severity == ERROR for p in self.items)


def _ident(data: dict[str, Any], key: str) -> str | None:
    v = data.get(key)
    if v is None:
        return None
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    s = str(v).strip()
    return s or None


def _check_schema(checker: RecordChecker, record: dict[str, Any], bad: list[tuple[str, Any, str]],
                  rp: _RowProblems, data: dict[str, Any]) -> None:
    """Coercion failures, then schema errors (ordered as the schema lists the fields)."""
    failed = {name for name, _, _ in bad}
    found: list[tuple[str, str | None, Any, Any]] = [("E102", n, raw, exp) for n, raw, exp in bad]
    if not checker.fast_ok(record):
        for code, name, observed, expected in checker.schema_problems(record):
            if code == "E101" and name in failed:
                continue
            if name in data and code != "E101":
                observed = data[name]          # show what the user wrote
            found.append((code, name, observed, expected))
    big = len(checker.order)
    found.sort(key=lambda t: (checker.order.get(t[1] or "", big), t[0]))
    for code, name, observed, expected in found:
        rp.add(code, name, observed, expected)


def _check_province(record: dict[str, Any], known: frozenset[str] | None, rp: _RowProblems) -> None:
    if known is None or "province" in rp.bad_fields:
        return
    prov = record.get("province")
    if prov is not None and prov not in known:
        rp.add("E205", "province", prov, ", ".join(sorted(known)),
               f"省份 {prov!r} 没有对应的插件 / unknown province {prov!r} "
               f"(known: {', '.join(sorted(known)) or 'none'})")


def _ok(record: dict[str, Any], rp: _RowProblems, *names: str) -> bool:
    bad = rp.bad_fields
    for n in names:
        if n not in record or n in bad:
            return False
    return True


def _cross_checks(record: dict[str, Any], rp: _RowProblems) -> None:
    lab = fields.label
    if _ok(record, rp, "boarders", "students") and record["boarders"] > record["students"]:
        rp.add("E201", "boarders", record["boarders"], f"≤ students ({record['students']})",
               f"{lab('boarders')} {record['boarders']} 超过 {lab('students')} {record['students']} / "
               f"boarders exceed students")
    if _ok(record, rp, "teachers"):
        t = record["teachers"]
        for name in TEACHER_SUBSETS:
            if _ok(record, rp, name) and record[name] > t:
                rp.add("E202", name, record[name], f"≤ teachers ({t})",
                       f"{lab(name)} {record[name]} 超过 {lab('teachers')} {t} / "
                       f"{name} exceed teachers")
        if _ok(record, rp, "staff") and t > record["staff"]:
            rp.add("W303", "teachers", t, f"≤ staff ({record['staff']})",
                   f"{lab('teachers')} {t} 超过 {lab('staff')} {record['staff']} / "
                   f"teachers exceed staff (teachers are part of the staff)")
    if (_ok(record, rp, "special_needs_students", "students")
            and record["special_needs_students"] > record["students"]):
        rp.add("E203", "special_needs_students", record["special_needs_students"],
               f"≤ students ({record['students']})",
               f"{lab('special_needs_students')} {record['special_needs_students']} 超过 "
               f"{lab('students')} {record['students']} / special-needs pupils exceed students")
    if _ok(record, rp, "students"):
        s = record["students"]
        for name, code in (("max_class_size", "W301"), ("classes", "W302")):
            if _ok(record, rp, name) and record[name] > s:
                rp.add(code, name, record[name], f"≤ students ({s})",
                       f"{lab(name)} {record[name]} 大于 {lab('students')} {s} / {name} exceeds students")


class _Seen:
    """The first row of each (school_id, stage, year) in one validation run, over every file.

    Rows checked one by one are kept as ``(file, row)``; a block checked as columns hands over
    its first rows all at once (key → position in the block). A key is kept in one place only.
    """

    def __init__(self) -> None:
        self.rows: dict[tuple, tuple[str, int]] = {}
        self.blocks: list[list[Any]] = []         # [key → position (or a function making it), file, numbers]

    def get(self, key: tuple) -> tuple[str, int] | None:
        first = self.rows.get(key)
        if first is None:
            for block in self.blocks:
                if callable(block[0]):
                    block[0] = block[0]()
                pos = block[0].get(key)
                if pos is not None:
                    return block[1], int(block[2][pos])
        return first

    def __bool__(self) -> bool:
        return bool(self.rows) or bool(self.blocks)

    def add_block(self, positions: Callable[[], dict[tuple, int]] | None, file: str, numbers: np.ndarray) -> None:
        """A block's first rows: ``positions()`` maps each key to its first row's position."""
        if positions is not None:
            self.blocks.append([positions, file, numbers])


def _school_row(checker: RecordChecker, row: RawRow, default_province: str | None,
                known: frozenset[str] | None, memo: dict[str, Any]) -> tuple[dict[str, Any], _RowProblems]:
    """One school row's record and problems, all but the duplicate check."""
    data = row.data
    record, bad, ok = checker.prepare(data, default_province, memo)
    rp = _RowProblems(row, _ident(record, "school_id") or _ident(data, "school_id"))
    if not ok:
        _check_schema(checker, record, bad, rp, data)
    if "province" not in record and not any(p.field == "province" for p in rp.items):
        rp.add("E101", "province", None, "a province id, or a default province for the file",
               f"{fields.label('province')}（province）缺失，也没有为整个文件指定 / is missing and "
               "no default province was given")
    _check_province(record, known, rp)
    _cross_checks(record, rp)
    return record, rp


def _school_key(record: dict[str, Any], rp: _RowProblems) -> tuple | None:
    """The identity a duplicate is judged on; None if part of it is missing or failed."""
    if _ok(record, rp, "school_id", "stage", "year"):
        return record["school_id"], record["stage"], record["year"]
    return None


def _add_duplicate(rp: _RowProblems, record: dict[str, Any], first: tuple[str, int]) -> None:
    file, row = first
    rp.add("E204", "school_id", record["school_id"], "unique (school_id, stage, year)",
           f"重复记录：与 {file} 第 {row} 行相同（学校标识码、学段、学年）/ "
           f"duplicate of {file} row {row} (same school_id, stage, year)")


def _first_seen(seen: dict[tuple, RawRow], key: tuple, row: RawRow) -> RawRow | None:
    first = seen.get(key)
    if first is None:
        seen[key] = row
    return first


# --- public entry points --------------------------------------------------------------

_SCHOOL_CHECKER: RecordChecker | None = None
_COUNTY_CHECKER: RecordChecker | None = None


def school_checker() -> RecordChecker:
    global _SCHOOL_CHECKER
    if _SCHOOL_CHECKER is None:
        _SCHOOL_CHECKER = RecordChecker(school_schema())
    return _SCHOOL_CHECKER


def county_checker() -> RecordChecker:
    global _COUNTY_CHECKER
    if _COUNTY_CHECKER is None:
        _COUNTY_CHECKER = RecordChecker(county_schema())
    return _COUNTY_CHECKER


def validate(rows: Iterable[RawRow], default_province: str | None = None,
             known_provinces: Collection[str] | None = None) -> ValidationResult:
    """Accept or reject every school row; see the module docstring for the checks."""
    with paused_gc():
        return _validate(rows, default_province, known_provinces)


def _validate(rows: Iterable[RawRow], default_province: str | None,
              known_provinces: Collection[str] | None) -> ValidationResult:
    checker = school_checker()
    known = frozenset(known_provinces) if known_provinces is not None else None
    result = ValidationResult()
    if isinstance(rows, Sized):
        result.columns = AcceptedColumns(checker.props, len(rows))
    parts: tuple[Any, ...] = rows.parts if isinstance(rows, Rows) else (rows,)
    by_columns = result.columns is not None and any(isinstance(p, CsvColumns) for p in parts)
    if by_columns:
        result.accepted = AcceptedRecords(result.columns)
    seen = _Seen()
    memo: dict[str, Any] = {}
    for part in parts:
        if by_columns and isinstance(part, CsvColumns):
            from .validate_columns import validate_block
            validate_block(part, checker, default_province, known, seen, result, memo)
            continue
        for row in part:
            _validate_row(checker, row, default_province, known, memo, seen, result)
    return result


def _validate_row(checker: RecordChecker, row: RawRow, default_province: str | None,
                  known: frozenset[str] | None, memo: dict[str, Any], seen: _Seen,
                  result: ValidationResult) -> None:
    record, rp = _school_row(checker, row, default_province, known, memo)
    key = _school_key(record, rp)
    if key is not None:
        first = seen.get(key)
        if first is None:
            seen.rows[key] = (row.file, row.row)
        else:
            _add_duplicate(rp, record, first)
    _finish(result, row, record, rp, _ident(row.data, "school_name"))


def validate_counties(rows: Iterable[RawRow], default_province: str | None = None,
                      known_provinces: Collection[str] | None = None
                      ) -> tuple[list[dict[str, Any]], list[Rejected]]:
    """Accept or reject every county row: schema, province, unique (county_code, year)."""
    with paused_gc():
        return _validate_counties(rows, default_province, known_provinces)


def _validate_counties(rows: Iterable[RawRow], default_province: str | None,
                       known_provinces: Collection[str] | None
                       ) -> tuple[list[dict[str, Any]], list[Rejected]]:
    checker = county_checker()
    known = frozenset(known_provinces) if known_provinces is not None else None
    result = ValidationResult()
    seen: dict[tuple, RawRow] = {}
    memo: dict[str, Any] = {}
    for row in rows:
        record, bad, ok = checker.prepare(row.data, default_province, memo)
        rp = _RowProblems(row, None)
        if not ok:
            _check_schema(checker, record, bad, rp, row.data)
        _check_province(record, known, rp)
        if _ok(record, rp, "county_code", "year"):
            first = _first_seen(seen, (record["county_code"], record["year"]), row)
            if first is not None:
                rp.add("E206", "county_code", record["county_code"], "unique (county_code, year)",
                       f"重复的县级记录：与 {first.file} 第 {first.row} 行相同（县级行政区划代码、学年）/ "
                       f"duplicate of {first.file} row {first.row} (same county_code, year)")
        _finish(result, row, record, rp, _ident(row.data, "county_name"))
    return result.accepted, result.rejected


def _finish(result: ValidationResult, row: RawRow, record: dict[str, Any], rp: _RowProblems,
            name: str | None) -> None:
    result.problems.extend(rp.items)
    if rp.has_error:
        result.rejected.append(Rejected(row.file, row.row, rp.ident, name, rp.items, row.data))
    else:
        record["_file"] = row.file
        record["_row"] = row.row
        result.accepted.append(record)
        if result.columns is not None:
            result.columns.add(record)
