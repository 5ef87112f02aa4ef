"""Public-funds entitlement (data-dictionary §5) through the whole evaluation, per province."""
from __future__ import annotations

import pytest


def base(province, **kw):
    rec = {"school_id": "6101020001", "county_code": "610102", "year": 2020, "province": province,
           "stage": "primary", "school_type": "primary_school", "location": "rural", "is_public": True,
           "is_boarding": False, "boarders": 0, "special_needs_students": 0}
    rec.update(kw)
    return rec


def funding(ev, **kw):
    return ev.evaluate_record(base(**kw))["funding"]


@pytest.mark.parametrize("province, counted, entitlement", [
    ("guizhou", 100, 600 * 100),
    ("anhui", 100, 600 * 100),
    ("shaanxi", 200, 800 * 200),
])
def test_a_rural_primary_of_63_pupils_is_funded_at_the_floor(vector_evaluator, province, counted, entitlement):
    f = funding(vector_evaluator, province=province, students=63)
    assert f["counted_pupils"] == counted
    assert f["floor_applied"] is True
    assert f["entitlement_yuan"] == entitlement


@pytest.mark.parametrize("province, expected", [
    ("shaanxi", 1000 * 200 + 300 * 120),   # floor 200 and +300 per rural boarder
    ("guizhou", 800 * 150 + 200 * 120),    # national: no floor above 100, +200 per boarder
    ("anhui", 800 * 150 + 200 * 120),
])
def test_a_rural_boarding_junior_of_150(vector_evaluator, province, expected):
    f = funding(vector_evaluator, province=province, stage="junior", school_type="junior_school", students=150,
                boarders=120, is_boarding=True)
    assert f["entitlement_yuan"] == expected
    assert f["floor_applied"] is (province == "shaanxi")


def test_a_special_needs_pupil_is_funded_at_6000(vector_evaluator):
    f = funding(vector_evaluator, province="guizhou", location="urban", students=500, special_needs_students=1)
    assert f["counted_pupils"] == 499
    assert f["special_needs_yuan"] == 6000
    assert f["entitlement_yuan"] == 600 * 499 + 6000


def test_the_shortfall_is_entitlement_minus_received(vector_evaluator):
    f = funding(vector_evaluator, province="guizhou", location="urban", students=500, public_funds_received_yuan=250000)
    assert f["entitlement_yuan"] == 300000
    assert f["shortfall_yuan"] == 50000
    over = funding(vector_evaluator, province="guizhou", location="urban", students=500,
                   public_funds_received_yuan=400000)
    assert over["shortfall_yuan"] == 0


def test_an_urban_school_gets_no_floor(vector_evaluator):
    f = funding(vector_evaluator, province="anhui", location="urban", students=63)
    assert f["counted_pupils"] == 63 and f["floor_applied"] is False


def test_unknown_location_leaves_the_entitlement_missing_not_guessed(vector_evaluator):
    rec = base("guizhou", students=63)
    del rec["location"]
    entry = vector_evaluator.evaluate_record(rec)
    assert entry["funding"]["entitlement_yuan"] is None
    rules = vector_evaluator.rule_catalogue(entry["ruleset"])["rules"]
    public = next(v for v in entry["verdicts"] if rules[v["rule_id"]]["dimension"] == "funding")
    assert public["status"] == "missing_data"


def test_funding_verdict_fails_on_shortfall(vector_evaluator):
    entry = vector_evaluator.evaluate_record(base("shaanxi", students=300, location="urban",
                                                  public_funds_received_yuan=100000))
    v = next(v for v in entry["verdicts"] if v["rule_id"] == "national.public_funds")
    assert v["status"] == "fail"
    assert v["threshold"] == 800 * 300
    assert v["gap"]["value"] == 100000 - 240000
