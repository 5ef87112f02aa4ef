"""Cells to values: the text a file holds → the type its field's schema declares.

One set of rules, :func:`coercer`, says what a cell means: integers ``"1,200"``, ``"1 200"``,
full-width digits, ``"12.0"``; booleans true/false, t/f, 1/0, yes/no, y/n, 是/否, 有/无; enums the
value, its Chinese label or an alias (``"小学"`` → ``primary``); fractions also as percentages
(``"95%"`` → 0.95); text NFKC-normalised and stripped; the province as its plug-in id (``贵州省``,
``贵州``, ``Guizhou`` → ``guizhou``; an unknown one lower-cased); the 学年 as the year it starts
(``2023-2024``, ``2023—24学年``, ``2023年``, a date or an Excel date serial: September to December
start that year's school year, January to August belong to the one that began the year before).
A placeholder for "none" in a numeric cell (``/``, ``—``, ``-``, ``无``, ``空``, ``N/A``, ``#N/A``,
``不适用`` …) is a missing value (the coercer returns None). A cell that cannot be read raises
:class:`Bad` (``E102``), a number too large to be one ``E107``.

:func:`cell_plan` applies the same rules to whole columns, as expressions of one query: plain
numbers (the common case) are cast by polars, free text is normalised by polars, and every other
distinct cell goes through :func:`coercer` once — so the column and the cell give the same value
by construction.
"""
from __future__ import annotations

import math
import re
import unicodedata
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Callable, NamedTuple

import polars as pl

from . import fields, regions
from .problems import NUM_TEXT

Coercer = Callable[[str], Any]

_INT_TEXT = re.compile(r"[+-]?\d+(?:\.0*)?")
_GROUPED = re.compile(r"(?<=\d)[,，\s](?=\d{3}(?:\D|$))")
_TRUE, _FALSE = fields.YES_WORDS, fields.NO_WORDS
#: More digits than this is no count or amount of any school (and more than Python converts).
_MAX_DIGITS = 4000
#: Up to this many characters, a decimal number written with plain digits is a finite float.
_PLAIN_DIGITS = 300
#: What offices write in a numeric cell for "none" or "not applicable" (after NFKC, any case).
_PLACEHOLDER = re.compile(r"[-—–―‐/]+|无|空|不适用|N/?A|#N/A", re.IGNORECASE)
#: A 学年: ``2023``, ``2023-2024``, ``2023—24``, ``2023年-2024年`` (its suffix 学年/学年度/年度/年 removed).
_YEAR_RANGE = re.compile(r"(\d{4})年?(?:[-—–―‐~/]+|至|到)(\d{4}|\d{2})")
_YEAR_SUFFIX = re.compile(r"(?:学年度|学年|年度|年)$")
#: A term as statistics forms name it: ``2023年秋季学期`` (the school year starting that autumn),
#: ``2024年春季`` (the one that started the autumn before); ``2023-2024学年第一学期`` is its school year.
_SEASON = re.compile(r"(\d{4})年?(秋|春)季?(?:学期)?")
_TERM = re.compile(r"(.+?)(?:第[一二12]学期|[上下]学期)")
#: A date: ``2023-09-01``, ``2023/9/1``, ``2023.9.1``, ``2023年9月1日``, ISO with a time after it.
_DATE = re.compile(r"(\d{4})(?:[-/.]|年)(\d{1,2})(?:[-/.]|月)(\d{1,2})日?(?:[T ].*)?")
#: Excel date serials of 1990-01-01 … 2100-12-31 (day 0 is 1899-12-30 after Excel's 1900 leap day).
SERIAL_MIN, SERIAL_MAX = 32874, 73415
_SERIAL_EPOCH = date(1899, 12, 30)
_YEAR_EXPECTED = ("学年，如 2023、2023-2024、2023-24、2023年或日期 / "
                  "a school year such as 2023, 2023-2024, 2023-24 or a date")


class Bad(Exception):
    """A cell that cannot be read: ``expected`` says as what; ``code`` is E102 or E107."""

    def __init__(self, expected: str, code: str = "E102") -> None:
        super().__init__(expected)
        self.expected = expected
        self.code = code


#: Characters no one sees (pasted with text from web pages): never part of a value.
_INVISIBLE = re.compile(f"[{fields.INVISIBLE}]")


def normal_text(value: str) -> str:
    value = value.strip()
    return value if value.isascii() else _INVISIBLE.sub("", unicodedata.normalize("NFKC", value)).strip()


def _number_text(value: str) -> str:
    return _GROUPED.sub("", normal_text(value))


def _too_large(spec: dict[str, Any]) -> Bad:
    top = spec.get("maximum", spec.get("exclusiveMaximum"))
    return Bad(f"≤ {top}" if top is not None else "a number a report can hold", code="E107")


