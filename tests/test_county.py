"""County table, county rules and the county report (standards reference §1, §2, §8)."""
from __future__ import annotations

import json
import math
import operator
from dataclasses import dataclass
from importlib.resources import files

import numpy as np
import pytest
import yaml
from jsonschema import Draft202012Validator

from edubalance.county import (COUNTY_RECORD_FIELDS, DEFAULT_CV_2012, DEFAULT_CV_2017, INDICATOR_FIELDS,
                               build_county_table, county_reports)
from edubalance.model import FAIL, MISSING_DATA, NOT_APPLICABLE, PASS, Rule, RuleResults
from edubalance.schemas import rulepack_schema
from edubalance.table import Table

PACK = yaml.safe_load(files("edubalance_national").joinpath("county.yaml").read_text(encoding="utf-8"))
PARAMS = PACK["parameters"]["county"]

NUMERIC = ("year", "is_public", "students") + tuple(sorted(set(INDICATOR_FIELDS.values())))


# --- a fake condition language for the three national scope conditions -------------------------
# (build_county_table takes the evaluator; the real one is edubalance.expr.)

def _county_cond(t: Table):
    pub, stype = t.get("is_public"), t.get("school_type")
    special = stype == "special_education"
    private = pub == 0
    unknown_pub = np.isnan(pub)
    return special | private, ~special & ~private & ~unknown_pub


def _cv17_cond(t: Table):
    tp = t.get("school_type") == "teaching_point"
    small = t.get("students") < 50
    return tp & small, ~tp | (t.get("students") >= 50)


def _cv12_cond(t: Table):
    tp = t.get("school_type") == "teaching_point"
    return tp, ~tp


FAKE = {PARAMS["exclude_from_county"]: _county_cond, PARAMS["exclude_from_cv_2017"]: _cv17_cond,
        PARAMS["exclude_from_cv_2012"]: _cv12_cond}


def fake_parse(text):
    return text


def fake_evaluate(node, table):
    return FAKE[node](table)


# --- rules from county.yaml, and a tiny evaluator ----------------------------------------------

if "programme" in getattr(Rule, "__dataclass_fields__", {}):
    ProgRule = Rule
else:
    @dataclass(frozen=True)
    class ProgRule(Rule):
        programme: tuple = ()


def compile_rules(raw_rules=PACK["county_rules"]):
    out = []
    for raw in raw_rules:
        thr = raw["threshold"]
        thresholds = {k: float(v) for k, v in thr.items()} if isinstance(thr, dict) else {"county": float(thr)}
        out.append(ProgRule(
            id=raw["id"], pack="national", pack_revision=PACK["revision"],
            title_zh=raw["title"]["zh"], title_en=raw["title"]["en"], dimension=raw["dimension"],
            severity=raw["severity"], weight=float(raw["weight"]), measure=raw["measure"],
            operator=raw["operator"], thresholds=thresholds, unit=raw.get("unit", ""), scope=None,
            scope_text="", threshold_status=raw["threshold_status"], source=dict(raw["source"]),
            programme=tuple(raw.get("programme", ()))))
    return out


RULES = compile_rules()
BY_ID = {r.id: r for r in RULES}
#: A county verdict names its rule; the rule's description is the report's rule catalogue.
VERDICT_KEYS = {"rule_id", "stage", "status", "value", "threshold", "gap"}
OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq,
       "!=": operator.ne}


def evaluate(rules, table: Table) -> RuleResults:
    # The one expression measure of the pack.
    table.set_measure("teacher_pay_ratio",
                      table.get("teacher_avg_salary_yuan") / table.get("civil_servant_avg_salary_yuan"))
    res = RuleResults.empty(rules, table.n)
    stage = table.get("stage")
    for k, rule in enumerate(rules):
        for i in range(table.n):
            t = rule.threshold_for(stage[i])
            if t is None:
                continue
            v = table.get(rule.measure)[i]
            res.value[k, i], res.threshold[k, i] = v, t
            if np.isnan(v):
                res.status[k, i] = MISSING_DATA
            else:
                res.status[k, i] = PASS if OPS[rule.operator](v, t) else FAIL
    return res


def simple_score(status, rules):
    w = np.array([r.weight for r in rules])[:, None]
    applicable = (w * (status != NOT_APPLICABLE)).sum(0)
    passed = (w * (status == PASS)).sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        overall = np.where(applicable > 0, 100 * passed / applicable, np.nan)
    return overall, {"all": overall}


# --- school records ----------------------------------------------------------------------------

PER_PUPIL = {  # one uniform value per resource field: identical schools, every CV 0
    "teaching_aux_area_m2": 5.0, "sports_area_m2": 8.0, "equipment_value_yuan": 2500.0,
    "computers": 0.1, "books": 25.0, "teachers": 0.06, "teachers_above_required_degree": 0.05,
    "teachers_mid_senior_title": 0.03, "backbone_teachers": 0.012, "pe_art_teachers": 0.01,
    "multimedia_classrooms": 0.025,
}


def school(sid, students, stage="junior", county="520101", year=2023, **kw):
    rec = {"school_id": sid, "school_name": f"学校{sid}", "stage": stage,
           "school_type": "junior_school" if stage == "junior" else "primary_school",
           "county_code": county, "county_name": f"县{county}", "year": year, "province": "guizhou",
           "is_public": True, "students": students}
    rec.update({f: v * students for f, v in PER_PUPIL.items()})
    rec.update(kw)
    return rec


def make_table(records) -> Table:
    table = Table.from_records(records, NUMERIC)
    students = table.get("students")
    for ind, src in INDICATOR_FIELDS.items():
        factor = 100.0 if ind.endswith("_per_100") else 1.0
        zero = students == 0
        with np.errstate(divide="ignore", invalid="ignore"):
            values = table.get(src) * factor / np.where(zero, np.nan, students)
        table.set_measure(ind, values, zero)
    return table


PASSING_RECORD = {
    "teacher_avg_salary_yuan": 90000, "civil_servant_avg_salary_yuan": 88000,
    "training_completion_rate": 1.0, "rotation_rate": 0.12, "backbone_share_of_rotation": 0.25,
    "nearby_admission_rate_primary": 1.0, "nearby_admission_rate_junior": 0.97,
    "quality_hs_quota_share": 0.55, "migrant_children_public_share": 0.9,
    "junior_retention_rate": 0.97, "disabled_enrolment_rate": 0.96, "social_recognition_rate": 0.9,
    "government_work_score": 92, "public_satisfaction_rate": 0.9, "monitoring_level_met": True,
    "monitoring_difference_rate": 0.1, "training_budget_share": 0.06, "teacher_certified_rate": 1.0,
    "four_unified": True, "layout_planned": True, "staffing_allocation": True,
    "veto_exam_admission": False, "veto_illegal_school_choice": False, "veto_key_schools_or_classes": False,
    "veto_staffing_unfilled": False, "veto_major_safety_accident": False, "veto_serious_violation": False,
    "veto_falsified_data": False,
}


