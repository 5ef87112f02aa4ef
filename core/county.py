"""County evaluation: the county table the county rules run on, and the county report entries.

A county is judged on things no single school has: the inter-school CVs (data-dictionary §4),
the school gates ("every school meets …"), and the government's own facts (the county record).
:func:`build_county_table` turns the schools of any number of counties and years into one small
:class:`~edubalance.table.Table` — three rows per county and year: ``primary``, ``junior`` and
``county`` — so the ordinary rule back ends judge county rules exactly as they judge school
rules. :func:`county_reports` turns their verdicts into the ``counties[]`` entries of a report,
with the 2012 basic-balance and 2017 high-quality-balance judgements and what data is lacking.

Everything over schools is vectorised (``np.unique`` + ``np.bincount``); Python loops run only
over counties and over the schools that must be named (excluded, or lacking a value).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

from .cv import grouped_cv
from .fields import COUNTY_BOOLEAN_FIELDS, COUNTY_NUMERIC_FIELDS, label
from .model import FAIL, MISSING_DATA, PASS, STATUS_NAMES, Rule, RuleResults
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
    if code.dtype != object or any(c is None for c in code) or np.isnan(year.astype(float)).any():
        raise ValueError("every school record needs county_code and year to be grouped into a county")
    stage_col = schools.get("stage")
    stage_ix = np.full(n, -1)
    for s, name in enumerate(STAGES):
        stage_ix[stage_col == name] = s
    known_stage = stage_ix >= 0

    # County groups: (county_code, year), sorted.
    code_u, code_inv = np.unique(code.astype(str), return_inverse=True)
    year_u, year_inv = np.unique(year, return_inverse=True)
    combo_u, g = np.unique(code_inv * len(year_u) + year_inv, return_inverse=True)
    counties = [(str(code_u[c // len(year_u)]), int(year_u[c % len(year_u)])) for c in combo_u]
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
    for ind in cv17:
        table.set_measure(f"cv_{ind}", grouped_cv(row17, schools.get(ind), students, n_rows))
    cv12_cols = []
    for ind in cv12:
        col = grouped_cv(row12, schools.get(ind), students, n_rows)
        table.set_measure(f"cv2012_{ind}", col)
        cv12_cols.append(col)
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

    # County rows: the county record.
    record_cols = {f: np.full(n_rows, np.nan) for f in COUNTY_RECORD_FIELDS}
    details: list[dict[str, Any]] = []
    absent: list[tuple[str, int]] = []
    for gi, key in enumerate(counties):
        rec = _find_record(county_records, key)
        crow = ROWS_PER_COUNTY * gi + len(STAGES)
        if rec is None:
            absent.append(key)
        else:
            for f, v in rec.items():
                num = _number(v)
                if num is None or f == "year" or f.startswith("_"):
                    continue
                if f not in record_cols:
                    record_cols[f] = np.full(n_rows, np.nan)
                record_cols[f][crow] = num
            province[gi] = province[gi] or rec.get("province")
            name[gi] = name[gi] or rec.get("county_name")
        for s, st in enumerate(STAGES):
            r = ROWS_PER_COUNTY * gi + s
            details.append({
                "schools_in_scope": int(in_scope_n[r]),
                "schools_in_cv_scope": {"quality_2017": int(n17[r]), "basic_2012": int(n12[r])},
                "schools_meeting_resource_rule": int(res_pass[r]),
                "schools_failing_basic_standard": int(basic_fail[r]),
                "schools_incomplete_basic_standard": int(basic_unknown[r]),
                "schools_failing_resource_rule": int(res_fail[r]),
                "schools_missing_resource_rule": int(res_unknown[r]),
                "excluded": [], "missing": [], "scope_unknown": [], "gates_unknown": [],
                "single_school": bool(n17[r] == 1 or n12[r] == 1),
                "notes": _stage_notes(int(in_scope_n[r]), int(n17[r]), int(n12[r])),
            })
        details.append({"record": rec is not None,
                        "absent_fields": [f for f in COUNTY_RECORD_FIELDS
                                          if rec is None or _number(rec.get(f)) is None]})
    for f, col in record_cols.items():
        table.set_measure(f, col)
    table.columns["province"] = np.array([p for p in province for _ in ROW_STAGES], dtype=object)
    table.columns["county_name"] = np.array([m for m in name for _ in ROW_STAGES], dtype=object)

    _list_exclusions(schools, details, row, conditions, excl_county, zero, in_county)
    _list_missing(schools, details, row, students, (("quality_2017", "cv_", cv17, in_2017),
                                                    ("basic_2012", "cv2012_", cv12, in_2012)))
    _list_scope_unknown(schools, details, row, conditions, known_stage)
    _list_gates_unknown(schools, details, row, table, school_status, resource_status, in_county, in_2017)
    inputs = _add_county_measures(table, measures) if measures else {}
    return CountyFrame(table, counties, details, absent, cv17, cv12, inputs)


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
    """The first non-empty text of each group (one np.unique, no loop over schools)."""
    present = np.flatnonzero(np.array([v is not None and v != "" for v in col], dtype=bool))
    out: list[str | None] = [None] * n_groups
    groups, first = np.unique(g[present], return_index=True)
    for gi, i in zip(groups, present[first]):
        out[gi] = str(col[i])
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


def _school(schools: Table, i: int) -> dict[str, Any]:
    return {"school_id": schools.value("school_id", i), "school_name": schools.value("school_name", i),
            "stage": schools.value("stage", i)}


def _pupils(schools: Table, i: int) -> str:
    v = schools.value("students", i)
    return "?" if v is None else f"{v:g}"


def _list_exclusions(schools: Table, details: list[dict], row: np.ndarray, conditions: dict,
                     excl_county: np.ndarray, zero: np.ndarray, in_county: np.ndarray) -> None:
    """Name every school left out of a county indicator, with the reason."""
    text_c, _, _ = conditions["exclude_from_county"]
    text_17, t17, _ = conditions["exclude_from_cv_2017"]
    text_12, t12, _ = conditions["exclude_from_cv_2012"]
    is_public = schools.get("is_public")
    stype = schools.get("school_type")
    zero_only = zero & ~excl_county & (row >= 0)
    cv17_out = in_county & t17
    cv12_out = in_county & t12
    for i in np.flatnonzero(excl_county | zero_only | cv17_out | cv12_out):
        entries = []
        if excl_county[i]:
            if is_public[i] == 0 and "is_public" in text_c:
                entries.append(("private", "民办学校 private school"))
            elif stype[i] == "special_education" and "special_education" in text_c:
                entries.append(("special_education", "特殊教育学校 special-education school"))
            else:
                entries.append(("excluded_from_county",
                                f"不计入县域指标 / out of every county indicator: {text_c}"))
        elif zero_only[i]:
            entries.append(("zero_pupils", "在校生 0 人，不计权重 / 0 pupils: no weight"))
        else:
            if cv17_out[i]:
                if stype[i] == "teaching_point" and "teaching_point" in text_17:
                    entries.append(("teaching_point_2017",
                                    f"教学点，在校生 {_pupils(schools, i)} 人，不计入 2017 差异系数 / teaching point "
                                    f"with {_pupils(schools, i)} pupils, under the cut-off (2017 CVs only): {text_17}"))
                else:
                    entries.append(("excluded_from_cv_2017", f"不计入 2017 差异系数 / 2017 CVs only: {text_17}"))
            if cv12_out[i]:
                if stype[i] == "teaching_point" and "teaching_point" in text_12:
                    entries.append(("teaching_point_2012",
                                    f"教学点，不计入 2012 差异系数 / teaching point (2012 CVs only): {text_12}"))
                else:
                    entries.append(("excluded_from_cv_2012", f"不计入 2012 差异系数 / 2012 CVs only: {text_12}"))
        base = _school(schools, i)
        for reason_code, reason in entries:
            details[row[i]]["excluded"].append({**base, "reason_code": reason_code, "reason": reason})


def _list_missing(schools: Table, details: list[dict], row: np.ndarray, students: np.ndarray,
                  scopes: Sequence[tuple[str, str, Sequence[str], np.ndarray]]) -> None:
    """Name the in-scope schools whose lacking value leaves a CV uncomputed."""
    found: dict[tuple[int, str], dict[str, Any]] = {}
    for _programme, prefix, indicators, scope in scopes:
        no_pupils = scope & np.isnan(students)
        for i in np.flatnonzero(no_pupils):
            entry = found.setdefault((int(i), "students"), {
                **_school(schools, i), "measure": "students", "field": "students",
                "label": label("students"), "cvs": []})
            entry["cvs"].extend(f"{prefix}{ind}" for ind in indicators)
        for ind in indicators:
            values = schools.get(ind)
            for i in np.flatnonzero(scope & (students > 0) & np.isnan(values)):
                src = INDICATOR_FIELDS.get(ind)
                field_missing = src if src and np.isnan(schools.get(src)[i]) else None
                entry = found.setdefault((int(i), ind), {
                    **_school(schools, i), "measure": ind, "field": field_missing,
                    "label": label(field_missing or ind), "cvs": []})
                entry["cvs"].append(f"{prefix}{ind}")
    for (i, _), entry in sorted(found.items()):
        details[row[i]]["missing"].append(entry)


def _list_scope_unknown(schools: Table, details: list[dict], row: np.ndarray, conditions: dict,
                        known_stage: np.ndarray) -> None:
    for key, (text, _, unknown) in conditions.items():
        for i in np.flatnonzero(unknown & known_stage):
            details[row[i]]["scope_unknown"].append({
                **_school(schools, i), "condition": key, "text": text,
                "effect": "数据缺失，按计入处理 / data missing: counted as not excluded"})


def _list_gates_unknown(schools: Table, details: list[dict], row: np.ndarray, table: Table,
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
    for gate, mask in (("schools_not_meeting_basic_standard", unjudged_basic),
                       ("schools_not_meeting_resource_rule", unjudged_res)):
        for i in np.flatnonzero(mask & has_row):
            details[row[i]]["gates_unknown"].append({**_school(schools, i), "measure": gate})


# ------------------------------------------------------------------------------------ reporting

def county_reports(frame: CountyFrame, results: RuleResults,
                   score_fn: Callable[[np.ndarray, list[Rule]], tuple[np.ndarray, dict[str, np.ndarray]]],
                   measure_inputs: Mapping[str, Iterable[str]] | None = None) -> list[dict[str, Any]]:
    """The ``counties[]`` report entries from the county rules' verdicts over ``frame.table``.

    ``measure_inputs`` maps a derived measure to the fields its expression reads, so that
    ``needs`` can name the county fields behind the teacher pay ratio (default: those
    :func:`build_county_table` computed); a derived measure of unknown inputs is named itself.
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

    descs = [r.describe() for r in rules]
    out = []
    for gi, (code, year) in enumerate(frame.counties):
        rows = frame.rows_of(gi)
        verdicts = []
        for kk, rule in enumerate(rules):
            for r in rows:
                stage = table.columns["stage"][r]
                if rule.threshold_for(stage) is None:
                    continue
                verdicts.append(_verdict(descs[kk], rule, stage, int(results.status[kk, r]),
                                         results.value[kk, r], results.threshold[kk, r]))
        crow = rows[-1]
        stages = {st: _stage_entry(frame, table, rows[s]) for s, st in enumerate(STAGES)}
        programmes = {p: _programme(p, verdicts) for p in PROGRAMMES}
        binding = [v for v in verdicts if v["severity"] in ("veto", "required")]
        if any(v["status"] == "fail" for v in binding):
            status = "fail"
        elif any(v["status"] == "missing_data" for v in binding):
            status = "incomplete"
        else:
            status = "pass"
        out.append({
            "county_code": code,
            "county_name": table.columns["county_name"][crow],
            "province": table.columns["province"][crow],
            "year": year,
            "county_record": bool(frame.details[crow]["record"]),
            "stages": stages,
            "verdicts": verdicts,
            "basic_balance": programmes["basic_2012"],
            "quality_balance": programmes["quality_2017"],
            "score": {"overall": _num(overall[gi]),
                      "by_dimension": {d: _num(v[gi]) for d, v in by_dim.items()}},
            "status": status,
            "vetoed": any(v["severity"] == "veto" and v["status"] == "fail" for v in verdicts),
            "provisional_rules": sorted({v["rule_id"] for v in verdicts if v["threshold_status"] == "provisional"
                                         and v["status"] in ("pass", "fail")}),
            "needs": _needs(frame.details[crow], rules, results.status[:, crow], measure_inputs),
        })
    return out


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


