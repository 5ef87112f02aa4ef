"""The text report for people: the summary first, then counties, failing schools, rejected rows.

Rule titles are shown in Chinese with the English after them; a threshold that is provisional
(partly confirmed or unconfirmed in the standards) is marked with ``*``.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .report import Report

STATUS_ZH = {"pass": "达标 pass", "fail": "未达标 fail", "incomplete": "数据不全 incomplete",
             "not_applicable": "不适用 not applicable"}


def _fmt(v: Any, digits: int = 2) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:.{digits}f}".rstrip("0").rstrip(".") if abs(v) < 1e6 else f"{v:,.0f}"
    return str(v)


def _verdict_line(rule: dict, v: dict) -> str:
    """One finding: the rule's title (from the catalogue), what was measured, what is required."""
    star = "*" if rule["threshold_status"] == "provisional" else ""
    title = f"{rule['title']['zh']} {rule['title']['en']}"
    if v["status"] == "missing_data":
        return f"{title}: missing data 缺少数据 ({rule['measure']}) [{v['rule_id']}]"
    return (f"{title}: {_fmt(v['value'])} {rule['unit']}, required {rule['operator']} {_fmt(v['threshold'])}{star}"
            f" [{v['rule_id']}]")


PROGRAMMES = {"basic_balance": "basic_2012", "quality_balance": "quality_2017"}
STAGE_NAMES = {"primary": "小学 primary", "junior": "初中 junior", "county": ""}


def _county_verdict_line(rule: dict, v: dict, causes: list[dict], needs: list[dict]) -> str:
    """One county finding in words: a count of schools as schools, a missing value with the
    schools (for a CV) or the county-record fields that left it without one."""
    stage = STAGE_NAMES.get(v["stage"], v["stage"])
    title = f"{rule['title']['zh']} {rule['title']['en']}" + (f" [{stage}]" if stage else "")
    star = "*" if rule["threshold_status"] == "provisional" else ""
    veto = " — 一票否决 veto" if rule["severity"] == "veto" else ""
    if v["status"] == "missing_data":
        why = "; ".join([f"{m.get('school_name') or ''} {m['school_id']} 缺 {m.get('label')} ({m.get('field')})".strip()
                         for m in causes] + [f"县级记录缺 {n['label']} ({n['field']})" for n in needs])
        return f"{title}: 缺少数据 missing data" + (f" — {why}" if why else f" ({rule['measure']})") + veto
    if rule["unit"] == "schools" and rule["operator"] == "<=" and not v["threshold"]:
        n = int(v["value"])
        return f"{title}: {n} 所学校未达到 {n} school{'s' if n != 1 else ''} fail{'s' if n == 1 else ''}{veto}"
    return (f"{title}: {_fmt(v['value'], 3)} {rule['unit']}, required {rule['operator']} "
            f"{_fmt(v['threshold'], 3)}{star}{veto}")


def county_findings(rulesets: dict, county: dict) -> list[tuple[dict, dict, str]]:
    """A county's failed and missing-data verdicts (vetoes first) with the line that says each."""
    rules = rulesets[county["ruleset"]]["county_rules"]
    out = []
    for v in county.get("verdicts") or []:
        if v["status"] not in ("fail", "missing_data"):
            continue
        rule = rules[v["rule_id"]]
        causes, needs = county_missing_causes(county, v, rule) if v["status"] == "missing_data" else ([], [])
        out.append((v, rule, _county_verdict_line(rule, v, causes, needs)))
    return sorted(out, key=lambda x: (x[1]["severity"] != "veto", x[0]["status"] != "fail"))


def county_missing_causes(county: dict, verdict: dict, rule: dict) -> tuple[list[dict], list[dict]]:
    """Why a county verdict has no value: the schools and fields that leave a CV (or the 2012
    composite of CVs) without one, and the county-record fields it needs."""
    stage = (county.get("stages") or {}).get(verdict["stage"]) or {}
    measure = rule["measure"]
    schools = [m for m in stage.get("missing") or []
               if measure in (m.get("cvs") or [])
               or (measure == "composite_cv_2012" and any(cv.startswith("cv2012_") for cv in m.get("cvs") or []))]
    needs = [n for n in county.get("needs") or [] if verdict["rule_id"] in (n.get("rules") or [])]
    return schools, needs


