"""The JSON report keeps its contract (schemas/report.schema.json) and its counts add up."""
from __future__ import annotations

import json

import pytest
from jsonschema import Draft202012Validator

from edubalance.schemas import report_schema


@pytest.mark.parametrize("province", ["guizhou", "shaanxi", "anhui"])
def test_demo_reports_match_the_report_schema(vector_evaluator, province):
    demos = {}
    for found in vector_evaluator.pm.hook.edubalance_demo_data():
        demos.update(found or {})
    report = vector_evaluator.evaluate_files(demos[province])
    data = json.loads(report.to_json())
    errors = list(Draft202012Validator(report_schema()).iter_errors(data))
    assert not errors, [e.message for e in errors[:5]]
    r = data["records"]
    assert r["read"] == r["evaluated"] + r["rejected"] + r["skipped"]
    assert len(data["schools"]) == r["evaluated"]
    assert data["counties"] and data["packs"][0]["id"] == "national"


def test_verdicts_name_their_source_status_and_pack(vector_evaluator):
    entry = vector_evaluator.evaluate_record({
        "school_id": "5201020001", "stage": "junior", "county_code": "520102", "year": 2023, "province": "guizhou",
        "students": 500, "max_class_size": 51, "school_type": "junior_school", "location": "urban"})
    v = next(v for v in entry["verdicts"] if v["rule_id"] == "national.class_size")
    assert v["status"] == "fail" and v["value"] == 51 and v["threshold"] == 50
    assert v["gap"] == {"value": 1, "share": 0.02}
    rule = vector_evaluator.rule_catalogue(entry["ruleset"])["rules"][v["rule_id"]]
    assert entry["ruleset"] == "guizhou/2023"
    assert rule["threshold_status"] == "confirmed" and rule["source"]["document"]
    assert rule["pack"]["id"] == "national" and rule["measure"] == "max_class_size"
    assert entry["status"] == "fail"


def test_zero_pupils_makes_every_rule_not_applicable(vector_evaluator):
    entry = vector_evaluator.evaluate_record({
        "school_id": "5201020009", "stage": "primary", "county_code": "520102", "year": 2023, "province": "guizhou",
        "students": 0, "school_type": "primary_school", "location": "rural", "is_public": True})
    assert {v["status"] for v in entry["verdicts"]} == {"not_applicable"}
    assert entry["score"]["overall"] is None and entry["status"] == "not_applicable"
    assert entry["funding"]["floor_applied"] is not True


def test_a_failed_veto_fails_whatever_the_score():
    from edubalance.model import FAIL, PASS, Rule
    from edubalance.scoring import score, status_of
    import numpy as np

    def rule(i, severity):
        return Rule(id=f"x.r{i}", pack="x", pack_revision="1", title_zh="t", title_en="t", dimension="quality",
                    severity=severity, weight=1.0, measure="m", operator=">=", thresholds={"primary": 1.0}, unit="",
                    scope=None, scope_text="", threshold_status="confirmed", source={"document": "d"})
    rules = [rule(i, "scored") for i in range(9)] + [rule(9, "veto")]
    status = np.array([[PASS]] * 9 + [[FAIL]], dtype=np.int8)
    overall, _ = score(status, rules)
    assert overall[0] == 90.0
    assert status_of(status, rules)[0] == "fail"
