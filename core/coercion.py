"""Cells to values: the text a file holds → the type its field's schema declares.

One set of rules, :func:`coercer`, says what a cell means: integers ``"1,200"``, ``"1 200"``,
full-width digits, ``"12.0"``; booleans true/false, t/f, 1/0, yes/no, y/n, 是/否, 有/无; enums the
value, its Chinese label or an alias (``"小学"`` → ``primary``); fractions also as percentages
(``"95%"`` → 0.95); text NFKC-normalised and stripped; the province lower-cased. A cell that
cannot be read raises :class:`Bad` (``E102``), a number too large to be one ``E107``.

:func:`coerce_column` applies the same rules to a whole column: plain numbers (the common
case) are cast by polars, free text is normalised by polars, and every other distinct cell goes
through :func:`coercer` once — so the column and the cell give the same value by construction.
"""
from __future__ import annotations

import math
import re
import unicodedata
from typing import Any, Callable

import polars as pl

from . import fields
from .problems import NUM_TEXT

Coercer = Callable[[str], Any]

_INT_TEXT = re.compile(r"[+-]?\d+(?:\.0*)?")
_GROUPED = re.compile(r"(?<=\d)[,，\s](?=\d{3}(?:\D|$))")
_TRUE = frozenset({"true", "t", "1", "yes", "y", "是", "有"})
_FALSE = frozenset({"false", "f", "0", "no", "n", "否", "无"})
#: More digits than this is no count or amount of any school (and more than Python converts).
_MAX_DIGITS = 4000


class Bad(Exception):
    """A cell that cannot be read: ``expected`` says as what; ``code`` is E102 or E107."""

    def __init__(self, expected: str, code: str = "E102") -> None:
        super().__init__(expected)
        self.expected = expected
        self.code = code


def normal_text(value: str) -> str:
    value = value.strip()
    return value if value.isascii() else unicodedata.normalize("NFKC", value).strip()


def _number_text(value: str) -> str:
    return _GROUPED.sub("", normal_text(value))


def _too_large(spec: dict[str, Any]) -> Bad:
    top = spec.get("maximum", spec.get("exclusiveMaximum"))
    return Bad(f"≤ {top}" if top is not None else "a number a report can hold", code="E107")


def _make_to_int(spec: dict[str, Any]) -> Coercer:
    def to_int(value: str) -> int:
        s = _number_text(value)
        if _INT_TEXT.fullmatch(s):
            digits = s.split(".", 1)[0]
            if len(digits) > _MAX_DIGITS:
                raise _too_large(spec)
            return int(digits)
        raise Bad("an integer / 整数")
    return to_int


def _make_to_float(spec: dict[str, Any]) -> Coercer:
    percent = spec.get("x-unit") == "fraction" or spec.get("maximum") == 1
    expected = ("a fraction (0.95) or a percentage (95%) / 比例或百分数" if percent else "a number / 数值")

    def to_float(value: str) -> float:
        s = _number_text(value)
        scale = 1
        if percent and s.endswith("%"):
            s, scale = s[:-1].strip(), 100
        if not NUM_TEXT.fullmatch(s) or len(s) > _MAX_DIGITS:
            if NUM_TEXT.fullmatch(s):
                raise _too_large(spec)
            raise Bad(expected)
        v = float(s)
        if not math.isfinite(v):
            raise _too_large(spec)
        return v / scale if scale != 1 else v       # not * 0.01: 95 * 0.01 != 0.95
    return to_float


def _to_bool(value: str) -> bool:
    s = normal_text(value).lower()
    if s in _TRUE:
        return True
    if s in _FALSE:
        return False
    raise Bad("a boolean (true/false, yes/no, 1/0) / 是或否")


def _make_to_str(name: str, spec: dict[str, Any]) -> Coercer:
    lower = name == "province"
    has_enum = "enum" in spec
    direct = frozenset(v for v in spec.get("enum", ()) if isinstance(v, str))

    def to_str(value: str) -> str:
        s = normal_text(value)
        if not s:
            raise Bad("text / 文本")
        if has_enum:
            return s if s in direct else (fields.enum_value(name, s) or s)
        return s.lower() if lower else s
    return to_str


