"""Public-funds entitlement (data-dictionary §5) through the whole evaluation, per province.

Every expected figure is worked by hand in a comment: base × counted pupils + special rate ×
special-needs pupils + supplement × boarders.
"""
from __future__ import annotations

import numpy as np
import pytest

from edubalance.funding import FundingPlan, compute_funding, funding_parameters
from edubalance.listing import render_rules, rules_listing
from edubalance.rulepack import merge_parameters
from edubalance.table import Table


def base(province, **kw):
    rec = {"school_id": "6101020001", "county_code": "610102", "year": 2020, "province": province,
           "stage": "primary", "school_type": "primary_school", "location": "rural", "is_public": True,
           "is_boarding": False, "boarders": 0, "special_needs_students": 0}
    rec.update(kw)
    return rec


def entry(ev, **kw):
    return ev.evaluate_record(base(**kw))


def funding(ev, **kw):
    return entry(ev, **kw)["funding"]


@pytest.mark.parametrize("province, year, counted, entitlement", [
    ("guizhou", 2020, 100, 600 * 100),       # national floor 100, base 600
    ("anhui", 2020, 100, 600 * 100),
    ("shaanxi", 2020, 100, 800 * 100),       # before 2024 Shaanxi uses the national 100
    ("shaanxi", 2024, 200, 800 * 200),       # the 200 floor of the 2024 restatement
])
def test_a_rural_primary_of_63_pupils_is_funded_at_the_floor(vector_evaluator, province, year, counted, entitlement):
    f = funding(vector_evaluator, province=province, year=year, students=63)
    assert f["counted_pupils"] == counted
    assert f["floor_applied"] is True
    assert f["entitlement_yuan"] == entitlement


def test_floor_eligibility_is_total_enrolment(vector_evaluator):
    # 105 pupils in all is not "不足100人": 95 × 650 + 10 × 6,000 = 61,750 + 60,000 = 121,750
    f = funding(vector_evaluator, province="anhui", year=2023, students=105, special_needs_students=10)
    assert f["floor_applied"] is False and f["counted_pupils"] == 95
    assert f["entitlement_yuan"] == 121750
    # 99 pupils in all is: max(89, 100) = 100; 600 × 100 + 6,000 × 10 = 120,000
    f = funding(vector_evaluator, province="anhui", students=99, special_needs_students=10)
    assert f["floor_applied"] is True and f["entitlement_yuan"] == 120000
    # exactly 100 pupils is not under 100: 600 × 100 = 60,000, floor not applied
    f = funding(vector_evaluator, province="guizhou", students=100)
    assert f["floor_applied"] is False and f["entitlement_yuan"] == 60000


@pytest.mark.parametrize("school_type, stage, expected", [
    ("junior_school", "junior", 800 * 100),        # either stage: 800 × 100 = 80,000
    ("teaching_point", "primary", 600 * 100),      # teaching points: 600 × 100 = 60,000
    ("nine_year", "junior", 800 * 100),
])
def test_the_national_floor_covers_small_rural_schools_of_either_stage(vector_evaluator, school_type, stage,
                                                                        expected):
    f = funding(vector_evaluator, province="guizhou", school_type=school_type, stage=stage, students=70)
    assert f["floor_applied"] is True and f["entitlement_yuan"] == expected


def test_a_special_education_school_is_funded_at_the_special_rate_and_never_floored(vector_evaluator):
    # 6,000 × 40 = 240,000 — not 6,000 × 40 + 600 × 100 floor pupils
    f = funding(vector_evaluator, province="guizhou", school_type="special_education", students=40,
                special_needs_students=None)
    assert f["entitlement_yuan"] == 240000
    assert f["counted_pupils"] == 0 and f["floor_applied"] is False and f["special_needs_yuan"] == 240000


@pytest.mark.parametrize("province, year, expected", [
    ("shaanxi", 2024, 1000 * 200 + 300 * 120),   # floor 200 and +300 per rural boarder = 236,000
    ("shaanxi", 2020, 1000 * 150 + 200 * 120),   # 150 is not under 100; +200 (national) = 174,000
    ("guizhou", 2020, 800 * 150 + 200 * 120),    # national: no floor above 100, +200 = 144,000
    ("anhui", 2020, 800 * 150 + 200 * 120),
])
def test_a_rural_boarding_junior_of_150(vector_evaluator, province, year, expected):
    f = funding(vector_evaluator, province=province, year=year, stage="junior", school_type="junior_school",
                students=150, boarders=120, is_boarding=True)
    assert f["entitlement_yuan"] == expected
    assert f["floor_applied"] is (province == "shaanxi" and year == 2024)