def _count(v: float) -> int | float | None:
    """A count as an int (None when unknown); a fractional value is kept as it is."""
    v = _num(v)
    return int(v) if isinstance(v, float) and v.is_integer() else v


def _verdict(desc: dict, rule: Rule, stage: str, status: int, value: float, threshold: float) -> dict:
    v, t = _num(value), _num(threshold)
    gap = None
    if v is not None and t is not None:
        diff = v - t
        gap = {"value": diff, "share": diff / t if t != 0 else None}
    out = dict(desc)
    out.update(stage=stage, status=STATUS_NAMES[status], value=v, threshold=t, gap=gap,
               programme=list(_programmes_of(rule)))
    return out


def _programmes_of(rule: Rule) -> tuple[str, ...]:
    return tuple(getattr(rule, "programme", None) or ())


def _fmt(v: Any, unit: str = "") -> str:
    if v is None:
        return "—"
    if unit == "yes/no" and v in (0, 1):
        return "是 yes" if v else "否 no"
    return f"{v:.6g}"


def _describe_failure(v: dict) -> str:
    title = f"{v['title']['zh']} / {v['title']['en']}"
    where = "" if v["stage"] == COUNTY_STAGE else f" [{v['stage']}]"
    measured = (f"{_fmt(v['value'], v['unit'])}, required {v['operator']} "
                f"{_fmt(v['threshold'], v['unit'])}")
    provisional = " (provisional threshold)" if v["threshold_status"] == "provisional" else ""
    if v["severity"] == "veto":
        return (f"{title}{where}: {measured}{provisional} — 一票否决 veto: fails the county "
                f"whatever its score")
    return f"{title}{where}: {measured}{provisional}"