def coercer(name: str, spec: dict[str, Any]) -> Coercer:
    """The function that reads a (non-empty, stripped) cell of field ``name``."""
    kind = spec.get("type")
    if kind == "integer":
        return _make_to_int(spec)
    if kind == "number":
        return _make_to_float(spec)
    if kind == "boolean":
        return _to_bool
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


def _text_mapping(text: pl.Series, name: str, spec: dict[str, Any]) -> dict[str, Any] | None:
    """For free text: a mapping of its distinct cells when they are few (codes, names of
    counties), or all ASCII (then each is itself); None when polars should normalise the column."""
    distinct = text.drop_nulls().unique()
    if len(distinct) <= max(64, len(text) // 4):
        return read_cells(distinct.to_list(), name, spec)[0]
    return None


def _normal(col: pl.Expr, name: str) -> pl.Expr:
    """``normal_text`` over a column: NFKC, stripped, empty as missing (the province lower-cased)."""
    normal = col.str.normalize("NFKC").str.strip_chars()
    if name == "province":
        normal = normal.str.to_lowercase()
    return pl.when(normal.str.len_bytes() > 0).then(normal)


def fast_values(col: pl.Expr, name: str, spec: dict[str, Any], mapping: dict[str, Any] | None = None,
                ascii_only: bool = False) -> pl.Expr:
    """The column's values as :func:`coercer` reads them, where polars can say so itself: a
    number its cast accepts (finite), free text (ASCII as it is, other text NFKC), an enum or a
    boolean through ``mapping`` (each distinct cell read once); null for every other cell
    (those go through :func:`slow_values`)."""
    kind = spec.get("type")
    if mapping is not None:
        return col.replace_strict(mapping, default=None, return_dtype=column_type(spec))
    if kind == "integer":
        return col.cast(pl.Int64, strict=False).cast(pl.Float64)
    if kind == "number":
        cast = col.cast(pl.Float64, strict=False)
        return pl.when(cast.is_finite()).then(cast)
    if ascii_only:
        return col.str.to_lowercase() if name == "province" else col
    return _normal(col, name)


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


def coerce_frame(frame: pl.DataFrame, props: dict[str, dict[str, Any]]) -> tuple[dict[str, pl.Series],
                                                                                   dict[str, pl.Series]]:
    """``(values, bad)`` per field of ``props`` present in ``frame`` (stripped text cells): the
    coerced column (null where missing or unreadable) and True where a cell could not be read."""
    present = [(name, spec) for name, spec in props.items() if name in frame.columns]
    if not present:
        return {}, {}
    mappings = {name: read_cells(frame[name].cast(pl.String).drop_nulls().unique().to_list(), name, spec)[0]
                for name, spec in present if _mapped(spec)}
    for name, spec in present:
        if spec.get("type") == "string" and name not in mappings:
            found = _text_mapping(frame[name].cast(pl.String), name, spec)
            if found is not None:
                mappings[name] = found
    ascii_only = {name for name, spec in present if spec.get("type") == "string" and name not in mappings
                  and not frame[name].cast(pl.String).str.contains(r"[^\x00-\x7f]").any()}
    fast = frame.select([fast_values(pl.col(name).cast(pl.String), name, spec, mappings.get(name), name in ascii_only)
                         .cast(column_type(spec)).alias(name) for name, spec in present])
    rests = frame.select([(pl.col(name).is_not_null() & fast[name].is_null()).alias(name) for name, _ in present])
    some = rests.select(pl.all().any()).row(0)
    values: dict[str, pl.Series] = {}
    bad: dict[str, pl.Series] = {}
    no = pl.Series([False] * frame.height, dtype=pl.Boolean)
    for (name, spec), any_rest in zip(present, some):
        if not any_rest:
            values[name], bad[name] = fast[name], no
            continue
        if spec.get("type") == "string":
            values[name], bad[name] = fast[name], no               # text that normalises to nothing: missing
            continue
        if name in mappings:
            values[name], bad[name] = fast[name], rests[name]      # every readable cell was read
            continue
        slow, bad[name] = slow_values(frame[name].cast(pl.String), rests[name], name, spec)
        values[name] = slow.zip_with(rests[name], fast[name]).alias(name)
    return values, bad
