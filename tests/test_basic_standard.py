"""The 2012 gate "every school meets the province's basic school-running standard" (办学基本标准).

A school meets the basic standard when none of the rules its pack marks ``standard: basic``
fails; the county gate counts the schools that do not. Funding (a government duty, judged at
county level) and the 2017 resource rule are not part of it.
"""
from __future__ import annotations

import numpy as np

from edubalance.model import FAIL, MISSING_DATA, NOT_APPLICABLE, PASS
from edubalance.scoring import basic_standard_status, meets_basic_standard


def school(i, **kw):
    rec = {"school_id": f"11010100{i:02d}", "school_name": f"测试县第{i}小学", "province": "national",
           "county_code": "110101", "county_name": "测试县", "year": 2016, "stage": "primary",
           "school_type": "primary_school", "location": "urban", "is_public": True, "is_boarding": False,
           "students": 600, "boarders": 0, "classes": 14, "max_class_size": 44, "special_needs_students": 0,
           "staff": 46, "teachers": 40, "teachers_above_required_degree": 20, "teachers_mid_senior_title": 20,
           "backbone_teachers": 2, "pe_art_teachers": 2, "certified_teachers": 40, "teaching_aux_area_m2": 1800,
           "sports_area_m2": 3000, "books": 20000, "equipment_value_yuan": 600000, "computers": 60,
           "multimedia_classrooms": 6, "music_rooms": 1, "art_rooms": 1, "public_funds_received_yuan": 1000}
    rec.update(kw)
    return rec


def gate(report, stage="primary"):
    county = report.counties[0]
    verdict = next(v for v in county["verdicts"]
                   if v["rule_id"] == "national.county.schools_basic_standard" and v["stage"] == stage)
    return verdict["status"], verdict["value"]


def test_the_same_county_gives_the_same_2012_gate_in_2016_and_2023(vector_evaluator):
    # Every school is badly underfunded (1000 yuan) and misses the 2017 resource indicators;
    # one has a class of 46. Only the class counts: one school fails the basic standard in both
    # years, although from 2017 the resource rule is in force and fails every school.
    schools = [school(1), school(2, max_class_size=46), school(3)]
    reports = {year: vector_evaluator.evaluate_records([{**s, "year": year} for s in schools])
               for year in (2016, 2023)}
    assert gate(reports[2016]) == gate(reports[2023]) == ("fail", 1)
    assert [s["meets_basic_standard"] for s in reports[2023].schools] == [True, False, True]
    resource = next(v for v in reports[2023].counties[0]["verdicts"]
                    if v["rule_id"] == "national.county.schools_resource_rule" and v["stage"] == "primary")
    assert resource["status"] == "fail" and resource["value"] == 3
    assert "national.county.schools_resource_rule" in reports[2023].counties[0]["provisional_rules"]


def test_the_gate_changes_only_when_a_basic_standard_rule_does(vector_evaluator):
    # 600 pupils for 30 staff: 20 per staff member. The 2001 city standard (1:19, basic, to 2013)
    # fails it; the 2014 unified standard (1:19, provisional and scored) is not part of the basic
    # standard, so from 2014 the same school meets it.
    schools = [school(1, staff=30), school(2)]
    by_year = {year: vector_evaluator.evaluate_records([{**s, "year": year} for s in schools])
               for year in (2013, 2014)}
    assert gate(by_year[2013]) == ("fail", 1)
    assert gate(by_year[2014]) == ("pass", 0)


def test_underfunding_alone_never_fails_the_gate(vector_evaluator):
    report = vector_evaluator.evaluate_records([school(1), school(2)])
    assert all(v["status"] == "fail" for s in report.schools for v in s["verdicts"]
               if v["rule_id"] == "national.public_funds")
    assert gate(report) == ("pass", 0)
    assert [s["status"] for s in report.schools] == ["fail", "fail"]        # the schools still fail
    assert [s["meets_basic_standard"] for s in report.schools] == [True, True]


def test_a_guizhou_nine_year_school_of_150_plus_150_needs_a_multimedia_hall(vector_evaluator):
    # 150 primary + 150 junior = 300 pupils in all ≥ 200: each record is judged on the school's size
    parts = [dict(school(1, province="guizhou", students=150, classes=6, multimedia_halls=0,
                         school_type="nine_year", stage=stage)) for stage in ("primary", "junior")]
    report = vector_evaluator.evaluate_records(parts)
    halls = [v["status"] for s in report.schools for v in s["verdicts"] if v["rule_id"] == "guizhou.multimedia_hall"]
    assert halls == ["fail", "fail"]
    alone = vector_evaluator.evaluate_record(parts[0])                       # 150 on its own: no hall needed
    assert next(v for v in alone["verdicts"] if v["rule_id"] == "guizhou.multimedia_hall")["status"] == \
        "not_applicable"


def test_basic_standard_status_reads_only_basic_rules():
    class R:
        def __init__(self, standard):
            self.standard = standard
    rules = [R("basic"), R(""), R("basic")]
    status = np.array([[PASS, PASS, MISSING_DATA, NOT_APPLICABLE, FAIL],
                       [FAIL, FAIL, FAIL, FAIL, FAIL],                  # not basic: never read
                       [PASS, NOT_APPLICABLE, PASS, NOT_APPLICABLE, MISSING_DATA]], dtype=np.int8)
    got = basic_standard_status(status, rules)
    assert got.tolist() == ["pass", "pass", "incomplete", "not_applicable", "fail"]
    assert meets_basic_standard(got).tolist()[:2] == [1.0, 1.0]
    assert np.isnan(meets_basic_standard(got)[2:4]).all() and meets_basic_standard(got)[4] == 0.0
    assert basic_standard_status(status, [R(""), R(""), R("")]).tolist() == ["not_applicable"] * 5
