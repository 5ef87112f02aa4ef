"""Derived measures (data-dictionary §3), computed once per column for every back end.

Both rule back ends and the county calculations read the same derived columns, so a measure
can never differ between engines. A measure that does not exist for a record — a per-pupil
figure of a school with 0 pupils, a per-boarder figure with 0 boarders — is marked
*undefined* and its rules give ``not_applicable``; a missing input gives a missing measure and
its rules give ``missing_data``.
"""
from __future__ import annotations

import numpy as np

from . import expr
from .table import Table

#: measure -> resource field, divided by students.
PER_PUPIL = {
    "teaching_aux_area_per_pupil": "teaching_aux_area_m2",
    "sports_area_per_pupil": "sports_area_m2",
    "equipment_value_per_pupil": "equipment_value_yuan",
    "books_per_pupil": "books",
    "land_area_per_pupil": "land_area_m2",
    "building_area_per_pupil": "building_area_m2",
    "teachers_per_pupil": "teachers",
    "qualified_teachers_per_pupil": "teachers_above_required_degree",
    "titled_teachers_per_pupil": "teachers_mid_senior_title",
}
#: measure -> resource field, per 100 pupils.
PER_100 = {
    "qualified_teachers_per_100": "teachers_above_required_degree",
    "backbone_teachers_per_100": "backbone_teachers",
    "pe_art_teachers_per_100": "pe_art_teachers",
    "multimedia_rooms_per_100": "multimedia_classrooms",
    "computers_per_100": "computers",
}
#: measure -> (numerator, denominator).
RATIOS = {
    "dorm_area_per_boarder": ("dorm_area_m2", "boarders"),
    "pupils_per_staff": ("students", "staff"),
    "pupils_per_teacher": ("students", "teachers"),
}
FUNDING_MEASURES = (
    "public_funds_entitlement_yuan", "funding_counted_pupils", "funding_floor_applied",
    "funding_base_yuan", "funding_supplement_yuan", "funding_special_yuan", "funding_heating_yuan",
)
DERIVED_MEASURES = tuple(PER_PUPIL) + tuple(PER_100) + tuple(RATIOS) + (
    "school_total_students",) + FUNDING_MEASURES


def ratio(table: Table, num: str, den: str, factor: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """``factor × num / den``; undefined where den is 0, missing where either is missing.

    ``factor`` multiplies the numerator first, so that e.g. 21 teachers for 500 pupils gives
    exactly 4.2 per 100 — threshold comparisons at the exact limit must not wobble.
    """
    n, d = table.get(num), table.get(den)
    zero = d == 0
    with np.errstate(divide="ignore", invalid="ignore"):
        values = (n * factor) / np.where(zero, np.nan, d)
    return values, zero & ~np.isnan(n)


def school_totals(table: Table) -> np.ndarray:
    """Pupils of the whole school: the sum over records sharing (school_id, year)."""
    if table.n == 0:
        return np.zeros(0)
    keys = np.char.add(table.get("school_id").astype(str), "|")
    keys = np.char.add(keys, table.get("year").astype(str))
    _, inverse = np.unique(keys, return_inverse=True)
    students = table.get("students")
    sums = np.bincount(inverse, weights=np.nan_to_num(students))
    missing = np.bincount(inverse, weights=np.isnan(students).astype(float)) > 0
    totals = sums[inverse]
    totals[missing[inverse]] = np.nan
    return totals


def derive_measures(table: Table, measures: dict[str, expr.Node] | None = None) -> None:
    """Add the §3 measures and the rule packs' expression measures to ``table`` in place."""
    for name, field in PER_PUPIL.items():
        table.set_measure(name, *ratio(table, field, "students"))
    for name, field in PER_100.items():
        table.set_measure(name, *ratio(table, field, "students", 100.0))
    for name, (num, den) in RATIOS.items():
        table.set_measure(name, *ratio(table, num, den))
    table.set_measure("school_total_students", school_totals(table))
    add_expression_measures(table, measures or {})


def add_expression_measures(table: Table, measures: dict[str, expr.Node]) -> None:
    """Rule-pack measures: arithmetic over fields. Division by zero ⇒ undefined."""
    for name, node in measures.items():
        values, valid = expr.evaluate_columns(node, table)
        inputs = np.ones(table.n, dtype=bool)
        for used in expr.names(node):
            inputs &= table.present(used) | table.is_undefined(used)
        undefined = ~valid & inputs
        for used in expr.names(node):
            undefined |= table.is_undefined(used)
        values = np.where(valid, values, np.nan)
        table.set_measure(name, values, undefined)
