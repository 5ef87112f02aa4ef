"""What the Excel and HTML reports show, worked out once from ``Report.to_dict()``.

Both renderers read the same rows from here, so a number in the workbook and the same number in
the HTML page cannot differ. Everything comes from the JSON report and its rule catalogue
(``rulesets``): the renderers never look inside the engine.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Sequence

from ..fields import SCHOOL_REQUIRED, label
from ..problems import record_identity

#: A rule ``--verdicts findings`` leaves unlisted (passed, or not applicable): shown with the school's value.
NOT_LISTED = "not_listed"
STATUS_ZH = {"pass": "达标", "fail": "未达标", "missing_data": "缺数据", "not_applicable": "不适用",
             "incomplete": "数据不全", NOT_LISTED: "未列出"}
STATUS_EN = {"pass": "pass", "fail": "fail", "missing_data": "missing data", "not_applicable": "not applicable",
             "incomplete": "incomplete", NOT_LISTED: "not listed"}
STAGE_ZH = {"primary": "小学", "junior": "初中", "county": "全县"}
SEVERITY_ZH = {"veto": "一票否决", "required": "必达", "scored": "计分"}
DIMENSION_ZH = {"facilities": "办学条件", "staffing": "师资", "funding": "经费", "access": "入学",
                "quality": "质量", "governance": "政府保障", "balance": "均衡"}
PROGRAMME_ZH = {"basic_2012": "基本均衡", "quality_2017": "优质均衡"}
THRESHOLD_STATUS_ZH = {"confirmed": "已确认", "provisional": "暂定"}
OPERATOR_ZH = {">=": "≥", "<=": "≤", ">": ">", "<": "<", "==": "=", "!=": "≠"}
BINDING = ("veto", "required")
#: Schools a line of "what to fix first" names (an Excel cell holds at most 32,767 characters).
NAMES_SHOWN = 200
#: Units of rules whose value is a yes or a no: a sum of their gaps means nothing.
YES_NO_UNITS = ("yes/no", "yes (1) / no (0)")


def status_text(status: str | None) -> str:
    """``未达标 fail``: how a verdict or an entry's status is written for people."""
    if not status:
        return "—"
    return f"{STATUS_ZH.get(status, status)} {STATUS_EN.get(status, status)}"


def missing_inputs(rules: dict[str, dict], entry: dict, rule: dict) -> list[str]:
    """The record fields a school must fill for ``rule`` to have a value: the rule's ``inputs``
    (from the catalogue ``rules`` of the entry's rule set) less those the record surely has —
    a required field, a field whose own value the entry holds, a field another measure with a
    value was computed from. If that leaves none, every input that is not surely there."""
    measures = entry.get("measures") or {}
    held = set(SCHOOL_REQUIRED) | {m for m, v in measures.items() if v is not None}
    inputs = [f for f in rule.get("inputs") or () if f not in held]
    read = {f for other in rules.values() if measures.get(other["measure"]) is not None
            for f in other.get("inputs") or ()}
    return [f for f in inputs if f not in read] or inputs


def inputs_text(names: Sequence[str], sep: str = "、") -> str:
    """``图书册数 (books)、学生用计算机台数 (computers)``: fields as a clerk finds them, label first."""
    return sep.join(f"{label(f)} ({f})" for f in names)


def threshold_text(operator: str, values: list[float]) -> str:
    """``≥ 4.2`` for one value; ``≥ 按学校计算 per school`` when the threshold differs per school."""
    if not values:
        return "—"
    if len(values) > 1:
        return f"{OPERATOR_ZH.get(operator, operator)} 按学校计算 per school"
    return f"{OPERATOR_ZH.get(operator, operator)} {number_text(values[0])}"


def number_text(v: Any, digits: int = 2) -> str:
    if v is None:
        return "—"
    if isinstance(v, bool):
        return "是" if v else "否"
    if isinstance(v, float):
        if v.is_integer() and abs(v) < 1e15:
            return f"{int(v):,}"
        return f"{v:,.{digits}f}".rstrip("0").rstrip(".") if abs(v) >= 0.01 else f"{v:.4g}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


@dataclass
class RuleColumn:
    """A school rule as a column of the reports: the first catalogue entry seen for its id."""

    rule_id: str
    desc: dict[str, Any]


