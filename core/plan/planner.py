"""The remediation plan: per school, then per county and stage, priced and checked.

1. The records are judged once through the evaluator (its verdicts, its county CVs and scopes).
2. Per rule set, every school's failing required rules are solved together
   (:class:`~.school.SchoolSolver`), every choice of its 6-of-7 rule too, and the cheapest kept.
3. Per county and stage, each CV over its limit (2017: each indicator; 2012: the composite) is
   brought under it by water-filling (:mod:`.balance`) on top of the school plans.
4. The adjusted records are judged again through the same evaluator — the plan checks itself.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Any, Mapping, Sequence

import numpy as np

from ..derive import PER_100, PER_PUPIL
from ..fields import INTEGER_FIELDS, label, unit
from ..model import FAIL, MISSING_DATA, PASS
from .balance import composite_targets, cv_of, fill, fill_continuous
from .costs import ITEM_FIELDS, CostTable, quantities
from .levers import BUILDING_PARTS, HIRED_CATEGORIES, amount, changes, hires, resolution, units_of
from .probe import meets
from .school import Row, SchoolSolver, pick, targets_of

TARGETS = ("basic", "quality")
PLAN_VERSION = 1
#: Excluded-school reason codes (the report's county ``excluded``) that leave a school out of
#: the other programme's CVs only.
_ONLY = {"quality": {"teaching_point_2012", "excluded_from_cv_2012"},
         "basic": {"teaching_point_2017", "excluded_from_cv_2017"}}
_STAGES = ("primary", "junior")


def _clean(record: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if not k.startswith("_")}


def _key(rec: Mapping[str, Any]) -> tuple[str, str, int]:
    return (str(rec.get("school_id")), str(rec.get("stage")), int(rec.get("year")))


class Planner:
    """Builds one plan; see the module docstring. ``near`` is the margin (a share of the
    threshold) under which a passing rule is listed as near-failing."""

    def __init__(self, ev: Any, target: str = "quality", costs: str | None = None, near: float = 0.05):
        if target not in TARGETS:
            raise ValueError(f"unknown target '{target}' (choose from {', '.join(TARGETS)})")
        self.ev, self.target, self.costs_path, self.near = ev, target, costs, near

    # -- entry point ----------------------------------------------------------------------
    def plan(self, records: Sequence[Mapping[str, Any]], counties: Sequence[Mapping[str, Any]] = (),
             rejected: Sequence[dict] = (), files: Sequence[str] = ()) -> dict[str, Any]:
        ev = self.ev
        sources = [{"file": r.get("_file"), "row": r.get("_row")} for r in records]
        records = [_clean(r) for r in records]
        counties = [_clean(c) for c in counties]
        before = ev.evaluate_records(records, counties).to_dict()
        groups: dict[tuple[str, int], list[int]] = defaultdict(list)
        for j, rec in enumerate(records):
            groups[(rec["province"], ev.year or int(rec["year"]))].append(j)
        chosen: list[Row | None] = [None] * len(records)
        extras: list[dict[str, Any]] = [{} for _ in records]
        county_plans: list[dict[str, Any]] = []
        costs: dict[tuple[str, int], CostTable] = {}
        for (province, year), members in sorted(groups.items()):
            ruleset = ev.ruleset(province, year)
            costs[(province, year)] = table = CostTable.from_parameters(ruleset.parameters, self.costs_path)
            solver = SchoolSolver(ev, ruleset, self.near)
            self._schools(solver, table, records, members, chosen, extras)
            county_plans += self._counties(solver, table, records, members, chosen, before)
        final = [self._build(chosen[j], records[j]) for j in range(len(records))]
        after = ev.evaluate_records(final, counties).to_dict()
        return self._document(records, sources, chosen, extras, final, before, after, county_plans, costs,
                              rejected, files)

    def _build(self, row: Row | None, record: Mapping[str, Any]) -> dict[str, Any]:
        return dict(record) if row is None else self._solvers[id(row)].build(row)

    # -- schools ----------------------------------------------------------------------------
    def _schools(self, solver: SchoolSolver, table: CostTable, records: list[dict], members: list[int],
                 chosen: list, extras: list) -> None:
        if not hasattr(self, "_solvers"):
            self._solvers: dict[int, SchoolSolver] = {}
        status = solver.probe([records[j] for j in members]).status
        rows, owner = [], []
        for pos, j in enumerate(members):
            base, choices = targets_of(solver, status, pos)
            for choice in choices:
                rows.append(Row(records[j], base + choice))
                owner.append(j)
        solver.solve(rows)

        def cost(row: Row) -> float:
            return sum(table.price(quantities(changes(row.record, solver.build(row)))).values())

        options: dict[int, list[Row]] = defaultdict(list)
        for row, j in zip(rows, owner):
            options[j].append(row)
        for j in members:
            row = pick(options[j], cost)
            chosen[j] = row
            self._solvers[id(row)] = solver
        self._side_lists(solver, records, members, chosen, extras, status)

    def _side_lists(self, solver: SchoolSolver, records: list[dict], members: list[int], chosen: list,
                    extras: list, status_before: np.ndarray) -> None:
        """Scored rules the plan leaves failing (with what each would take), near-failing rules
        (passing by less than ``near`` of their threshold), structural failures, missing data."""
        state = [solver.build(chosen[j]) for j in members]
        res = solver.probe(state)
        singles, where = [], []
        for pos, j in enumerate(members):
            targeted = {k for k, _ in chosen[j].targets}
            for k, rule in enumerate(solver.rules):
                s = res.status[k, pos]
                if s == FAIL and k not in targeted and solver.levers[k]:
                    singles.append(Row(state[pos], [(k, "pass")]))
                    where.append((j, k))
                elif s == PASS and rule.kind == "check" and not meets(res, k, "margin", self.near)[pos]:
                    thr, value = res.threshold[k, pos], res.value[k, pos]
                    extras[j].setdefault("near", []).append({
                        "rule_id": rule.id, "value": _num(value), "threshold": _num(thr),
                        "margin_share": _num(abs(value - thr) / abs(thr)) if thr else None})
        if singles:
            solver.grow(singles)
        for row, (j, k) in zip(singles, where):
            pos = members.index(j)
            extras[j].setdefault("optional", []).append({
                "rule_id": solver.rules[k].id, "value": _num(res.value[k, pos]),
                "threshold": _num(res.threshold[k, pos]),
                "additions": [] if k in row.unfixable else
                [{"field": f, "amount": amount(f, u)} for f, u in sorted(row.adds.items()) if u]})
        for pos, j in enumerate(members):
            extras[j]["structural"] = []
            extras[j]["needs_data"] = []
            row = chosen[j]
            for k, rule in enumerate(solver.rules):
                s = status_before[k, pos]
                if rule.severity == "scored" and rule.kind == "check":
                    continue
                if s == MISSING_DATA:
                    extras[j]["needs_data"].append(rule.id)
                elif s == FAIL and (not solver.levers[k] and rule.kind == "check" or k in row.unfixable):
                    extras[j]["structural"].append({"rule_id": rule.id, "operator": rule.operator,
                                                    "value": _num(res.value[k, pos]),
                                                    "threshold": _num(res.threshold[k, pos])})
            composite = [k for k, r in enumerate(solver.rules) if r.kind == "count_met"
                         and status_before[k, pos] == FAIL]
            if composite and any(status_before[solver.probe.index[m], pos] == MISSING_DATA
                                 for m in solver.rules[composite[0]].of if m in solver.probe.index):
                extras[j]["needs_data"].append(solver.rules[composite[0]].id)
            if composite:
                k = composite[0]
                left = [solver.rules[m].id for m, mode in row.targets if mode.startswith("ratio")]
                raised = [solver.rules[m].id for m, mode in row.targets
                          if mode == "pass" and solver.rules[m].id in solver.rules[k].of
                          and status_before[m, pos] == FAIL]
                extras[j]["composite"] = {"rule_id": solver.rules[k].id, "raised": raised,
                                          "left_short": left[0] if left else None,
                                          "min_ratio": solver.rules[k].min_ratio}

    # -- counties ---------------------------------------------------------------------------
    def _counties(self, solver: SchoolSolver, table: CostTable, records: list[dict], members: list[int],
                  chosen: list, before: dict) -> list[dict[str, Any]]:
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
            for stage in _STAGES:
                info = (entry.get("stages") or {}).get(stage)
                if not info:
                    continue
                out_codes = {(e["school_id"], e["stage"]) for e in info.get("excluded", [])
                             if e["reason_code"] not in _ONLY[self.target]}
                scope = [j for j in js if records[j]["stage"] == stage
                         and (records[j]["school_id"], stage) not in out_codes
                         and (records[j].get("students") or 0) > 0]
                stage_plan = self._stage(solver, table, params, limits, records, scope, chosen, stage, info)
                if stage_plan:
                    plan["stages"][stage] = stage_plan
            out.append(plan)
        return out

    def _stage(self, solver, table, params, limits, records, scope, chosen, stage, info) -> dict | None:
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

        def resources(field: str) -> np.ndarray:
            vals = [solver.build(chosen[j]).get(field) for j in scope]
            return np.array([np.nan if v is None else float(v) for v in vals])

        result = {"programme": "quality_2017" if self.target == "quality" else "basic_2012",
                  "schools_in_scope": len(scope), "indicators": [], "additions": []}
        added: dict[str, np.ndarray] = {}
        for _ in range(4):
            state = {i: resources(f) for i, f in fields.items()}
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
                    price = {i: _unit_price(table, fields[i]) for i in indicators}

                    def cost_to(k: int, t: float) -> float:
                        i = indicators[k]
                        f = fields[i]
                        return price[i] * float(fill_continuous(state[i], pupils, t, resolution(f)).sum())
                    targets = composite_targets(cvs, limit, cost_to)
                    goals = {i: t for i, t, c in zip(indicators, targets, cvs) if t < c}
            if not goals:
                break
            for i, limit in goals.items():
                f = fields[i]
                adds = fill(state[i], pupils, limit, resolution(f), f in _WHOLE)
                rule_id = (limits[f"cv_{i}"] if self.target == "quality" else limits["composite_cv_2012"]).id
                for pos, j in enumerate(scope):
                    if adds[pos] > 0:
                        self._add_units(chosen[j], f, units_of(f, adds[pos]), rule_id)
                added[f] = added.get(f, 0.0) + adds
        state = {i: resources(f) for i, f in fields.items()}
        for i in indicators:
            f = fields[i]
            rule = limits.get(f"cv_{i}")
            result["indicators"].append({
                "indicator": i, "field": f, "cv_before": _num(cvs_before.get(i)),
                "cv_planned": _num(cv_of(state[i], pupils)),
                "threshold": rule.threshold_for(stage) if rule is not None else None,
                "added": round(float(added.get(f, np.zeros(1)).sum()), 2)})
        if self.target == "basic":
            result["composite_cv_2012"] = {
                "before": _num(info.get("composite_cv_2012")),
                "planned": _num(float(np.mean([x["cv_planned"] for x in result["indicators"]]))
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

    # -- the document -----------------------------------------------------------------------
    def _document(self, records, sources, chosen, extras, final, before, after, county_plans, costs,
                  rejected, files) -> dict[str, Any]:
        ev = self.ev
        b_entries = {_key(s): s for s in before.get("schools", [])}
        a_entries = {_key(s): s for s in after.get("schools", [])}
        schools = []
        for j, rec in enumerate(records):
            row = chosen[j]
            key = _key(rec)
            b, a = b_entries.get(key, {}), a_entries.get(key, {})
            solver = self._solvers[id(row)]
            table = costs[(rec["province"], ev.year or int(rec["year"]))]
            reasons = solver.reasons([row])[0]
            county_units = row.county
            additions = []
            for f, u in sorted(row.adds.items()):
                if not u:
                    continue
                by_county = county_units.get(f, 0)
                entry = {"field": f, "label": label(f), "unit": unit(f), "amount": amount(f, u),
                         "for": reasons.get(f, [])}
                if by_county:
                    entry["for_county"] = amount(f, by_county)
                    entry["for"] = sorted(set(entry["for"]) | row.county_rules.get(f, set()))
                additions.append(entry)
            effect = changes(rec, final[j])
            q = quantities(effect)
            priced = table.price(q)
            once = sum(v for k, v in priced.items() if not table.annual(k))
            annual = sum(v for k, v in priced.items() if table.annual(k))
            # a 6-of-7 rule with an indicator lacking stays undecided: the plan cannot claim it
            undecided = set(extras[j].get("needs_data", []))
            claimed = sorted({r for a_ in additions for r in a_["for"] if r in solver.probe.index} - undecided)
            # an evaluator listing only findings leaves passing verdicts out
            unlisted = "pass" if getattr(ev, "verdicts", "all") == "findings" else None
            verdicts_after = defaultdict(lambda: unlisted, {v["rule_id"]: v["status"] for v in a.get("verdicts", [])})
            school = {
                "school_id": rec["school_id"], "stage": rec["stage"], "school_name": rec.get("school_name"),
                "county_code": rec.get("county_code"), "county_name": rec.get("county_name"),
                "province": rec["province"], "year": int(rec["year"]), "ruleset": b.get("ruleset"),
                "source": sources[j],
                "status_before": b.get("status"), "status_after": a.get("status"),
                "additions": additions, "changes": effect, "quantities": q,
                "cost": {"by_item": priced, "once_yuan": round(once, 2), "annual_yuan": round(annual, 2),
                         "first_year_yuan": round(once + annual, 2), "unpriced": table.unpriced(q)},
                "funding_shortfall_yuan": amount("public_funds_received_yuan",
                                                 row.adds.get("public_funds_received_yuan", 0)),
                "claims": claimed,
                "verified": all(verdicts_after[r] in ("pass", "not_applicable") for r in claimed),
                "before": {f: rec.get(f) for f in effect},
                "after": {f: final[j].get(f) for f in effect},
                "composite": extras[j].get("composite"),
                "structural": extras[j].get("structural", []),
                "needs_data": extras[j].get("needs_data", []),
                "optional": extras[j].get("optional", []),
                "near": extras[j].get("near", []),
            }
            schools.append(school)
        a_counties = {(c["county_code"], int(c["year"])): c for c in after.get("counties", [])}
        for cp in county_plans:
            ac = a_counties.get((cp["county_code"], cp["year"]), {})
            for stage, sp in cp["stages"].items():
                after_info = (ac.get("stages") or {}).get(stage) or {}
                cvs = after_info.get("cv" if self.target == "quality" else "cv_2012") or {}
                for ind in sp["indicators"]:
                    ind["cv_after"] = _num(cvs.get(ind["indicator"]))
                verdicts = {v["rule_id"]: v["status"] for v in ac.get("verdicts", []) if v.get("stage") == stage}
                if "composite_cv_2012" in sp:
                    sp["composite_cv_2012"]["after"] = _num(after_info.get("composite_cv_2012"))
                sp["verdicts_after"] = {r: verdicts.get(r) for r in sp["rule_ids"]}
                # a CV that lacks a school's value cannot be planned: it needs the data first
                sp["needs_data"] = sorted(r for r in sp["rule_ids"] if verdicts.get(r) == "missing_data")
                sp["verified"] = all(verdicts.get(r) == "pass" for r in sp["rule_ids"] if r not in sp["needs_data"])
        return {
            "plan_version": PLAN_VERSION,
            "target": self.target,
            "engine": after.get("engine"),
            "files": list(files),
            "packs": after.get("packs"),
            "near_margin": self.near,
            "costs": {f"{p}/{y}": t.to_dict() for (p, y), t in costs.items()},
            "schools": schools,
            "counties": county_plans,
            "totals": _totals(schools, county_plans, costs, ev),
            "ranking": _ranking(schools),
            "summary": _summary(schools, county_plans, before, after),
            "rejected": list(rejected),
        }


#: Fields counted in whole units (the CV fill gives them one at a time).
_WHOLE = frozenset(INTEGER_FIELDS)


def _unit_price(table: CostTable, field: str) -> float:
    """Yuan per unit of ``field``: a teacher in a category is a new teacher, teaching and
    dormitory floor area is building floor area."""
    if field in HIRED_CATEGORIES:
        field = "teachers"
    if field in BUILDING_PARTS:
        field = "building_area_m2"
    for item, fields in ITEM_FIELDS.items():
        if field in fields and item in table.items:
            return float(table.items[item]["yuan"])
    return 1.0


def _num(value: Any) -> float | None:
    if value is None:
        return None
    v = float(value)
    return None if not np.isfinite(v) else v


def _totals(schools: list[dict], county_plans: list[dict], costs: dict, ev: Any) -> dict[str, Any]:
    by_county: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    by_stage: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    by_item: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for s in schools:
        for item, yuan in s["cost"]["by_item"].items():
            for bucket, key in ((by_county, f"{s['county_code']}/{s['year']}"), (by_stage, s["stage"]),
                                (by_item, item)):
                bucket[key]["yuan"] += yuan
            by_item[item]["quantity"] += s["quantities"].get(item, 0.0)
        for bucket, key in ((by_county, f"{s['county_code']}/{s['year']}"), (by_stage, s["stage"])):
            bucket[key]["once_yuan"] += s["cost"]["once_yuan"]
            bucket[key]["annual_yuan"] += s["cost"]["annual_yuan"]
    once = sum(s["cost"]["once_yuan"] for s in schools)
    annual = sum(s["cost"]["annual_yuan"] for s in schools)

    def rounded(d):
        return {k: {kk: round(vv, 2) for kk, vv in v.items()} for k, v in sorted(d.items())}
    return {"by_county": rounded(by_county), "by_stage": rounded(by_stage), "by_item": rounded(by_item),
            "once_yuan": round(once, 2), "annual_yuan": round(annual, 2), "first_year_yuan": round(once + annual, 2)}


def _ranking(schools: list[dict]) -> list[dict[str, Any]]:
    ranked = sorted((s for s in schools if s["cost"]["first_year_yuan"] > 0),
                    key=lambda s: (-s["cost"]["first_year_yuan"], s["school_id"], s["stage"]))
    return [{"rank": n + 1, "school_id": s["school_id"], "stage": s["stage"], "school_name": s["school_name"],
             "county_code": s["county_code"], "first_year_yuan": s["cost"]["first_year_yuan"],
             "once_yuan": s["cost"]["once_yuan"], "annual_yuan": s["cost"]["annual_yuan"]}
            for n, s in enumerate(ranked)]


def _summary(schools, county_plans, before, after) -> dict[str, Any]:
    return {
        "schools": len(schools),
        "schools_with_additions": sum(1 for s in schools if s["additions"]),
        "schools_passing_before": sum(1 for s in schools if s["status_before"] == "pass"),
        "schools_passing_after": sum(1 for s in schools if s["status_after"] == "pass"),
        "schools_verified": sum(1 for s in schools if s["verified"]),
        "schools_not_fixable_by_additions": sum(1 for s in schools if s["structural"]),
        "county_stages_planned": sum(len(c["stages"]) for c in county_plans),
        "county_stages_verified": sum(1 for c in county_plans for sp in c["stages"].values() if sp["verified"]),
        "counties_before": before.get("summary", {}).get("counties"),
        "counties_after": after.get("summary", {}).get("counties"),
    }
