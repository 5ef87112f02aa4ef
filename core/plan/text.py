"""The plan on a terminal: totals first, then each school and county stage that needs anything,
every rule, item, stage and unit named Chinese first (:mod:`edubalance.reports.plan_words`)."""
from __future__ import annotations

from typing import Any, Mapping

from ..problems import problem_lines
from ..reports.plan_words import PlanWords
from ..reports.view import inputs_text


def _yuan(v: float) -> str:
    return f"{v:,.0f}"


def _cv(v: float | None) -> str:
    return "无 n/a" if v is None else f"{v:.4f}"


def render(plan: dict[str, Any], catalogues: Mapping[str, Any]) -> str:
    """The plan as text; ``catalogues``: each rule set's rule catalogue, for the rules' titles."""
    w = PlanWords(plan, catalogues)
    s, t = plan["summary"], plan["totals"]
    lines = [
        "edubalance 整改方案 remediation plan",
        f"目标 target: {w.target(plan['target'])}   引擎 engine: {plan['engine']}",
        f"学校 schools: {s['schools']}，达标 passing {s['schools_passing_before']} → {s['schools_passing_after']}"
        f"（需新增 with additions {s['schools_with_additions']}，增量无法解决 not fixable by additions "
        f"{s['schools_not_fixable_by_additions']}）",
        f"县域差异系数 county CVs: 需规划 planned {s['county_stages_planned']}，复核通过 verified "
        f"{s['county_stages_verified']}",
        f"费用 cost: 一次性 one-off {_yuan(t['once_yuan'])} 元, 每年 per year {_yuan(t['annual_yuan'])} 元, "
        f"首年合计 first year {_yuan(t['first_year_yuan'])} 元",
    ]
    if any(c.get("provisional") for c in plan["costs"].values()):
        lines.append("  注意：单价为暂定规划占位值，请用 --costs 换成本地价格 / prices are provisional placeholders: "
                     "use --costs with local prices")
    unpriced = sorted({k for x in plan["schools"] for k in x["cost"]["unpriced"]})
    if unpriced:
        lines.append("  注意：以下新增没有单价，未计入费用 / these additions have no price and are not in the cost: "
                     + "、".join(f"{w.unpriced(k)} {k}" for k in unpriced))
    if t["by_item"]:
        lines.append("按项目 by item: " + "；".join(
            " ".join(p for p in (w.item(k), f"{v.get('quantity', 0):,g}", w.item_unit(k)) if p) + f" = {_yuan(v['yuan'])} 元"
            for k, v in t["by_item"].items()))
    for c in plan["counties"]:
        for stage, sp in c["stages"].items():
            moved = [i for i in sp["indicators"] if i["added"]]
            name = " ".join(p for p in (c["county_code"], c.get("county_name")) if p)
            lines.append(f"\n县 County {name} {w.stage(stage)} · "
                         f"{w.programme(sp['programme'])}: "
                         + ("复核通过 verified" if sp["verified"] else "未通过复核 NOT verified"))
            for i in sp["indicators"]:
                if i["added"] or (i["cv_before"] is not None and i["threshold"] is not None
                                  and i["cv_before"] > i["threshold"]):
                    lines.append(f"  {w.field(i['field'])}: 差异系数 CV {_cv(i['cv_before'])} → {_cv(i['cv_after'])}"
                                 f"（≤ {i['threshold']}），新增 added +{i['added']:,g}")
            if "composite_cv_2012" in sp:
                cc = sp["composite_cv_2012"]
                lines.append(f"  综合差异系数 composite CV: {_cv(cc['before'])} → {_cv(cc['after'])} (≤ {cc['threshold']})")
            if sp.get("needs_data"):
                lines.append(f"  缺数据 needs data: {'；'.join(w.rule(c.get('ruleset'), r) for r in sp['needs_data'])}")
            if not moved and "composite_cv_2012" not in sp:
                lines.append("  差异系数均已达标 every CV already under its limit")
    lines.append("\n学校 Schools（按费用排序 by cost to pass）:")
    order = {(r["school_id"], r["stage"]): r["rank"] for r in plan["ranking"]}
    schools = sorted(plan["schools"], key=lambda x: (order.get((x["school_id"], x["stage"]), 10**9), x["school_id"]))
    for x in schools:
        if not (x["additions"] or x["structural"] or x["needs_data"]):
            continue
        ruleset = x.get("ruleset")
        lines.append(f"  {x['school_id']} {x.get('school_name') or ''} {w.stage(x['stage'])}: "
                     f"{w.status(x['status_before'])} → {w.status(x['status_after'])}，"
                     f"首年 first year {_yuan(x['cost']['first_year_yuan'])} 元")
        for a in x["additions"]:
            why = "；".join(w.rule(ruleset, r) for r in a["for"]) or "县域差异系数 county CVs"
            lines.append(f"      {w.field(a['field'])} {w.addition(a)}  ← {why}")
        if x["cost"]["unpriced"]:
            named = "、".join(f"{w.unpriced(k)} {k}" for k in x["cost"]["unpriced"])
            lines.append(f"      未定价 not priced: {named}")
        for r in x["structural"]:
            lines.append(f"      增量无法解决 not fixable by additions: {w.shortfall(ruleset, r)}")
        if x["needs_data"]:
            lines.append(f"      缺数据 needs data: {'；'.join(w.rule(ruleset, r) for r in x['needs_data'])}")
            if x.get("needs_fields"):
                lines.append(f"        请填写 fill in: {inputs_text(x['needs_fields'])}")
    if plan.get("rejected"):
        lines.append(f"\n被拒记录 Rejected records ({len(plan['rejected'])})，未列入方案 not planned:")
        lines += problem_lines(plan["rejected"], limit=30)
    return "\n".join(lines) + "\n"


def exit_code(plan: dict[str, Any]) -> int:
    """0 when every school and county passes after the plan and no row was rejected, else 1."""
    s = plan["summary"]
    counties = s.get("counties_after") or {}
    ok = (s["schools_passing_after"] == s["schools"] and not counties.get("fail") and not counties.get("incomplete")
          and not plan.get("rejected"))
    return 0 if ok else 1
