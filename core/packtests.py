"""Tests beside the rules: run the cases a pack carries (``edubalance test-packs``).

A case file (``cases.yaml`` next to the pack) holds small records with the verdict expected per
rule, so that a province author checks a pack with the same tool the bundled packs use:

    pack: guizhou
    defaults: {county_code: "520102", year: 2021, province: guizhou}
    cases:
      - name: class size at the limit passes
        record: {school_id: "5201020001", stage: primary, students: 450, max_class_size: 45}
        expect: {national.class_size: pass}
        expect_funding: {counted_pupils: 100}       # optional
        expect_provisional: {national.public_funds: true}   # optional: rests on a provisional value
        expect_basic: false                         # optional: meets_basic_standard (null = unknown)
    county_cases:                                   # optional: a county and its schools
      - name: ...
        schools: [{...}, {...}]
        county: {...}
        expect: {national.county.cv_books_per_pupil@primary: pass}

A pack passes when every case gives what it expects and every rule the pack itself defines is
expected to ``pass`` in one case and to ``fail`` in another.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import safeyaml


@dataclass
class PackTestResult:
    pack: str
    passed: int = 0
    failures: list[str] = field(default_factory=list)
    uncovered: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures and not self.uncovered

    def render(self) -> str:
        head = f"{self.pack}: 通过 {self.passed} passed, 失败 {len(self.failures)} failed"
        lines = [head + ("" if not self.uncovered else
                         f", 缺少达标和不达标用例的规则 {len(self.uncovered)} rules without pass and fail cases")]
        lines += [f"  失败 FAIL {f}" for f in self.failures]
        lines += [f"  未覆盖 UNCOVERED {u}" for u in self.uncovered]
        return "\n".join(lines)


def _close(a: Any, b: Any) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)
    return a == b


def run_pack_cases(evaluator, pack_id: str) -> PackTestResult:
    pack = evaluator.registry.packs[pack_id]
    result = PackTestResult(pack_id)
    seen: dict[str, set[str]] = {}
    for path in pack.cases:
        doc = read_cases(Path(path))
        defaults = doc.get("defaults") or {}
        for case in doc.get("cases") or []:
            record = {"province": pack_id, **defaults, **(case.get("record") or {})}
            name = f"{path.name}: {case.get('name', '?')}"
            report = evaluator.evaluate_records([record])
            if report.rejected:
                msgs = "; ".join(p["message"] for p in report.rejected[0]["problems"])
                result.failures.append(f"{name}: record rejected ({msgs})")
                continue
            school = report.schools[0]
            got = {v["rule_id"]: v["status"] for v in school["verdicts"]}
            ok = _check(name, case.get("expect") or {}, got, seen, result)
            for key, want in (case.get("expect_funding") or {}).items():
                have = school["funding"].get(key)
                if not _close(have, want):
                    result.failures.append(f"{name}: funding {key} = {have}, expected {want}")
                    ok = False
            for rid, want in (case.get("expect_provisional") or {}).items():
                if (rid in school["provisional_rules"]) != bool(want):
                    result.failures.append(f"{name}: {rid} {'is not' if want else 'is'} listed as provisional")
                    ok = False
            if "expect_basic" in case and school.get("meets_basic_standard") != case["expect_basic"]:
                result.failures.append(f"{name}: meets_basic_standard = {school.get('meets_basic_standard')}, "
                                       f"expected {case['expect_basic']}")
                ok = False
            result.passed += ok
        for case in doc.get("county_cases") or []:
            name = f"{path.name}: {case.get('name', '?')}"
            schools = [{"province": pack_id, **defaults, **s} for s in case.get("schools") or []]
            counties = [case["county"]] if case.get("county") else []
            report = evaluator.evaluate_records(schools, counties)
            rejected = report.rejected + report.county_rejected
            if rejected or not report.counties:
                msgs = "; ".join(p["message"] for r in rejected for p in r["problems"]) or "no county evaluated"
                result.failures.append(f"{name}: {msgs}")
                continue
            got = {}
            for v in report.counties[0]["verdicts"]:
                got[f"{v['rule_id']}@{v.get('stage')}"] = v["status"]
                got.setdefault(v["rule_id"], v["status"])
            result.passed += _check(name, case.get("expect") or {}, got, seen, result)
    own = [r["id"] for r in pack.data.get("rules") or []] + [r["id"] for r in pack.data.get("county_rules") or []]
    for rid in own:
        statuses = seen.get(rid, set())
        if not {"pass", "fail"} <= statuses:
            result.uncovered.append(f"{rid} (cases expect: {', '.join(sorted(statuses)) or 'none'})")
    return result


def read_cases(path: Path) -> dict[str, Any]:
    """A case file, read as a rule file is (bounded, UTF-8, plain YAML) and checked against
    ``cases.schema.json``, so that a slip in it is one message naming the file and the case,
    not a traceback or a case silently never run (a misspelled ``cases:``)."""
    from .rulepack import RulePackError, check_schema, read_rule_text
    from .schemas import load_schema

    try:
        doc = safeyaml.load(read_rule_text(path))
    except safeyaml.YamlLimitError as exc:
        raise RulePackError(f"{path}: {exc}") from None
    check_schema(path, doc, load_schema("cases.schema.json"), ("用例文件", "case file"))
    return doc


def _check(name: str, expect: dict, got: dict, seen: dict, result: PackTestResult) -> bool:
    ok = True
    for rid, want in expect.items():
        seen.setdefault(rid.split("@")[0], set()).add(want)
        have = got.get(rid)
        if have != want:
            result.failures.append(f"{name}: {rid} gave {have or 'no verdict'}, expected {want}")
            ok = False
    return ok