def frame_of(records, *, status=None, resource=None, counties=None):
    table = make_table(records)
    status = np.array(["pass"] * table.n if status is None else status, dtype=object)
    resource = np.full(table.n, PASS, np.int8) if resource is None else np.array(resource, np.int8)
    if counties is None:
        counties = {(r["county_code"], r["year"]): dict(PASSING_RECORD) for r in records}
    return build_county_table(table, PARAMS, status, resource, counties, fake_parse, evaluate=fake_evaluate)


def report_of(frame, rules=RULES):
    return county_reports(frame, evaluate(rules, frame.table), simple_score)


def row(frame, stage, county="520101", year=2023):
    g = frame.counties.index((county, year))
    return frame.rows_of(g)[("primary", "junior", "county").index(stage)]


def both_stages(n_each=2, **kw):
    return ([school(f"p{i}", 300, stage="primary", **kw) for i in range(n_each)]
            + [school(f"j{i}", 400, stage="junior", **kw) for i in range(n_each)])


# --- the rule pack fragment --------------------------------------------------------------------

def test_fragment_is_a_valid_rule_pack():
    errors = list(Draft202012Validator(rulepack_schema()).iter_errors(PACK))
    assert errors == []
    assert PACK["pack"] == "national" and PACK["rules"] == []


def test_every_county_rule_is_complete_and_namespaced():
    ids = [r["id"] for r in PACK["county_rules"]]
    assert len(ids) == len(set(ids))
    for r in PACK["county_rules"]:
        assert r["id"].startswith("national.county.")
        for key in ("title", "dimension", "severity", "weight", "unit", "threshold_status", "source",
                    "programme", "measure", "operator", "threshold"):
            assert key in r, (r["id"], key)
        assert r["source"]["document"]


def test_indicator_lists_match_the_reference():
    assert PARAMS["cv_2012_indicators"] == list(DEFAULT_CV_2012) and len(DEFAULT_CV_2012) == 8
    assert PARAMS["cv_2017_indicators"] == list(DEFAULT_CV_2017) and len(DEFAULT_CV_2017) == 7


def test_thresholds_and_statuses_are_the_references():
    by_id = {r["id"]: r for r in PACK["county_rules"]}
    for ind in DEFAULT_CV_2017:
        r = by_id[f"national.county.cv_{ind}"]
        assert r["threshold"] == {"primary": 0.50, "junior": 0.45} and r["operator"] == "<="
        assert r["threshold_status"] == "provisional" and r["programme"] == ["quality_2017"]
        assert r["dimension"] == "balance"
    comp = by_id["national.county.composite_cv_2012"]
    assert comp["threshold"] == {"primary": 0.65, "junior": 0.55}
    assert comp["threshold_status"] == "confirmed" and comp["programme"] == ["basic_2012"]
    assert by_id["national.county.government_work_score"]["threshold"] == 85
    assert by_id["national.county.public_satisfaction"]["threshold_status"] == "provisional"
    assert set(by_id["national.county.schools_basic_standard"]["programme"]) == {"basic_2012", "quality_2017"}
    assert by_id["national.county.teacher_pay"]["expression"] == \
        "teacher_avg_salary_yuan / civil_servant_avg_salary_yuan"
    assert by_id["national.county.monitoring_difference"]["operator"] == "<"
    vetoes = [r for r in PACK["county_rules"] if r["severity"] == "veto"]
    assert sorted(r["measure"] for r in vetoes) == sorted(f for f in COUNTY_RECORD_FIELDS if f.startswith("veto_"))
    for r in vetoes:
        assert r["operator"] == "==" and r["threshold"] == 0 and r["programme"] == ["quality_2017"]
    unconfirmed = {"veto_major_safety_accident", "veto_serious_violation", "veto_falsified_data"}
    assert {r["measure"] for r in vetoes if r["threshold_status"] == "provisional"} == unconfirmed


def test_every_rule_measure_exists_on_the_county_table():
    frame = frame_of(both_stages())
    evaluate(RULES, frame.table)          # adds the expression measure
    for r in RULES:
        assert r.measure in frame.table.columns, r.measure


# --- CVs through the county table --------------------------------------------------------------

def test_dictionary_example_through_the_county_table():
    areas = {"A": (120, 800), "B": (300, 1500), "C": (480, 3000), "D": (100, 900)}
    records = [school(k, p, teaching_aux_area_m2=a) for k, (p, a) in areas.items()]
    frame = frame_of(records)
    r = row(frame, "junior")
    assert round(frame.table.get("cv_teaching_aux_area_per_pupil")[r], 6) == 0.179847
    assert round(frame.table.get("cv2012_teaching_aux_area_per_pupil")[r], 6) == 0.179847
    # The other resources are uniform: their CVs are 0; the composite is the mean of the 8.
    assert frame.table.get("cv_sports_area_per_pupil")[r] == 0.0
    assert frame.table.get("composite_cv_2012")[r] == pytest.approx(0.17984654498578204 / 8)
    rep = report_of(frame)[0]
    assert round(rep["stages"]["junior"]["cv"]["teaching_aux_area_per_pupil"], 6) == 0.179847
    assert rep["stages"]["junior"]["schools_in_scope"] == 4


def test_identical_schools_give_every_cv_zero():
    frame = frame_of(both_stages(n_each=3))
    for stage in ("primary", "junior"):
        r = row(frame, stage)
        for ind in DEFAULT_CV_2017:
            assert frame.table.get(f"cv_{ind}")[r] == 0.0
        for ind in DEFAULT_CV_2012:
            assert frame.table.get(f"cv2012_{ind}")[r] == 0.0
        assert frame.table.get("composite_cv_2012")[r] == 0.0
    rep = report_of(frame)[0]
    assert rep["basic_balance"]["status"] == "pass"
    assert rep["quality_balance"]["status"] == "pass"
    assert rep["status"] == "pass" and rep["score"]["overall"] == 100.0


def test_one_school_has_no_cv_and_is_flagged():
    frame = frame_of([school("only", 250, teaching_aux_area_m2=999.0)] + [school("p", 300, stage="primary"),
                                                                          school("q", 200, stage="primary")])
    r = row(frame, "junior")
    for name in ["cv_teaching_aux_area_per_pupil", "cv2012_books_per_pupil", "composite_cv_2012"]:
        assert np.isnan(frame.table.get(name)[r]) and frame.table.is_undefined(name)[r], name
        assert not frame.table.is_undefined(name)[row(frame, "primary")], name
    stages = report_of(frame)[0]["stages"]
    assert stages["junior"]["single_school"] is True
    assert stages["junior"]["cv"]["teaching_aux_area_per_pupil"] is None
    assert all(stages["junior"]["cv_not_applicable"].values())
    assert any("not applicable (not 0)" in n for n in stages["junior"]["notes"])
    assert stages["primary"]["single_school"] is False
    assert stages["primary"]["cv_not_applicable"] == {"quality_2017": None, "basic_2012": None}


