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

from typing import Any

import numpy as np

from . import expr
from .model import RuleSet
from .rulepack import in_force
from .table import Table

#: The measures :func:`compute_funding` adds, in the order of its matrix.
_MEASURES = ("public_funds_entitlement_yuan", "funding_counted_pupils", "funding_floor_applied",
             "funding_base_yuan", "funding_supplement_yuan", "funding_special_yuan", "funding_heating_yuan",
             "funding_provisional")
PARAMETERS = ("base_per_pupil", "small_school_floor", "boarding_supplement", "special_needs", "heating")


def funding_parameters(funding: dict[str, Any], year: int) -> dict[str, list[dict]]:
    """Per parameter, the entries in force in ``year`` in the order a school tries them."""
    return {k: in_force(funding.get(k), year) for k in PARAMETERS}


def _choose(entries: list[dict], table: Table, seen: dict, conditions: dict[str, expr.Node]
            ) -> tuple[np.ndarray, np.ndarray]:
    """(index of the entry each school takes, -1 for none; unknown): the first entry whose
    ``applies_when`` holds. A school stops at the first condition that is unknown for it.
    ``seen`` keeps each condition's masks, as the same few texts recur across parameters;
    ``conditions``: each text parsed."""
    n = table.n
    unknown = np.zeros(n, bool)
    if entries and not entries[0].get("applies_when"):     # no condition: every school takes it
        return np.zeros(n, dtype=np.intp), unknown
    chosen = np.full(n, -1, dtype=np.intp)
    pending = np.ones(n, bool)
    for j, entry in enumerate(entries):
        text = entry.get("applies_when")
        if not text:                            # every school still waiting takes it
            chosen[pending] = j
            break
        found = seen.get(text)
        if found is None:
            found = seen[text] = expr.evaluate_columns(conditions[text], table)
        is_true, is_false = found
        chosen[pending & is_true] = j
        unknown |= pending & ~is_true & ~is_false
        pending &= is_false
        if not pending.any():
            break
    return chosen, unknown


#: What a school takes from the entry it chose, value by value; the last column of each
#: parameter's table is "no entry" (no base, no floor, nothing paid, not provisional).
_COLUMNS = ("primary", "junior", "pupils", "per_boarder", "per_pupil")
_NONE = (np.nan, np.nan, 0.0, 0.0, 0.0, 0.0)


class FundingPlan:
    """The entries in force in one year, each parameter's as a lookup table (one column per
    entry: the five values, then 1 if provisional; a row per value, so that what the schools
    take is gathered value by value), with their conditions parsed: made once per rule set
    (``ruleset.once(FundingPlan.of)``), not for every table."""

    def __init__(self, funding: dict[str, Any], year: int):
        self.entries = funding_parameters(funding, year)
        self.values = {k: np.array([[float(e.get(c, v)) for c, v in zip(_COLUMNS, _NONE)]
                                    + [float(e.get("threshold_status") == "provisional")] for e in entries]
                                   + [list(_NONE)]).reshape(len(entries) + 1, len(_NONE)).T.copy()
                       for k, entries in self.entries.items()}
        self.any_provisional = any(v[5].any() for v in self.values.values())
        self.conditions = {e["applies_when"]: expr.parse_condition(e["applies_when"])
                           for entries in self.entries.values() for e in entries if e.get("applies_when")}
        #: the most pupils a school may have and still be floored; whether any supplement is paid
        self.largest_floor = self.values["small_school_floor"][2].max()
        self.any_supplement = bool(self.values["boarding_supplement"][3].any())

    @classmethod
    def of(cls, ruleset: RuleSet) -> "FundingPlan":
        if ruleset.year is None:        # entries are in force by year; rule sets for every year are only listed
            raise ValueError(f"按年份生效的经费规则需要学年 / the rules of {ruleset.province} compiled for every year "
                             f"have no funding plan")
        return cls(ruleset.parameters.get("funding") or {}, ruleset.year)


