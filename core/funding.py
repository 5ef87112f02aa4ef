"""Public-funds entitlement (公用经费核定), data-dictionary §5, as columns.

    counted     = max(students − special_needs, floor)   if the school is eligible for the floor
                = students − special_needs               otherwise
    entitlement = base[stage] × counted + special_rate × special_needs
                + supplement × boarders (where it applies) + heating × students (where a pack sets it)

- Floor eligibility is decided on total enrolment: "不足100人的规模较小学校" is a school of
  fewer than ``pupils`` pupils in all, special-needs pupils included, where the floor's
  ``applies_when`` holds.
- A special-education school (特殊教育学校) is funded at the special rate for every pupil and
  is never floored.
- Each parameter is a list of entries in force by year (:func:`funding_parameters`), the
  province's before the national ones: a school takes the first entry whose ``applies_when``
  holds (see :func:`edubalance.rulepack.merge_parameters`).
- ``funding_provisional`` is 1 where a provisional entry entered the school's entitlement (the
  base it was paid, the floor that raised its count, the supplement or special rate it got),
  0 where only confirmed ones did.

A year with no base in force gives no entitlement (the funding rule is then
``not_applicable``). A missing input the formula needs gives a missing entitlement
(``missing_data``), never a guess — and that includes a missing ``special_needs_students``
outside special-education schools: a school with no special-needs pupils reports 0.
"""
from __future__ import annotations

import functools
from typing import Any

import numpy as np

from . import expr
from .rulepack import in_force
from .table import Table

#: The measures :func:`compute_funding` adds, in the order of its matrix.
_MEASURES = ("public_funds_entitlement_yuan", "funding_counted_pupils", "funding_floor_applied",
             "funding_base_yuan", "funding_supplement_yuan", "funding_special_yuan", "funding_heating_yuan",
             "funding_provisional")
PARAMETERS = ("base_per_pupil", "small_school_floor", "boarding_supplement", "special_needs", "heating")


@functools.lru_cache(maxsize=256)
def _parsed(text: str) -> expr.Node:
    """A condition parsed once per text: the same few texts are judged for every group."""
    return expr.parse_condition(text)


def funding_parameters(funding: dict[str, Any], year: int) -> dict[str, list[dict]]:
    """Per parameter, the entries in force in ``year`` in the order a school tries them."""
    return {k: in_force(funding.get(k), year) for k in PARAMETERS}


def _choose(entries: list[dict], table: Table) -> tuple[np.ndarray, np.ndarray]:
    """(index of the entry each school takes, -1 for none; unknown): the first entry whose
    ``applies_when`` holds. A school stops at the first condition that is unknown for it."""
    n = table.n
    chosen = np.full(n, -1, dtype=np.intp)
    unknown = np.zeros(n, bool)
    pending = np.ones(n, bool)
    for j, entry in enumerate(entries):
        text = entry.get("applies_when")
        if text:
            is_true, is_false = expr.evaluate_columns(_parsed(text), table)
        else:
            is_true, is_false = np.ones(n, bool), np.zeros(n, bool)
        chosen[pending & is_true] = j
        unknown |= pending & ~is_true & ~is_false
        pending &= is_false
    return chosen, unknown


def _pick(entries: list[dict], chosen: np.ndarray, key: str) -> np.ndarray:
    """Each school's value of ``key`` in the entry it took (0 where it took none)."""
    return np.array([float(e.get(key, 0)) for e in entries] + [0.0])[chosen]


def _provisional(entries: list[dict], chosen: np.ndarray) -> np.ndarray:
    """True where the entry a school took is provisional."""
    return np.array([e.get("threshold_status") == "provisional" for e in entries] + [False])[chosen]