def _describe_missing(v: dict) -> str:
    where = "" if v["stage"] == COUNTY_STAGE else f" [{v['stage']}]"
    return f"数据缺失 missing data: {v['title']['zh']} / {v['title']['en']}{where} needs {v['measure']}"


def _programme(programme: str, verdicts: list[dict]) -> dict[str, Any]:
    """pass / fail / incomplete of one recognition, with the reasons a person can act on."""
    mine = [v for v in verdicts if programme in v["programme"] and v["status"] != "not_applicable"]
    failed = [v for v in mine if v["status"] == "fail"]
    missing = [v for v in mine if v["status"] == "missing_data"]
    vetoes = [v for v in failed if v["severity"] == "veto"]
    # Shared rules (the basic gate is also a 2017 entry condition) do not make a recognition
    # judgeable on their own: without one of its own rules in force it is not applicable.
    if not any(v["programme"] == [programme] for v in mine):
        return {"status": "not_applicable", "title": PROGRAMME_TITLES[programme],
                "reasons": ["本年度该项评估的规则均未生效 / none of this recognition's own rules "
                            "applies in this year"]}
    if failed:
        ordered = vetoes + [v for v in failed if v["severity"] != "veto"]
        status = "fail"
        reasons = [_describe_failure(v) for v in ordered] + [_describe_missing(v) for v in missing]
    elif missing:
        status, reasons = "incomplete", [_describe_missing(v) for v in missing]
    else:
        status, reasons = "pass", []
    return {"status": status, "title": PROGRAMME_TITLES[programme], "reasons": reasons,
            "vetoed": bool(vetoes),
            "counts": {s: sum(v["status"] == s for v in mine) for s in ("pass", "fail", "missing_data")}}