def is_placeholder(text: str) -> bool:
    """A numeric cell that says "none" or "not applicable" (``/``, ``—``, ``无``, ``N/A`` …)."""
    return bool(_PLACEHOLDER.fullmatch(text))


def _school_year(day: date) -> int:
    """The school year a date falls in, named by the year it starts (September)."""
    return day.year if day.month >= 9 else day.year - 1


def _to_year(value: str) -> int | None:
    """A 学年 cell → the calendar year its school year starts in (None for a placeholder)."""
    s = "".join(normal_text(value).split())
    if is_placeholder(s):
        return None
    if _INT_TEXT.fullmatch(s):
        digits = s.split(".", 1)[0]
        if len(digits) > _MAX_DIGITS:
            raise Bad("≤ 2100", code="E107")
        n = int(digits)
        if SERIAL_MIN <= n <= SERIAL_MAX:
            return _school_year(_SERIAL_EPOCH + timedelta(days=n))
        return n                                # the schema checks its range
    if NUM_TEXT.fullmatch(s) and len(s) <= 30 and SERIAL_MIN <= float(s) < SERIAL_MAX + 1:
        return _school_year(_SERIAL_EPOCH + timedelta(days=int(float(s))))    # a date serial with a time
    found = _DATE.fullmatch(s)
    if found:
        try:
            return _school_year(date(int(found[1]), int(found[2]), int(found[3])))
        except ValueError:
            raise Bad("有效日期 / a real date") from None
    found = _SEASON.fullmatch(s)
    if found:
        return int(found[1]) - (found[2] == "春")
    term = _TERM.fullmatch(s)
    s = _YEAR_SUFFIX.sub("", term[1] if term else s)
    if len(s) == 4 and s.isdigit() and not term:
        return int(s)
    found = _YEAR_RANGE.fullmatch(s)
    if found:
        start, end = int(found[1]), found[2]
        if len(end) == 2 and int(end) == (start + 1) % 100 or len(end) == 4 and int(end) == start + 1:
            return start
        raise Bad("相邻两年，如 2023-2024（学年以起始年份命名） / "
                  "a school year of two consecutive years, such as 2023-2024")
    raise Bad(_YEAR_EXPECTED)


def school_year(value: str) -> int | None:
    """A 学年 cell's school year, as the record's is read; None where it is none or unreadable."""
    try:
        return _to_year(value)
    except Bad:
        return None


def _own_unit_dropped(s: str, spec: dict[str, Any]) -> str:
    """A number typed with the unit its field is counted in (``2150人``, ``23220平方米``) without
    it: that unit says nothing more; so is the yuan sign of an amount in yuan (``￥4,635,400.00``,
    what Excel's currency and accounting formats show and save to CSV), and ``￥-`` is 0, as the
    accounting format shows it. Any other word stays, and the cell is refused."""
    if s.startswith("¥") and "元" in fields.unit_words(spec.get("x-unit", "")):       # ￥ is ¥ after NFKC
        s = s[1:].lstrip()
        if s == "-":
            return "0"
    for word in fields.unit_words(spec.get("x-unit", "")):
        number = s[: -len(word)].rstrip() if s.endswith(word) else ""
        if number[-1:].isdigit():
            return number
    return s


def _make_to_int(spec: dict[str, Any]) -> Coercer:
    if spec.get("x-unit") == "year":
        return _to_year

    def to_int(value: str) -> int | None:
        if value.isascii() and value.isdigit() and len(value) <= _MAX_DIGITS:
            return int(value)                   # plain digits, the common case: what the rest gives
        s = _number_text(value)
        if is_placeholder(s):
            return None
        if not _INT_TEXT.fullmatch(s):
            s = _own_unit_dropped(s, spec)
        if _INT_TEXT.fullmatch(s):
            digits = s.split(".", 1)[0]
            if len(digits) > _MAX_DIGITS:
                raise _too_large(spec)
            return int(digits)
        raise Bad("整数 / an integer")
    return to_int


def _make_to_float(spec: dict[str, Any]) -> Coercer:
    percent = spec.get("x-unit") == "fraction" or spec.get("maximum") == 1
    expected = ("比例或百分数 / a fraction (0.95) or a percentage (95%)" if percent else "数值 / a number")

    def to_float(value: str) -> float | None:
        if value.isascii() and len(value) <= _PLAIN_DIGITS and value.replace(".", "", 1).isdigit():
            return float(value)                 # plain digits, the common case: what the rest gives
        s = _number_text(value)
        if is_placeholder(s):
            return None
        scale = 1
        if percent and s.endswith("%"):
            s, scale = s[:-1].strip(), 100
        elif not NUM_TEXT.fullmatch(s):
            s = _own_unit_dropped(s, spec)
        if not NUM_TEXT.fullmatch(s) or len(s) > _MAX_DIGITS:
            if NUM_TEXT.fullmatch(s):
                raise _too_large(spec)
            raise Bad(expected)
        v = float(s)
        if not math.isfinite(v):
            raise _too_large(spec)
        if scale == 1:
            return v
        return float(Decimal(s).scaleb(-2))         # exact: 0.7 / 100 is 0.006999999999999999
    return to_float


