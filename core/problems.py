"""Problems found in input records: the stable codes, the :class:`Problem` and its message.

Problem codes (stable; ``Problem.code``; ``Problem.name`` gives the slug):

====  ==================================  ========  =====================================
code  name                                severity  meaning
====  ==================================  ========  =====================================
E190  not-a-record                        error     a record given to the API is not an object
E191  field-given-twice                   error     a record names one field twice (学段, stage)
E192  bad-argument                        error     an API argument no evaluation can use
E101  required-missing                    error     an identity field is missing
E102  wrong-type                          error     the value cannot be read as the type
E103  below-minimum                       error     a count or amount below its minimum
E104  not-in-enum                         error     not one of the allowed values
E105  pattern                             error     wrong form (county code: 6 digits)
E106  unknown-field                       error     a key the schema does not know, in a
                                                    record given to the API (a file's unknown
                                                    column is W401), or a key in a unit that
                                                    cannot be converted
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
W320  county-code-of-another-province     warning   the county code's first two digits
                                                    (GB/T 2260) name another province
W401  unknown-column                      warning   a file's columns no field names (ignored;
                                                    once per file, never a row rejection)
W402  unit-converted                      warning   a column in another unit (万元, 千册 …),
                                                    converted to the field's unit
W403  rows-skipped                        warning   rows that are not records (totals,
                                                    signatures, notes, units rows, blank
                                                    rows), skipped
W404  merged-cells                        warning   merged cells over several rows: a name,
                                                    code, kind or year read in each row, a
                                                    number in its first row only
W405  formulas-uncomputed                 warning   formulas a program wrote into records
                                                    without their results (open and save
                                                    the workbook in Excel or WPS)
W406  column-note                         warning   a column read as a field though its
                                                    header's note says it may hold something
                                                    else (学校名称（英文）, 学校标识码（旧）) or
                                                    another school year's values
====  ==================================  ========  =====================================
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from . import fields

ERROR, WARNING = "error", "warning"

#: code -> (name, severity)
PROBLEM_CODES: dict[str, tuple[str, str]] = {
    "E190": ("not-a-record", ERROR),
    "E191": ("field-given-twice", ERROR),
    "E192": ("bad-argument", ERROR),
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
    "W320": ("county-code-of-another-province", WARNING),
    "W401": ("unknown-column", WARNING),
    "W402": ("unit-converted", WARNING),
    "W403": ("rows-skipped", WARNING),
    "W404": ("merged-cells", WARNING),
    "W405": ("formulas-uncomputed", WARNING),
    "W406": ("column-note", WARNING),
}

#: jsonschema keyword -> problem code
SCHEMA_CODES = {
    "required": "E101", "type": "E102", "minimum": "E103", "exclusiveMinimum": "E103",
    "enum": "E104", "const": "E104", "pattern": "E105", "additionalProperties": "E106",
    "maximum": "E107", "exclusiveMaximum": "E107", "minLength": "E108", "maxLength": "E108",
}


def severity(code: str) -> str:
    return PROBLEM_CODES.get(code, ("", ERROR))[1]


@dataclass(frozen=True, slots=True)
class Problem:
    code: str
    severity: str
    file: str
    row: int | None            # None: about the whole file (W401–W406)
    school_id: str | None
    field: str | None
    label: str
    observed: Any
    expected: Any
    message: str

    @property
    def name(self) -> str:
        return PROBLEM_CODES.get(self.code, ("", ""))[0]

    @property
    def value(self) -> Any:
        """The value found (``observed``)."""
        return self.observed

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
    """A problem about a whole file (W401–W406): no row, shown once; it never rejects a record
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
        digits = int(value.bit_length() * 0.30103) + 1
        return f"约 {digits} 位的数 a number of about {digits} digits"
    text = value if isinstance(value, str) else str(value)
    if len(text) > SHOWN:
        return repr(f"{text[:SHOWN // 2]}…{text[-10:]}") + f"（{len(text)} 个字符 characters）"
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
        return "已知字段 / a known field"
    return f"是否应为 {fields.label(guess)} / a known field; did you mean {guess} ({fields.label(guess)})?"