def test_private_special_and_small_teaching_point_are_excluded_with_reasons():
    base = [school("a", 300, teaching_aux_area_m2=1500.0), school("b", 500, teaching_aux_area_m2=3500.0)]
    extra = [
        school("private", 800, is_public=False, teaching_aux_area_m2=100.0),
        school("special", 60, school_type="special_education", teaching_aux_area_m2=9000.0),
        school("tp40", 40, school_type="teaching_point", teaching_aux_area_m2=10.0),
        school("tp60", 60, school_type="teaching_point", teaching_aux_area_m2=360.0),
    ]
    frame = frame_of(base + extra)
    r = row(frame, "junior")
    # 2017: a, b and the 60-pupil teaching point; 2012: a and b only.
    p = np.array([300.0, 500.0, 60.0])
    x = np.array([1500 / 300, 3500 / 500, 360 / 60])
    mean = (p * x).sum() / p.sum()
    want17 = math.sqrt((p / p.sum() * (x - mean) ** 2).sum()) / mean
    assert frame.table.get("cv_teaching_aux_area_per_pupil")[r] == pytest.approx(want17, rel=1e-12)
    p2, x2 = p[:2], x[:2]
    mean2 = (p2 * x2).sum() / p2.sum()
    want12 = math.sqrt((p2 / p2.sum() * (x2 - mean2) ** 2).sum()) / mean2
    assert frame.table.get("cv2012_teaching_aux_area_per_pupil")[r] == pytest.approx(want12, rel=1e-12)

    stage = report_of(frame)[0]["stages"]["junior"]
    reasons = {(e["school_id"], e["reason_code"]): e["reason"] for e in stage["excluded"]}
    assert "private school" in reasons[("private", "private")]
    assert "special-education school" in reasons[("special", "special_education")]
    assert "2017 CVs only" in reasons[("tp40", "teaching_point_2017")]
    assert "40 pupils" in reasons[("tp40", "teaching_point_2017")]
    assert "2012 CVs only" in reasons[("tp40", "teaching_point_2012")]
    assert "2012 CVs only" in reasons[("tp60", "teaching_point_2012")]
    assert ("tp60", "teaching_point_2017") not in reasons
    assert stage["schools_in_scope"] == 4          # a, b, tp40, tp60: teaching points stay in the gates
    assert stage["schools_in_cv_scope"] == {"quality_2017": 3, "basic_2012": 2}


def test_zero_pupil_school_has_no_weight_and_is_listed():
    records = [school("a", 300, teaching_aux_area_m2=1500.0), school("b", 500, teaching_aux_area_m2=3500.0)]
    empty = school("closed", 0)
    with_empty = frame_of(records + [empty])
    without = frame_of(records)
    r = row(without, "junior")
    for ind in DEFAULT_CV_2017:
        col = f"cv_{ind}"
        assert with_empty.table.get(col)[r] == without.table.get(col)[r]
    stage = report_of(with_empty)[0]["stages"]["junior"]
    assert [(e["school_id"], e["reason_code"]) for e in stage["excluded"]] == [("closed", "zero_pupils")]
    assert "0 pupils: no weight" in stage["excluded"][0]["reason"]
    assert stage["missing"] == []


def test_missing_value_makes_the_cv_missing_and_names_the_school():
    records = both_stages()
    records[2]["sports_area_m2"] = None             # junior school j0
    frame = frame_of(records)
    r = row(frame, "junior")
    assert math.isnan(frame.table.get("cv_sports_area_per_pupil")[r])
    assert math.isnan(frame.table.get("cv2012_sports_area_per_pupil")[r])
    assert math.isnan(frame.table.get("composite_cv_2012")[r])
    assert frame.table.get("cv2012_books_per_pupil")[r] == 0.0      # other CVs are unaffected
    assert frame.table.get("cv_sports_area_per_pupil")[row(frame, "primary")] == 0.0
    rep = report_of(frame)[0]
    missing = rep["stages"]["junior"]["missing"]
    assert len(missing) == 1
    m = missing[0]
    assert m["school_id"] == "j0" and m["measure"] == "sports_area_per_pupil" and m["field"] == "sports_area_m2"
    assert set(m["cvs"]) == {"cv_sports_area_per_pupil", "cv2012_sports_area_per_pupil"}
    assert m["label"]
    cv_verdict = [v for v in rep["verdicts"] if v["rule_id"] == "national.county.cv_sports_area_per_pupil"
                  and v["stage"] == "junior"][0]
    assert cv_verdict["status"] == "missing_data" and cv_verdict["value"] is None and cv_verdict["gap"] is None
    assert rep["quality_balance"]["status"] == "incomplete"
    assert rep["basic_balance"]["status"] == "incomplete"
    assert rep["status"] == "incomplete"


def test_veto_fails_quality_balance_whatever_the_score():
    records = both_stages()
    counties = {("520101", 2023): {**PASSING_RECORD, "veto_key_schools_or_classes": True}}
    rep = report_of(frame_of(records, counties=counties))[0]
    assert rep["quality_balance"]["status"] == "fail"
    assert rep["quality_balance"]["vetoed"] is True
    reasons = rep["quality_balance"]["reasons"]
    assert len(reasons) == 1
    assert "veto" in reasons[0] and "key schools or key classes" in reasons[0] and "是 yes" in reasons[0]
    assert rep["score"]["overall"] > 95            # everything else passes
    assert rep["status"] == "fail" and rep["vetoed"] is True
    assert rep["basic_balance"]["status"] == "pass"   # the veto belongs to the 2017 recognition


def test_no_county_record_leaves_county_items_missing_and_says_what_is_needed():
    frame = frame_of(both_stages(), counties={})
    assert frame.absent_records == [("520101", 2023)]
    inputs = {"teacher_pay_ratio": ["teacher_avg_salary_yuan", "civil_servant_avg_salary_yuan"]}
    rep = county_reports(frame, evaluate(RULES, frame.table), simple_score, measure_inputs=inputs)[0]
    assert rep["county_record"] is False
    county_verdicts = [v for v in rep["verdicts"] if v["stage"] == "county"]
    assert county_verdicts and all(v["status"] == "missing_data" for v in county_verdicts)
    needed = {n["field"] for n in rep["needs"]}
    assert {"government_work_score", "public_satisfaction_rate", "social_recognition_rate",
            "veto_exam_admission", "teacher_avg_salary_yuan", "civil_servant_avg_salary_yuan"} <= needed
    assert rep["basic_balance"]["status"] == "incomplete"
    assert any("government_work_score" in r for r in rep["basic_balance"]["reasons"])
    assert rep["quality_balance"]["status"] == "incomplete"
    assert rep["status"] == "incomplete"