def _make_to_bool(spec: dict[str, Any]) -> Coercer:
    """是/否 and the other yes/no words, and a field's own (``x-yes-words``/``x-no-words``: 公办
    and 民办 under 办学性质, as statistics forms write it)."""
    yes = _TRUE | frozenset(spec.get("x-yes-words", ()))
    no = _FALSE | frozenset(spec.get("x-no-words", ()))
    own = "、".join((*spec.get("x-yes-words", ()), *spec.get("x-no-words", ())))
    expected = f"是或否{'（或 ' + own + '）' if own else ''} / a boolean (true/false, yes/no, 1/0)"

    def to_bool(value: str) -> bool:
        s = normal_text(value).lower()
        if s in yes:
            return True
        if s in no:
            return False
        raise Bad(expected)
    return to_bool


def _to_province(value: str) -> str:
    """A 省份 cell → the plug-in id (``贵州省``, ``贵州``, ``GUIZHOU`` → ``guizhou``), or the text
    lower-cased (an id of a plug-in not on the list, or a name the schema then refuses)."""
    s = normal_text(value)
    if not s:
        raise Bad("文本 / text")
    return regions.province_key(s)


#: A code a program wrote as a float (``5226980001.0``, ``522698.0``: a CSV a script exported from a
#: column with gaps): the code. A workbook's number cell and a JSON number lose their ``.0`` when read.
FLOAT_CODE = r"^([0-9]+)\.0+$"
_FLOAT_CODE = re.compile(FLOAT_CODE)


def _make_to_str(name: str, spec: dict[str, Any]) -> Coercer:
    if name == "province":
        return _to_province
    has_enum = "enum" in spec
    direct = frozenset(v for v in spec.get("enum", ()) if isinstance(v, str))
    code = bool(spec.get("x-code"))

    def to_str(value: str) -> str:
        s = normal_text(value)
        if not s:
            raise Bad("文本 / text")
        if has_enum:
            return s if s in direct else (fields.enum_value(name, s) or s)
        if code:
            return _FLOAT_CODE.sub(r"\1", s)
        return s
    return to_str


def coercer(name: str, spec: dict[str, Any]) -> Coercer:
    """The function that reads a (non-empty, stripped) cell of field ``name`` (None: the cell
    is a placeholder for a missing value)."""
    kind = spec.get("type")
    if kind == "integer":
        return _make_to_int(spec)
    if kind == "number":
        return _make_to_float(spec)
    if kind == "boolean":
        return _make_to_bool(spec)
    return _make_to_str(name, spec)


def column_type(spec: dict[str, Any]) -> pl.DataType:
    """The polars type a coerced column has (integers as floats: exact to 2**53, far beyond
    every declared maximum)."""
    kind = spec.get("type")
    if kind in ("integer", "number"):
        return pl.Float64()
    if kind == "boolean":
        return pl.Boolean()
    return pl.String()