def render_table(report: "Report", limit: int = 30) -> str:
    s = report.summary()
    r = s["records"]
    lines = [
        "edubalance report 义务教育均衡发展评估",
        f"Packs: {', '.join(p['id'] + ' ' + p['revision'] for p in report.packs) or 'none'}"
        f"   Engine: {report.engine or '—'}",
        f"Records 记录: {r['read']} read, {r['evaluated']} evaluated, {r['rejected']} rejected, "
        f"{r.get('skipped', 0)} skipped",
        "Schools 学校: " + ", ".join(f"{n} {STATUS_ZH[k]}" for k, n in s["schools"].items() if n or k != "not_applicable"),
    ]
    if report.counties:
        lines.append("Counties 县: " + ", ".join(f"{n} {STATUS_ZH[k]}" for k, n in s["counties"].items()))
    lines.append("")

    for c in report.counties:
        name = c.get("county_name") or ""
        score = c.get("score", {}).get("overall")
        lines.append(f"County 县 {c['county_code']} {name} ({c['year']}): {STATUS_ZH.get(c['status'], c['status'])}, "
                     f"score {_fmt(score, 1)}")
        for key, title in (("basic_balance", "Basic balance 基本均衡 (2012)"),
                           ("quality_balance", "High-quality balance 优质均衡 (2017)")):
            prog = c.get(key) or {}
            lines.append(f"  {title}: {STATUS_ZH.get(prog.get('status'), prog.get('status'))}")
            if prog.get("status") == "not_applicable":
                lines += [f"    - {reason}" for reason in prog.get("reasons") or []]
                continue
            programme = PROGRAMMES[key]
            findings = [line for v, rule, line in county_findings(report.rulesets, c) if programme in rule.get("programme", ())]
            lines += [f"    - {line}" for line in findings[:8]]
            if len(findings) > 8:
                lines.append(f"    - … 另有 {len(findings) - 8} 项 and {len(findings) - 8} more")
        for stage, st in (c.get("stages") or {}).items():
            cv = st.get("cv") or {}
            shown = ", ".join(f"{k} {_fmt(v, 3)}" for k, v in cv.items())
            lines.append(f"  {stage}: {st.get('schools_in_scope', 0)} schools in scope; CV 差异系数: {shown or '—'}")
            if st.get("composite_cv_2012") is not None:
                lines.append(f"    composite CV 2012 综合差异系数: {_fmt(st['composite_cv_2012'], 3)}")
            for ex in (st.get("excluded") or [])[:10]:
                lines.append(f"    excluded 不计入: {ex.get('school_id')} {ex.get('school_name') or ''} — {ex.get('reason')}")
        for need in c.get("needs") or []:
            lines.append(f"  需补充 needs: 县级记录的 {need['label']} ({need['field']}), "
                         f"for {', '.join(need.get('rules') or [])}")
        lines.append("")

    n_failing, failing = report.schools_with_findings(limit)
    if failing:
        lines.append(f"Schools with findings 有问题的学校 ({n_failing}):")
        for x in failing:
            lines.append(f"  {x['school_id']} {x.get('school_name') or ''} [{x['stage']}] "
                         f"{STATUS_ZH[x['status']]}, score {_fmt(x['score']['overall'], 1)}")
            for v in x["verdicts"]:
                rule = report.rule_of(x, v)
                if v["status"] == "fail" or (v["status"] == "missing_data" and rule["severity"] != "scored"):
                    lines.append(f"      - {_verdict_line(rule, v)}")
            f = x.get("funding") or {}
            if f.get("shortfall_yuan"):
                lines.append(f"      - 公用经费缺口 funding shortfall: {_fmt(f['shortfall_yuan'])} yuan "
                             f"(entitled {_fmt(f['entitlement_yuan'])}, received {_fmt(f['received_yuan'])})")
        if n_failing > limit:
            lines.append(f"  … 另有 {n_failing - limit} 所 and {n_failing - limit} more "
                         f"(all of them: -o report.xlsx, -o report.html or --format json)")
        lines.append("")

    if report.rejected:
        lines.append(f"Rejected records 被拒记录 ({len(report.rejected)}):")
        for rej in report.rejected[:limit]:
            lines.append(f"  {rej['file']}:{rej['row']} {rej.get('school_id') or '?'} {rej.get('school_name') or ''}")
            for p in rej["problems"]:
                lines.append(f"      {p['code']} {p['message']}")
        lines.append("")
    if s["provisional_thresholds_used"]:
        lines.append("* provisional threshold 暂定阈值 (not confirmed in an official text): "
                     + ", ".join(s["provisional_thresholds_used"]))
    return "\n".join(lines).rstrip() + "\n"