def test_needs_names_the_inputs_of_a_derived_measure():
    record = {k: v for k, v in PASSING_RECORD.items() if k != "civil_servant_avg_salary_yuan"}
    frame = frame_of(both_stages(), counties={("520101", 2023): record})
    results = evaluate(RULES, frame.table)
    inputs = {"teacher_pay_ratio": {"teacher_avg_salary_yuan", "civil_servant_avg_salary_yuan"}}
    rep = county_reports(frame, results, simple_score, measure_inputs=inputs)[0]
    assert [(n["field"], n["rules"]) for n in rep["needs"]] == [
        ("civil_servant_avg_salary_yuan", ["national.county.teacher_pay"])]
    assert rep["needs"][0]["label"] == "当地公务员年平均工资收入"
    # Without the measure inputs the derived measure itself is named.
    rep2 = county_reports(frame, results, simple_score)[0]
    assert [n["field"] for n in rep2["needs"]] == ["teacher_pay_ratio"]


def test_failed_rules_are_reasons_with_value_and_threshold():
    counties = {("520101", 2023): {**PASSING_RECORD, "government_work_score": 84.5}}
    records = both_stages()
    records[0]["books"] = 1.0            # primary school p0 far below p1: the 2012 composite rises
    frame = frame_of(records, counties=counties)
    rep = report_of(frame)[0]
    assert rep["basic_balance"]["status"] == "fail"
    gov = [r for r in rep["basic_balance"]["reasons"] if "work score" in r]
    assert gov and "84.5" in gov[0] and ">= 85" in gov[0]
    v = [v for v in rep["verdicts"] if v["rule_id"] == "national.county.government_work_score"][0]
    assert v["status"] == "fail" and v["value"] == 84.5 and v["threshold"] == 85
    assert v["gap"]["value"] == pytest.approx(-0.5) and v["gap"]["share"] == pytest.approx(-0.5 / 85)
    assert set(v) == VERDICT_KEYS
    rule = BY_ID[v["rule_id"]].describe()       # what describes the verdict is its rule's
    assert rule["pack"] == {"id": "national", "revision": PACK["revision"]}
    assert rule["programme"] == ["basic_2012"] and rule["operator"] == ">="
    # A provisional threshold is marked in the reason.
    counties = {("520101", 2023): {**PASSING_RECORD, "public_satisfaction_rate": 0.8}}
    rep = report_of(frame_of(both_stages(), counties=counties))[0]
    assert any("provisional" in r for r in rep["basic_balance"]["reasons"])


def test_cv_exactly_at_the_limit_passes_and_just_above_fails():
    # Two equal junior schools at 1 and x per pupil: CV = (x − 1) / (x + 1).
    def junior_pair(cv):
        x = (1 + cv) / (1 - cv)
        return [school("a", 100, sports_area_m2=100.0), school("b", 100, sports_area_m2=100.0 * x)]
    rule = [r for r in RULES if r.id == "national.county.cv_sports_area_per_pupil"]
    for cv, want in ((0.4499, "pass"), (0.4502, "fail")):
        rep = report_of(frame_of(junior_pair(cv) + [school("p", 100, stage="primary")]), rule)[0]
        v = [v for v in rep["verdicts"] if v["stage"] == "junior"][0]
        assert v["status"] == want and v["value"] == pytest.approx(cv, abs=1e-9)


def test_school_gates_count_failing_and_unknown_schools():
    records = both_stages()
    # p0 fails its basic standard; j0 is incomplete; j1's resource rule lacks data.
    status = ["fail", "pass", "incomplete", "pass"]
    resource = [FAIL, PASS, PASS, MISSING_DATA]
    frame = frame_of(records, status=status, resource=resource)
    t = frame.table
    assert t.get("schools_not_meeting_basic_standard")[row(frame, "primary")] == 1
    assert math.isnan(t.get("schools_not_meeting_basic_standard")[row(frame, "junior")])
    assert t.get("schools_not_meeting_resource_rule")[row(frame, "primary")] == 1
    assert math.isnan(t.get("schools_not_meeting_resource_rule")[row(frame, "junior")])
    assert math.isnan(t.get("schools_not_meeting_basic_standard")[row(frame, "county")])
    rep = report_of(frame)[0]
    assert rep["stages"]["primary"]["schools_meeting_resource_rule"] == 1
    assert rep["stages"]["junior"]["schools_meeting_resource_rule"] == 1
    unknown = rep["stages"]["junior"]["gates_unknown"]
    assert {(u["school_id"], u["measure"]) for u in unknown} == {
        ("j0", "schools_not_meeting_basic_standard"), ("j1", "schools_not_meeting_resource_rule")}
    assert rep["basic_balance"]["status"] == "fail"
    assert rep["quality_balance"]["status"] == "fail"


def test_a_failing_excluded_school_does_not_count_in_the_gate():
    records = both_stages() + [school("priv", 300, is_public=False)]
    frame = frame_of(records, status=["pass"] * 4 + ["fail"], resource=[PASS] * 4 + [FAIL])
    assert frame.table.get("schools_not_meeting_basic_standard")[row(frame, "junior")] == 0
    assert frame.table.get("schools_not_meeting_resource_rule")[row(frame, "junior")] == 0


def test_small_teaching_point_is_out_of_the_resource_gate_but_in_the_basic_gate():
    records = both_stages() + [school("tp", 30, school_type="teaching_point")]
    frame = frame_of(records, status=["pass"] * 4 + ["fail"], resource=[PASS] * 4 + [FAIL])
    assert frame.table.get("schools_not_meeting_basic_standard")[row(frame, "junior")] == 1
    assert frame.table.get("schools_not_meeting_resource_rule")[row(frame, "junior")] == 0


def test_unknown_scope_counts_as_in_scope_and_is_reported():
    records = both_stages()
    records[3]["is_public"] = None
    records[3]["teaching_aux_area_m2"] = 4000.0
    frame = frame_of(records)
    assert frame.table.get("cv_teaching_aux_area_per_pupil")[row(frame, "junior")] > 0
    stage = report_of(frame)[0]["stages"]["junior"]
    assert [(u["school_id"], u["condition"]) for u in stage["scope_unknown"]] == [("j1", "exclude_from_county")]
    assert stage["schools_in_scope"] == 2


def test_nine_year_school_counts_in_each_stage():
    nine = [school("n9", 300, stage="primary", school_type="nine_year", teaching_aux_area_m2=3000.0),
            school("n9", 200, stage="junior", school_type="nine_year")]
    frame = frame_of(both_stages() + nine)
    rep = report_of(frame)[0]
    assert rep["stages"]["primary"]["schools_in_scope"] == 3
    assert rep["stages"]["junior"]["schools_in_scope"] == 3
    assert frame.table.get("cv_teaching_aux_area_per_pupil")[row(frame, "primary")] > 0
    assert frame.table.get("cv_teaching_aux_area_per_pupil")[row(frame, "junior")] == 0


