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


def render_table(report: "Report", limit: int = 30) -> str:
    s = report.summary()
    r = s["records"]
    lines = [
        "edubalance report 义务教育均衡发展评估",
        f"Packs: {', '.join(p['id'] + ' ' + p['revision'] for p in report.packs) or 'none'}"
        f"   Engine: {report.engine or '—'}",
        f"Records 记录: {r['read']} read, {r['evaluated']} evaluated, {r['rejected']} rejected",
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
            for reason in (prog.get("reasons") or [])[:8]:
                lines.append(f"    - {reason}")
        for stage, st in (c.get("stages") or {}).items():
            cv = st.get("cv") or {}
            shown = ", ".join(f"{k} {_fmt(v, 3)}" for k, v in cv.items())
            lines.append(f"  {stage}: {st.get('schools_in_scope', 0)} schools in scope; CV 差异系数: {shown or '—'}")
            if st.get("composite_cv_2012") is not None:
                lines.append(f"    composite CV 2012 综合差异系数: {_fmt(st['composite_cv_2012'], 3)}")
            for ex in (st.get("excluded") or [])[:10]:
                lines.append(f"    excluded 不计入: {ex.get('school_id')} {ex.get('school_name') or ''} — {ex.get('reason')}")
        for need in (c.get("needs") or [])[:5]:
            lines.append(f"  needs 需补充: {need}")
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
            lines.append(f"  … and {n_failing - limit} more (use --format json for all)")
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
