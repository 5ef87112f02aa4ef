"""Public-funds entitlement (公用经费核定), data-dictionary §5, as columns.

    counted     = max(students − special_needs, floor)   if the school is eligible for the floor
                = students − special_needs               otherwise
    entitlement = base[stage] × counted + special_rate × special_needs
                + supplement × boarders (where it applies) + heating × students (where a pack sets it)

A special-education school (特殊教育学校) is funded at the special rate for every pupil.
Every parameter comes from the pack, by year; a year with no base in force gives no
entitlement (the funding rule is then ``not_applicable``). A missing input that the formula
needs gives a missing entitlement (``missing_data``), never a guess — except a missing
special-needs count, which counts as 0 because most schools report none by leaving it empty.
"""
from __future__ import annotations

import functools
from typing import Any

import numpy as np

from . import expr
from .rulepack import select_year
from .table import Table


#: The measures :func:`compute_funding` adds, in the order of its matrix.
_MEASURES = ("public_funds_entitlement_yuan", "funding_counted_pupils", "funding_floor_applied",
             "funding_base_yuan", "funding_supplement_yuan", "funding_special_yuan", "funding_heating_yuan")


def _condition(entry: dict[str, Any] | None, table: Table) -> tuple[np.ndarray, np.ndarray]:
    """(is_true, is_false) of an entry's ``applies_when``; no entry = false everywhere."""
    if not entry:
        return np.zeros(table.n, bool), np.ones(table.n, bool)
    text = entry.get("applies_when")
    if not text:
        return np.ones(table.n, bool), np.zeros(table.n, bool)
    return expr.evaluate_columns(_parsed(text), table)


@functools.lru_cache(maxsize=256)
def _parsed(text: str) -> expr.Node:
    """A condition parsed once per text: the same few texts are judged for every group."""
    return expr.parse_condition(text)


_LARGEST = np.finfo(float).max


def _missing_as_zero(values: np.ndarray) -> np.ndarray:
    """``np.nan_to_num(values, nan=0.0)`` (infinities to the largest finite numbers) in four
    ufunc calls: nan_to_num's own Python overhead is most of a lone record's funding cost."""
    return np.where(np.isnan(values), 0.0, np.minimum(np.maximum(values, -_LARGEST), _LARGEST))


def funding_parameters(funding: dict[str, Any], year: int) -> dict[str, dict | None]:
    """The funding entries in force in ``year`` (None where the pack has none)."""
    return {k: select_year(funding.get(k), year)
            for k in ("base_per_pupil", "small_school_floor", "boarding_supplement", "special_needs", "heating")}


def compute_funding(table: Table, funding: dict[str, Any], year: int) -> None:
    """Add the entitlement and its parts to ``table`` (see derive.FUNDING_MEASURES)."""
    n = table.n
    p = funding_parameters(funding, year)
    base_entry = p["base_per_pupil"]
    stage = table.get("stage")
    if base_entry is None:
        none = np.ones(n, bool)
        for name in _MEASURES:
            table.set_measure(name, np.full(n, np.nan), none)
        return
    base = np.full(n, np.nan)
    for s in ("primary", "junior"):
        if s in base_entry:
            base[stage == s] = base_entry[s]
    students = table.get("students")
    special = _missing_as_zero(table.get("special_needs_students"))
    is_special_school = table.get("school_type") == "special_education"
    special = np.where(is_special_school, students, special)
    ordinary = students - special

    floor_t, floor_f = _condition(p["small_school_floor"], table)
    floor_t = floor_t & (students > 0)          # a closed school is not funded at the floor
    floor_f = floor_f | (students == 0)
    floor = float((p["small_school_floor"] or {}).get("pupils", 0))
    floored = np.maximum(ordinary, floor)
    counted = np.where(floor_t, floored, ordinary)
    floor_applied = floor_t & (floored > ordinary)
    # Unknown eligibility only matters where the floor would raise the count.
    unknown_floor = ~floor_t & ~floor_f & (floored > ordinary)

    sup_t, sup_f = _condition(p["boarding_supplement"], table)
    per_boarder = float((p["boarding_supplement"] or {}).get("per_boarder", 0))
    boarders = table.get("boarders")
    supplement = np.where(sup_t, per_boarder * boarders, 0.0)
    no_boarders = boarders == 0                   # nothing to supplement, whatever the eligibility
    unknown_sup = ((~sup_t & ~sup_f) | (sup_t & np.isnan(boarders))) & ~no_boarders
    if per_boarder == 0:
        unknown_sup[:] = False
        supplement = np.zeros(n)

    rate = float((p["special_needs"] or {}).get("per_pupil", 0))
    special_part = rate * special
    heat_t, heat_f = _condition(p["heating"], table)
    heating = np.where(heat_t, float((p["heating"] or {}).get("per_pupil", 0)) * students, 0.0)
    unknown_heat = ~heat_t & ~heat_f if p["heating"] else np.zeros(n, bool)

    base_part = base * counted
    total = base_part + special_part + supplement + heating
    unknown = unknown_floor | unknown_sup | unknown_heat | np.isnan(base)
    total = np.where(unknown, np.nan, total)
    no_base = np.isnan(base)
    table.set_measures(_MEASURES, [                  # in _MEASURES order; one shared undefined mask
        total,
        np.where(unknown_floor, np.nan, counted),
        np.where(unknown_floor, np.nan, floor_applied.astype(float)),
        np.where(unknown_floor, np.nan, base_part),
        np.where(unknown_sup, np.nan, supplement),
        special_part,
        np.where(unknown_heat, np.nan, heating),
    ], no_base)

