"""The ``counties[]`` entries of a report, from the county rules' verdicts on the county table.

:func:`county_reports` gives each county its verdicts, the 2012 basic-balance and 2017
high-quality-balance judgements with reasons a person can act on, its score and status, the
provisional rules it rests on, and the county fields it still needs. Everything is decided
per rule over all counties at once (NumPy); Python loops only build the entries themselves.
A county verdict is ``{rule_id, stage, status, value, threshold, gap}``; what describes its
rule is the report's rule catalogue (:meth:`Rule.describe`), which the judgements read too.
"""
from __future__ import annotations

import math
from functools import cached_property
from typing import Any, Callable, Iterable, Mapping

import numpy as np

from .county_listings import pick
from .county_table import (COUNTY_RECORD_FIELDS, COUNTY_STAGE, NO_SCHOOL_RECORDS, ROW_STAGES, ROWS_PER_COUNTY,
                           STAGES, CountyFrame, stage_rows)
from .entries import gaps_of
from .fields import label
from .model import FAIL, MISSING_DATA, NOT_APPLICABLE, PASS, STATUS_NAMES, Rule, RuleResults
from .table import Table

PROGRAMMES = ("basic_2012", "quality_2017")
PROGRAMME_TITLES = {"basic_2012": "基本均衡 basic balance (2012)",
                    "quality_2017": "优质均衡 high-quality balance (2017)"}


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
    school_needs = _school_needs(frame, plan, status)
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
            "school_records": frame.details[crow]["school_records"],
            "stages": dict(zip(STAGES, stages[len(STAGES) * gi:len(STAGES) * (gi + 1)])),
            "verdicts": verdicts[gi],
            "basic_balance": programmes["basic_2012"][gi],
            "quality_balance": programmes["quality_2017"][gi],
            "score": {"overall": overall_l[gi],
                      "by_dimension": {d: v[gi] for d, v in by_dim_l.items()}},
            "status": "fail" if failed_binding[gi] else "incomplete" if missing_binding[gi] else "pass",
            "vetoed": vetoed[gi],
            "provisional_rules": provisional[gi],
            "needs": needs[gi],
            "needs_schools": school_needs[gi],
            "rejected_schools": [],
            "status_reason": None,
        })
    return out


def _school_needs(frame: CountyFrame, plan: "_VerdictPlan", status: np.ndarray) -> list[dict[str, Any] | None]:
    """Per county with no school record read: what the school file would decide (the stage
    verdicts left without data); ``None`` for a county judged with its schools."""
    stage_verdict = np.array([st != COUNTY_STAGE for st in plan.stages], dtype=bool)
    out: list[dict[str, Any] | None] = []
    for g in range(len(frame.counties)):
        if frame.details[ROWS_PER_COUNTY * g + len(STAGES)]["school_records"]:
            out.append(None)
            continue
        waiting = np.flatnonzero(stage_verdict & (status[:, g] == MISSING_DATA)).tolist()
        out.append({"message": NO_SCHOOL_RECORDS,
                    "rules": sorted({plan.rule_ids[p] for p in waiting})})
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
        self.value = results.value[rows, cols]
        self.threshold = results.threshold[rows, cols]

    @cached_property
    def failure_texts(self) -> np.ndarray:
        """The reason of every failed verdict, each written once for both recognitions:
        (verdicts, counties), ``None`` where the verdict did not fail."""
        out = np.full(self.status.shape, None, dtype=object)
        p_idx, g_idx = np.nonzero(self.status == FAIL)
        if not p_idx.size:
            return out
        value, threshold = self.value[p_idx, g_idx], self.threshold[p_idx, g_idx]
        # Failures alike in verdict, value and threshold share one text (a national file has
        # about three times fewer texts than failures); the words around the two numbers are
        # the same for every failure of a verdict, worked out once each.
        first, kind = _alike(p_idx, value, threshold)
        p_first = p_idx[first].tolist()
        units = [d["unit"] for d in self.plan.descs]
        parts = {p: _failure_parts(self.plan.descs[p], self.plan.stages[p]) for p in set(p_first)}
        texts = [f"{parts[p][0]}{_fmt(v, units[p])}{parts[p][1]}{_fmt(t, units[p])}{parts[p][2]}"
                 for p, v, t in zip(p_first, _objects(value[first], np.isnan(value[first])).tolist(),
                                    _objects(threshold[first], np.isnan(threshold[first])).tolist())]
        out[p_idx, g_idx] = pick(texts, kind)
        return out

    def verdicts(self) -> list[list[dict[str, Any]]]:
        """Each county's verdicts in plan order. Verdicts alike in rule, stage, status, value and
        threshold are one dict, made once and shared by the counties that have it (a national
        file has about ten times fewer different verdicts than verdicts): read them, do not
        change them."""
        n_plan, n_groups = self.status.shape
        if not n_plan * n_groups:
            return [[] for _ in range(n_groups)]
        plan_row = np.tile(np.arange(n_plan), n_groups)               # county by county
        status, value, threshold = (a.T.ravel() for a in (self.status, self.value, self.threshold))
        first, kind = _alike(plan_row * len(STATUS_NAMES) + status, value, threshold)
        p, status, value, threshold = plan_row[first], status[first], value[first], threshold[first]
        _, gap, share = gaps_of(status, value, threshold)      # as a school verdict's gap
        ids, stages = self.plan.rule_ids, self.plan.stages
        made = [{"rule_id": ids[k], "stage": stages[k], "status": s, "value": v, "threshold": t,
                 "gap": None if d is None else {"value": d, "share": sh}}
                for k, s, v, t, d, sh in zip(p.tolist(), np.array(STATUS_NAMES, dtype=object)[status].tolist(),
                                             _objects(value, np.isnan(value)).tolist(),
                                             _objects(threshold, np.isnan(threshold)).tolist(),
                                             _objects(gap, ~np.isfinite(gap)).tolist(),
                                             _objects(share, ~np.isfinite(share)).tolist())]
        return pick(made, kind, (n_groups, n_plan))


