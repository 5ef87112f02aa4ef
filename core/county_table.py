"""The county table: the small table the county rules run on (one job: build it).

A county is judged on things no single school has: the inter-school CVs (data-dictionary §4),
the school gates ("every school meets …"), and the government's own facts (the county record).
:func:`build_county_table` turns the schools of any number of counties and years into one small
:class:`~edubalance.table.Table` — three rows per county and year: ``primary``, ``junior`` and
``county`` — so the ordinary rule back ends judge county rules exactly as they judge school
rules. Everything over schools is vectorised (``np.bincount``); the schools a report must name
(excluded, lacking a value, unjudged) are listed by :mod:`edubalance.county_listings`.

The 2012 gate counts the schools that fail their province's basic school-running standard
(the rules a pack marks ``standard: basic``, see :func:`edubalance.scoring.basic_standard_status`);
the 2017 gate counts the schools failing the 6-of-7 resource rule.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from itertools import compress
from typing import Any, Callable, Iterable, Mapping

import numpy as np

from .county_listings import (Names, list_exclusions, list_gates_unknown, list_missing,
                              list_scope_unknown)
from .cv import grouped_cvs
from .fields import COUNTY_BOOLEAN_FIELDS, COUNTY_NUMERIC_FIELDS
from .model import FAIL, MISSING_DATA, PASS
from .table import Table, group_numbers, is_none

STAGES = ("primary", "junior")
COUNTY_STAGE = "county"
ROW_STAGES = STAGES + (COUNTY_STAGE,)
ROWS_PER_COUNTY = len(ROW_STAGES)


#: Used when a pack gives no indicator lists (standards reference §1 and §2.1).
DEFAULT_CV_2012 = ("teaching_aux_area_per_pupil", "sports_area_per_pupil", "equipment_value_per_pupil",
                   "computers_per_100", "books_per_pupil", "teachers_per_pupil",
                   "qualified_teachers_per_pupil", "titled_teachers_per_pupil")
DEFAULT_CV_2017 = ("qualified_teachers_per_100", "backbone_teachers_per_100", "pe_art_teachers_per_100",
                   "teaching_aux_area_per_pupil", "sports_area_per_pupil", "equipment_value_per_pupil",
                   "multimedia_rooms_per_100")
#: County-record fields the county row carries (schema order), booleans as 1.0 / 0.0.
COUNTY_RECORD_FIELDS = tuple(f for f in COUNTY_NUMERIC_FIELDS + COUNTY_BOOLEAN_FIELDS if f != "year")
_RECORD_FIELD_SET = frozenset(COUNTY_RECORD_FIELDS)

ConditionParser = Callable[[str], Any]
Evaluate = Callable[[Any, Table], tuple[np.ndarray, np.ndarray]]


@dataclass
class CountyFrame:
    """The county table and what the report needs beside it.

    ``table`` has rows ``3g, 3g+1, 3g+2`` = primary, junior, county of county ``counties[g]``.
    ``details[row]`` holds, for a stage row: ``schools_in_scope``, ``schools_in_cv_scope``,
    ``schools_meeting_resource_rule``, ``excluded``, ``missing``, ``scope_unknown``,
    ``gates_unknown``, ``single_school``, ``notes``; for the county row: ``record`` (present or
    not) and ``absent_fields``.
    """

    table: Table
    counties: list[tuple[str, int]]
    details: list[dict[str, Any]]
    absent_records: list[tuple[str, int]] = field(default_factory=list)
    cv_2017_indicators: tuple[str, ...] = DEFAULT_CV_2017
    cv_2012_indicators: tuple[str, ...] = DEFAULT_CV_2012
    measure_inputs: dict[str, set[str]] = field(default_factory=dict)

    def rows_of(self, g: int) -> range:
        return range(ROWS_PER_COUNTY * g, ROWS_PER_COUNTY * (g + 1))


# ------------------------------------------------------------------------------------ building

def build_county_table(schools: Table, parameters: Mapping[str, Any], basic_status: np.ndarray,
                       resource_status: np.ndarray, county_records: Mapping[tuple[str, int], Mapping],
                       condition_parser: ConditionParser, *, evaluate: Evaluate | None = None,
                       measures: Mapping[str, Any] | None = None,
                       extra_counties: Iterable[tuple[str, int]] = ()) -> CountyFrame:
    """One primary, one junior and one county row per (county_code, year) found in ``schools``,
    and per key of ``extra_counties`` (county records judged with no school of theirs read: their
    CV items and school gates lack data, their county items are judged).

    ``parameters`` is the pack's ``parameters.county`` (or the whole ``parameters`` holding it).
    ``basic_status`` is each school's "pass" / "fail" / "incomplete" / "not_applicable" on its
    basic-standard rules (:func:`edubalance.scoring.basic_standard_status`); ``resource_status`` each
    school's verdict code of ``national.resource_indicators``. ``evaluate(node, table)`` gives
    ``(is_true, is_false)`` of a parsed condition (default ``edubalance.expr.evaluate_columns``).
    ``measures`` (a RuleSet's expression measures) adds those that read only county-table
    columns, e.g. the teacher pay ratio, and remembers their inputs for the report's ``needs``.
    """
    params = _county_parameters(parameters)
    if evaluate is None:
        from . import expr
        evaluate = expr.evaluate_columns
    n = schools.n
    basic_status = np.asarray(basic_status, dtype=object)
    resource_status = np.asarray(resource_status)
    if basic_status.shape != (n,) or resource_status.shape != (n,):
        raise ValueError(f"basic_status and resource_status need one entry per school ({n})")

    code = schools.get("county_code")
    year = schools.get("year")
    if n == 0:
        code = np.zeros(0, dtype=object)
    if (code.dtype != object
            or is_none(code).any()
            or np.isnan(year.astype(float)).any()):
        raise ValueError("every school record needs county_code and year to be grouped into a county")
    stage_ix = np.full(n, -1)
    for s, stage_name in enumerate(STAGES):
        stage_ix[schools.equals("stage", stage_name)] = s
    known_stage = stage_ix >= 0

    # County groups: (county_code, year), sorted.
    code_u, code_inv = _sorted_codes(code)
    year_u, year_inv = np.unique(year, return_inverse=True)
    combo = code_inv * len(year_u) + year_inv
    seen = np.bincount(combo, minlength=len(code_u) * len(year_u)) > 0
    combo_u = np.flatnonzero(seen)
    g = (np.cumsum(seen) - 1)[combo]
    counties = [(str(code_u[c // len(year_u)]), int(year_u[c % len(year_u)])) for c in combo_u.tolist()]
    extra = {(str(c), int(y)) for c, y in extra_counties} - set(counties)
    if extra:                       # counties with no school: renumber the groups in sorted order
        merged = sorted(set(counties) | extra)
        position = {key: i for i, key in enumerate(merged)}
        g = np.array([position[key] for key in counties], dtype=np.intp)[g] if n else g
        counties = merged
    n_groups = len(counties)
    school_records = np.bincount(g, minlength=n_groups).tolist() if n else [0] * n_groups
    n_rows = ROWS_PER_COUNTY * n_groups
    row = np.where(known_stage, ROWS_PER_COUNTY * g + stage_ix, -1)

    # Scopes. Unknown (missing data in a condition) counts as "not excluded" and is reported.
    conditions = {}
    for key in ("exclude_from_county", "exclude_from_cv_2017", "exclude_from_cv_2012"):
        text = params.get(key)
        if text:
            is_true, is_false = evaluate(condition_parser(text), schools)
            conditions[key] = (text, np.asarray(is_true, bool), ~np.asarray(is_true, bool) & ~np.asarray(is_false, bool))
        else:
            conditions[key] = (None, np.zeros(n, bool), np.zeros(n, bool))
    students = schools.get("students")
    zero = students == 0
    excl_county = known_stage & conditions["exclude_from_county"][1]
    in_county = known_stage & ~excl_county & ~zero
    in_2017 = in_county & ~conditions["exclude_from_cv_2017"][1]
    in_2012 = in_county & ~conditions["exclude_from_cv_2012"][1]
    weighted = students > 0

    def count(mask: np.ndarray) -> np.ndarray:
        return np.bincount(row[mask], minlength=n_rows)

    in_scope_n = count(in_county)
    n17 = count(in_2017 & weighted)
    n12 = count(in_2012 & weighted)
    stage_row = stage_rows(n_rows)
    # A CV needs two schools: with fewer in scope it does not exist (not_applicable, never 0).
    # A county with no school read at all lacks the data instead (missing_data).
    has_schools = np.repeat(np.array(school_records) > 0, ROWS_PER_COUNTY)
    no_cv17 = stage_row & has_schools & (n17 < 2)
    no_cv12 = stage_row & has_schools & (n12 < 2)

    table = Table(n_rows)
    cv17 = tuple(params.get("cv_2017_indicators") or DEFAULT_CV_2017)
    cv12 = tuple(params.get("cv_2012_indicators") or DEFAULT_CV_2012)
    row17 = np.where(in_2017 & ~no_cv17[np.maximum(row, 0)], row, -1)
    row12 = np.where(in_2012 & ~no_cv12[np.maximum(row, 0)], row, -1)
    for ind, col in zip(cv17, grouped_cvs(row17, [schools.get(ind) for ind in cv17], students, n_rows)):
        table.set_measure(f"cv_{ind}", col, no_cv17)
    cv12_cols = grouped_cvs(row12, [schools.get(ind) for ind in cv12], students, n_rows)
    for ind, col in zip(cv12, cv12_cols):
        table.set_measure(f"cv2012_{ind}", col, no_cv12)
    composite = np.mean(cv12_cols, axis=0) if cv12_cols else np.full(n_rows, np.nan)
    table.set_measure("composite_cv_2012", composite, no_cv12)
    failing = basic_status == "fail"
    judged = failing | (basic_status == "pass")
    basic_fail = count(in_county & failing)
    basic_unknown = count(in_county & ~judged)
    res_pass = count(in_2017 & (resource_status == PASS))
    res_fail = count(in_2017 & (resource_status == FAIL))
    res_unknown = count(in_2017 & (resource_status == MISSING_DATA))
    table.set_measure("schools_not_meeting_basic_standard",
                      _gate(basic_fail, basic_unknown, in_scope_n, stage_row))
    table.set_measure("schools_not_meeting_resource_rule",
                      _gate(res_fail, res_unknown, count(in_2017), stage_row))
    table.set_measure("schools_in_scope", np.where(stage_row, in_scope_n, np.nan))
    table.set_measure("students_in_scope",
                      np.where(stage_row, np.bincount(row[in_county], weights=students[in_county],
                                                      minlength=n_rows), np.nan))

    # Identity columns.
    table.columns["county_code"] = np.array([c for c, _ in counties for _ in ROW_STAGES], dtype=object)
    table.columns["stage"] = np.array(list(ROW_STAGES) * n_groups, dtype=object)
    table.set_measure("year", np.repeat([float(y) for _, y in counties], ROWS_PER_COUNTY))
    province = _first_text(schools.get("province"), g, n_groups)
    name = _first_text(schools.get("county_name"), g, n_groups)

    # County rows: the county record, field by field over all records (columns of n_groups).
    records = [_find_record(county_records, key) for key in counties]
    absent = [key for key, rec in zip(counties, records) if rec is None]
    present = [gi for gi, rec in enumerate(records) if rec is not None]
    found = [rec for rec in records if rec is not None]      # the records of ``present``, in order
    record_cols: dict[str, np.ndarray] = {}
    by_field = zip(*[list(map(rec.get, COUNTY_RECORD_FIELDS)) for rec in found]) if found \
        else [()] * len(COUNTY_RECORD_FIELDS)
    for f, values in zip(COUNTY_RECORD_FIELDS, by_field):
        record_cols[f] = np.full(n_groups, np.nan)
        record_cols[f][present] = _numbers(list(values))
    # Other numeric fields a record carries get a column too, in order of first appearance.
    # (Records of one file share their keys: their extra fields are found once per key set.)
    extras_of: dict[tuple[str, ...], list[str]] = {}
    for gi, rec in zip(present, found):
        keys = tuple(rec)
        extras = extras_of.get(keys)
        if extras is None:
            extras = extras_of[keys] = [f for f in keys if f not in _RECORD_FIELD_SET and f != "year"
                                        and not f.startswith("_")]
        for f in extras:
            num = _number(rec[f])
            if num is not None:
                if f not in record_cols:
                    record_cols[f] = np.full(n_groups, np.nan)
                record_cols[f][gi] = num
    for gi, rec in zip(present, found):
        province[gi] = province[gi] or rec.get("province")
        name[gi] = name[gi] or rec.get("county_name")
    county_rows = slice(len(STAGES), None, ROWS_PER_COUNTY)
    for f, vals in record_cols.items():
        col = np.full(n_rows, np.nan)
        col[county_rows] = vals
        table.set_measure(f, col)
    # A record field is absent exactly where its column stayed NaN (_number never gives NaN).
    absent_rows = np.isnan(np.array([record_cols[f] for f in COUNTY_RECORD_FIELDS],
                                    dtype=float).reshape(len(COUNTY_RECORD_FIELDS), n_groups)).T.tolist()

    details: list[dict[str, Any]] = []
    in_scope_l, n17_l, n12_l = in_scope_n.tolist(), n17.tolist(), n12.tolist()
    res_pass_l = res_pass.tolist()
    for gi in range(n_groups):
        for s in range(len(STAGES)):
            r = ROWS_PER_COUNTY * gi + s
            if school_records[gi]:
                not_applicable, notes = _cv_not_applicable(in_scope_l[r] > 0, n17_l[r], n12_l[r])
            else:
                not_applicable, notes = {"quality_2017": None, "basic_2012": None}, [NO_SCHOOL_RECORDS]
            details.append({
                "schools_in_scope": in_scope_l[r],
                "schools_in_cv_scope": {"quality_2017": n17_l[r], "basic_2012": n12_l[r]},
                "schools_meeting_resource_rule": res_pass_l[r],
                "excluded": [], "missing": [], "scope_unknown": [], "gates_unknown": [],
                "single_school": n17_l[r] == 1 or n12_l[r] == 1,
                "cv_not_applicable": not_applicable, "notes": notes,
            })
        details.append({"record": records[gi] is not None, "school_records": school_records[gi],
                        "absent_fields": list(compress(COUNTY_RECORD_FIELDS, absent_rows[gi]))})
    table.columns["province"] = np.array([p for p in province for _ in ROW_STAGES], dtype=object)
    table.columns["county_name"] = np.array([m for m in name for _ in ROW_STAGES], dtype=object)

    names = Names(schools)
    list_exclusions(schools, names, details, row, conditions, excl_county, zero, in_county)
    list_missing(schools, names, details, row, students, (("quality_2017", "cv_", cv17, row17 >= 0),
                                                  ("basic_2012", "cv2012_", cv12, row12 >= 0)))
    list_scope_unknown(schools, names, details, row, conditions, known_stage)
    list_gates_unknown(schools, names, details, row, table, judged, resource_status, in_county, in_2017)
    inputs = _add_county_measures(table, measures) if measures else {}
    return CountyFrame(table, counties, details, absent, cv17, cv12, inputs)


def stage_rows(n_rows: int) -> np.ndarray:
    """True on the stage rows (primary, junior) of a county table of ``n_rows`` rows."""
    return np.arange(n_rows) % ROWS_PER_COUNTY < len(STAGES)



def _sorted_codes(code: np.ndarray) -> tuple[list[str], np.ndarray]:
    """``np.unique(code.astype(str), return_inverse=True)`` without sorting every school's code:
    the codes are numbered in one pass and only the distinct ones (a few thousand) are sorted."""
    try:
        distinct, number = group_numbers(code.tolist(), len(code))
    except TypeError:                                   # an unhashable code: NumPy's way below
        distinct, number = [], None
    if number is None or not all(type(c) is str and "\x00" not in c for c in distinct):
        unique, inverse = np.unique(code.astype(str), return_inverse=True)
        return [str(c) for c in unique], inverse
    order = sorted(range(len(distinct)), key=distinct.__getitem__)
    rank = np.empty(len(distinct), dtype=np.intp)
    rank[order] = np.arange(len(distinct))
    return [distinct[i] for i in order], rank[number]


def _add_county_measures(table: Table, measures: Mapping[str, Any]) -> dict[str, set[str]]:
    """Compute the expression measures that read only county-table columns (school-level
    expressions are skipped); return each one's inputs."""
    from . import expr
    from .derive import add_expression_measures

    available = set(table.columns) | set(COUNTY_RECORD_FIELDS)
    mine = {m: node for m, node in measures.items() if expr.names(node) <= available}
    add_expression_measures(table, mine)
    return {m: expr.names(node) for m, node in mine.items()}


def _county_parameters(parameters: Mapping[str, Any] | None) -> Mapping[str, Any]:
    parameters = parameters or {}
    inner = parameters.get("county")
    return inner if isinstance(inner, Mapping) else parameters


def _gate(failing: np.ndarray, unknown: np.ndarray, in_scope: np.ndarray, stage_row: np.ndarray) -> np.ndarray:
    """Schools failing a gate. Unknown when none fails but some could not be judged, or no
    school is in scope; a known failure is reported even if others are unknown (the gate fails)."""
    out = failing.astype(float)
    out[(failing == 0) & (unknown > 0)] = np.nan
    out[in_scope == 0] = np.nan
    out[~stage_row] = np.nan
    return out


def _first_text(col: np.ndarray, g: np.ndarray, n_groups: int) -> list[str | None]:
    """The first non-empty text of each group (no loop over schools)."""
    if col.dtype == object:
        # Truth is "not None and not empty" for text; check the few false values one by one.
        truth = col.astype(bool)
        for i in np.flatnonzero(~truth).tolist():
            truth[i] = col[i] is not None and col[i] != ""
        present = np.flatnonzero(truth)
    else:
        present = np.flatnonzero(np.array([v is not None and v != "" for v in col], dtype=bool))
    out: list[str | None] = [None] * n_groups
    first = np.full(n_groups, len(col), dtype=np.intp)
    np.minimum.at(first, g[present], present)
    for gi in np.flatnonzero(first < len(col)).tolist():
        out[gi] = str(col[first[gi]])
    return out


def _find_record(records: Mapping, key: tuple[str, int]) -> Mapping | None:
    rec = records.get(key) if records else None
    if rec is None and records:
        rec = records.get((key[0], str(key[1])))
    return rec


def _numbers(values: list[Any]) -> np.ndarray:
    """``_number`` of each value as a float column (NaN for None), in one step when the values
    are all plain numbers or missing."""
    if set(map(type, values)) <= _PLAIN:
        return np.array(values, dtype=float)
    return np.array([math.nan if (num := _number(v)) is None else num for v in values], dtype=float)


_PLAIN = {float, int, bool, type(None)}


def _number(v: Any) -> float | None:
    if isinstance(v, (bool, np.bool_)):
        return 1.0 if v else 0.0
    if isinstance(v, (int, float, np.integer, np.floating)):
        v = float(v)
        return None if math.isnan(v) else v
    return None


NO_SCHOOL_RECORDS = ("未读到本县的学校记录：差异系数和“每所学校达标”各项需要学校数据文件 / no school record of "
                     "this county was read: the CV items and the every-school items need the school file")


#: Why a programme's CV is not applicable, by (year, schools in its CV scope: 0 or 1).
_TOO_FEW = {(year, n): f"{year} 差异系数范围内{'只有 1 所学校' if n else '没有学校'}，差异系数不适用（不记为 0） / "
                       f"{n} school{'' if n == 1 else 's'} in the {year} CV scope: a CV needs at least 2, "
                       f"so it is not applicable (not 0)"
            for year in (2017, 2012) for n in (0, 1)}
_NO_SCHOOL_IN_SCOPE = ("本学段没有计入县域指标的学校 / no school of this stage is in scope: "
                      "its CVs are not applicable and its school gates cannot be judged")


def _cv_not_applicable(in_scope: bool, n17: int, n12: int) -> tuple[dict[str, str | None], list[str]]:
    """Why a stage's CVs do not exist, per programme (fewer than two schools in the CV scope;
    ``None`` where they do), and the stage's notes: no school in scope, or the CVs that are not
    applicable (and not 0). ``n17``, ``n12``: the schools in each CV scope. New values each
    call: the stage's entry owns them."""
    out: dict[str, str | None] = {"quality_2017": _TOO_FEW[2017, n17] if n17 < 2 else None,
                                  "basic_2012": _TOO_FEW[2012, n12] if n12 < 2 else None}
    if not in_scope:
        return out, [_NO_SCHOOL_IN_SCOPE]
    return out, [why for why in out.values() if why]
