"""Derived measures (data-dictionary §3), computed once per column for every back end.

Both rule back ends and the county calculations read the same derived columns, so a measure
can never differ between engines. A measure that does not exist for a record — a per-pupil
figure of a school with 0 pupils, a per-boarder figure with 0 boarders — is marked
*undefined* and its rules give ``not_applicable``; a missing input gives a missing measure and
its rules give ``missing_data``.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import polars as pl

from . import expr
from .fields import school_fields
from .model import MeasureRun, RuleSet, measure_runs
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
#: measure -> the record fields it is computed from (numerator first).
DERIVED_INPUTS: dict[str, tuple[str, ...]] = {
    **{m: (f, "students") for m, f in PER_PUPIL.items()}, **{m: (f, "students") for m, f in PER_100.items()},
    **RATIOS, "school_total_students": ("students",)}
FUNDING_MEASURES = (
    "public_funds_entitlement_yuan", "funding_counted_pupils", "funding_floor_applied",
    "funding_base_yuan", "funding_supplement_yuan", "funding_special_yuan", "funding_heating_yuan",
    "funding_provisional",
)
DERIVED_MEASURES = tuple(PER_PUPIL) + tuple(PER_100) + tuple(RATIOS) + (
    "school_total_students",) + FUNDING_MEASURES


def measure_inputs(ruleset: RuleSet, measure: str) -> list[str]:
    """The record fields a measure reads, numerator first, as the rule model defines it: the
    data-dictionary ratios above and each pack's own measure expressions, followed to the fields.
    Plans (what to add) and reports (what to fill in) both ask here."""
    if measure in DERIVED_INPUTS:
        return list(DERIVED_INPUTS[measure])
    node = ruleset.measures.get(measure)
    if node is not None:
        found: list[str] = []
        for name in sorted(expr.names(node)):
            found.extend(f for f in measure_inputs(ruleset, name) if f not in found)
        return found
    return [measure] if measure in school_fields() else []


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


#: (measure, numerator, denominator, factor) of every :func:`ratio` measure.
_RATIO_MEASURES = (tuple((m, f, "students", 1.0) for m, f in PER_PUPIL.items())
                   + tuple((m, f, "students", 100.0) for m, f in PER_100.items())
                   + tuple((m, num, den, 1.0) for m, (num, den) in RATIOS.items()))
_RATIO_NAMES = [m for m, _, _, _ in _RATIO_MEASURES]
_RATIO_FACTORS = np.array([[f] for _, _, _, f in _RATIO_MEASURES])
#: Up to this many records, the ratio measures are computed as one matrix.
_MATRIX_MAX = 512


def ratio_measures(table: Table) -> None:
    """Every :func:`ratio` measure. A few records (one through the API) take the same
    arithmetic on ``[measures, records]`` matrices, a few NumPy calls in all instead of a few
    per measure; a file takes one measure at a time, without copying columns into a matrix."""
    if table.n > _MATRIX_MAX:
        for name, num_field, den_field, factor in _RATIO_MEASURES:
            table.set_measure(name, *ratio(table, num_field, den_field, factor))
        return
    shape = (len(_RATIO_MEASURES), table.n)
    num = np.concatenate([table.get(n) for _, n, _, _ in _RATIO_MEASURES]).reshape(shape)
    den = np.concatenate([table.get(d) for _, _, d, _ in _RATIO_MEASURES]).reshape(shape)
    zero = den == 0
    with np.errstate(divide="ignore", invalid="ignore"):
        values = (num * _RATIO_FACTORS) / np.where(zero, np.nan, den)
    table.set_measures(_RATIO_NAMES, values, zero & ~np.isnan(num))


def school_totals(table: Table) -> np.ndarray:
    """Pupils of the whole school: the sum over records sharing (school_id, year)."""
    if table.n == 0:
        return np.zeros(0)
    students = table.get("students")
    if table.n == 1 and np.isfinite(students[0]):   # one record is its own school: the sum below
        return 0.0 + students
    # One hashed group-by over (school_id, year); a missing year is one key, as is a missing id.
    # A group with a school lacking its pupils sums to NaN: the total is missing.
    frame = pl.DataFrame({"school_id": pl.Series(table.get("school_id"), dtype=pl.String),
                          "year": pl.Series(table.get("year")).fill_nan(None),
                          "students": pl.Series(students)})
    return frame.select(pl.col("students").sum().over("school_id", "year")).to_series().to_numpy(writable=True)


def derive_measures(table: Table, runs: Sequence[MeasureRun] = ()) -> None:
    """Add the §3 measures and the rule packs' expression measures (``runs``: a rule set's
    :attr:`~edubalance.model.RuleSet.measure_runs`, made once) to ``table`` in place.

    The pupils of the whole school are the sum over the table's records of each school, unless
    the caller gave them: rows that are variants of one school (the planner's candidates) are
    not one school, and their caller knows each one's whole school."""
    ratio_measures(table)
    if "school_total_students" not in table.columns:
        table.set_measure("school_total_students", school_totals(table))
    add_measure_runs(table, runs)


def add_expression_measures(table: Table, measures: dict[str, expr.Node]) -> None:
    """Rule-pack measures (name → expression): arithmetic over fields, see :func:`add_measure_runs`."""
    add_measure_runs(table, measure_runs(measures))


def add_measure_runs(table: Table, runs: Sequence[MeasureRun]) -> None:
    """Rule-pack measures, a run at a time (:func:`~edubalance.model.measure_runs`).
    Division by zero ⇒ undefined.

    A measure is undefined where it cannot be computed although every input exists (a zero
    divisor), or where an input is itself undefined; missing where an input is missing.
    The measures of a run do not read one another: they are set together, as one matrix.
    """
    n = table.n
    for batch in runs:
        found = [expr.evaluate_columns(node, table) for _, node, _ in batch]
        valid = np.concatenate([ok for _, ok in found]).reshape(len(batch), n)
        values = np.where(valid, np.concatenate([v for v, _ in found]).reshape(len(batch), n), np.nan)
        undefined = np.zeros((len(batch), n), dtype=bool)
        failed = np.flatnonzero(~valid.all(1)).tolist()        # measures some record could not compute
        if failed:
            # Where every input exists (or is undefined itself), an invalid value is undefined.
            names = sorted({u for row in failed for u in batch[row][2]})
            exists = np.concatenate([table.present(u) | table.is_undefined(u) for u in names]
                                    or [np.zeros(0, dtype=bool)]).reshape(len(names), n)
            for row in failed:
                inputs = exists[[names.index(u) for u in batch[row][2]]].all(0)
                undefined[row] = ~valid[row] & inputs
        if table.undefined:
            for row, (_, _, used) in enumerate(batch):
                for u in used:
                    mask = table.undefined.get(u)
                    if mask is not None:
                        undefined[row] |= mask
        table.set_measures([name for name, _, _ in batch], values, undefined)