def test_several_counties_and_years_in_one_table():
    a = both_stages(county="520101", year=2023)
    b = both_stages(county="520102", year=2023)
    c = both_stages(county="520101", year=2022)
    b[0]["teaching_aux_area_m2"] = 10.0
    counties = {("520101", 2023): PASSING_RECORD, ("520102", 2023): PASSING_RECORD}
    frame = frame_of(c + b + a, counties=counties)
    assert frame.counties == [("520101", 2022), ("520101", 2023), ("520102", 2023)]
    assert frame.table.n == 9
    assert list(frame.table.get("stage")) == ["primary", "junior", "county"] * 3
    assert list(frame.table.get("year")) == [2022.0] * 3 + [2023.0] * 6
    assert frame.absent_records == [("520101", 2022)]
    cv = frame.table.get("cv_teaching_aux_area_per_pupil")
    assert cv[row(frame, "primary", "520102")] > 0
    assert cv[row(frame, "primary", "520101")] == 0 and cv[row(frame, "primary", "520101", 2022)] == 0
    reps = report_of(frame)
    assert [(r["county_code"], r["year"]) for r in reps] == frame.counties
    assert reps[0]["status"] == "incomplete" and reps[1]["status"] == "pass"
    assert reps[2]["county_name"] == "县520102" and reps[2]["province"] == "guizhou"


def test_a_stage_without_schools_is_missing_not_a_silent_pass():
    frame = frame_of([school("p", 300, stage="primary"), school("q", 200, stage="primary")])
    rep = report_of(frame)[0]
    junior = [v for v in rep["verdicts"] if v["stage"] == "junior"]
    assert junior and all(v["status"] == "missing_data" for v in junior)
    assert rep["stages"]["junior"]["schools_in_scope"] == 0
    assert rep["basic_balance"]["status"] == "incomplete"


def test_score_merges_every_row_of_a_county():
    seen = {}

    def spy(status, rules):
        seen["shape"], seen["n_rules"] = status.shape, len(rules)
        return simple_score(status, rules)
    frame = frame_of(both_stages())
    county_reports(frame, evaluate(RULES, frame.table), spy)
    assert seen["shape"] == (3 * len(RULES), 1) and seen["n_rules"] == 3 * len(RULES)


def test_report_is_json_safe():
    records = both_stages()
    records[1]["books"] = None
    rep = report_of(frame_of(records, counties={}))
    text = json.dumps(rep, allow_nan=False, ensure_ascii=False)
    assert "NaN" not in text


def test_results_must_match_the_table():
    frame = frame_of(both_stages())
    bad = RuleResults.empty(RULES, frame.table.n + 1)
    with pytest.raises(ValueError):
        county_reports(frame, bad, simple_score)


def test_schools_without_county_code_are_refused():
    records = both_stages()
    records[0]["county_code"] = None
    with pytest.raises(ValueError):
        frame_of(records, counties={})


def test_status_arrays_must_match_the_schools():
    table = make_table(both_stages())
    with pytest.raises(ValueError):
        build_county_table(table, PARAMS, np.array(["pass"]), np.zeros(table.n, np.int8), {},
                           fake_parse, evaluate=fake_evaluate)


def test_whole_parameters_mapping_is_accepted():
    table = make_table(both_stages())
    args = (np.array(["pass"] * table.n, dtype=object), np.zeros(table.n, np.int8), {}, fake_parse)
    a = build_county_table(table, PACK["parameters"], *args, evaluate=fake_evaluate)
    b = build_county_table(table, PARAMS, *args, evaluate=fake_evaluate)
    assert a.cv_2017_indicators == b.cv_2017_indicators == tuple(PARAMS["cv_2017_indicators"])


def test_real_condition_language_agrees_with_the_fake():
    expr = pytest.importorskip("edubalance.expr")
    if not hasattr(expr, "parse_condition") or not hasattr(expr, "evaluate_columns"):
        pytest.skip("edubalance.expr has no condition language yet")
    records = both_stages() + [school("private", 800, is_public=False), school("tp40", 40, school_type="teaching_point"),
                               school("tp60", 60, school_type="teaching_point"), school("unk", 50, is_public=None)]
    table = make_table(records)
    args = (PARAMS, np.array(["pass"] * table.n, dtype=object), np.zeros(table.n, np.int8), {})
    real = build_county_table(table, *args, expr.parse_condition)
    fake = build_county_table(table, *args, fake_parse, evaluate=fake_evaluate)
    assert real.details == fake.details
    for name, col in fake.table.columns.items():
        if col.dtype == object:
            assert list(real.table.columns[name]) == list(col)
        else:
            np.testing.assert_array_equal(real.table.columns[name], col)


def test_national_size_is_vectorised():
    rng = np.random.default_rng(1)
    n = 60_000
    students = rng.integers(1, 2000, n).astype(float)
    table = Table(n)
    table.columns.update({
        "school_id": np.array([f"s{i}" for i in range(n)], dtype=object),
        "school_name": np.full(n, None, dtype=object),
        "stage": np.where(rng.random(n) < 0.6, "primary", "junior").astype(object),
        "school_type": np.full(n, "primary_school", dtype=object),
        "county_code": np.array([f"{520000 + i % 900}" for i in range(n)], dtype=object),
        "county_name": np.full(n, None, dtype=object), "province": np.full(n, "guizhou", dtype=object),
    })
    table.set_measure("year", np.full(n, 2023.0))
    table.set_measure("is_public", np.ones(n))
    table.set_measure("students", students)
    for ind in INDICATOR_FIELDS:
        table.set_measure(ind, rng.uniform(1, 10, n))
    frame = build_county_table(table, PARAMS, np.array(["pass"] * n, dtype=object), np.zeros(n, np.int8), {},
                               fake_parse, evaluate=fake_evaluate)
    assert frame.table.n == 3 * 900
    assert np.isfinite(frame.table.get("composite_cv_2012")[0::3]).all()


def test_a_failed_recognition_also_lists_what_is_missing():
    records = both_stages()
    records[0]["books"] = None                      # primary composite CV unknown
    counties = {("520101", 2023): {**PASSING_RECORD, "government_work_score": 80}}
    rep = report_of(frame_of(records, counties=counties))[0]
    reasons = rep["basic_balance"]["reasons"]
    assert rep["basic_balance"]["status"] == "fail"
    assert "work score" in reasons[0] and "80" in reasons[0]
    assert any(r.startswith("数据缺失 missing data") and "[primary]" in r for r in reasons[1:])
    assert rep["basic_balance"]["counts"]["fail"] == 1
    primary = rep["stages"]["primary"]
    assert primary["schools_not_meeting_basic_standard"] == 0
    assert isinstance(primary["schools_not_meeting_basic_standard"], int)
    assert primary["students_in_scope"] == 600 and primary["composite_cv_2012"] is None


# --- through the project's own loader, condition language, vector engine and scoring -----------

def _real_pipeline(records, counties, year=2023):
    from pathlib import Path

    from edubalance import expr
    from edubalance.engines.vector import VectorEngine
    from edubalance.rulepack import PackRegistry, PackSource, compile_ruleset, load_pack
    from edubalance.scoring import score

    path = Path(str(files("edubalance_national").joinpath("county.yaml")))
    registry = PackRegistry([load_pack(PackSource([path], "national"))])
    ruleset = compile_ruleset(registry, "national", year)
    table = make_table(records)
    frame = build_county_table(table, ruleset.parameters, np.array(["pass"] * table.n, dtype=object),
                               np.full(table.n, PASS, np.int8), counties, expr.parse_condition,
                               measures=ruleset.measures)
    results = VectorEngine().evaluate(ruleset.county_rules, frame.table)
    return frame, county_reports(frame, results, score)[0]