def message(code: str, fname: str | None, lab: str, observed: Any, expected: Any) -> str:
    """The message of a schema problem: Chinese first, English after. ``observed`` may be
    :class:`Examples`, the values a problem was found with on several rows."""
    who = f"{lab}（{fname}）" if fname and lab != fname else (fname or "")
    if isinstance(observed, Examples):
        zh_seen, en_seen = observed.zh, observed.en
    else:
        zh_seen = en_seen = show(observed)
    if code == "E101":
        return f"{who} 缺失 / is missing"
    if code == "E102":
        zh, _, en = str(expected).partition(" / ")
        return f"{who} 应为{zh}，实际为 {zh_seen} / expected {en or zh}, got {en_seen}"
    if code == "E103":
        return f"{who} 应 {expected}，实际为 {zh_seen} / must be {expected}, got {en_seen}"
    if code == "E107":
        zh_hint, en_hint = (("（比例按小数填写：95% 填 0.95 或 95%）", " (rates are fractions: 95 % is 0.95 or 95%)")
                            if expected == "≤ 1" else ("", ""))
        return f"{who} 应 {expected}，实际为 {zh_seen}{zh_hint} / must be {expected}, got {en_seen}{en_hint}"
    if code == "E104":
        return f"{who} 取值 {zh_seen} 不在允许范围 / must be one of {expected}, got {en_seen}"
    if code == "E105":
        zh, _, en = str(expected).partition(" / ")
        return f"{who} 格式不对，应为{zh}，实际为 {zh_seen} / expected {en or zh}, got {en_seen}"
    if code == "E106":
        zh, _, en = str(expected).partition(" / ")
        return f"未知列 {fname!r}，可能拼写有误（{zh}）/ unknown field {fname!r}; expected {en or zh}"
    if code == "E108":
        return f"{who} 长度不对，实际为 {zh_seen} / wrong length ({expected}), got {en_seen}"
    return f"{who} 不符合要求，实际为 {zh_seen} / fails {expected}, got {en_seen}"


#: How many distinct values a problem found on several rows shows.
EXAMPLES_SHOWN = 3


@dataclass(frozen=True)
class Examples:
    """The distinct values one problem was found with on several rows, as a message shows them:
    ``'abc'、'x'、'多' 等 5 个不同的值`` / ``'abc', 'x', '多' and 2 more values``."""

    values: tuple[Any, ...]

    @property
    def zh(self) -> str:
        shown = "、".join(show(v) for v in self.values[:EXAMPLES_SHOWN])
        n = len(self.values)
        return shown + (f" 等 {n} 个不同的值" if n > EXAMPLES_SHOWN else "")

    @property
    def en(self) -> str:
        shown = ", ".join(show(v) for v in self.values[:EXAMPLES_SHOWN])
        rest = len(self.values) - EXAMPLES_SHOWN
        return shown + (f" and {rest} more value{'s' if rest != 1 else ''}" if rest > 0 else "")


class RowProblems:
    """Collects one row's problems with its provenance filled in."""

    __slots__ = ("file", "row", "ident", "items", "bad_fields")

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


# --- problems as people read them: one line per problem, with the rows it covers -------------

#: A row list with more parts than this is shown as its first parts and a count.
ROW_PARTS_SHOWN = 5
#: How many parts are shown before the count of a long row list.
ROW_PARTS_LEAD = 3


def row_parts(rows: Iterable[int]) -> list[str]:
    """Row numbers as runs: ``[2, 3, 4, 5, 9, 12]`` → ``["2–5", "9", "12"]``."""
    parts: list[str] = []
    ordered = sorted(set(rows))
    k = 0
    while k < len(ordered):
        start = end = ordered[k]
        while k + 1 < len(ordered) and ordered[k + 1] == end + 1:
            k += 1
            end = ordered[k]
        parts.append(str(start) if start == end else f"{start}–{end}")
        k += 1
    return parts


def row_runs(rows: Iterable[int], shown: int = ROW_PARTS_SHOWN, lead: int = ROW_PARTS_LEAD) -> tuple[str, str]:
    """Where rows are, Chinese and English: ``("第 2–29 行", "rows 2–29")``, ``("第 7 行", "row 7")``,
    or for a list of more than ``shown`` runs the first ``lead`` and a count,
    ``("第 2、5、9 行等 40 行", "rows 2, 5, 9 … (40 rows)")``."""
    rows = set(rows)
    parts = row_parts(rows)
    if len(parts) > shown:
        kept = parts[:lead]
        return f"第 {'、'.join(kept)} 行等 {len(rows)} 行", f"rows {', '.join(kept)} … ({len(rows)} rows)"
    return f"第 {'、'.join(parts)} 行", f"{'row' if len(rows) == 1 else 'rows'} {', '.join(parts)}"


def rows_text(rows: Iterable[int]) -> str:
    """Where a problem is, Chinese first: ``第 2–29 行 rows 2–29`` (:func:`row_runs`)."""
    return " ".join(row_runs(rows))