@dataclass
class FixItem:
    """One line of "what to fix first": a rule and the schools whose verdict on it is not a pass."""

    rule_id: str
    desc: dict[str, Any]
    schools: list[dict[str, Any]] = field(default_factory=list)   # {entry, verdict}
    failed: int = 0
    missing: int = 0
    blocked: int = 0          # schools kept from passing by this rule (veto/required)
    total_gap: float = 0.0    # Σ |gap| of the failed verdicts, in the rule's unit

    @property
    def shown(self) -> list[dict[str, Any]]:
        return self.schools[:NAMES_SHOWN]

    @property
    def has_gap(self) -> bool:
        """Whether a total gap means something: a failure of a rule measured in units."""
        return bool(self.failed) and self.desc["unit"] not in YES_NO_UNITS

    @property
    def affected(self) -> int:
        return len(self.schools)

    def threshold(self, view: "ReportView") -> str:
        """The thresholds the affected schools were held to, by stage."""
        stages = tuple(s for s in ("primary", "junior") if any(x["entry"]["stage"] == s for x in self.schools))
        texts = {view.threshold_by_stage(x["entry"]["ruleset"], self.rule_id, self.desc["operator"], stages)
                 for x in self.schools}
        return "；".join(sorted(texts))


class ReportView:
    """The reader's view of one report: rule columns, the fix-first list, per-rule thresholds."""

    def __init__(self, report: Any):
        self.data: dict[str, Any] = report.to_dict()
        self.rulesets: dict[str, Any] = self.data["rulesets"]
        self.schools: list[dict[str, Any]] = self.data["schools"]
        self.counties: list[dict[str, Any]] = self.data["counties"]
        self.summary: dict[str, Any] = self.data["summary"]
        self.all_verdicts = getattr(report, "verdicts", "all") == "all"
        self.rule_columns = self._rule_columns()
        self.thresholds = self._thresholds()

    # -- rules --------------------------------------------------------------------------------
    def school_rule(self, entry: dict, rule_id: str) -> dict[str, Any]:
        return self.rulesets[entry["ruleset"]]["rules"][rule_id]

    def county_rule(self, entry: dict, rule_id: str) -> dict[str, Any]:
        return self.rulesets[entry["ruleset"]]["county_rules"][rule_id]

    def _rule_columns(self) -> list[RuleColumn]:
        seen: dict[str, RuleColumn] = {}
        for cat in self.rulesets.values():
            for rid, desc in cat["rules"].items():
                seen.setdefault(rid, RuleColumn(rid, desc))
        return list(seen.values())

    def _thresholds(self) -> dict[tuple[str, str, str], list[float]]:
        """The thresholds verdicts were judged against, by (rule set, rule, stage): the catalogue
        says what a rule is, the verdicts say what it required (a per-school threshold, such as a
        school's funding entitlement, gives many)."""
        found: dict[tuple[str, str, str], set[float]] = defaultdict(set)
        for s in self.schools:
            for v in s["verdicts"]:
                if v["threshold"] is not None:
                    found[(s["ruleset"], v["rule_id"], s["stage"])].add(v["threshold"])
        for c in self.counties:
            for v in c["verdicts"]:
                if v["threshold"] is not None:
                    found[(c["ruleset"], v["rule_id"], v["stage"])].add(v["threshold"])
        return {k: sorted(v) for k, v in found.items()}

    def threshold_by_stage(self, ruleset: str, rule_id: str, operator: str,
                           stages: tuple[str, ...] = ("primary", "junior", "county")) -> str:
        parts = []
        for stage in stages:
            values = self.thresholds.get((ruleset, rule_id, stage))
            if values:
                where = "" if stage == "county" else f"{STAGE_ZH[stage]} "
                parts.append(where + threshold_text(operator, values))
        return "；".join(parts) or "—"

    # -- what to fix first ----------------------------------------------------------------------
    def fix_first(self) -> list[FixItem]:
        """Every school rule with a failed or missing-data verdict, the rules that keep most
        schools from passing first (a veto or required rule blocks; a scored one only costs
        points), then by schools affected."""
        items: dict[str, FixItem] = {}
        order = {c.rule_id: k for k, c in enumerate(self.rule_columns)}
        for s in self.schools:
            for v in s["verdicts"]:
                if v["status"] not in ("fail", "missing_data"):
                    continue
                desc = self.school_rule(s, v["rule_id"])
                item = items.setdefault(v["rule_id"], FixItem(v["rule_id"], desc))
                item.schools.append({"entry": s, "verdict": v})
                if v["status"] == "fail":
                    item.failed += 1
                    if v["gap"] is not None and v["gap"]["value"] is not None and desc["unit"] not in YES_NO_UNITS:
                        item.total_gap += abs(v["gap"]["value"])
                else:
                    item.missing += 1
                if desc["severity"] in BINDING:
                    item.blocked += 1
        return sorted(items.values(), key=lambda i: (-i.blocked, -i.affected, order.get(i.rule_id, 0)))

    # -- rows -----------------------------------------------------------------------------------
    def provisional_rules(self) -> list[tuple[str, dict]]:
        out = []
        for rid in self.summary["provisional_thresholds_used"]:
            desc = next((cat["rules"].get(rid) or cat["county_rules"].get(rid)
                         for cat in self.rulesets.values()
                         if rid in cat["rules"] or rid in cat["county_rules"]), None)
            if desc:
                out.append((rid, desc))
        return out

    def rejected_problems(self) -> list[dict[str, Any]]:
        """One row per problem of every rejected school or county row, every warning, every notice
        about a whole file (W401 ignored columns, W402 units converted …) and every row skipped
        with its reason (in place of the W403 that counts them)."""
        from ..report import each_problem
        kinds = {"school": "学校记录 school row", "county": "县级记录 county row",
                 "warning": "警告 warning (已评估 kept)"}
        out = []
        last, (ident, name) = None, ("", "")
        for kind, rec, p in each_problem(self.data["rejected"], self.data.get("rejected_counties") or [],
                                         self.data.get("warnings") or []):
            if rec is not last:                          # once per record, not per problem
                last, (ident, name) = rec, record_identity(rec)
            out.append({"kind": kinds[kind], "file": rec.get("file"), "row": rec.get("row"), "id": ident or None,
                        "name": name or None, **_problem(p)})
        for n in self.data.get("notices") or []:
            if n.get("code") != "W403":
                out.append({"kind": "文件提示 file notice", "file": n.get("file"), "row": None, "id": None, "name": None,
                            **_problem(n), "observed": None})          # the message names what it is about
        for sk in self.data.get("skipped") or []:
            out.append({"kind": "跳过的行 skipped row", "file": sk.get("file"), "row": sk.get("row"), "id": None,
                        "name": None, **_problem({"code": "W403", "severity": "warning", "message": sk.get("reason")})})
        return out

    def rejected_county_rows(self) -> list[dict[str, Any]]:
        """One row per rejected county record: where it is, which county it names, and why."""
        out = []
        for rej in self.data.get("rejected_counties") or []:
            code, name = record_identity(rej)
            year = (rej.get("data") or {}).get("year")
            out.append({"file": rej.get("file"), "row": rej.get("row"), "county_code": code or None,
                        "county_name": name or None,
                        "year": int(year) if isinstance(year, str) and year.strip().isdigit() else year,
                        "reasons": "；".join(f"{p.get('code')} {p.get('message')}" for p in rej["problems"])})
        return out

    def catalogue_rows(self) -> list[dict[str, Any]]:
        rows = []
        for key, cat in self.rulesets.items():
            for level, rules in (("学校 school", cat["rules"]), ("县域 county", cat["county_rules"])):
                for rid, d in rules.items():
                    rows.append({"ruleset": key, "level": level, "rule_id": rid, "desc": d,
                                 "threshold": self.threshold_by_stage(key, rid, d["operator"])})
        return rows



#: A problem's severity as people read it.
PROBLEM_SEVERITY = {"error": "错误 error", "warning": "警告 warning"}


def _problem(p: dict) -> dict[str, Any]:
    return {"code": p.get("code"), "severity": PROBLEM_SEVERITY.get(p.get("severity") or "", p.get("severity")),
            "field": p.get("field"),
            "label": p.get("label"), "observed": p.get("observed"), "expected": p.get("expected"),
            "message": p.get("message")}
