"""The remediation plan: per school, then per county and stage, priced and checked.

1. The records are judged once through the evaluator (its verdicts, its county CVs and scopes).
2. Per rule set, every school's failing required rules are solved together
   (:class:`~.school.SchoolSolver`), every choice of its 6-of-7 rule too, and the cheapest kept.
3. Per county and stage, each CV over its limit (2017: each indicator; 2012: the composite) is
   brought under it by water-filling (:mod:`.balance`) on top of the school plans.
4. The adjusted records are judged again through the same evaluator — the plan checks itself.
"""
from __future__ import annotations

import math
from collections import defaultdict
from functools import partial
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from ..catalogue import rule_inputs
from ..fields import label, unit
from ..regions import province_name
from ..model import FAIL, MISSING_DATA, PASS
from ..validation import Checked
from .balance import finite
from .costs import CostTable, quantities, uncounted
from .counties import CountyPlanner
from .levers import amount, changes
from .school import Row, SchoolSolver, pick, targets_of
from .totals import ranking, summary, totals

TARGETS = ("basic", "quality")
PLAN_VERSION = 1


def _more_pupils(record: Mapping[str, Any], share: float) -> dict[str, Any]:
    """The record with ``share`` more pupils (whole pupils, rounded up): enrolment growth is what
    most often tips a school that passes by a hair."""
    rec = dict(record)
    if isinstance(rec.get("students"), (int, float)) and not isinstance(rec.get("students"), bool):
        rec["students"] = int(math.ceil(rec["students"] * (1 + share)))
    return rec


def _clean(record: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if not k.startswith("_")}


def _key(rec: Mapping[str, Any]) -> tuple[str, str, int]:
    return (str(rec.get("school_id")), str(rec.get("stage")), int(rec["year"]))


