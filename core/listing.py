"""What ``edubalance rules`` shows: each rule in force with threshold, status and source."""
from __future__ import annotations

from typing import Any

from .fields import unit_zh
from .reports.view import DIMENSION_ZH, SEVERITY_ZH, THRESHOLD_STATUS_ZH
from .rulepack import compile_ruleset, in_force


def _threshold_text(rule) -> str:
    if rule.threshold_measure:
        return f"{rule.operator} {rule.threshold_measure}"
    if rule.kind == "count_met":
        return f"≥ {_n(next(iter(rule.thresholds.values()), 0))} of {len(rule.of)}, others ≥ {rule.min_ratio:.0%}"
    parts = [f"{s} {rule.operator} {_n(v)}" for s, v in rule.thresholds.items()]
    return "; ".join(parts)


def _n(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:g}"


def rules_listing(evaluator, province: str, year: int | None) -> dict[str, Any]:
    rs = compile_ruleset(evaluator.registry, province, year)
    def row(r, level):
        return {
            "rule_id": r.id, "level": level, "pack": r.pack, "title": {"zh": r.title_zh, "en": r.title_en},
            "dimension": r.dimension, "severity": r.severity, "weight": r.weight, "measure": r.measure,
            "threshold": _threshold_text(r), "unit": r.unit, "scope": r.scope_text,
            "threshold_status": r.threshold_status, "source": r.source,
            "effective": {"from": r.effective_from, "to": r.effective_to},
        }
    funding = []
    for name, entries in (rs.parameters.get("funding") or {}).items():
        shown = entries if year is None else in_force(entries, year)
        for k, e in enumerate(shown):
            # In one year a school takes the first entry whose condition holds, so an entry
            # behind one with the same (or no) condition is never used that year.
            hidden = year is not None and any(not p.get("applies_when") or p.get("applies_when") == e.get("applies_when")
                                              for p in shown[:k])
            funding.append({"parameter": name, "pack": e.get("pack", ""), **e, "shadowed": hidden})
    return {
        "province": province, "year": year, "packs": rs.packs,
        "rules": [row(r, "school") for r in rs.rules + rs.composites] + [row(r, "county") for r in rs.county_rules],
        "funding": funding,
    }


def render_rules(data: dict[str, Any]) -> str:
    packs = " → ".join(f"{p['id']} {p['revision']}" for p in data["packs"])
    year = f"{data['year']} 年 ({data['year']})" if data["year"] else "全部年份 (all years)"
    lines = [f"{data['province']} {year} 的规则 rules: {packs}",
             f"{len(data['rules'])} 条规则 rules; * = 暂定阈值 provisional threshold", ""]
    for r in data["rules"]:
        star = "*" if r["threshold_status"] == "provisional" else ""
        eff = r["effective"]
        years = ""
        if eff["from"] or eff["to"]:
            years = f" [{eff['from'] or ''}–{eff['to'] or ''}]"
        lines.append(f"{r['rule_id']}{years}  {r['title']['zh']} / {r['title']['en']}")
        lines.append(f"    {r['measure']}: {r['threshold']} {unit_zh(r['unit'])}{star}  "
                     f"（{SEVERITY_ZH.get(r['severity'], r['severity'])} {r['severity']}, "
                     f"{DIMENSION_ZH.get(r['dimension'], r['dimension'])} {r['dimension']}, 权重 weight {_n(r['weight'])}, "
                     f"{THRESHOLD_STATUS_ZH.get(r['threshold_status'], '')} {r['threshold_status']}）")
        if r["scope"]:
            lines.append(f"    适用条件 applies when: {r['scope']}")
        src = r["source"]
        lines.append(f"    出处 source: {src.get('document')}{' ' + src['clause'] if src.get('clause') else ''}")
    if data["funding"]:
        lines.append("")
        lines.append("公用经费参数（每所学校取第一条适用的）Public funds parameters (a school takes the first entry "
                     "of each that applies to it):")
        for f in data["funding"]:
            values = ", ".join(f"{k} {f[k]}" for k in ("primary", "junior", "pupils", "per_boarder", "per_pupil") if k in f)
            years = f"[{f.get('from') or ''}–{f.get('to') or ''}]"
            star = "*" if f["threshold_status"] == "provisional" else ""
            when = f" 适用条件 when {f['applies_when']}" if f.get("applies_when") else ""
            unused = "  — 被前一条覆盖 unused: an earlier entry covers the same schools" if f.get("shadowed") else ""
            pack = f"{f['pack']}: " if f.get("pack") else ""
            lines.append(f"  {f['parameter']} {years}: {values}{star}{when}  ({pack}{f['threshold_status']}){unused}")
            lines.append(f"      出处 source: {f['source'].get('document')}"
                         + (f" {f['source']['clause']}" if f["source"].get("clause") else ""))
    return "\n".join(lines) + "\n"