def _alike(*keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Equal rows of the key columns (integers, or floats alike bit for bit, every NaN one):
    the position of each kind's first row, and each row's kind (kinds in key order)."""
    cols = [np.where(np.isnan(k), np.nan, k).view(np.uint64) if k.dtype.kind == "f" else k for k in keys]
    order = np.lexsort(cols[::-1])
    new = np.zeros(len(order), dtype=bool)
    new[:1] = True
    for col in cols:
        ranked = col[order]
        new[1:] |= ranked[1:] != ranked[:-1]
    kind = np.empty(len(order), dtype=np.intp)
    kind[order] = np.cumsum(new) - 1
    return order[new], kind


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


def _per_group(mask: np.ndarray, items: np.ndarray | None = None) -> list[list[Any]]:
    """For an (items, groups) mask, each group's true items in item order: their indices, or
    their entries in ``items`` (of the mask's shape), gathered in one step, then cut per group."""
    g, k = np.nonzero(mask.T)
    picked = k.tolist() if items is None else items[k, g].tolist()
    bounds = np.searchsorted(g, np.arange(mask.shape[1] + 1)).tolist()
    return [picked[a:b] for a, b in zip(bounds[:-1], bounds[1:])]


def _provisional_rules(plan: _VerdictPlan, status: np.ndarray) -> list[list[str]]:
    """Per county, the sorted ids of provisional-threshold rules that gave a pass or a fail."""
    ids = sorted({rid for rid, d in zip(plan.rule_ids, plan.descs) if d["threshold_status"] == "provisional"})
    judged = (status == PASS) | (status == FAIL)
    by_rule = np.zeros((len(ids), status.shape[1]), dtype=bool)
    rank = {rid: j for j, rid in enumerate(ids)}
    for p, rid in enumerate(plan.rule_ids):
        if rid in rank and plan.descs[p]["threshold_status"] == "provisional":
            by_rule[rank[rid]] |= judged[p]
    return _per_group(by_rule, np.broadcast_to(np.array(ids, dtype=object)[:, None], by_rule.shape))


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


def _counts(col: Any) -> list[int | float | None]:
    """``[_count(v) for v in col]``, in a few steps for a float column."""
    col = np.asarray(col)
    if col.dtype.kind != "f":
        return [_count(v) for v in col]
    out = _objects(col.astype(float), np.isnan(col))
    whole = np.isfinite(col) & (col == np.floor(col))
    small = whole & (np.abs(col) < 2.0 ** 63)            # exact as int64; larger ones one by one
    out[small] = col[small].astype(np.int64)
    for i in np.flatnonzero(whole & ~small).tolist():
        out[i] = int(col[i])
    return out.tolist()


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
    # Failures in reason order: the verdicts reordered vetoes first; then what is missing.
    order = np.concatenate([np.flatnonzero(veto[:, 0]), np.flatnonzero(~veto[:, 0])]).astype(np.intp)
    failures = _per_group(failed[order], grid.failure_texts[order])
    missing_text = np.array([_describe_missing(d, st) for d, st in zip(plan.descs, plan.stages)], dtype=object)[:, None]
    lacking = _per_group(missing, np.broadcast_to(missing_text, missing.shape))

    out: list[dict[str, Any]] = []
    for g in range(n_groups):
        if not in_force[g]:
            out.append({"status": "not_applicable", "title": title, "reasons": [NOT_IN_FORCE]})
            continue
        status_g = "fail" if n_fail[g] else "incomplete" if n_missing[g] else "pass"
        out.append({"status": status_g, "title": title, "reasons": failures[g] + lacking[g], "vetoed": vetoed[g],
                    "counts": {"pass": n_pass[g], "fail": n_fail[g], "missing_data": n_missing[g]}})
    return out


def _stage_entries(frame: CountyFrame, table: Table) -> list[dict[str, Any]]:
    """The ``stages`` entry of every stage row, in row order (``len(STAGES)`` per county).

    Each row's lists and dicts are handed over from ``frame.details`` as they are (built for
    this entry)."""
    stage_row = stage_rows(table.n)

    def plain(name: str) -> list[Any]:
        return _plain_column(table.get(name)[stage_row])

    def by_row(names: list[str], prefix: str) -> list[dict[str, Any]]:
        if not names:
            return [{} for _ in range(int(stage_row.sum()))]
        return [dict(zip(names, vals)) for vals in zip(*(plain(prefix + ind) for ind in names))]

    cv17 = by_row(list(frame.cv_2017_indicators), "cv_")
    cv12 = by_row(list(frame.cv_2012_indicators), "cv2012_")
    composite = plain("composite_cv_2012")
    res, basic, students = (_counts(table.get(name)[stage_row]) for name in ("schools_not_meeting_resource_rule",
                                                                              "schools_not_meeting_basic_standard",
                                                                              "students_in_scope"))
    details = [d for d, keep in zip(frame.details, stage_row.tolist()) if keep]
    return [{"cv": c17, "cv_2012": c12, "composite_cv_2012": comp,
             "schools_in_scope": d["schools_in_scope"],
             "schools_in_cv_scope": d["schools_in_cv_scope"],
             "schools_meeting_resource_rule": d["schools_meeting_resource_rule"],
             "schools_not_meeting_resource_rule": r, "schools_not_meeting_basic_standard": b,
             "students_in_scope": st,
             "excluded": d["excluded"], "single_school": d["single_school"],
             "cv_not_applicable": d["cv_not_applicable"],
             "missing": d["missing"], "scope_unknown": d["scope_unknown"], "gates_unknown": d["gates_unknown"],
             "notes": d["notes"]}
            for d, c17, c12, comp, r, b, st in zip(details, cv17, cv12, composite, res, basic, students)]


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
    # Counties lacking the same fields for the same rules need the same: worked out once each.
    made: dict[tuple[tuple[int, ...], tuple[str, ...]], list[tuple[str, str, list[str]]]] = {}
    out: list[list[dict[str, Any]]] = []
    for g, ks in enumerate(_per_group(missing)):
        if not ks:
            out.append([])
            continue
        key = (tuple(ks), tuple(frame.details[ROWS_PER_COUNTY * g + crow0]["absent_fields"]))
        needed = made.get(key)
        if needed is None:
            absent = set(key[1])
            wanted: dict[str, list[str]] = {}
            for k in ks:
                named = [f for f in inputs[k] if f in absent]
                if not named and derived[k]:
                    named = [rules[k].measure]
                for f in named:
                    wanted.setdefault(f, []).append(ids[k])
            needed = made[key] = [(f, labels[f], rule_ids) for f, rule_ids in
                                  sorted(wanted.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0]))]
        out.append([{"field": f, "label": text, "rules": rule_ids[:]} for f, text, rule_ids in needed])
    return out