class Planner:
    """Builds one plan; see the module docstring. A rule passing after the plan that would fail
    with ``near`` (a share) more pupils is listed as near-failing."""

    def __init__(self, ev: Any, target: str = "quality", costs: str | Mapping[str, Any] | None = None,
                 near: float = 0.05, progress: Callable[[str], None] | None = None):
        if target not in TARGETS:
            raise ValueError(f"unknown target '{target}' (choose from {', '.join(TARGETS)})")
        self.ev, self.target, self.costs_path, self.near = ev, target, costs, near
        #: Told what the plan is working on (a province's plan takes minutes): ``"学校 schools 贵州省 2023: …"``.
        self.progress = progress or (lambda text: None)

    # -- entry point ----------------------------------------------------------------------
    def plan(self, checked: Checked, files: Sequence[str] = ()) -> dict[str, Any]:
        """The plan for the records ``checked`` accepted (validated once, by the caller); the
        rows it rejected are listed."""
        ev = self.ev
        self._solvers: dict[int, SchoolSolver] = {}
        accepted = checked.schools.accepted
        sources = [{"file": r.get("_file"), "row": r.get("_row")} for r in accepted]
        records = [_clean(r) for r in accepted]
        counties = [_clean(c) for c in checked.counties.accepted]
        rejected = [r.to_dict() for r in checked.rejected]
        self.progress("评估现状 judging as they are")
        before = ev.evaluate_checked(checked, list(files)).to_dict()
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
            solver = SchoolSolver(ev, ruleset, [records[j] for j in members])
            where = f"{province_name(province)} {year}"
            solver.on_step = partial(self._step, f"学校 schools {where}")
            self._schools(solver, table, records, members, chosen, extras)
            self.progress(f"县域差异系数 county CVs {where}")
            county_plans += CountyPlanner(self.target).plan(solver, table, records, members, chosen, before)
        self.progress("复核 checking the plan")
        final = [self._build(chosen[j], records[j]) for j in range(len(records))]
        after = ev.evaluate_records(final, counties).to_dict()
        return self._document(records, sources, chosen, extras, final, before, after, county_plans, costs,
                              rejected, files)

    def _step(self, what: str, step: str) -> None:
        self.progress(f"{what}: {step}")

    def _build(self, row: Row | None, record: Mapping[str, Any]) -> dict[str, Any]:
        return dict(record) if row is None else self._solvers[id(row)].build(row)

    # -- schools ----------------------------------------------------------------------------
    def _schools(self, solver: SchoolSolver, table: CostTable, records: list[dict], members: list[int],
                 chosen: list, extras: list) -> None:
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
        (passing after the plan, failing with ``near`` more pupils), structural failures, missing data."""
        state = [solver.build(chosen[j]) for j in members]
        res = solver.probe(state)
        more = [_more_pupils(rec, self.near) for rec in state]
        grown = solver.probe.for_records(more)(more)            # the whole school grows, every stage
        singles, where = [], []
        for pos, j in enumerate(members):
            targeted = {k for k, _ in chosen[j].targets}
            for k, rule in enumerate(solver.rules):
                s = res.status[k, pos]
                if s == FAIL and k not in targeted and solver.levers[k]:
                    singles.append(Row(state[pos], [(k, "pass")]))
                    where.append((j, k))
                elif s == PASS and grown.status[k, pos] == FAIL:
                    thr, value = res.threshold[k, pos], res.value[k, pos]
                    extras[j].setdefault("near", []).append({
                        "rule_id": rule.id, "value": finite(value), "threshold": finite(thr),
                        "margin_share": finite(abs(value - thr) / abs(thr)) if thr else None,
                        "value_with_more_pupils": finite(grown.value[k, pos])})
        if singles:
            solver.grow(singles)
        position = {j: pos for pos, j in enumerate(members)}
        for row, (j, k) in zip(singles, where):
            pos = position[j]
            extras[j].setdefault("optional", []).append({
                "rule_id": solver.rules[k].id, "value": finite(res.value[k, pos]),
                "threshold": finite(res.threshold[k, pos]),
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
                                                    "value": finite(res.value[k, pos]),
                                                    "threshold": finite(res.threshold[k, pos])})
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
            extras[j]["needs_fields"] = self._unfilled(solver, records[j], extras[j]["needs_data"])

    @staticmethod
    def _unfilled(solver: SchoolSolver, record: Mapping[str, Any], rule_ids: Sequence[str]) -> list[str]:
        """The record's empty fields that the rules lacking data read: what to fill in."""
        by_id = {r.id: r for r in solver.rules}
        out: list[str] = []
        for rule_id in rule_ids:
            out.extend(f for f in rule_inputs(solver.ruleset, by_id[rule_id]) if record.get(f) is None and f not in out)
        return out

    def _reasons(self, chosen: list[Row]) -> dict[int, dict[str, list[str]]]:
        """Per chosen row (by id): what each addition is for, one probe per rule set."""
        by_solver: dict[int, list[Row]] = defaultdict(list)
        for row in chosen:
            by_solver[id(self._solvers[id(row)])].append(row)
        out: dict[int, dict[str, list[str]]] = {}
        for rows in by_solver.values():
            out.update(zip(map(id, rows), self._solvers[id(rows[0])].reasons(rows)))
        return out

    # -- the document -----------------------------------------------------------------------
    def _document(self, records, sources, chosen, extras, final, before, after, county_plans, costs,
                  rejected, files) -> dict[str, Any]:
        ev = self.ev
        why = self._reasons(chosen)
        b_entries = {_key(s): s for s in before.get("schools", [])}
        a_entries = {_key(s): s for s in after.get("schools", [])}
        schools = []
        for j, rec in enumerate(records):
            row = chosen[j]
            key = _key(rec)
            b, a = b_entries.get(key, {}), a_entries.get(key, {})
            solver = self._solvers[id(row)]
            table = costs[(rec["province"], ev.year or int(rec["year"]))]
            reasons = why[id(row)]
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
                         "first_year_yuan": round(once + annual, 2),
                         "unpriced": table.unpriced(q) + uncounted(effect)},
                "funding_shortfall_yuan": amount("public_funds_received_yuan",
                                                 row.adds.get("public_funds_received_yuan", 0)),
                "claims": claimed,
                "verified": all(verdicts_after[r] in ("pass", "not_applicable") for r in claimed),
                "before": {f: rec.get(f) for f in effect},
                "after": {f: final[j].get(f) for f in effect},
                "composite": extras[j].get("composite"),
                "structural": extras[j].get("structural", []),
                "needs_data": extras[j].get("needs_data", []), "needs_fields": extras[j].get("needs_fields", []),
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
                    ind["cv_after"] = finite(cvs.get(ind["indicator"]))
                verdicts = {v["rule_id"]: v["status"] for v in ac.get("verdicts", []) if v.get("stage") == stage}
                if "composite_cv_2012" in sp:
                    sp["composite_cv_2012"]["after"] = finite(after_info.get("composite_cv_2012"))
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
            "near_pupils_share": self.near,
            "costs": {f"{p}/{y}": t.to_dict() for (p, y), t in costs.items()},
            "schools": schools,
            "counties": county_plans,
            "totals": totals(schools),
            "ranking": ranking(schools),
            "summary": summary(schools, county_plans, before, after),
            "rejected": list(rejected),
        }