def compute_funding(table: Table, plan: FundingPlan) -> None:
    """Add the entitlement, its parts and ``funding_provisional`` to ``table`` (derive.FUNDING_MEASURES)
    by a :class:`FundingPlan` (a rule set's: ``ruleset.once(FundingPlan.of)``)."""
    n = table.n
    if not plan.entries["base_per_pupil"]:
        table.set_measures(_MEASURES, np.full((len(_MEASURES), n), np.nan), np.ones(n, bool))
        return
    seen: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    taken, unknown_of = {}, {}
    for k, entries in plan.entries.items():           # each school's row of each parameter
        if entries:
            chosen, unknown_of[k] = _choose(entries, table, seen, plan.conditions)
            taken[k] = plan.values[k].take(chosen, axis=1)      # [value, school]
        else:                                         # none in force: the "no entry" column
            taken[k], unknown_of[k] = plan.values[k][:, :1], np.zeros(n, bool)
    students = table.get("students")
    special_school = table.equals("school_type", "special_education")
    special = np.where(special_school, students, table.get("special_needs_students"))
    ordinary = students - special
    # A missing special-needs count is unknown, not 0: the special rate is ten times the base.
    unknown_special = np.isnan(special) & ~np.isnan(students)

    base_v, unknown_base = taken["base_per_pupil"], unknown_of["base_per_pupil"]
    base = np.where(table.equals("stage", "primary"), base_v[0],
                    np.where(table.equals("stage", "junior"), base_v[1], np.nan))

    floor_v = taken["small_school_floor"]
    ordinary_school = ~special_school & (students > 0)          # never a special or closed school
    eligible = ordinary_school & (students < floor_v[2])        # no floor taken: pupils 0
    # An unknown condition matters only where some floor would count the school as small.
    unknown_floor = ordinary_school & unknown_of["small_school_floor"] & (students < plan.largest_floor)
    counted = np.where(eligible, np.maximum(ordinary, floor_v[2]), ordinary)
    floor_applied = eligible & (counted > ordinary)

    sup_v = taken["boarding_supplement"]
    per_boarder = sup_v[3]
    boarders = table.get("boarders")
    no_boarders = boarders == 0                   # nothing to supplement, whatever the eligibility
    supplement = np.where(no_boarders | (per_boarder == 0), 0.0, per_boarder * boarders)
    unknown_sup = (unknown_of["boarding_supplement"] & ~no_boarders) | (np.isnan(boarders) & (per_boarder > 0))
    if not plan.any_supplement:
        unknown_sup[:] = False

    special_v, unknown_rate = taken["special_needs"], unknown_of["special_needs"] & (special > 0)
    special_part = special_v[4] * special
    heat_v, unknown_heat = taken["heating"], unknown_of["heating"]
    heating = heat_v[4] * students if plan.entries["heating"] else np.zeros(n)

    base_part = base * counted
    total = base_part + special_part + supplement + heating
    unknown = unknown_floor | unknown_sup | unknown_heat | unknown_base | unknown_special | unknown_rate | np.isnan(base)
    total = np.where(unknown, np.nan, total)
    # Which provisional entries entered the computation: the base where ordinary pupils are
    # paid it, the floor where it raised the count, the supplement where boarders got it, the
    # special rate where there are special-needs pupils, heating where it was paid.
    provisional = np.zeros(n, bool)
    if plan.any_provisional:
        provisional = (((base_v[5] > 0) & (counted > 0)) | ((floor_v[5] > 0) & floor_applied)
                       | ((sup_v[5] > 0) & (supplement > 0)) | ((special_v[5] > 0) & (special > 0))
                       | ((heat_v[5] > 0) & (heating > 0)))
    no_base = np.isnan(base) & ~unknown_base
    table.set_measures(_MEASURES, [                  # in _MEASURES order; one shared undefined mask
        total,
        np.where(unknown_floor | unknown_special, np.nan, counted),
        np.where(unknown_floor, np.nan, floor_applied.astype(float)),
        np.where(unknown_floor | unknown_special | unknown_base, np.nan, base_part),
        np.where(unknown_sup, np.nan, supplement),
        np.where(unknown_rate, np.nan, special_part),
        np.where(unknown_heat, np.nan, heating),
        np.where(np.isnan(total), np.nan, provisional.astype(float)),
    ], no_base)
