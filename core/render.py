"""The text report for people: the summary first, then counties, failing schools, rejected rows.

Rule titles are shown in Chinese with the English after them; a threshold that is provisional
(partly confirmed or unconfirmed in the standards) is marked with ``*``.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Sequence

from .county_rejected import REJECTED_SCHOOLS_HEADING
from .problems import problem_lines, record_name
from .fields import SHARE_UNITS, unit_zh
from .reports.view import OPERATOR_ZH, inputs_text, missing_inputs, status_text

if TYPE_CHECKING:
    from .report import Report

def _fmt(v: Any, digits: int = 2) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:.{digits}f}".rstrip("0").rstrip(".") if abs(v) < 1e6 else f"{v:,.0f}"
    return str(v)


def _in_unit(rule: dict, v: Any, digits: int = 2, unit: bool = True) -> str:
    """A rule's value or threshold as its readers write it: a share in percent (``97%``), any
    other number with its unit (``4.2 人/百生``; ``unit=False``: the number alone)."""
    if rule["unit"] in SHARE_UNITS and isinstance(v, (int, float)) and not isinstance(v, bool):
        return f"{_fmt(float(v) * 100, digits)}%"
    return f"{_fmt(v, digits)} {unit_zh(rule['unit'])}" if unit else _fmt(v, digits)


def _required(rule: dict, threshold: Any, digits: int = 2) -> str:
    """``要求 required ≥ 4.2``: the comparison a value is held to."""
    return f"要求 required {OPERATOR_ZH.get(rule['operator'], rule['operator'])} {_in_unit(rule, threshold, digits, False)}"


def _verdict_line(rule: dict, v: dict, missing: Sequence[str] = ()) -> str:
    """One finding: the rule's title (from the catalogue), what was measured, what is required;
    for missing data, the record fields to fill in (``missing``), else the measure."""
    star = "*" if rule["threshold_status"] == "provisional" else ""
    title = f"{rule['title']['zh']} {rule['title']['en']}"
    if v["status"] == "missing_data":
        what = f" — 缺 {inputs_text(missing)}" if missing else f" ({rule['measure']})"
        return f"{title}: 缺少数据 missing data{what} [{v['rule_id']}]"
    return f"{title}: {_in_unit(rule, v['value'])}, {_required(rule, v['threshold'])}{star} [{v['rule_id']}]"


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
    return f"{title}: {_in_unit(rule, v['value'], 3)}, {_required(rule, v['threshold'], 3)}{star}{veto}"


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


def records_line(read: int, kept: int, kept_word: str, rejected: int, skipped: int = 0) -> str:
    """The count of records read, kept, rejected and skipped (rows that are not records), Chinese first."""
    zh, en = kept_word.split()
    return (f"记录 Records: 读取 {read} read, {zh} {kept} {en}, 被拒 {rejected} rejected"
            + (f", 跳过 {skipped} skipped" if skipped else ""))


def county_records_line(read: int, accepted: int, rejected: int) -> str:
    """The count of county records read, accepted and rejected, Chinese first."""
    return "县级" + records_line(read, accepted, "通过 accepted", rejected).replace("Records", "county records", 1)


def cv_names(ruleset: dict) -> dict[str, str]:
    """The Chinese name of each indicator a county CV is taken of, from the rule catalogue: the
    county CV rule's title without its "校际差异系数", else the school rule's title."""
    names: dict[str, str] = {}
    for rule in (ruleset.get("rules") or {}).values():
        names.setdefault(rule["measure"], re.sub(r"[（(].*", "", rule["title"]["zh"]))
    for rule in (ruleset.get("county_rules") or {}).values():
        measure = rule["measure"]
        if measure.startswith("cv_") and rule["title"]["zh"].endswith("校际差异系数"):
            names[measure[3:]] = rule["title"]["zh"][:-len("校际差异系数")]
    return names


def _withheld_lines(c: dict, limit: int) -> list[str]:
    """Why a county has no verdict: its rejected school rows, or no school record at all."""
    lines = [f"  ! {c['status_reason']}"] if c.get("status_reason") else []
    rejected = c.get("rejected_schools") or []
    if rejected:
        lines.append(f"  {REJECTED_SCHOOLS_HEADING} ({len(rejected)}):")
        lines += [f"    {r['file']}:{r['row']} {r.get('school_id') or '?'} {r.get('school_name') or ''} — {r['reason']}"
                  for r in rejected[:limit]]
        if len(rejected) > limit:
            lines.append(f"    … 另有 {len(rejected) - limit} 条 and {len(rejected) - limit} more")
    if c.get("needs_schools"):
        lines.append(f"  需补充 needs: {c['needs_schools']['message']} ({len(c['needs_schools']['rules'])} 项 items)")
    return lines


def _rejected_county_lines(report: "Report", limit: int) -> list[str]:
    """County records that failed validation: where, which county, and every reason."""
    if not report.county_rejected:
        return []
    lines = [f"被拒县级记录 Rejected county records ({len(report.county_rejected)}):"]
    for rej in report.county_rejected[:limit]:
        lines.append(f"  {rej['file']}:{rej['row']} {record_name(rej) or '?'}")
        lines += [f"      {p['code']} {p['message']}" for p in rej["problems"]]
    if len(report.county_rejected) > limit:
        lines.append(f"  … 另有 {len(report.county_rejected) - limit} 条 and {len(report.county_rejected) - limit} more")
    lines.append("")
    return lines


def render_table(report: "Report", limit: int = 30) -> str:
    s = report.summary()
    r = s["records"]
    lines = [
        "义务教育均衡发展评估报告 edubalance report",
        f"规则包 Packs: {', '.join(p['id'] + ' ' + p['revision'] for p in report.packs) or '无 none'}"
        f"   引擎 Engine: {report.engine or '—'}",
        records_line(r["read"], r["evaluated"], "评估 evaluated", r["rejected"], r.get("skipped", 0)),
        "学校 Schools: " + ", ".join(f"{n} {status_text(k)}" for k, n in s["schools"].items() if n or k != "not_applicable"),
    ]
    if report.county_read:
        county_rejected = len(report.county_rejected)
        lines.append(county_records_line(report.county_read, report.county_read - county_rejected, county_rejected))
    lines += [f"注 Note: {note}" for note in report.notes]
    if report.counties:
        lines.append("县 Counties: " + ", ".join(f"{n} {status_text(k)}" for k, n in s["counties"].items()))
    lines.append("")

    for c in report.counties:
        name = c.get("county_name") or ""
        score = c.get("score", {}).get("overall")
        lines.append(f"县 County {c['county_code']} {name} ({c['year']}): {status_text(c['status'])}, "
                     f"得分 score {_fmt(score, 1)}")
        lines += _withheld_lines(c, limit)
        no_schools = c.get("needs_schools")
        for key, title in (("basic_balance", "基本均衡 Basic balance (2012)"),
                           ("quality_balance", "优质均衡 High-quality balance (2017)")):
            prog = c.get(key) or {}
            lines.append(f"  {title}: {status_text(prog.get('status'))}")
            if prog.get("status") == "not_applicable":
                lines += [f"    - {reason}" for reason in prog.get("reasons") or []]
                continue
            programme = PROGRAMMES[key]
            findings = [line for v, rule, line in county_findings(report.rulesets, c) if programme in rule.get("programme", ())
                        and not (no_schools and v["stage"] != "county" and v["status"] == "missing_data")]
            lines += [f"    - {line}" for line in findings[:8]]
            if len(findings) > 8:
                lines.append(f"    - … 另有 {len(findings) - 8} 项 and {len(findings) - 8} more")
        names = cv_names(report.rulesets.get(c.get("ruleset") or "", {}))
        for stage, st in (c.get("stages") or {}).items() if not no_schools else ():
            cv = st.get("cv") or {}
            not_applicable = st.get("cv_not_applicable") or {}
            shown = not_applicable.get("quality_2017")
            lines.append(f"  {STAGE_NAMES.get(stage, stage)}: 计入 {st.get('schools_in_scope', 0)} 所学校 "
                         f"{st.get('schools_in_scope', 0)} schools in scope; 差异系数 CV:"
                         f"{' ' + shown if shown else '' if cv else ' —'}")
            if not shown:
                lines += [f"    {names.get(k, k)} {k}: {_fmt(v, 3)}" for k, v in cv.items()]
            if st.get("composite_cv_2012") is not None:
                lines.append(f"    2012 综合差异系数 composite CV 2012: {_fmt(st['composite_cv_2012'], 3)}")
            elif not_applicable.get("basic_2012"):
                lines.append(f"    2012 综合差异系数 composite CV 2012: {not_applicable['basic_2012']}")
            for ex in (st.get("excluded") or [])[:10]:
                lines.append(f"    不计入 excluded: {ex.get('school_id')} {ex.get('school_name') or ''} — {ex.get('reason')}")
        for need in c.get("needs") or []:
            lines.append(f"  需补充 needs: 县级记录的 {need['label']} ({need['field']}), "
                         f"for {', '.join(need.get('rules') or [])}")
        lines.append("")
    lines += _rejected_county_lines(report, limit)

    n_failing, failing = report.schools_with_findings(limit)
    if failing:
        lines.append(f"有问题的学校 Schools with findings ({n_failing}):")
        for x in failing:
            lines.append(f"  {x['school_id']} {x.get('school_name') or ''} [{STAGE_NAMES.get(x['stage'], x['stage'])}] "
                         f"{status_text(x['status'])}, 得分 score {_fmt(x['score']['overall'], 1)}")
            rules = report.rulesets[x["ruleset"]]["rules"]
            for v in x["verdicts"]:
                rule = report.rule_of(x, v)
                if v["status"] == "fail" or (v["status"] == "missing_data" and rule["severity"] != "scored"):
                    missing = missing_inputs(rules, x, rule) if v["status"] == "missing_data" else []
                    lines.append(f"      - {_verdict_line(rule, v, missing)}")
            f = x.get("funding") or {}
            if f.get("shortfall_yuan"):
                lines.append(f"      - 公用经费缺口 funding shortfall: {_fmt(f['shortfall_yuan'])} 元 yuan"
                             f"（应拨 entitled {_fmt(f['entitlement_yuan'])}，实拨 received {_fmt(f['received_yuan'])}）")
        if n_failing > limit:
            lines.append(f"  … 另有 {n_failing - limit} 所 and {n_failing - limit} more "
                         f"（全部见 all of them: -o report.xlsx, -o report.html or --format json）")
        lines.append("")

    if report.rejected:
        lines.append(f"被拒记录 Rejected records ({len(report.rejected)}):")
        lines += problem_lines(report.rejected, limit=limit)
        lines.append("")
    if report.warnings:
        lines.append(f"警告 Warnings ({len(report.warnings)}):")
        lines += problem_lines((), report.warnings, limit=limit)
        lines.append("")
    if s["provisional_thresholds_used"]:
        lines.append("* 暂定阈值 provisional threshold（未经正式文件确认 not confirmed in an official text）: "
                     + ", ".join(s["provisional_thresholds_used"]))
    return "\n".join(lines).rstrip() + "\n"