def test_real_pipeline_computes_the_teacher_pay_ratio():
    low = {("520101", 2023): {**PASSING_RECORD, "teacher_avg_salary_yuan": 80000}}
    frame, rep = _real_pipeline(both_stages(), low)
    assert frame.table.get("teacher_pay_ratio")[row(frame, "county")] == pytest.approx(80000 / 88000)
    pay = [v for v in rep["verdicts"] if v["rule_id"] == "national.county.teacher_pay"]
    assert len(pay) == 1 and pay[0]["stage"] == "county" and pay[0]["status"] == "fail"
    assert rep["status"] == "fail"
    _, ok = _real_pipeline(both_stages(), {("520101", 2023): PASSING_RECORD})
    assert ok["status"] == "pass" and ok["score"]["overall"] == 100.0


def test_real_pipeline_without_a_record_names_the_pay_fields():
    frame, rep = _real_pipeline(both_stages(), {})
    assert frame.measure_inputs["teacher_pay_ratio"] == {"teacher_avg_salary_yuan", "civil_servant_avg_salary_yuan"}
    needed = {n["field"] for n in rep["needs"]}
    assert {"teacher_avg_salary_yuan", "civil_servant_avg_salary_yuan", "government_work_score"} <= needed
    assert "teacher_pay_ratio" not in needed
    assert rep["status"] == "incomplete"


def test_real_pipeline_before_2017_has_no_high_quality_rules():
    records = both_stages(year=2016)
    frame, rep = _real_pipeline(records, {("520101", 2016): PASSING_RECORD}, year=2016)
    assert {v["rule_id"] for v in rep["verdicts"]} == {
        "national.county.schools_basic_standard", "national.county.composite_cv_2012",
        "national.county.government_work_score", "national.county.public_satisfaction"}
    if "programme" in getattr(Rule, "__dataclass_fields__", {}):
        assert rep["quality_balance"]["status"] == "not_applicable"
        assert rep["basic_balance"]["status"] == "pass"


def test_a_recognition_without_its_own_rules_in_force_is_not_applicable():
    before_2017 = compile_rules([r for r in PACK["county_rules"] if r["effective"]["from"] <= 2016])
    assert {r.id for r in before_2017} >= {"national.county.schools_basic_standard"}
    records = both_stages(year=2016)
    rep = report_of(frame_of(records), before_2017)[0]
    # The shared school gate alone must not make the 2017 recognition pass.
    assert rep["quality_balance"]["status"] == "not_applicable"
    assert rep["basic_balance"]["status"] == "pass"


def test_entries_match_the_report_schema():
    from edubalance.schemas import report_schema

    full = report_schema()
    schema = {"$schema": full.get("$schema"), "$defs": full["$defs"], "$ref": "#/$defs/county"}
    validator = Draft202012Validator(schema)
    records = both_stages() + [school("tp40", 40, school_type="teaching_point")]
    records[0]["books"] = None
    for counties in ({}, {("520101", 2023): {**PASSING_RECORD, "veto_falsified_data": True}}):
        for entry in report_of(frame_of(records, counties=counties)):
            # The report adds which rule catalogue an entry was judged by (Report.add_group).
            errors = [e.message for e in validator.iter_errors({**entry, "ruleset": "national/2023"})]
            assert errors == []


# --- compact verdicts: what describes a verdict is its rule ------------------------------------

def test_county_verdicts_carry_only_the_judgement():
    records = both_stages()
    records[0]["books"] = None
    counties = {("520101", 2023): {**PASSING_RECORD, "veto_falsified_data": True, "government_work_score": 80}}
    rep = report_of(frame_of(records, counties=counties))[0]
    assert rep["verdicts"] and all(set(v) == VERDICT_KEYS for v in rep["verdicts"])
    assert {v["rule_id"] for v in rep["verdicts"]} <= set(BY_ID)
    # One verdict per rule and stage the rule has a threshold for, in rule order.
    want = [(r.id, st) for r in RULES for st in ("primary", "junior", "county") if r.threshold_for(st) is not None]
    assert [(v["rule_id"], v["stage"]) for v in rep["verdicts"]] == want
    # The judgements still read the rules: the veto, the provisional thresholds, the reasons.
    assert rep["vetoed"] is True and rep["quality_balance"]["vetoed"] is True
    assert "falsified data" in rep["quality_balance"]["reasons"][0]
    judged = {v["rule_id"] for v in rep["verdicts"] if v["status"] in ("pass", "fail")}
    assert rep["provisional_rules"] == sorted(i for i in judged if BY_ID[i].threshold_status == "provisional")
    assert rep["provisional_rules"]


def test_judgements_follow_the_rule_descriptions():
    from dataclasses import replace

    # The same verdicts judged by rules that say something else: a veto in place of a
    # required rule, another title, a confirmed threshold, another programme.
    changed = {"national.county.government_work_score": dict(severity="veto", title_en="Work score, renamed"),
               "national.county.public_satisfaction": dict(threshold_status="confirmed"),
               "national.county.composite_cv_2012": dict(programme=("quality_2017",))}
    rules = [replace(r, **changed.get(r.id, {})) for r in RULES]
    counties = {("520101", 2023): {**PASSING_RECORD, "government_work_score": 80, "public_satisfaction_rate": 0.8}}
    frame = frame_of(both_stages(), counties=counties)
    before = report_of(frame)[0]
    after = report_of(frame, rules)[0]
    assert after["verdicts"] == before["verdicts"]
    assert before["vetoed"] is False and after["vetoed"] is True
    assert before["basic_balance"]["vetoed"] is False and after["basic_balance"]["vetoed"] is True
    reasons = after["basic_balance"]["reasons"]
    assert "Work score, renamed: 80, required >= 85" in reasons[0] and "veto" in reasons[0]
    assert any("(provisional threshold)" in r for r in before["basic_balance"]["reasons"])
    assert not any("(provisional threshold)" in r for r in reasons)
    assert "national.county.public_satisfaction" in before["provisional_rules"]
    assert "national.county.public_satisfaction" not in after["provisional_rules"]
    assert before["basic_balance"]["counts"]["pass"] == after["basic_balance"]["counts"]["pass"] + 2
    assert after["quality_balance"]["counts"]["pass"] == before["quality_balance"]["counts"]["pass"] + 2


def test_reasons_list_vetoes_first_then_failures_then_missing():
    records = both_stages()
    records[2]["sports_area_m2"] = None             # junior CVs missing
    counties = {("520101", 2023): {**PASSING_RECORD, "government_work_score": 80, "junior_retention_rate": 0.5,
                                   "veto_exam_admission": True}}
    rep = report_of(frame_of(records, counties=counties))[0]
    reasons = rep["quality_balance"]["reasons"]
    kinds = ["veto" if "一票否决" in r else "missing" if r.startswith("数据缺失") else "fail" for r in reasons]
    assert kinds == sorted(kinds, key=["veto", "fail", "missing"].index) and kinds[0] == "veto"
    assert {"fail", "missing"} <= set(kinds)
    assert rep["quality_balance"]["counts"]["missing_data"] == kinds.count("missing")
    assert any("[junior] needs cv_sports_area_per_pupil" in r for r in reasons)


