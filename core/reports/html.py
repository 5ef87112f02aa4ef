"""The HTML report: one self-contained page — summary, counties, what to fix first, every school;
and the plan (``edubalance plan … -o plan.html``): what each school and county needs, and its cost.

The page loads nothing: styles are inside it and the charts are inline SVG whose text the
browser draws in its own fonts, so it works on an intranet with no internet. Printed, each
school starts a new page. The pages are laid out by jinja2 templates (``templates/report.html.j2``,
``templates/plan.html.j2``) that share one style sheet.
"""
from __future__ import annotations

from pathlib import Path
from textwrap import fill
from typing import Any, Mapping

import jinja2

from ..county_rejected import REJECTED_SCHOOLS_HEADING
from ..fields import SHARE_UNITS, label, unit_zh
from ..render import county_findings, county_missing_causes
from . import charts
from .view import (DIMENSION_ZH, NOT_LISTED, OPERATOR_ZH, PROGRAMME_ZH, SEVERITY_ZH, STAGE_ZH, ReportView,
                   missing_inputs, number_text, status_text)

#: A page of more school records than this is too big for a browser (20,000 records made a
#: 167 MB page in two minutes); such a report goes to Excel or is split by county.
MAX_SCHOOLS = 5000
#: The CVs drawn per county and stage: the 2017 indicators (their thresholds are per stage).
CV_RULE_PREFIX = "national.county.cv_"

_ENV = jinja2.Environment(loader=jinja2.PackageLoader("edubalance.reports", "templates"),
                          autoescape=True, trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)
_ENV.filters["num"] = number_text
_ENV.filters["status"] = status_text
_ENV.filters["unit"] = lambda u: f"{unit_zh(u)}" if unit_zh(u) != u else u
#: A verdict's value, threshold or gap in its rule's unit: a share in percent (97%), else the number.
_ENV.filters["measured"] = lambda v, unit, digits=2: (
    f"{number_text(v * 100, digits)}%" if unit in SHARE_UNITS and isinstance(v, (int, float)) else number_text(v, digits))
#: The unit written after such a number (none after a percentage).
_ENV.filters["unit_after"] = lambda u: "" if u in SHARE_UNITS else (unit_zh(u) if unit_zh(u) != u else u)
_ENV.globals.update(STAGE_ZH=STAGE_ZH, SEVERITY_ZH=SEVERITY_ZH, DIMENSION_ZH=DIMENSION_ZH, PROGRAMME_ZH=PROGRAMME_ZH,
                    OPERATOR_ZH=OPERATOR_ZH, COLOURS=charts.COLOURS, REJECTED_SCHOOLS_HEADING=REJECTED_SCHOOLS_HEADING)
#: What a report made with ``--verdicts findings`` lists for each school.
FINDINGS_ONLY = "仅列出未达标和缺数据的规则 failed and missing-data rules only (--verdicts findings)"
_ENV.globals["FINDINGS_ONLY"] = FINDINGS_ONLY


def write_html(report: Any, path: Path) -> None:
    path.write_text(render_html(report), encoding="utf-8")


def render_html(report: Any) -> str:
    n = report.summary()["records"]["evaluated"]
    if n > MAX_SCHOOLS:
        raise ValueError(f"HTML 报告最多 {MAX_SCHOOLS:,} 个学校记录，本次有 {n:,} 个：请用 -o report.xlsx，"
                         f"或按县分别评估 / an HTML report holds at most {MAX_SCHOOLS:,} school records and this one "
                         f"has {n:,}: write -o report.xlsx, or evaluate county by county")
    view = ReportView(report)
    return _ENV.get_template("report.html.j2").render(
        view=view, data=view.data, summary=view.summary, counties=_counties(view), fix=view.fix_first(),
        indicators=_indicator_charts(view), schools=_schools(view), funding=_funding(view),
        score_chart=charts.score_chart([(s["score"]["overall"], s["status"]) for s in view.schools], "scores")
        if view.schools else None,
        rejected=view.rejected_problems(), rejected_counties=view.rejected_county_rows(),
        provisional=view.provisional_rules(),
        years=sorted({cat["year"] for cat in view.rulesets.values()}))


def write_plan_html(plan: Mapping[str, Any], path: str | Path, catalogues: Mapping[str, Any]) -> None:
    Path(path).write_text(render_plan_html(plan, catalogues), encoding="utf-8")


def render_plan_html(plan: Mapping[str, Any], catalogues: Mapping[str, Any]) -> str:
    """The plan as a printable page, Chinese first. ``catalogues`` maps each of its rule sets
    (``"guizhou/2023"``) to the evaluator's catalogue, for the rules' titles (the plan holds ids)."""
    from .plan_words import TARGET_ZH, PlanWords
    words = PlanWords(plan, catalogues)
    order = {(r["school_id"], r["stage"]): r["rank"] for r in plan["ranking"]}
    schools = sorted((x for x in plan["schools"] if x["additions"] or x["structural"] or x["needs_data"]),
                     key=lambda x: (order.get((x["school_id"], x["stage"]), len(order)), x["school_id"], x["stage"]))
    return _ENV.get_template("plan.html.j2").render(
        plan=plan, s=plan["summary"], t=plan["totals"], schools=schools, items={k: words.item(k) for k in words.items},
        title=words.title, item_unit=words.item_unit, unpriced=words.unpriced, label=label, TARGET_ZH=TARGET_ZH,
        provisional=any(c.get("provisional") for c in plan["costs"].values()))