def test_shaanxi_town_boarding_schools_keep_the_national_supplement(vector_evaluator):
    # Shaanxi names only rural boarders: 1,000 × 150 + 200 × 120 = 174,000, confirmed
    e = entry(vector_evaluator, province="shaanxi", year=2024, location="town", stage="junior",
              school_type="junior_school", students=150, boarders=120, is_boarding=True,
              public_funds_received_yuan=174000)
    assert e["funding"]["supplement_yuan"] == 24000 and e["funding"]["entitlement_yuan"] == 174000
    assert "national.public_funds" not in e["provisional_rules"]


def test_shaanxi_special_needs_before_2015_inherit_the_national_rate(vector_evaluator):
    # 800 × 298 + 6,000 × 2 = 250,400 (the Shaanxi list once replaced the national one: 0 yuan)
    e = entry(vector_evaluator, province="shaanxi", year=2013, location="urban", students=300,
              special_needs_students=2, public_funds_received_yuan=250400)
    assert e["funding"]["special_needs_yuan"] == 12000 and e["funding"]["entitlement_yuan"] == 250400
    assert "national.public_funds" in e["provisional_rules"]     # the rate before 2015 is not sourced


@pytest.mark.parametrize("province, year, kw, provisional", [
    ("shaanxi", 2024, {"location": "urban"}, False),                     # base 800 confirmed, nothing else
    ("shaanxi", 2024, {"students": 63}, True),                           # the floor of 200 entered
    ("shaanxi", 2024, {"students": 300}, False),                         # rural, no floor, no boarders
    ("shaanxi", 2024, {"students": 300, "is_boarding": True, "boarders": 10}, True),   # +300 entered
    ("anhui", 2020, {"students": 63}, False),                            # all confirmed
    ("anhui", 2023, {"students": 300}, True),                            # the 650 base is provisional
    ("guizhou", 2020, {"students": 300}, True),                          # Guizhou restates as provisional
])
def test_the_funding_verdict_is_provisional_only_where_a_provisional_parameter_entered(
        vector_evaluator, province, year, kw, provisional):
    e = entry(vector_evaluator, province=province, year=year,
              **{"students": 300, "public_funds_received_yuan": 10 ** 6, **kw})
    assert ("national.public_funds" in e["provisional_rules"]) is provisional
    assert e["measures"]["funding_provisional"] == (1 if provisional else 0)
    rules = vector_evaluator.rule_catalogue(e["ruleset"])["rules"]
    assert rules["national.public_funds"]["provisional_when"] == "funding_provisional"


def test_a_missing_special_needs_count_is_missing_data_not_zero(vector_evaluator):
    e = entry(vector_evaluator, province="anhui", location="urban", students=500, special_needs_students=None,
              public_funds_received_yuan=10 ** 6)
    assert e["funding"]["entitlement_yuan"] is None
    v = next(v for v in e["verdicts"] if v["rule_id"] == "national.public_funds")
    assert v["status"] == "missing_data"


def test_a_special_needs_pupil_is_funded_at_6000(vector_evaluator):
    f = funding(vector_evaluator, province="guizhou", location="urban", students=500, special_needs_students=1)
    assert f["counted_pupils"] == 499
    assert f["special_needs_yuan"] == 6000
    assert f["entitlement_yuan"] == 600 * 499 + 6000      # 299,400 + 6,000 = 305,400


def test_the_shortfall_is_entitlement_minus_received(vector_evaluator):
    f = funding(vector_evaluator, province="guizhou", location="urban", students=500, public_funds_received_yuan=250000)
    assert f["entitlement_yuan"] == 300000                   # 600 × 500
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
    entry_ = vector_evaluator.evaluate_record(rec)
    assert entry_["funding"]["entitlement_yuan"] is None
    rules = vector_evaluator.rule_catalogue(entry_["ruleset"])["rules"]
    public = next(v for v in entry_["verdicts"] if rules[v["rule_id"]]["dimension"] == "funding")
    assert public["status"] == "missing_data"


def test_unknown_location_does_not_matter_where_no_floor_could_apply(vector_evaluator):
    rec = base("guizhou", students=300)                     # 300 is not under any floor: 600 × 300
    del rec["location"]
    assert vector_evaluator.evaluate_record(rec)["funding"]["entitlement_yuan"] == 180000


def test_funding_verdict_fails_on_shortfall(vector_evaluator):
    e = vector_evaluator.evaluate_record(base("shaanxi", students=300, location="urban",
                                              public_funds_received_yuan=100000))
    v = next(v for v in e["verdicts"] if v["rule_id"] == "national.public_funds")
    assert v["status"] == "fail"
    assert v["threshold"] == 800 * 300
    assert v["gap"]["value"] == 100000 - 240000


# --- the merge: a province extends the national parameters by key and year --------------------

