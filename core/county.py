"""County evaluation: the county table the county rules run on, and the county report entries.

A county is judged on things no single school has: the inter-school CVs (data-dictionary §4),
the school gates ("every school meets …"), and the government's own facts (the county record).
:func:`build_county_table` turns the schools of any number of counties and years into one small
:class:`~edubalance.table.Table` — three rows per county and year: ``primary``, ``junior`` and
``county`` — so the ordinary rule back ends judge county rules exactly as they judge school
rules. :func:`county_reports` turns their verdicts into the ``counties[]`` entries of a report,
with the 2012 basic-balance and 2017 high-quality-balance judgements and what data is lacking.

Everything over schools is vectorised (``np.bincount``); the reports are decided per rule over
all counties at once. Python loops only build the entries themselves: one per county, per
verdict, and per school that must be named (excluded, or lacking a value). A county verdict
is ``{rule_id, stage, status, value, threshold, gap}``; what describes its rule is the report's
rule catalogue (:meth:`Rule.describe`), which the judgements here read as well.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from itertools import compress
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

import numpy as np

from .cv import grouped_cvs
from .fields import COUNTY_BOOLEAN_FIELDS, COUNTY_NUMERIC_FIELDS, label
from .model import FAIL, MISSING_DATA, NOT_APPLICABLE, PASS, STATUS_NAMES, Rule, RuleResults
from .table import Table

STAGES = ("primary", "junior")
COUNTY_STAGE = "county"
ROW_STAGES = STAGES + (COUNTY_STAGE,)
ROWS_PER_COUNTY = len(ROW_STAGES)
PROGRAMMES = ("basic_2012", "quality_2017")
PROGRAMME_TITLES = {"basic_2012": "基本均衡 basic balance (2012)",
                    "quality_2017": "优质均衡 high-quality balance (2017)"}

#: Used when a pack gives no indicator lists (standards reference §1 and §2.1).
DEFAULT_CV_2012 = ("teaching_aux_area_per_pupil", "sports_area_per_pupil", "equipment_value_per_pupil",
                   "computers_per_100", "books_per_pupil", "teachers_per_pupil",
                   "qualified_teachers_per_pupil", "titled_teachers_per_pupil")
DEFAULT_CV_2017 = ("qualified_teachers_per_100", "backbone_teachers_per_100", "pe_art_teachers_per_100",
                   "teaching_aux_area_per_pupil", "sports_area_per_pupil", "equipment_value_per_pupil",
                   "multimedia_rooms_per_100")
#: The record field behind each indicator, so a report can say which field to fill in.
INDICATOR_FIELDS = {
    "teaching_aux_area_per_pupil": "teaching_aux_area_m2",
    "sports_area_per_pupil": "sports_area_m2",
    "equipment_value_per_pupil": "equipment_value_yuan",
    "computers_per_100": "computers",
    "books_per_pupil": "books",
    "teachers_per_pupil": "teachers",
    "qualified_teachers_per_pupil": "teachers_above_required_degree",
    "titled_teachers_per_pupil": "teachers_mid_senior_title",
    "qualified_teachers_per_100": "teachers_above_required_degree",
    "backbone_teachers_per_100": "backbone_teachers",
    "pe_art_teachers_per_100": "pe_art_teachers",
    "multimedia_rooms_per_100": "multimedia_classrooms",
}
#: County-record fields the county row carries (schema order), booleans as 1.0 / 0.0.
COUNTY_RECORD_FIELDS = tuple(f for f in COUNTY_NUMERIC_FIELDS + COUNTY_BOOLEAN_FIELDS if f != "year")

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

def build_county_table(schools: Table, parameters: Mapping[str, Any], school_status: np.ndarray,
                       resource_status: np.ndarray, county_records: Mapping[tuple[str, int], Mapping],
                       condition_parser: ConditionParser, *, evaluate: Evaluate | None = None,
                       measures: Mapping[str, Any] | None = None) -> CountyFrame:
    """One primary, one junior and one county row per (county_code, year) found in ``schools``.

    ``parameters`` is the pack's ``parameters.county`` (or the whole ``parameters`` holding it).
    ``school_status`` is each school's "pass" / "fail" / "incomplete"; ``resource_status`` each
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
    school_status = np.asarray(school_status, dtype=object)
    resource_status = np.asarray(resource_status)
    if school_status.shape != (n,) or resource_status.shape != (n,):
        raise ValueError(f"school_status and resource_status need one entry per school ({n})")

    code = schools.get("county_code")
    year = schools.get("year")
    if code.dtype != object or np.equal(code, None).any() or np.isnan(year.astype(float)).any():
        raise ValueError("every school record needs county_code and year to be grouped into a county")
    stage_col = schools.get("stage")
    stage_ix = np.full(n, -1)
    for s, name in enumerate(STAGES):
        stage_ix[stage_col == name] = s
    known_stage = stage_ix >= 0

    # County groups: (county_code, year), sorted.
    code_u, code_inv = _sorted_codes(code)
    year_u, year_inv = np.unique(year, return_inverse=True)
    combo = code_inv * len(year_u) + year_inv
    seen = np.bincount(combo, minlength=len(code_u) * len(year_u)) > 0
    combo_u = np.flatnonzero(seen)
    g = (np.cumsum(seen) - 1)[combo]
    counties = [(str(code_u[c // len(year_u)]), int(year_u[c % len(year_u)])) for c in combo_u.tolist()]
    n_groups = len(counties)
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

    table = Table(n_rows)
    cv17 = tuple(params.get("cv_2017_indicators") or DEFAULT_CV_2017)
    cv12 = tuple(params.get("cv_2012_indicators") or DEFAULT_CV_2012)
    row17 = np.where(in_2017, row, -1)
    row12 = np.where(in_2012, row, -1)
    for ind, col in zip(cv17, grouped_cvs(row17, [schools.get(ind) for ind in cv17], students, n_rows)):
        table.set_measure(f"cv_{ind}", col)
    cv12_cols = grouped_cvs(row12, [schools.get(ind) for ind in cv12], students, n_rows)
    for ind, col in zip(cv12, cv12_cols):
        table.set_measure(f"cv2012_{ind}", col)
    composite = np.mean(cv12_cols, axis=0) if cv12_cols else np.full(n_rows, np.nan)
    table.set_measure("composite_cv_2012", composite)

    def count(mask: np.ndarray) -> np.ndarray:
        return np.bincount(row[mask], minlength=n_rows)

    in_scope_n = count(in_county)
    n17 = count(in_2017 & weighted)
    n12 = count(in_2012 & weighted)
    basic_fail = count(in_county & (school_status == "fail"))
    judged = (school_status == "pass") | (school_status == "fail")
    basic_unknown = count(in_county & ~judged)
    res_pass = count(in_2017 & (resource_status == PASS))
    res_fail = count(in_2017 & (resource_status == FAIL))
    res_unknown = count(in_2017 & (resource_status == MISSING_DATA))
    stage_row = np.zeros(n_rows, bool)
    stage_row[np.arange(n_rows) % ROWS_PER_COUNTY < len(STAGES)] = True
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

    # County rows: the county record (one pass over each record's items, columns filled at the end).
    record_vals: dict[str, list[float]] = {f: [math.nan] * n_groups for f in COUNTY_RECORD_FIELDS}
    absent: list[tuple[str, int]] = []
    records = []
    for gi, key in enumerate(counties):
        rec = _find_record(county_records, key)
        records.append(rec)
        if rec is None:
            absent.append(key)
            continue
        for f, v in rec.items():
            t = type(v)
            if t is float:                  # the common cases first; _number for the rest
                num = None if v != v else v
            elif t is int:
                num = float(v)
            else:
                num = _number(v)
            if num is None or f == "year" or f.startswith("_"):
                continue
            vals = record_vals.get(f)
            if vals is None:
                vals = record_vals[f] = [math.nan] * n_groups
            vals[gi] = num
        province[gi] = province[gi] or rec.get("province")
        name[gi] = name[gi] or rec.get("county_name")
    county_rows = slice(len(STAGES), None, ROWS_PER_COUNTY)
    for f, vals in record_vals.items():
        col = np.full(n_rows, np.nan)
        col[county_rows] = vals
        table.set_measure(f, col)
    # A record field is absent exactly where its column stayed NaN (_number never gives NaN).
    absent_rows = np.isnan(np.array([record_vals[f] for f in COUNTY_RECORD_FIELDS],
                                    dtype=float).reshape(len(COUNTY_RECORD_FIELDS), n_groups)).T.tolist()

    details: list[dict[str, Any]] = []
    in_scope_l, n17_l, n12_l = in_scope_n.tolist(), n17.tolist(), n12.tolist()
    res_pass_l, basic_fail_l, basic_unknown_l = res_pass.tolist(), basic_fail.tolist(), basic_unknown.tolist()
    res_fail_l, res_unknown_l = res_fail.tolist(), res_unknown.tolist()
    for gi in range(n_groups):
        for s in range(len(STAGES)):
            r = ROWS_PER_COUNTY * gi + s
            details.append({
                "schools_in_scope": in_scope_l[r],
                "schools_in_cv_scope": {"quality_2017": n17_l[r], "basic_2012": n12_l[r]},
                "schools_meeting_resource_rule": res_pass_l[r],
                "schools_failing_basic_standard": basic_fail_l[r],
                "schools_incomplete_basic_standard": basic_unknown_l[r],
                "schools_failing_resource_rule": res_fail_l[r],
                "schools_missing_resource_rule": res_unknown_l[r],
                "excluded": [], "missing": [], "scope_unknown": [], "gates_unknown": [],
                "single_school": n17_l[r] == 1 or n12_l[r] == 1,
                "notes": _stage_notes(in_scope_l[r], n17_l[r], n12_l[r]),
            })
        details.append({"record": records[gi] is not None,
                        "absent_fields": list(compress(COUNTY_RECORD_FIELDS, absent_rows[gi]))})
    table.columns["province"] = np.array([p for p in province for _ in ROW_STAGES], dtype=object)
    table.columns["county_name"] = np.array([m for m in name for _ in ROW_STAGES], dtype=object)

    names = _Names(schools)
    _list_exclusions(schools, names, details, row, conditions, excl_county, zero, in_county)
    _list_missing(schools, names, details, row, students, (("quality_2017", "cv_", cv17, in_2017),
                                                    ("basic_2012", "cv2012_", cv12, in_2012)))
    _list_scope_unknown(schools, names, details, row, conditions, known_stage)
    _list_gates_unknown(schools, names, details, row, table, school_status, resource_status, in_county, in_2017)
    inputs = _add_county_measures(table, measures) if measures else {}
    return CountyFrame(table, counties, details, absent, cv17, cv12, inputs)


def _sorted_codes(code: np.ndarray) -> tuple[list[str], np.ndarray]:
    """``np.unique(code.astype(str), return_inverse=True)`` without sorting every school's code:
    the codes are numbered in one pass and only the distinct ones (a few thousand) are sorted."""
    ids: dict[Any, int] = {}
    try:
        number = np.fromiter((ids.setdefault(c, len(ids)) for c in code.tolist()), dtype=np.intp,
                             count=len(code))
    except TypeError:                                   # an unhashable code: NumPy's way below
        number = None
    distinct = list(ids)
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


def _number(v: Any) -> float | None:
    if isinstance(v, (bool, np.bool_)):
        return 1.0 if v else 0.0
    if isinstance(v, (int, float, np.integer, np.floating)):
        v = float(v)
        return None if math.isnan(v) else v
    return None


def _stage_notes(in_scope: int, n17: int, n12: int) -> list[str]:
    notes = []
    if in_scope == 0:
        notes.append("本学段没有计入县域指标的学校 / no school of this stage is in scope: "
                     "its CVs and school gates cannot be judged")
    if n17 == 1:
        notes.append("2017 差异系数范围内只有一所学校，差异系数记为 0 / only one school in the 2017 CV "
                     "scope: its CVs are reported as 0")
    if in_scope and n17 == 0:
        notes.append("没有学校计入 2017 差异系数 / no school is in the 2017 CV scope")
    if in_scope and n12 == 0:
        notes.append("没有学校计入 2012 差异系数 / no school is in the 2012 CV scope")
    if n12 == 1:
        notes.append("2012 差异系数范围内只有一所学校，差异系数记为 0 / only one school in the 2012 CV "
                     "scope: its CVs are reported as 0")
    return notes


_TEXT_TYPES = {str, type(None)}


class _Names:
    """(school_id, school_name, stage) of schools, as :meth:`Table.value` gives them: what
    names a school in a list. The columns are checked once, not once per listing."""

    FIELDS = ("school_id", "school_name", "stage")

    def __init__(self, schools: Table):
        self.schools = schools
        self.plain: dict[str, bool] = {}
        for name in self.FIELDS:
            col = schools.columns.get(name)
            self.plain[name] = col is None or (col.dtype == object
                                               and set(map(type, col.tolist())) <= _TEXT_TYPES)

    def _values(self, name: str, idx: np.ndarray) -> list[Any]:
        col = self.schools.columns.get(name)
        if col is None:
            return [None] * len(idx)
        if self.plain[name]:
            return col[idx].tolist()
        return [self.schools.value(name, i) for i in idx.tolist()]

    def of(self, idx: np.ndarray) -> Iterator[tuple[Any, Any, Any]]:
        return zip(*(self._values(name, idx) for name in self.FIELDS))


def _listing_order(row: np.ndarray, *keys: np.ndarray
                   ) -> tuple[np.ndarray, list[int], list[tuple[int, int]]]:
    """Sort a listing's entries by stage row, then ``keys`` (most significant first); return the
    order, the rows that get entries and each one's [start, end) in the sorted entries, so that
    each row receives its entries in one step."""
    order = np.lexsort(tuple(reversed(keys)) + (row,))
    rows = row[order]
    cut = np.flatnonzero(np.diff(rows)) + 1
    starts = np.concatenate([[0], cut]).astype(np.intp)
    ends = np.concatenate([cut, [len(rows)]]).astype(np.intp)
    return order, rows[starts].tolist() if len(rows) else [], list(zip(starts.tolist(), ends.tolist()))


def _distribute(details: list[dict], key: str, rows: list[int], runs: list[tuple[int, int]],
                entries: list[dict]) -> None:
    for r, (a, b) in zip(rows, runs):
        details[r][key].extend(entries[a:b])


def _equals(col: np.ndarray, text: str) -> np.ndarray:
    """``col[i] == text`` for every school (a numeric, i.e. absent, text column equals nothing)."""
    if col.dtype == object:
        return np.asarray(col == text, dtype=bool)
    return np.zeros(len(col), dtype=bool)


def _pupils(schools: Table, i: int) -> str:
    v = schools.value("students", i)
    return "?" if v is None else f"{v:g}"


def _list_exclusions(schools: Table, names: _Names, details: list[dict], row: np.ndarray, conditions: dict,
                     excl_county: np.ndarray, zero: np.ndarray, in_county: np.ndarray) -> None:
    """Name every school left out of a county indicator, with the reason: one entry for a school
    out of every county indicator, else one per CV scope it is out of (2017 before 2012)."""
    text_c, _, _ = conditions["exclude_from_county"]
    text_17, t17, _ = conditions["exclude_from_cv_2017"]
    text_12, t12, _ = conditions["exclude_from_cv_2012"]
    stype = schools.get("school_type")
    zero_only = zero & ~excl_county & (row >= 0)
    cv17_out = in_county & t17          # in_county leaves out excl_county and zero pupils
    cv12_out = in_county & t12
    # Why each school is out, decided over all schools at once: an index into ``reasons``.
    private = (schools.get("is_public") == 0) & ("is_public" in (text_c or ""))
    special = _equals(stype, "special_education") & ("special_education" in (text_c or ""))
    teaching_point = _equals(stype, "teaching_point")
    reasons = [
        ("private", "民办学校 private school"),
        ("special_education", "特殊教育学校 special-education school"),
        ("excluded_from_county", f"不计入县域指标 / out of every county indicator: {text_c}"),
        ("zero_pupils", "在校生 0 人，不计权重 / 0 pupils: no weight"),
        ("excluded_from_cv_2017", f"不计入 2017 差异系数 / 2017 CVs only: {text_17}"),
        ("teaching_point_2012", f"教学点，不计入 2012 差异系数 / teaching point (2012 CVs only): {text_12}"),
        ("excluded_from_cv_2012", f"不计入 2012 差异系数 / 2012 CVs only: {text_12}"),
    ]
    county_out = excl_county | zero_only
    i_county = np.flatnonzero(county_out)
    why_county = np.where(excl_county, np.where(private, 0, np.where(special, 1, 2)), 3)[i_county]
    i_17 = np.flatnonzero(cv17_out)
    tp17 = (teaching_point & ("teaching_point" in (text_17 or "")))[i_17]
    # A small teaching point's 2017 reason names its pupils: one reason of its own each.
    why_17 = np.where(tp17, len(reasons) + np.cumsum(tp17) - 1, 4)
    for i in i_17[tp17].tolist():
        p = _pupils(schools, i)
        reasons.append(("teaching_point_2017", f"教学点，在校生 {p} 人，不计入 2017 差异系数 / teaching point "
                                               f"with {p} pupils, under the cut-off (2017 CVs only): {text_17}"))
    i_12 = np.flatnonzero(cv12_out)
    why_12 = np.where(teaching_point[i_12] & ("teaching_point" in (text_12 or "")), 5, 6)

    idx = np.concatenate([i_county, i_17, i_12]).astype(np.intp)
    if not idx.size:
        return
    why = np.concatenate([why_county, why_17, why_12]).astype(np.intp)
    second = np.concatenate([np.zeros(i_county.size + i_17.size, np.intp), np.ones(i_12.size, np.intp)])
    order, rows, runs = _listing_order(row[idx], idx, second)
    idx = idx[order]
    entries = [{"school_id": sid, "school_name": sname, "stage": stage,
                "reason_code": reason[0], "reason": reason[1]}
               for (sid, sname, stage), reason in zip(names.of(idx),
                                                      [reasons[w] for w in why[order].tolist()])]
    _distribute(details, "excluded", rows, runs, entries)


def _list_missing(schools: Table, names: _Names, details: list[dict], row: np.ndarray, students: np.ndarray,
                  scopes: Sequence[tuple[str, str, Sequence[str], np.ndarray]]) -> None:
    """Name the in-scope schools whose lacking value leaves a CV uncomputed.

    One entry per school and lacking measure (``students`` when the pupils are unknown), naming
    every CV it spoils; entries are ordered by school, then measure name."""
    # Per measure, in scope order: (the CVs it spoils, the schools where it is lacking).
    spoils: dict[str, list[tuple[list[str], np.ndarray]]] = {}
    for _programme, prefix, indicators, scope in scopes:
        spoils.setdefault("students", []).append(
            ([f"{prefix}{ind}" for ind in indicators], scope & np.isnan(students)))
        weighted = scope & (students > 0)
        for ind in indicators:
            spoils.setdefault(ind, []).append(([f"{prefix}{ind}"], weighted & np.isnan(schools.get(ind))))

    measures = sorted(spoils)
    parts: list[tuple[np.ndarray, np.ndarray]] = []
    kinds: list[tuple[str, Any, str, list[str]]] = []   # (measure, field, label, CVs) of each kind
    for measure in measures:
        found = spoils[measure]
        # The CVs an entry names depend on which scopes lack the value: one kind per combination
        # that occurs, and one more bit for "the record field itself is missing".
        pattern = np.zeros(len(row), dtype=np.int64)
        for bit, (_, mask) in enumerate(found):
            pattern |= mask.astype(np.int64) << bit
        idx = np.flatnonzero(pattern)
        if not idx.size:
            continue
        src = "students" if measure == "students" else INDICATOR_FIELDS.get(measure)
        if measure == "students":
            field_missing = np.ones(idx.size, dtype=np.int64)
        elif src:
            field_missing = np.isnan(schools.get(src)[idx]).astype(np.int64)
        else:
            field_missing = np.zeros(idx.size, dtype=np.int64)
        combos, kind_of = np.unique(pattern[idx] * 2 + field_missing, return_inverse=True)
        base = len(kinds)
        for combo in combos.tolist():
            p, fm = combo >> 1, combo & 1
            cvs = [cv for bit, (spoilt, _) in enumerate(found) if p >> bit & 1 for cv in spoilt]
            kinds.append((measure, src, label(src), cvs) if fm else (measure, None, label(measure), cvs))
        parts.append((idx, base + kind_of.reshape(-1)))
    if not parts:
        return
    idx = np.concatenate([p[0] for p in parts])
    kind = np.concatenate([p[1] for p in parts])
    # Kinds are numbered in measure-name order, so (school, kind) is (school, measure name).
    order, rows, runs = _listing_order(row[idx], idx, kind)
    idx = idx[order]
    entries = [{"school_id": sid, "school_name": sname, "stage": stage, "measure": k[0],
                "field": k[1], "label": k[2], "cvs": list(k[3])}
               for (sid, sname, stage), k in zip(names.of(idx),
                                                 [kinds[j] for j in kind[order].tolist()])]
    _distribute(details, "missing", rows, runs, entries)


def _list_scope_unknown(schools: Table, names: _Names, details: list[dict], row: np.ndarray, conditions: dict,
                        known_stage: np.ndarray) -> None:
    """Name the schools a scope condition could not be decided for (condition by condition)."""
    effect = "数据缺失，按计入处理 / data missing: counted as not excluded"
    keys = list(conditions.items())
    found = [np.flatnonzero(unknown & known_stage) for _, (_, _, unknown) in keys]
    idx = np.concatenate(found).astype(np.intp)
    if not idx.size:
        return
    which = np.repeat(np.arange(len(keys)), [f.size for f in found])
    order, rows, runs = _listing_order(row[idx], which, idx)
    entries = [{"school_id": sid, "school_name": sname, "stage": stage, "condition": keys[c][0],
                "text": keys[c][1][0], "effect": effect}
               for (sid, sname, stage), c in zip(names.of(idx[order]), which[order].tolist())]
    _distribute(details, "scope_unknown", rows, runs, entries)


def _list_gates_unknown(schools: Table, names: _Names, details: list[dict], row: np.ndarray, table: Table,
                        school_status: np.ndarray, resource_status: np.ndarray,
                        in_county: np.ndarray, in_2017: np.ndarray) -> None:
    """Where a gate count is unknown, name the schools that could not be judged."""
    basic = np.isnan(table.get("schools_not_meeting_basic_standard"))
    resource = np.isnan(table.get("schools_not_meeting_resource_rule"))
    has_row = row >= 0
    safe_row = np.where(has_row, row, 0)
    judged = (school_status == "pass") | (school_status == "fail")
    unjudged_basic = in_county & ~judged & basic[safe_row]
    unjudged_res = in_2017 & (resource_status == MISSING_DATA) & resource[safe_row]
    gates = ("schools_not_meeting_basic_standard", "schools_not_meeting_resource_rule")
    found = [np.flatnonzero(mask & has_row) for mask in (unjudged_basic, unjudged_res)]
    idx = np.concatenate(found).astype(np.intp)
    if not idx.size:
        return
    which = np.repeat(np.arange(len(gates)), [f.size for f in found])
    order, rows, runs = _listing_order(row[idx], which, idx)
    entries = [{"school_id": sid, "school_name": sname, "stage": stage, "measure": gates[c]}
               for (sid, sname, stage), c in zip(names.of(idx[order]), which[order].tolist())]
    _distribute(details, "gates_unknown", rows, runs, entries)


# ------------------------------------------------------------------------------------ reporting

def county_reports(frame: CountyFrame, results: RuleResults,
                   score_fn: Callable[[np.ndarray, list[Rule]], tuple[np.ndarray, dict[str, np.ndarray]]],
                   measure_inputs: Mapping[str, Iterable[str]] | None = None) -> list[dict[str, Any]]:
    """The ``counties[]`` report entries from the county rules' verdicts over ``frame.table``.

    A verdict is only ``{rule_id, stage, status, value, threshold, gap}``: what describes the
    rule (title, severity, programme …) is the report's rule catalogue, built from the same
    :meth:`Rule.describe`, and the judgements below read it from there too.
    ``measure_inputs`` maps a derived measure to the fields its expression reads, so that
    ``needs`` can name the county fields behind the teacher pay ratio (default: those
    :func:`build_county_table` computed); a derived measure of unknown inputs is named itself.

    Everything is decided per rule over all counties at once (NumPy); Python loops only build
    the entries themselves and the reasons of what failed or is missing.
    """
    table = frame.table
    rules = list(results.rules)
    if measure_inputs is None:
        measure_inputs = frame.measure_inputs
    if results.status.shape != (len(rules), table.n):
        raise ValueError("results do not match the county table")
    n_groups = len(frame.counties)

    # One score per county over all its rows: the rows' verdicts stacked as extra rules.
    if n_groups and rules:
        stacked = np.concatenate([results.status[:, s::ROWS_PER_COUNTY] for s in range(ROWS_PER_COUNTY)])
        overall, by_dim = score_fn(stacked, rules * ROWS_PER_COUNTY)
    else:
        overall, by_dim = np.full(n_groups, np.nan), {}

    plan = _VerdictPlan(rules)
    grid = _VerdictGrid(plan, results, n_groups)
    verdicts = grid.verdicts()
    programmes = {p: _programme_entries(p, plan, grid) for p in PROGRAMMES}
    status = grid.status
    binding = plan.mask(lambda d: d["severity"] in ("veto", "required"))
    veto = plan.mask(lambda d: d["severity"] == "veto")
    failed_binding = ((status == FAIL) & binding).any(0).tolist()
    missing_binding = ((status == MISSING_DATA) & binding).any(0).tolist()
    vetoed = ((status == FAIL) & veto).any(0).tolist()
    provisional = _provisional_rules(plan, status)
    needs = _needs(frame, rules, results.status, measure_inputs)
    stages = _stage_entries(frame, table)
    overall_l = _plain_column(overall)
    by_dim_l = {d: _plain_column(v) for d, v in by_dim.items()}
    crow0 = len(STAGES)
    county_names = table.columns["county_name"][crow0::ROWS_PER_COUNTY].tolist()
    provinces = table.columns["province"][crow0::ROWS_PER_COUNTY].tolist()

    out = []
    for gi, (code, year) in enumerate(frame.counties):
        crow = ROWS_PER_COUNTY * gi + crow0
        out.append({
            "county_code": code,
            "county_name": county_names[gi],
            "province": provinces[gi],
            "year": year,
            "county_record": bool(frame.details[crow]["record"]),
            "stages": {st: stages[ROWS_PER_COUNTY * gi + s] for s, st in enumerate(STAGES)},
            "verdicts": verdicts[gi],
            "basic_balance": programmes["basic_2012"][gi],
            "quality_balance": programmes["quality_2017"][gi],
            "score": {"overall": overall_l[gi],
                      "by_dimension": {d: v[gi] for d, v in by_dim_l.items()}},
            "status": "fail" if failed_binding[gi] else "incomplete" if missing_binding[gi] else "pass",
            "vetoed": vetoed[gi],
            "provisional_rules": provisional[gi],
            "needs": needs[gi],
        })
    return out


class _VerdictPlan:
    """Which verdicts every county gets, in report order: (rule, row stage) for each stage the
    rule has a threshold for. The same for every county, so it is worked out once."""

    def __init__(self, rules: list[Rule]):
        descs = [r.describe() for r in rules]
        pairs = [(k, s) for k, rule in enumerate(rules) for s, stage in enumerate(ROW_STAGES)
                 if rule.threshold_for(stage) is not None]
        self.rule_index = np.array([k for k, _ in pairs], dtype=np.intp)
        self.row_offset = np.array([s for _, s in pairs], dtype=np.intp)
        self.descs = [descs[k] for k, _ in pairs]
        self.stages = [ROW_STAGES[s] for _, s in pairs]
        self.rule_ids = [d["rule_id"] for d in self.descs]
        self.programmes = [tuple(d.get("programme") or ()) for d in self.descs]

    def __len__(self) -> int:
        return len(self.descs)

    def mask(self, test: Callable[[dict], bool]) -> np.ndarray:
        """A (verdicts, 1) mask of the verdicts whose rule description passes ``test``."""
        return np.array([bool(test(d)) for d in self.descs], dtype=bool).reshape(-1, 1)


class _VerdictGrid:
    """Status, value and threshold of every planned verdict of every county: (verdicts, counties)."""

    def __init__(self, plan: _VerdictPlan, results: RuleResults, n_groups: int):
        self.plan = plan
        cols = ROWS_PER_COUNTY * np.arange(n_groups, dtype=np.intp)[None, :] + plan.row_offset[:, None]
        rows = plan.rule_index[:, None]
        self.status = results.status[rows, cols]
        value = results.value[rows, cols]
        threshold = results.threshold[rows, cols]
        with np.errstate(invalid="ignore", divide="ignore"):
            diff = value - threshold
            share = diff / threshold
        no_value, no_threshold = np.isnan(value), np.isnan(threshold)
        # Per county (transposed), as plain Python values: NaN → None.
        self.status_names = np.array(STATUS_NAMES, dtype=object)[self.status].T.tolist()
        self.values = _objects(value, no_value).T.tolist()
        self.thresholds = _objects(threshold, no_threshold).T.tolist()
        self.gap_values = _objects(diff, no_value | no_threshold).T.tolist()
        self.gap_shares = _objects(share, threshold == 0).T.tolist()

    def verdicts(self) -> list[list[dict[str, Any]]]:
        ids, stages = self.plan.rule_ids, self.plan.stages
        return [[{"rule_id": rid, "stage": st, "status": s, "value": v, "threshold": t,
                  "gap": None if d is None else {"value": d, "share": sh}}
                 for rid, st, s, v, t, d, sh in zip(ids, stages, statuses, values, thresholds, diffs, shares)]
                for statuses, values, thresholds, diffs, shares
                in zip(self.status_names, self.values, self.thresholds, self.gap_values, self.gap_shares)]


def _objects(a: np.ndarray, none: np.ndarray) -> np.ndarray:
    """``a`` as Python floats, ``None`` where ``none``."""
    out = a.astype(object)
    out[none] = None
    return out


def _plain_column(col: Any) -> list[Any]:
    """``[_num(v) for v in col]``, in one step for a float column."""
    col = np.asarray(col)
    if col.dtype.kind == "f":
        return _objects(col.astype(float), np.isnan(col)).tolist()
    return [_num(v) for v in col]


def _per_group(mask: np.ndarray) -> list[list[int]]:
    """For an (items, groups) mask, the true items of each group, in item order."""
    g, k = np.nonzero(mask.T)
    bounds = np.searchsorted(g, np.arange(mask.shape[1] + 1)).tolist()
    ks = k.tolist()
    return [ks[a:b] for a, b in zip(bounds[:-1], bounds[1:])]


def _provisional_rules(plan: _VerdictPlan, status: np.ndarray) -> list[list[str]]:
    """Per county, the sorted ids of provisional-threshold rules that gave a pass or a fail."""
    ids = sorted({rid for rid, d in zip(plan.rule_ids, plan.descs) if d["threshold_status"] == "provisional"})
    judged = (status == PASS) | (status == FAIL)
    by_rule = np.zeros((len(ids), status.shape[1]), dtype=bool)
    rank = {rid: j for j, rid in enumerate(ids)}
    for p, rid in enumerate(plan.rule_ids):
        if rid in rank and plan.descs[p]["threshold_status"] == "provisional":
            by_rule[rank[rid]] |= judged[p]
    return [[ids[j] for j in js] for js in _per_group(by_rule)]


def _num(v: Any) -> Any:
    """JSON-safe: NaN → None, NumPy scalars → Python numbers."""
    if v is None:
        return None
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        v = float(v)
        return None if math.isnan(v) else v
    return v


def _count(v: Any) -> int | float | None:
    """A count as an int (None when unknown); a fractional value is kept as it is."""
    v = _num(v)
    return int(v) if isinstance(v, float) and v.is_integer() else v


def _fmt(v: Any, unit: str = "") -> str:
    if v is None:
        return "—"
    if unit == "yes/no" and v in (0, 1):
        return "是 yes" if v else "否 no"
    return f"{v:.6g}"


def _title(desc: dict, stage: str) -> str:
    where = "" if stage == COUNTY_STAGE else f" [{stage}]"
    return f"{desc['title']['zh']} / {desc['title']['en']}{where}"


def _failure_parts(desc: dict, stage: str) -> tuple[str, str, str]:
    """The text of a failed verdict around its value and threshold: what failed, against what,
    and whether it vetoes the county."""
    provisional = " (provisional threshold)" if desc["threshold_status"] == "provisional" else ""
    veto = " — 一票否决 veto: fails the county whatever its score" if desc["severity"] == "veto" else ""
    return f"{_title(desc, stage)}: ", f", required {desc['operator']} ", provisional + veto


def _describe_missing(desc: dict, stage: str) -> str:
    return f"数据缺失 missing data: {_title(desc, stage)} needs {desc['measure']}"


NOT_IN_FORCE = "本年度该项评估的规则均未生效 / none of this recognition's own rules applies in this year"


def _programme_entries(programme: str, plan: _VerdictPlan, grid: _VerdictGrid) -> list[dict[str, Any]]:
    """pass / fail / incomplete of one recognition for every county, with the reasons a person
    can act on (vetoes first, then the other failures, then what is missing)."""
    status = grid.status
    n_groups = status.shape[1]
    title = PROGRAMME_TITLES[programme]
    mine = np.array([programme in p for p in plan.programmes], dtype=bool).reshape(-1, 1)
    # Shared rules (the basic gate is also a 2017 entry condition) do not make a recognition
    # judgeable on their own: without one of its own rules in force it is not applicable.
    own = np.array([p == (programme,) for p in plan.programmes], dtype=bool).reshape(-1, 1)
    in_force = ((status != NOT_APPLICABLE) & own).any(0).tolist()
    veto = plan.mask(lambda d: d["severity"] == "veto")
    failed = (status == FAIL) & mine
    missing = (status == MISSING_DATA) & mine
    vetoed = (failed & veto).any(0).tolist()
    n_pass = ((status == PASS) & mine).sum(0).tolist()
    n_fail = failed.sum(0).tolist()
    n_missing = missing.sum(0).tolist()
    # Failures in reason order: the verdicts reordered vetoes first.
    order = np.concatenate([np.flatnonzero(veto[:, 0]), np.flatnonzero(~veto[:, 0])]).astype(np.intp)
    failed_by_county = _per_group(failed[order])
    missing_by_county = _per_group(missing)
    parts = [_failure_parts(d, st) for d, st in zip(plan.descs, plan.stages)]
    units = [d["unit"] for d in plan.descs]
    missing_text = [_describe_missing(d, st) for d, st in zip(plan.descs, plan.stages)]
    order_l = order.tolist()

    out = []
    for g in range(n_groups):
        if not in_force[g]:
            out.append({"status": "not_applicable", "title": title, "reasons": [NOT_IN_FORCE]})
            continue
        values, thresholds = grid.values[g], grid.thresholds[g]
        reasons = []
        for j in failed_by_county[g]:
            p = order_l[j]
            head, middle, tail = parts[p]
            reasons.append(f"{head}{_fmt(values[p], units[p])}{middle}{_fmt(thresholds[p], units[p])}{tail}")
        reasons.extend(missing_text[p] for p in missing_by_county[g])
        status_g = "fail" if n_fail[g] else "incomplete" if n_missing[g] else "pass"
        out.append({"status": status_g, "title": title, "reasons": reasons, "vetoed": vetoed[g],
                    "counts": {"pass": n_pass[g], "fail": n_fail[g], "missing_data": n_missing[g]}})
    return out


def _stage_entries(frame: CountyFrame, table: Table) -> dict[int, dict[str, Any]]:
    """The ``stages`` entry of every stage row, by row."""
    def by_row(columns: list[str]) -> list[list[Any]]:
        if not columns:
            return [[] for _ in range(table.n)]
        return [list(r) for r in zip(*(_plain_column(table.get(c)) for c in columns))]

    cv17_names, cv12_names = list(frame.cv_2017_indicators), list(frame.cv_2012_indicators)
    cv17 = by_row([f"cv_{ind}" for ind in cv17_names])
    cv12 = by_row([f"cv2012_{ind}" for ind in cv12_names])
    composite = _plain_column(table.get("composite_cv_2012"))
    res, basic, students = ([_count(v) for v in _plain_column(table.get(name))]
                            for name in ("schools_not_meeting_resource_rule",
                                         "schools_not_meeting_basic_standard", "students_in_scope"))
    out = {}
    for g in range(len(frame.counties)):
        for s in range(len(STAGES)):
            r = ROWS_PER_COUNTY * g + s
            d = frame.details[r]
            out[r] = {
                "cv": dict(zip(cv17_names, cv17[r])),
                "cv_2012": dict(zip(cv12_names, cv12[r])),
                "composite_cv_2012": composite[r],
                "schools_in_scope": d["schools_in_scope"],
                "schools_in_cv_scope": dict(d["schools_in_cv_scope"]),
                "schools_meeting_resource_rule": d["schools_meeting_resource_rule"],
                "schools_not_meeting_resource_rule": res[r],
                "schools_not_meeting_basic_standard": basic[r],
                "students_in_scope": students[r],
                "excluded": list(d["excluded"]),
                "single_school": d["single_school"],
                "missing": list(d["missing"]),
                "scope_unknown": list(d["scope_unknown"]),
                "gates_unknown": list(d["gates_unknown"]),
                "notes": list(d["notes"]),
            }
    return out


def _needs(frame: CountyFrame, rules: list[Rule], status: np.ndarray,
           measure_inputs: Mapping[str, Iterable[str]] | None) -> list[list[dict[str, Any]]]:
    """Per county: the county fields whose absence leaves a county-row rule at missing_data."""
    inputs = [sorted((measure_inputs or {}).get(r.measure) or [r.measure]) for r in rules]
    derived = [r.measure not in COUNTY_RECORD_FIELDS for r in rules]   # name it if no input is absent
    ids = [r.id for r in rules]
    order = {f: i for i, f in enumerate(COUNTY_RECORD_FIELDS)}
    labels = {f: label(f) for ins in inputs for f in ins} | {r.measure: label(r.measure) for r in rules}
    crow0 = len(STAGES)
    missing = status[:, crow0::ROWS_PER_COUNTY] == MISSING_DATA
    out = []
    for g, ks in enumerate(_per_group(missing)):
        if not ks:
            out.append([])
            continue
        absent = set(frame.details[ROWS_PER_COUNTY * g + crow0]["absent_fields"])
        wanted: dict[str, list[str]] = {}
        for k in ks:
            named = [f for f in inputs[k] if f in absent]
            if not named and derived[k]:
                named = [rules[k].measure]
            for f in named:
                wanted.setdefault(f, []).append(ids[k])
        out.append([{"field": f, "label": labels[f], "rules": rule_ids}
                    for f, rule_ids in sorted(wanted.items(),
                                              key=lambda kv: (order.get(kv[0], len(order)), kv[0]))])
    return out