def _counties(view: ReportView) -> list[dict[str, Any]]:
    out = []
    for k, c in enumerate(view.counties):
        cvs = []
        for stage in ("primary", "junior"):
            vs = [v for v in c["verdicts"] if v["stage"] == stage and v["rule_id"].startswith(CV_RULE_PREFIX)]
            if not vs or all(v["value"] is None for v in vs):      # no CV (too few schools, no school data)
                continue
            labels = [view.county_rule(c, v["rule_id"])["title"]["zh"].replace("校际差异系数", "") for v in vs]
            thresholds = {v["threshold"] for v in vs if v["threshold"] is not None}
            threshold = thresholds.pop() if len(thresholds) == 1 else None
            cvs.append(charts.cv_chart(f"{c.get('county_name') or c['county_code']} {STAGE_ZH[stage]}校际差异系数\n"
                                       f"inter-school CVs, {stage}", labels,
                                       [v["value"] for v in vs], threshold, f"cv{k}{stage}"))
        findings = []
        for v, rule, _ in county_findings(view.rulesets, c):
            causes, needs = county_missing_causes(c, v, rule) if v["status"] == "missing_data" else ([], [])
            findings.append({"v": v, "rule": rule, "causes": causes, "needs": needs})
        out.append({"c": c, "cv_charts": cvs, "findings": findings})
    return out


def _indicator_charts(view: ReportView) -> list[dict[str, Any]]:
    """One chart per school rule with a value and a threshold for at least one school."""
    out = []
    for k, rc in enumerate(view.rule_columns):
        d = rc.desc
        if d["unit"] in ("yes/no", "yes (1) / no (0)"):
            continue
        rows = []
        for s in view.schools:
            v = next((x for x in s["verdicts"] if x["rule_id"] == rc.rule_id), None)
            if v is None or v["status"] == "not_applicable" or not charts.finite(v["value"]):
                continue
            rows.append({"label": f"{s.get('school_name') or s['school_id']}（{STAGE_ZH[s['stage']]}）",
                         "value": v["value"], "threshold": v["threshold"], "status": v["status"]})
        if not rows or not any(r["threshold"] is not None for r in rows):
            continue
        n_fail = sum(r["status"] == "fail" for r in rows)
        out.append({"rule_id": rc.rule_id, "desc": d, "fails": n_fail,
                    "svg": charts.indicator_chart(f"{d['title']['zh']}\n{fill(d['title']['en'], 70)}",
                                                  f"{unit_zh(d['unit'])} {d['unit']}", rows, f"ind{k}")})
    return out


def _schools(view: ReportView) -> list[dict[str, Any]]:
    out = []
    for s in sorted(view.schools, key=lambda s: (s["county_code"], s["school_id"], s["stage"])):
        rows = []
        rules = view.rulesets[s["ruleset"]]["rules"]
        listed = {v["rule_id"]: v for v in s["verdicts"]}
        measures = s.get("measures") or {}
        # --verdicts findings lists a school's failed and missing-data verdicts; its other rules
        # still show the school's own value, unjudged, as in the workbook.
        for rule_id in (listed if view.all_verdicts else rules):
            d = view.school_rule(s, rule_id)
            v = listed.get(rule_id) or {"rule_id": rule_id, "status": NOT_LISTED, "value": measures.get(d["measure"]),
                                        "threshold": None, "gap": None}
            missing = missing_inputs(rules, s, d) if v["status"] == "missing_data" else []
            rows.append({"v": v, "rule": d, "missing": [(label(f), f) for f in missing]})
        out.append({"s": s, "rows": rows, "anchor": f"school-{s['school_id']}-{s['stage']}"})
    return out


def _funding(view: ReportView) -> dict[str, Any]:
    short = [(f"{s.get('school_name') or s['school_id']}（{STAGE_ZH[s['stage']]}）", s["funding"]["shortfall_yuan"])
             for s in view.schools if (s.get("funding") or {}).get("shortfall_yuan")]
    # The totals are of the schools with both amounts, whose shortfall is known: an entitlement
    # summed without its school's amount received would read as money not paid.
    funds = [s.get("funding") or {} for s in view.schools]
    both = [f for f in funds if f.get("entitlement_yuan") is not None and f.get("received_yuan") is not None]
    return {"rows": short, "total": sum(v for _, v in short), "schools": len(both),
            "entitled": sum(f["entitlement_yuan"] for f in both), "received": sum(f["received_yuan"] for f in both),
            "unknown": sum(1 for f in funds if f.get("entitlement_yuan") is not None and f.get("received_yuan") is None),
            "svg": charts.funding_chart(short, "funding") if short else None}