# --- listings: which schools, in which order --------------------------------------------------

def test_excluded_schools_are_listed_in_input_order_2017_before_2012():
    records = [school("tp40", 40, school_type="teaching_point"), school("a", 300),
               school("closed", 0), school("private", 800, is_public=False), school("b", 500),
               school("tp10", 10, school_type="teaching_point")]
    stage = report_of(frame_of(records))[0]["stages"]["junior"]
    assert [(e["school_id"], e["reason_code"]) for e in stage["excluded"]] == [
        ("tp40", "teaching_point_2017"), ("tp40", "teaching_point_2012"), ("closed", "zero_pupils"),
        ("private", "private"), ("tp10", "teaching_point_2017"), ("tp10", "teaching_point_2012")]
    assert "10 pupils" in stage["excluded"][4]["reason"] and "40 pupils" in stage["excluded"][0]["reason"]
    assert all(set(e) == {"school_id", "school_name", "stage", "reason_code", "reason"} for e in stage["excluded"])
    assert stage["excluded"][2]["school_name"] == "学校closed"


def test_missing_values_are_listed_by_school_then_measure():
    records = both_stages(n_each=3)
    records[4]["books"] = None                       # j1: books (both scopes)
    records[4]["sports_area_m2"] = None              # j1: sports area (both scopes)
    records[3]["backbone_teachers"] = None           # j0: a 2017-only indicator
    records[5]["students"] = None                    # j2: pupils unknown
    frame = frame_of(records)
    missing = report_of(frame)[0]["stages"]["junior"]["missing"]
    assert [(m["school_id"], m["measure"]) for m in missing] == [
        ("j0", "backbone_teachers_per_100"), ("j1", "books_per_pupil"), ("j1", "sports_area_per_pupil"),
        ("j2", "students")]
    assert missing[0]["cvs"] == ["cv_backbone_teachers_per_100"]
    assert missing[1]["cvs"] == ["cv2012_books_per_pupil"] and missing[1]["field"] == "books"
    assert missing[2]["cvs"] == ["cv_sports_area_per_pupil", "cv2012_sports_area_per_pupil"]
    assert missing[3]["field"] == "students"
    assert missing[3]["cvs"] == [f"cv_{i}" for i in DEFAULT_CV_2017] + [f"cv2012_{i}" for i in DEFAULT_CV_2012]
    assert list(missing[0]) == ["school_id", "school_name", "stage", "measure", "field", "label", "cvs"]
    assert missing[1]["cvs"] is not missing[2]["cvs"]
    assert report_of(frame)[0]["stages"]["primary"]["missing"] == []


def test_a_measure_whose_field_is_present_names_no_field():
    records = both_stages()
    table = make_table(records)
    table.columns["books_per_pupil"][2] = np.nan     # the measure lacks, its record field does not
    frame = build_county_table(table, PARAMS, np.array(["pass"] * table.n, dtype=object),
                               np.full(table.n, PASS, np.int8), {}, fake_parse, evaluate=fake_evaluate)
    [m] = frame.details[row(frame, "junior")]["missing"]
    assert (m["measure"], m["field"], m["cvs"]) == ("books_per_pupil", None, ["cv2012_books_per_pupil"])


def test_unknown_scopes_are_listed_condition_by_condition():
    records = both_stages() + [school("tpx", 30, school_type="teaching_point")]
    records[-1]["students"] = None
    records[3]["is_public"] = None
    records[1]["is_public"] = None
    frame = frame_of(records)
    stage = report_of(frame)[0]["stages"]
    assert [(u["school_id"], u["condition"]) for u in stage["junior"]["scope_unknown"]] == [
        ("j1", "exclude_from_county"), ("tpx", "exclude_from_cv_2017")]
    assert [(u["school_id"], u["condition"]) for u in stage["primary"]["scope_unknown"]] == [
        ("p1", "exclude_from_county")]
    assert stage["junior"]["scope_unknown"][1]["text"] == PARAMS["exclude_from_cv_2017"]


def test_first_named_county_and_province_win():
    records = both_stages()
    records[0]["county_name"] = ""
    records[0]["province"] = None
    records[1]["county_name"] = "第一"
    records[2]["county_name"] = "第二"
    rep = report_of(frame_of(records))[0]
    assert rep["county_name"] == "第一" and rep["province"] == "guizhou"


def test_counties_are_ordered_by_code_as_text():
    records = both_stages(county="9") + both_stages(county="10") + both_stages(county="10", year=2022)
    frame = frame_of(records)
    assert frame.counties == [("10", 2022), ("10", 2023), ("9", 2023)]
    # Codes that are not text are grouped by their text form, as before.
    table = make_table(records)
    table.columns["county_code"] = np.array([int(c) for c in table.columns["county_code"]], dtype=object)
    other = build_county_table(table, PARAMS, np.array(["pass"] * table.n, dtype=object),
                               np.full(table.n, PASS, np.int8), {}, fake_parse, evaluate=fake_evaluate)
    assert other.counties == frame.counties
    assert [d for d in other.details if "excluded" in d] == [d for d in frame.details if "excluded" in d]


def test_county_reports_at_national_size():

    from edubalance.engines.vector import VectorEngine

    rng = np.random.default_rng(3)
    n, n_counties = 30_000, 900
    records = []
    for i in range(n):
        county = f"{520000 + i % n_counties}"
        stage = "primary" if i % 5 < 3 else "junior"
        rec = school(f"s{i}", float(rng.integers(1, 1500)) if i % 50 else 0.0, stage=stage, county=county)
        if i % 97 == 0:
            rec["books"] = None
        if i % 89 == 0:
            rec.update(school_type="teaching_point")
        records.append(rec)
    table = make_table(records)
    counties = {(f"{520000 + c}", 2023): dict(PASSING_RECORD) for c in range(0, n_counties, 2)}
    frame = build_county_table(table, PARAMS, np.array(["pass"] * n, dtype=object), np.full(n, PASS, np.int8),
                               counties, fake_parse, evaluate=fake_evaluate)
    frame.table.set_measure("teacher_pay_ratio", frame.table.get("teacher_avg_salary_yuan")
                            / frame.table.get("civil_servant_avg_salary_yuan"))
    results = VectorEngine().evaluate(RULES, frame.table)
    reps = county_reports(frame, results, simple_score)
    assert len(reps) == n_counties
    with_record, without = reps[0], reps[1]
    assert with_record["county_record"] and not without["county_record"]
    assert without["status"] == "incomplete" and without["needs"]
    assert with_record["needs"] == []
    assert sum(len(r["stages"][st]["missing"]) for r in reps for st in ("primary", "junior")) == \
        sum(1 for r in records if r["books"] is None and r["students"] > 0 and r["school_type"] != "teaching_point")
    assert any(e["reason_code"] == "zero_pupils" for e in reps[0]["stages"]["primary"]["excluded"])
    assert all(set(v) == VERDICT_KEYS for r in reps[:20] for v in r["verdicts"])


