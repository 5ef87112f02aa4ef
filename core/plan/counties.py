"""Per county and stage: the least additions that bring the CVs under their limits.

Works on top of the school plans (the rows chosen per school): each CV over its limit (2017:
each indicator on its own; 2012: the mean of eight) is brought under it by water-filling
(:mod:`.balance`), and the units are added to the schools' rows so that the adjusted records and
the costs include them. Which schools count is the report's own county scope.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

from ..county_table import STAGES
from ..derive import PER_100, PER_PUPIL
from ..fields import integer_fields
from .balance import composite_targets, cv_of, fill, fill_continuous, finite
from .costs import CostTable, item_fields
from .levers import BUILDING_PARTS, HIRED_CATEGORIES, hires, resolution, units_of
from .school import Row, SchoolSolver

#: Excluded-school reason codes (the report's county ``excluded``) that leave a school out of
#: the other programme's CVs only.
_ONLY = {"quality": {"teaching_point_2012", "excluded_from_cv_2012"},
         "basic": {"teaching_point_2017", "excluded_from_cv_2017"}}


class CountyPlanner:
    """County-and-stage plans for one rule set; ``target`` is ``quality`` or ``basic``."""

    def __init__(self, target: str):
        self.target = target

    def plan(self, solver: SchoolSolver, table: CostTable, records: list[dict], members: list[int],
             chosen: list, before: dict) -> list[dict[str, Any]]:
        """One plan per county of ``members`` that the report judged, with its stages."""
        ruleset = solver.ruleset
        params = ruleset.parameters.get("county") or {}
        limits = {r.measure: r for r in ruleset.county_rules}
        out = []
        entries = {(c["county_code"], int(c["year"])): c for c in before.get("counties", [])
                   if c.get("ruleset") == f"{ruleset.province}/{ruleset.year}"}
        by_county: dict[tuple[str, int], list[int]] = defaultdict(list)
        for j in members:
            by_county[(records[j]["county_code"], int(records[j]["year"]))].append(j)
        for key, js in sorted(by_county.items()):
            entry = entries.get(key)
            if entry is None:
                continue
            plan = {"county_code": key[0], "county_name": entry.get("county_name"), "year": key[1],
                    "province": ruleset.province, "ruleset": entry.get("ruleset"), "stages": {}}
            for stage in STAGES:
                info = (entry.get("stages") or {}).get(stage)
                if not info:
                    continue
                out_codes = {(e["school_id"], e["stage"]) for e in info.get("excluded", [])
                             if e["reason_code"] not in _ONLY[self.target]}
                scope = [j for j in js if records[j]["stage"] == stage
                         and (records[j]["school_id"], stage) not in out_codes
                         and (records[j].get("students") or 0) > 0]
                stage_plan = self.stage(solver, table, params, limits, records, scope, chosen, stage, info)
                if stage_plan:
                    plan["stages"][stage] = stage_plan
            out.append(plan)
        return out

    def stage(self, solver, table, params, limits, records, scope, chosen, stage, info) -> dict | None:
        pupils = np.array([float(records[j]["students"]) for j in scope])
        if self.target == "quality":
            indicators = [i for i in params.get("cv_2017_indicators", []) if f"cv_{i}" in limits]
            cvs_before = info.get("cv") or {}
        else:
            indicators = list(params.get("cv_2012_indicators", [])) if "composite_cv_2012" in limits else []
            cvs_before = info.get("cv_2012") or {}
        if not indicators or not scope:
            return None
        fields = {i: PER_PUPIL.get(i) or PER_100.get(i) for i in indicators}
        # the indicators with a field: only they have a finite CV, so only they get goals
        known = {i: f for i, f in fields.items() if f is not None}

        def resources() -> dict[str, np.ndarray]:
            """Each indicator's resource per school of the scope, the records built once."""
            built = [solver.build(chosen[j]) for j in scope]
            return {i: np.array([np.nan if (v := rec.get(f)) is None else float(v) for rec in built])
                    for i, f in fields.items()}

        result: dict[str, Any] = {"programme": "quality_2017" if self.target == "quality" else "basic_2012",
                  "schools_in_scope": len(scope), "indicators": [], "additions": []}
        added: dict[str, np.ndarray] = {}
        for _ in range(4):
            state = resources()
            if self.target == "quality":
                goals = {}
                for i in indicators:
                    limit = limits[f"cv_{i}"].threshold_for(stage)
                    cv = cv_of(state[i], pupils)
                    if limit is not None and np.isfinite(cv) and cv > limit:
                        goals[i] = limit
            else:
                rule = limits["composite_cv_2012"]
                limit = rule.threshold_for(stage)
                cvs = [cv_of(state[i], pupils) for i in indicators]
                if limit is None or not all(np.isfinite(cvs)) or np.mean(cvs) <= limit:
                    goals = {}
                else:
                    price = {i: _unit_price(table, known[i]) for i in indicators}

                    def cost_to(k: int, t: float) -> float:
                        i = indicators[k]
                        f = known[i]
                        return price[i] * float(fill_continuous(state[i], pupils, t, resolution(f)).sum())
                    targets = composite_targets(cvs, limit, cost_to)
                    goals = {i: t for i, t, c in zip(indicators, targets, cvs) if t < c}
            if not goals:
                break
            for i, limit in goals.items():
                f = known[i]
                adds = fill(state[i], pupils, limit, resolution(f), f in integer_fields())
                rule_id = (limits[f"cv_{i}"] if self.target == "quality" else limits["composite_cv_2012"]).id
                for pos, j in enumerate(scope):
                    if adds[pos] > 0:
                        self._add_units(chosen[j], f, units_of(f, adds[pos]), rule_id)
                added[f] = added.get(f, 0.0) + adds
        state = resources()
        for i in indicators:
            field = fields[i]
            rule = limits.get(f"cv_{i}")
            result["indicators"].append({
                "indicator": i, "field": field, "cv_before": finite(cvs_before.get(i)),
                "cv_planned": finite(cv_of(state[i], pupils)),
                "threshold": rule.threshold_for(stage) if rule is not None else None,
                "added": round(float(added.get(field or "", np.zeros(1)).sum()), 2)})
        if self.target == "basic":
            result["composite_cv_2012"] = {
                "before": finite(info.get("composite_cv_2012")),
                "planned": finite(float(np.mean([x["cv_planned"] for x in result["indicators"]]))
                                if all(x["cv_planned"] is not None for x in result["indicators"]) else None),
                "threshold": limits["composite_cv_2012"].threshold_for(stage)}
        for f, adds in added.items():
            for pos, j in enumerate(scope):
                if adds[pos] > 0:
                    result["additions"].append({"school_id": records[j]["school_id"], "stage": stage,
                                                "field": f, "amount": round(float(adds[pos]), 2)})
        result["rule_ids"] = sorted({limits[f"cv_{i}"].id for i in indicators if f"cv_{i}" in limits}
                                    if self.target == "quality" else {limits["composite_cv_2012"].id})
        return result

    def _add_units(self, row: Row, field: str, units: int, rule_id: str) -> None:
        """Add whole steps of ``field`` to a school's plan so that the record gains exactly that much
        (teachers: on top of the new teachers the plan already hires)."""
        if field == "teachers":
            row.adds["teachers"] = int(round(hires(row.amounts()))) + units
        else:
            row.adds[field] = row.adds.get(field, 0) + units
        row.county[field] = row.county.get(field, 0) + units
        row.county_rules.setdefault(field, set()).add(rule_id)


def _unit_price(table: CostTable, field: str) -> float:
    """Yuan per unit of ``field``: a teacher in a category is a new teacher, teaching and
    dormitory floor area is building floor area."""
    if field in HIRED_CATEGORIES:
        field = "teachers"
    if field in BUILDING_PARTS:
        field = "building_area_m2"
    for item, fields in item_fields().items():
        if field in fields and item in table.items:
            return float(table.items[item]["yuan"])
    return 1.0
