"""What ``edubalance rules`` shows: each rule in force with threshold, status and source."""
from __future__ import annotations

from typing import Any

from .rulepack import compile_ruleset


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
        for e in entries:
            if year is None or ((e.get("from") is None or year >= e["from"]) and (e.get("to") is None or year <= e["to"])):
                funding.append({"parameter": name, **e})
    return {
        "province": province, "year": year, "packs": rs.packs,
        "rules": [row(r, "school") for r in rs.rules + rs.composites] + [row(r, "county") for r in rs.county_rules],
        "funding": funding,
    }


def render_rules(data: dict[str, Any]) -> str:
    packs = " → ".join(f"{p['id']} {p['revision']}" for p in data["packs"])
    head = f"{data['province']}" + (f" ({data['year']})" if data["year"] else " (all years)")
    lines = [f"Rules of {head}: {packs}", f"{len(data['rules'])} rules; * = provisional threshold", ""]
    for r in data["rules"]:
        star = "*" if r["threshold_status"] == "provisional" else ""
        eff = r["effective"]
        years = ""
        if eff["from"] or eff["to"]:
            years = f" [{eff['from'] or ''}–{eff['to'] or ''}]"
        lines.append(f"{r['rule_id']}{years}  {r['title']['zh']} / {r['title']['en']}")
        lines.append(f"    {r['measure']}: {r['threshold']} {r['unit']}{star}  ({r['severity']}, {r['dimension']}, "
                     f"weight {_n(r['weight'])}, {r['threshold_status']})")
        if r["scope"]:
            lines.append(f"    applies when: {r['scope']}")
        src = r["source"]
        lines.append(f"    source: {src.get('document')}{' ' + src['clause'] if src.get('clause') else ''}")
    if data["funding"]:
        lines.append("")
        lines.append("Public funds 公用经费 parameters:")
        for f in data["funding"]:
            values = ", ".join(f"{k} {f[k]}" for k in ("primary", "junior", "pupils", "per_boarder", "per_pupil") if k in f)
            years = f"[{f.get('from') or ''}–{f.get('to') or ''}]"
            star = "*" if f["threshold_status"] == "provisional" else ""
            when = f" when {f['applies_when']}" if f.get("applies_when") else ""
            lines.append(f"  {f['parameter']} {years}: {values}{star}{when}  ({f['threshold_status']}; "
                         f"{f['source'].get('document')})")
    return "\n".join(lines) + "\n"