def test_a_county_verdict_has_a_gap_only_when_judged_as_a_school_verdict_does():
    """A gap is value − threshold of a verdict that passed or failed; a verdict left without data
    or not applicable has none, even where a value and a threshold are known (a scope unknown or
    false), and a share is only taken of a threshold other than 0."""
    from edubalance.entries import gaps_of
    frame = frame_of(both_stages())
    results = evaluate(RULES, frame.table)
    pay = next(k for k, r in enumerate(RULES) if r.id == "national.county.teacher_pay")
    crow = row(frame, "county")
    assert results.status[pay, crow] == PASS and np.isfinite(results.value[pay, crow])
    results.status[pay, crow] = MISSING_DATA                       # a value and a threshold, not judged
    [rep] = county_reports(frame, results, simple_score)
    by_id = {(v["rule_id"], v["stage"]): v for v in rep["verdicts"]}
    missing = by_id[("national.county.teacher_pay", "county")]
    assert missing["value"] is not None and missing["threshold"] is not None and missing["gap"] is None
    for v in rep["verdicts"]:                                      # every gap as the school verdicts' rule has it
        _, gap, share = gaps_of(np.array([STATUS_CODES[v["status"]]]), np.array([np.nan if v["value"] is None else v["value"]]),
                                np.array([np.nan if v["threshold"] is None else v["threshold"]]))
        if v["gap"] is None:
            assert np.isnan(gap[0]) or v["value"] is None
        else:
            assert v["gap"]["value"] == gap[0]
            assert v["gap"]["share"] == (None if np.isnan(share[0]) else share[0])
    zero = by_id[("national.county.veto_exam_admission", "county")]
    assert zero["threshold"] == 0 and zero["gap"] == {"value": 0.0, "share": None}


STATUS_CODES = {"pass": PASS, "fail": FAIL, "not_applicable": NOT_APPLICABLE, "missing_data": MISSING_DATA}


def test_a_county_record_s_other_numeric_fields_are_kept_whatever_the_other_records_carry():
    """Fields beyond the county record's own (from a plug-in's records) get a column each, read
    from every record that carries them, whichever record carried them first."""
    records = both_stages(1) + [dict(r, county_code="520102") for r in both_stages(1)]
    counties = {("520101", 2023): dict(PASSING_RECORD, extra_a=1),
                ("520102", 2023): dict(PASSING_RECORD, extra_a=2, extra_b=5)}
    frame = frame_of(records, counties=counties)
    county_rows = frame.table.get("stage") == "county"
    assert frame.table.get("extra_a")[county_rows].tolist() == [1.0, 2.0]
    assert np.isnan(frame.table.get("extra_b")[county_rows][0]) and frame.table.get("extra_b")[county_rows][1] == 5.0


def test_verdicts_alike_are_one_shared_dict_and_others_stay_apart():
    """Counties with the same verdict (rule, stage, status, value, threshold) share one dict;
    a verdict that differs in any of them is its own, and every county keeps its own order."""
    a = both_stages(county="520101")
    b = both_stages(county="520102")
    c = both_stages(county="520103")
    counties = {("520101", 2023): PASSING_RECORD, ("520102", 2023): PASSING_RECORD,
                ("520103", 2023): {**PASSING_RECORD, "government_work_score": 84.5}}
    reps = report_of(frame_of(a + b + c, counties=counties))
    by_county = [{(v["rule_id"], v["stage"]): v for v in r["verdicts"]} for r in reps]
    assert [[(v["rule_id"], v["stage"]) for v in r["verdicts"]] for r in reps] == [list(d) for d in by_county]
    assert all(len(d) == len(reps[0]["verdicts"]) for d in by_county)
    gov = ("national.county.government_work_score", "county")
    assert by_county[0][gov] is by_county[1][gov]                  # alike: one dict
    assert by_county[0][gov] == {"rule_id": gov[0], "stage": "county", "status": "pass", "value": 92.0,
                                 "threshold": 85.0, "gap": {"value": 7.0, "share": pytest.approx(7 / 85)}}
    assert by_county[2][gov] is not by_county[0][gov]
    assert (by_county[2][gov]["status"], by_county[2][gov]["value"]) == ("fail", 84.5)
    for key, v in by_county[0].items():                             # the same content county by county
        assert by_county[1][key] is v


def test_missing_records_share_their_verdicts_and_nan_is_none():
    reps = report_of(frame_of(both_stages(county="520101") + both_stages(county="520102"), counties={}))
    first, second = ([v for v in r["verdicts"] if v["stage"] == "county"] for r in reps)
    assert first and all(x is y for x, y in zip(first, second))
    assert all(v["status"] == "missing_data" and v["value"] is None and v["gap"] is None for v in first)


def test_alike_tells_signed_zeros_apart_and_takes_every_nan_as_one():
    from edubalance.county_report import _alike
    first, kind = _alike(np.array([0, 0, 0, 0, 1, 0]), np.array([0.0, -0.0, np.nan, -np.nan, np.nan, 0.0]))
    assert kind[0] == kind[5] and len({kind[0], kind[1], kind[2], kind[4]}) == 4
    assert kind[2] == kind[3]
    assert all(kind[i] == k for k, i in enumerate(first.tolist()))           # a kind's first row
    assert first.tolist() == [min(j for j in range(6) if kind[j] == k) for k in range(len(first))]


def test_pick_takes_a_sequence_item_whole():
    from edubalance.county_listings import pick
    items = [("a", ["cv_x"]), ("b", [])]
    assert pick(items, np.array([1, 0, 0])) == [("b", []), ("a", ["cv_x"]), ("a", ["cv_x"])]
    assert pick(items, np.array([0, 1, 1, 0]), (2, 2)) == [[items[0], items[1]], [items[1], items[0]]]
    assert pick([], np.array([], dtype=np.intp)) == []


def test_each_stage_has_its_own_cv_notes():
    """The notes of stages alike are written once but handed out as each stage's own copy."""
    frame = frame_of([school("p", 300, stage="primary"), school("j", 400, stage="junior")])
    stages = report_of(frame)[0]["stages"]
    assert stages["primary"]["cv_not_applicable"] == stages["junior"]["cv_not_applicable"]
    assert stages["primary"]["notes"] == stages["junior"]["notes"] and stages["primary"]["notes"]
    stages["primary"]["notes"].append("changed")
    stages["primary"]["cv_not_applicable"]["basic_2012"] = "changed"
    again = report_of(frame_of([school("p", 300, stage="primary"), school("j", 400, stage="junior")]))[0]["stages"]
    assert "changed" not in again["primary"]["notes"] + stages["junior"]["notes"]
    assert again["primary"]["cv_not_applicable"]["basic_2012"] != "changed"
    assert stages["junior"]["cv_not_applicable"]["basic_2012"] != "changed"