def compute_funding(table: Table, funding: dict[str, Any], year: int) -> None:
    """Add the entitlement, its parts and ``funding_provisional`` to ``table`` (derive.FUNDING_MEASURES)."""
    n = table.n
    p = funding_parameters(funding, year)
    if not p["base_per_pupil"]:
        table.set_measures(_MEASURES, np.full((len(_MEASURES), n), np.nan), np.ones(n, bool))
        return
    students = table.get("students")
    stage = table.get("stage")
    special_school = np.asarray(table.get("school_type") == "special_education", bool)
    reported_special = table.get("special_needs_students")
    special = np.where(special_school, students, reported_special)
    ordinary = students - special
    # A missing special-needs count is unknown, not 0: the special rate is ten times the base.
    unknown_special = np.isnan(special) & ~np.isnan(students)

    base_entries = p["base_per_pupil"]
    base_pick, unknown_base = _choose(base_entries, table)
    base = np.full(n, np.nan)
    for s in ("primary", "junior"):
        rate = np.array([float(e[s]) if s in e else np.nan for e in base_entries] + [np.nan])[base_pick]
        base = np.where(stage == s, rate, base)

    floor_entries = p["small_school_floor"]
    floor_pick, floor_unknown = _choose(floor_entries, table)
    floor = _pick(floor_entries, floor_pick, "pupils")
    ordinary_school = ~special_school & (students > 0)          # never a special or closed school
    eligible = ordinary_school & (floor_pick >= 0) & (students < floor)
    # An unknown condition matters only where some floor would count the school as small.
    largest = max((float(e.get("pupils", 0)) for e in floor_entries), default=0.0)
    unknown_floor = ordinary_school & floor_unknown & (students < largest)
    counted = np.where(eligible, np.maximum(ordinary, floor), ordinary)
    floor_applied = eligible & (counted > ordinary)

    sup_entries = p["boarding_supplement"]
    sup_pick, sup_unknown = _choose(sup_entries, table)
    per_boarder = _pick(sup_entries, sup_pick, "per_boarder")
    boarders = table.get("boarders")
    no_boarders = boarders == 0                   # nothing to supplement, whatever the eligibility
    supplement = np.where(no_boarders | (per_boarder == 0), 0.0, per_boarder * boarders)
    unknown_sup = (sup_unknown & ~no_boarders) | (np.isnan(boarders) & (per_boarder > 0))
    if not any(e.get("per_boarder", 0) for e in sup_entries):
        unknown_sup[:] = False

    special_entries = p["special_needs"]
    special_pick, unknown_rate = _choose(special_entries, table)
    special_rate = _pick(special_entries, special_pick, "per_pupil")
    special_part = special_rate * special

    heat_entries = p["heating"]
    heat_pick, unknown_heat = _choose(heat_entries, table)
    heating = _pick(heat_entries, heat_pick, "per_pupil") * students

    base_part = base * counted
    total = base_part + special_part + supplement + heating
    unknown = (unknown_floor | unknown_sup | unknown_heat | unknown_base | unknown_special
               | (unknown_rate & (special > 0)) | np.isnan(base))
    total = np.where(unknown, np.nan, total)
    # Which provisional entries entered the computation: the base where ordinary pupils are
    # paid it, the floor where it raised the count, the supplement where boarders got it, the
    # special rate where there are special-needs pupils, heating where it was paid.
    provisional = ((_provisional(base_entries, base_pick) & (counted > 0))
                   | (_provisional(floor_entries, floor_pick) & floor_applied)
                   | (_provisional(sup_entries, sup_pick) & (supplement > 0))
                   | (_provisional(special_entries, special_pick) & (special > 0))
                   | (_provisional(heat_entries, heat_pick) & (heating > 0)))
    no_base = np.isnan(base) & ~unknown_base
    table.set_measures(_MEASURES, [                  # in _MEASURES order; one shared undefined mask
        total,
        np.where(unknown_floor | unknown_special, np.nan, counted),
        np.where(unknown_floor, np.nan, floor_applied.astype(float)),
        np.where(unknown_floor | unknown_special | unknown_base, np.nan, base_part),
        np.where(unknown_sup, np.nan, supplement),
        np.where(unknown_rate & (special > 0), np.nan, special_part),
        np.where(unknown_heat, np.nan, heating),
        np.where(np.isnan(total), np.nan, provisional.astype(float)),
    ], no_base)
