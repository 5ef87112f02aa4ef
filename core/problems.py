"""Problems found in input records: the stable codes, the :class:`Problem` and its message.

Problem codes (stable; ``Problem.code``; ``Problem.name`` gives the slug):

====  ==================================  ========  =====================================
code  name                                severity  meaning
====  ==================================  ========  =====================================
E101  required-missing                    error     an identity field is missing
E102  wrong-type                          error     the value cannot be read as the type
E103  below-minimum                       error     a count or amount below its minimum
E104  not-in-enum                         error     not one of the allowed values
E105  pattern                             error     wrong form (county code: 6 digits)
E106  unknown-field                       error     a key the schema does not know, in a
                                                    record given to the API (a file's unknown
                                                    column is W401)
E107  above-maximum                       error     above its maximum (a rate > 1, a count
                                                    beyond any school's, a number too large)
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
W401  unknown-column                      warning   a file's columns no field names (ignored;
                                                    once per file, never a row rejection)
W402  unit-converted                      warning   a column in another unit (万元, 千册 …),
                                                    converted to the field's unit
W403  rows-skipped                        warning   rows that are not records (totals,
                                                    signatures, notes, blank rows), skipped
====  ==================================  ========  =====================================
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from . import fields

ERROR, WARNING = "error", "warning"

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
    "W401": ("unknown-column", WARNING),
    "W402": ("unit-converted", WARNING),
    "W403": ("rows-skipped", WARNING),
}

#: jsonschema keyword -> problem code
SCHEMA_CODES = {
    "required": "E101", "type": "E102", "minimum": "E103", "exclusiveMinimum": "E103",
    "enum": "E104", "const": "E104", "pattern": "E105", "additionalProperties": "E106",
    "maximum": "E107", "exclusiveMaximum": "E107", "minLength": "E108", "maxLength": "E108",
}


def severity(code: str) -> str:
    return PROBLEM_CODES.get(code, ("", ERROR))[1]


@dataclass(frozen=True)
class Problem:
    code: str
    severity: str
    file: str
    row: int | None            # None: about the whole file (W401–W403)
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
                "observed": json_safe(self.observed), "expected": json_safe(self.expected),
                "message": self.message}


def file_notice(code: str, file: str, message: str, observed: Any = None, field: str | None = None) -> Problem:
    """A problem about a whole file (W401–W403): no row, shown once; it never rejects a record
    nor changes the exit code."""
    return Problem(code, severity(code), file, None, None, field, fields.label(field) if field else "", observed,
                   None, message)


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
                "data": {str(k): json_safe(v) for k, v in self.data.items()}}


def json_safe(value: Any) -> Any:
    """A value a JSON report can hold: non-finite floats and integers beyond 64 bits as text."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value if -2 ** 63 <= value < 2 ** 63 else show(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    return str(value)


# --- messages -------------------------------------------------------------------------

NUM_TEXT = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
#: Longest value shown whole in a message.
SHOWN = 60


def show(value: Any) -> str:
    """A value as the user would recognise it: numbers bare, other text quoted; a very long one cut."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 200:
        return f"a number of about {int(value.bit_length() * 0.30103) + 1} digits"
    text = value if isinstance(value, str) else str(value)
    if len(text) > SHOWN:
        return repr(f"{text[:SHOWN // 2]}…{text[-10:]}") + f" ({len(text)} characters)"
    if isinstance(value, str) and not NUM_TEXT.fullmatch(value):
        return repr(value)
    return text


def expected_text(keyword: str, value: Any, spec: dict[str, Any]) -> Any:
    """What a schema keyword asks for, as a user reads it."""
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


def known_field_hint(name: str) -> str:
    guess = fields.suggest_field(name)
    if guess is None:
        return "a known field / 已知字段"
    return f"a known field; did you mean {guess} ({fields.label(guess)})? / 是否应为 {fields.label(guess)}"


def message(code: str, fname: str | None, lab: str, observed: Any, expected: Any) -> str:
    """The message of a schema problem: Chinese first, English after."""
    who = f"{lab}（{fname}）" if fname and lab != fname else (fname or "")
    if code == "E101":
        return f"{who} 缺失 / is missing"
    if code == "E102":
        en, _, zh = str(expected).partition(" / ")
        return f"{who} 应为{zh or en}，实际为 {show(observed)} / expected {en}, got {show(observed)}"
    if code == "E103":
        return f"{who} 应 {expected}，实际为 {show(observed)} / must be {expected}, got {show(observed)}"
    if code == "E107":
        hint = " (rates are fractions: 95 % is 0.95)" if expected == "≤ 1" else ""
        return f"{who} 应 {expected}，实际为 {show(observed)} / must be {expected}, got {show(observed)}{hint}"
    if code == "E104":
        return f"{who} 取值 {show(observed)} 不在允许范围 / must be one of {expected}"
    if code == "E105":
        zh, _, en = str(expected).partition(" / ")
        return f"{who} 格式不对，应为{zh}，实际为 {show(observed)} / expected {en or zh}, got {show(observed)}"
    if code == "E106":
        return f"未知列 {fname!r}，可能拼写有误 / unknown field {fname!r}; expected {expected}"
    if code == "E108":
        return f"{who} 长度不对 / wrong length ({expected}): {show(observed)}"
    return f"{who} 不符合要求 / fails {expected}: {show(observed)}"


class RowProblems:
    """Collects one row's problems with its provenance filled in."""

    def __init__(self, file: str, row: int, ident: str | None) -> None:
        self.file = file
        self.row = row
        self.ident = ident
        self.items: list[Problem] = []
        self.bad_fields: set[str] = set()

    def add(self, code: str, fname: str | None, observed: Any, expected: Any, text: str | None = None) -> None:
        lab = fields.label(fname) if fname else ""
        if text is None:
            text = message(code, fname, lab, observed, expected)
        sev = severity(code)
        self.items.append(Problem(code, sev, self.file, self.row, self.ident, fname, lab, observed, expected, text))
        if fname and sev == ERROR:
            self.bad_fields.add(fname)

    @property
    def has_error(self) -> bool:
        return any(p.severity == ERROR for p in self.items)

    def ok(self, record: dict[str, Any], *names: str) -> bool:
        """Every field named has a value that did not fail (cross-field checks skip the rest)."""
        bad = self.bad_fields
        for n in names:
            if n not in record or n in bad:
                return False
        return True