NATIONAL = {"funding": {
    "small_school_floor": [{"pupils": 100, "applies_when": "location == 'rural'", "threshold_status": "confirmed",
                            "source": {"document": "n"}}],
    "special_needs": [{"per_pupil": 6000, "threshold_status": "confirmed", "source": {"document": "n"}}],
}, "county": {"exclude_from_county": "is_public == false"}}
PROVINCE = {"funding": {
    "small_school_floor": [{"from": 2024, "pupils": 200, "applies_when": "location == 'rural'",
                            "threshold_status": "provisional", "source": {"document": "p"}}],
}}


def test_province_entries_come_first_and_the_national_ones_stay_behind():
    merged = merge_parameters(NATIONAL, PROVINCE, "prov")
    floors = merged["funding"]["small_school_floor"]
    assert [f["pupils"] for f in floors] == [200, 100] and floors[0]["pack"] == "prov"
    assert merged["funding"]["special_needs"] == NATIONAL["funding"]["special_needs"]   # inherited
    assert merged["county"] == NATIONAL["county"]
    assert [e["pupils"] for e in funding_parameters(merged["funding"], 2023)["small_school_floor"]] == [100]
    assert [e["pupils"] for e in funding_parameters(merged["funding"], 2024)["small_school_floor"]] == [200, 100]


def test_a_school_takes_the_first_entry_whose_condition_holds():
    params = {"base_per_pupil": [{"primary": 600, "threshold_status": "confirmed", "source": {"document": "n"}}],
              "boarding_supplement": [
                  {"per_boarder": 300, "applies_when": "location == 'rural'", "threshold_status": "provisional",
                   "source": {"document": "p"}},
                  {"per_boarder": 200, "threshold_status": "confirmed", "source": {"document": "n"}}]}
    table = Table.from_records([{"stage": "primary", "school_type": "primary_school", "students": 500,
                                 "special_needs_students": 0, "boarders": 10, "location": loc}
                                for loc in ("rural", "urban", None)],
                               ["students", "special_needs_students", "boarders"])
    compute_funding(table, FundingPlan(params, 2020))
    # rural: 300 × 10; urban: 200 × 10; unknown location: the first condition is unknown
    np.testing.assert_array_equal(table.get("funding_supplement_yuan")[:2], [3000, 2000])
    assert np.isnan(table.get("funding_supplement_yuan")[2])
    np.testing.assert_array_equal(table.get("funding_provisional")[:2], [1, 0])


# --- what `edubalance rules` shows -----------------------------------------------------------

def _params(listing):
    return [(f["parameter"], f.get("pupils", f.get("per_boarder", f.get("per_pupil", f.get("primary")))),
             f["threshold_status"]) for f in listing["funding"]]


def test_shaanxi_2013_lists_the_parameters_that_year_really_had(vector_evaluator):
    listing = rules_listing(vector_evaluator, "shaanxi", 2013)
    got = _params(listing)
    assert ("base_per_pupil", 800, "confirmed") in got
    assert ("small_school_floor", 100, "provisional") in got and ("small_school_floor", 200, "provisional") not in got
    assert ("boarding_supplement", 300, "provisional") not in got
    assert ("special_needs", 6000, "provisional") in got
    assert all(f["source"]["document"] for f in listing["funding"])
    text = render_rules(listing)
    assert "small_school_floor" in text and "pupils 200" not in text


def test_shaanxi_2024_lists_the_200_floor_and_the_300_supplement(vector_evaluator):
    listing = rules_listing(vector_evaluator, "shaanxi", 2024)
    got = _params(listing)
    assert ("small_school_floor", 200, "provisional") in got
    assert ("boarding_supplement", 300, "provisional") in got
    assert ("boarding_supplement", 200, "confirmed") in got          # town and urban boarders
    assert ("special_needs", 6000, "confirmed") in got
    first = next(f for f in listing["funding"] if f["parameter"] == "small_school_floor")
    assert first["pack"] == "shaanxi" and "2024" in first["note"]
    assert "渭南" in first["source"]["document"]


def test_the_rules_command_shows_each_years_funding_parameters():
    from click.testing import CliRunner
    from edubalance.cli import main

    def funds(year):
        out = CliRunner().invoke(main, ["rules", "-P", "shaanxi", "--year", str(year)], catch_exceptions=False).output
        return out[out.index("公用经费参数"):]

    early, late = funds(2013), funds(2024)
    assert "pupils 200" not in early and "per_boarder 300" not in early
    assert "small_school_floor [2012–2023]: pupils 100* 适用条件 when location == 'rural'  (shaanxi: provisional)" in early
    assert "small_school_floor [2024–]: pupils 200* 适用条件 when location == 'rural'  (shaanxi: provisional)" in late
    assert "per_boarder 300*" in late and "渭南" in late
    assert "per_boarder 200 适用条件 when is_boarding == true  (national: confirmed)" in late
    assert late.count("source: ") == late.count("(shaanxi: ") + late.count("(national: ")