def _as_stored(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            return float(value)
        except OverflowError:
            return math.inf if value > 0 else -math.inf
    return value


def _mapped(spec: dict[str, Any]) -> bool:
    """Fields whose few distinct cells are each read by :func:`coercer` (enums, booleans)."""
    return spec.get("type") == "boolean" or "enum" in spec


def _most_mapped(rows: int) -> int:
    """The most distinct cells of free text read through a mapping (codes, names of counties)."""
    return max(64, rows // 4)


def _text_mapped(name: str, distinct: int, rows: int) -> bool:
    """Free text read through a mapping of its distinct cells: when they are few; always for the
    province, whose names map to ids; else polars normalises it."""
    return name == "province" or distinct <= _most_mapped(rows)


def fast_values(col: pl.Expr, spec: dict[str, Any], mapping: dict[str, Any] | None = None,
                ascii_only: bool = False, dotless: bool = False) -> pl.Expr:
    """The column's values as :func:`coercer` reads them, where polars can say so itself: a
    number its cast accepts (finite), free text (ASCII as it is, other text NFKC), an enum or a
    boolean through ``mapping`` (each distinct cell read once); null for every other cell
    (those go through :func:`slow_values`). ``dotless``: no cell of an ASCII column has a ``.``,
    so no code in it is written as a float."""
    kind = spec.get("type")
    if mapping is not None:
        return col.replace_strict(mapping, default=None, return_dtype=column_type(spec))
    if kind == "integer":
        cast = col.cast(pl.Int64, strict=False)
        if spec.get("x-unit") == "year":            # a date serial is read by the coercer
            cast = pl.when(~cast.is_between(SERIAL_MIN, SERIAL_MAX)).then(cast)
        return cast.cast(pl.Float64)
    if kind == "number":
        cast = col.cast(pl.Float64, strict=False)
        return pl.when(cast.is_finite()).then(cast)
    code = bool(spec.get("x-code"))
    if ascii_only:
        return col.str.replace(FLOAT_CODE, "${1}") if code and not dotless else col
    normal = (col.str.normalize("NFKC").str.replace_all(_INVISIBLE.pattern, "")      # normal_text (the province
              .str.strip_chars())                                                       # always has a mapping)
    if code:
        normal = normal.str.replace(FLOAT_CODE, "${1}")
    return pl.when(normal.str.len_bytes() > 0).then(normal)


def read_cells(cells: list[str], name: str, spec: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """``({cell: value}, unreadable cells)`` for distinct cells, through :func:`coercer`."""
    conv = coercer(name, spec)
    mapping: dict[str, Any] = {}
    unreadable: list[str] = []
    for cell in cells:
        try:
            mapping[cell] = _as_stored(conv(cell))
        except Bad as exc:
            if exc.code == "E107":
                mapping[cell] = math.inf        # fails its maximum: the row is examined
            else:
                unreadable.append(cell)
    return mapping, unreadable


def slow_values(text: pl.Series, rest: pl.Series, name: str, spec: dict[str, Any]) -> tuple[pl.Series, pl.Series]:
    """``(values, bad)`` for the cells ``rest`` picks (the others are null / False): each
    distinct cell through :func:`coercer` once."""
    mapping, unreadable = read_cells(text.filter(rest).unique().to_list(), name, spec)
    looked_up = text.replace_strict(mapping, default=None, return_dtype=column_type(spec)) if mapping else \
        pl.Series([None] * len(text), dtype=column_type(spec))
    return looked_up, rest & text.is_in(unreadable)


class CellPlan(NamedTuple):
    """How to read a frame's columns in one query: per field present, the value polars reads
    (``values``: null where a cell is left for the coercer), and the numeric fields whose left
    cells :func:`slow_values` reads (``numeric``). A boolean's left cell is unreadable; a text's
    left cell normalises to nothing (missing)."""

    values: dict[str, pl.Expr]
    numeric: tuple[str, ...]


def cell_plan(frame: pl.DataFrame, props: dict[str, dict[str, Any]]) -> CellPlan:
    """The :class:`CellPlan` of the fields of ``props`` present in ``frame`` (stripped text
    cells). One query finds the distinct cells of enums, booleans and text (of text, up to as
    many as a mapping is worth), whether any text is not ASCII and whether a code has a ``.``;
    each such cell is read by :func:`coercer` once."""
    present = [(name, spec) for name, spec in props.items() if name in frame.columns]
    text = {name: pl.col(name).cast(pl.String).drop_nulls() for name, _ in present}
    mapped = [name for name, spec in present if _mapped(spec)]
    free = [name for name, spec in present if spec.get("type") == "string" and name not in mapped]
    most = _most_mapped(frame.height)
    found = frame.select([pl.lit(0).alias("_")]
                         + [text[name].unique().implode().alias(name) for name in mapped]
                         + [(text[name].unique() if name == "province" else text[name].unique().head(most + 1))
                            .implode().alias(name) for name in free]
                         + [(text[name].str.len_bytes() != text[name].str.len_chars()).any().alias(f"u:{name}")
                            for name in free]
                         + [text[name].str.contains(".", literal=True).any().alias(f"d:{name}")
                            for name in free if props[name].get("x-code")]).row(0, named=True)
    listed = {name: found[name] for name in mapped}
    listed.update((name, found[name]) for name in free if _text_mapped(name, len(found[name]), frame.height))
    mappings = {name: read_cells(listed[name], name, spec)[0] for name, spec in present if name in listed}
    ascii_only = {name for name in free if name not in mappings and not found[f"u:{name}"]}
    values = {name: fast_values(pl.col(name).cast(pl.String), spec, mappings.get(name), name in ascii_only,
                                not found.get(f"d:{name}", True)).cast(column_type(spec)) for name, spec in present}
    numeric = tuple(name for name, spec in present if spec.get("type") in ("integer", "number"))
    return CellPlan(values, numeric)