def _stage_entry(frame: CountyFrame, table: Table, r: int) -> dict[str, Any]:
    d = frame.details[r]
    return {
        "cv": {ind: _num(table.get(f"cv_{ind}")[r]) for ind in frame.cv_2017_indicators},
        "cv_2012": {ind: _num(table.get(f"cv2012_{ind}")[r]) for ind in frame.cv_2012_indicators},
        "composite_cv_2012": _num(table.get("composite_cv_2012")[r]),
        "schools_in_scope": d["schools_in_scope"],
        "schools_in_cv_scope": dict(d["schools_in_cv_scope"]),
        "schools_meeting_resource_rule": d["schools_meeting_resource_rule"],
        "schools_not_meeting_resource_rule": _count(table.get("schools_not_meeting_resource_rule")[r]),
        "schools_not_meeting_basic_standard": _count(table.get("schools_not_meeting_basic_standard")[r]),
        "students_in_scope": _count(table.get("students_in_scope")[r]),
        "excluded": list(d["excluded"]),
        "single_school": d["single_school"],
        "missing": list(d["missing"]),
        "scope_unknown": list(d["scope_unknown"]),
        "gates_unknown": list(d["gates_unknown"]),
        "notes": list(d["notes"]),
    }


def _needs(county_detail: dict, rules: list[Rule], status: np.ndarray,
           measure_inputs: Mapping[str, Iterable[str]] | None) -> list[dict[str, Any]]:
    """County fields whose absence leaves a county-row rule at missing_data."""
    absent = set(county_detail["absent_fields"])
    wanted: dict[str, list[str]] = {}
    for k, rule in enumerate(rules):
        if status[k] != MISSING_DATA:
            continue
        inputs = sorted((measure_inputs or {}).get(rule.measure) or [rule.measure])
        named = [f for f in inputs if f in absent]
        if not named and rule.measure not in COUNTY_RECORD_FIELDS:
            named = [rule.measure]          # a derived measure whose inputs are not known here
        for f in named:
            wanted.setdefault(f, []).append(rule.id)
    order = {f: i for i, f in enumerate(COUNTY_RECORD_FIELDS)}
    return [{"field": f, "label": label(f), "rules": ids}
            for f, ids in sorted(wanted.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0]))]