@dataclass
class ProblemGroup:
    """One problem as found on one or more rows of a file: the same code, field and expectation,
    whatever value each row holds (``values``: each distinct message, the value behind it and
    the first row it was found on)."""

    code: str
    severity: str
    file: str
    field: str | None
    label: str
    expected: Any
    worded: bool            # the messages are :func:`message`'s, so one can name several values
    rows: list[int]
    who: list[str]          # per row, the school (or county) it names, as a user finds it
    values: dict[str, tuple[Any, int]]

    @property
    def where(self) -> str:
        """The file and its rows; a single row also names its school."""
        place = f"{self.file} {rows_text(self.rows)}".strip()
        if len(self.rows) == 1 and self.who[0]:
            place += f" {self.who[0]}"
        return place

    @property
    def message(self) -> str:
        """The problem in words: as found when every row holds the same value; else naming the
        field, what was expected and a few of the values found."""
        found = list(self.values.items())
        if len(found) == 1:
            return found[0][0]
        if self.worded:
            return message(self.code, self.field, self.label, Examples(tuple(v for _, (v, _) in found)),
                           self.expected)
        first, (_, row) = found[0]
        return (f"例 e.g. 第 {row} 行 row {row}：{first}（共 {len(found)} 种不同的值 "
                f"{len(found)} distinct values）")

    @property
    def cut(self) -> bool:
        """Whether :meth:`line` leaves rows or values out (a long scattered list of rows, more
        values than :data:`EXAMPLES_SHOWN`, or one of several messages)."""
        many = len(self.values) > (EXAMPLES_SHOWN if self.worded else 1)
        return many or len(row_parts(set(self.rows))) > ROW_PARTS_SHOWN

    def line(self) -> str:
        mark = "警告 warning " if self.severity == WARNING else ""
        return f"{self.where}: {mark}{self.code} {self.message}"


#: The codes :func:`message` words: a cell against the schema (what is expected is the same on
#: every row); the others (rules across fields, duplicates) hold each row's values in what they expect.
_SCHEMA_WORDED = frozenset(SCHEMA_CODES.values()) | {"E109"}


def group_problems(items: Iterable[tuple[Mapping[str, Any], str]]) -> list[ProblemGroup]:
    """Problems (``Problem.to_dict()`` forms, each with the name of its record) gathered by file,
    code, field and what was expected, in the order each was first found: a column that every
    row gets wrong is one line with its rows and a few of the values found, not one line per
    row or per value. A problem of another kind (a rule across fields, a duplicate) is grouped
    by code and field alone; a group holding a message this module did not word is shown by its
    first row's message and a count."""
    groups: dict[tuple, ProblemGroup] = {}
    for p, who in items:
        code, fname, text = p.get("code") or "", p.get("field"), p.get("message") or ""
        lab, observed, expected = p.get("label") or "", p.get("observed"), p.get("expected")
        key = (p.get("file") or "", code, fname, _hashable(expected) if code in _SCHEMA_WORDED else None)
        group = groups.get(key)
        if group is None:
            group = groups[key] = ProblemGroup(code, p.get("severity") or severity(code), key[0], fname, lab,
                                               expected, True, [], [], {})
        row = int(p.get("row") or 0)
        group.rows.append(row)
        group.who.append(who)
        if text not in group.values:                   # worded here? asked once per distinct message
            group.values[text] = (observed, row)
            group.worded = group.worded and text == message(code, fname, lab, observed, expected)
    return list(groups.values())


def _hashable(value: Any) -> Any:
    try:
        hash(value)
    except TypeError:
        return repr(value)
    return value


def record_identity(record: Mapping[str, Any]) -> tuple[str, str]:
    """``(code, name)`` of a rejected record (``Rejected.to_dict()``) or a problem, as a user finds
    it: its school's, else its county's; a rejected row's own cells (``data``, under field names
    or the labels the caller gave) fill what its identity lacks."""
    return (record_text(record, "school_id") or record_text(record, "county_code"),
            record_text(record, "school_name") or record_text(record, "county_name"))


def record_text(record: Mapping[str, Any], key: str) -> str:
    """Field ``key`` of a rejected record as text ("" if absent): the record's own, else its
    row's cell (``data``, under the field name or the label the caller gave)."""
    value = record.get(key)
    if value is None or value == "":
        data = record.get("data") or {}
        value = data.get(key)
        if value is None:
            value = next((v for k, v in data.items() if fields.header_to_field(k) == key), None)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return "" if value is None else str(value).strip()


def record_name(record: Mapping[str, Any]) -> str:
    """A rejected record as a user finds it: its school (or county) code and name."""
    return " ".join(part for part in record_identity(record) if part)


def problem_lines(rejected: Iterable[Mapping[str, Any]], warnings: Iterable[Mapping[str, Any]] = (),
                  limit: int | None = None, indent: str = "  ") -> list[str]:
    """The terminal's lines for rejected records (``Rejected.to_dict()`` forms) and warnings: one
    line per distinct problem with the rows it covers, errors first; at most ``limit`` lines and
    then a count of the rest."""
    errors = group_problems((p, name) for r in rejected for name in [record_name(r)] for p in r["problems"])
    warned = group_problems((p, p.get("school_id") or "") for p in warnings)
    groups = errors + warned
    shown = groups if limit is None else groups[:limit]
    lines = [indent + g.line() for g in shown]
    if len(groups) > len(shown):
        rest = len(groups) - len(shown)
        lines.append(f"{indent}… 另有 {rest} 类问题 and {rest} more kinds of problem "
                     f"(全部 all of them: --format json)")
    elif any(g.cut for g in shown):
        lines.append(f"{indent}（以上有的问题只列出前几行或前几个值，每一行的问题见 --format json）/ (some problems above show "
                     f"their first rows or values only: every row's problems: --format json)")
    return lines
