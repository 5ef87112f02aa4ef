"""The planner reuses the evaluator's school stage, validates its input once and asks what each
addition is for in one probe per rule set; a batch of variants of one school is not one school."""
from __future__ import annotations

from pathlib import Path

import pytest

from edubalance import Evaluator
from edubalance import evaluator as evaluator_module
from edubalance.model import FAIL, NOT_APPLICABLE, PASS
from edubalance.plan.probe import Probe
from edubalance.plan.school import SchoolSolver

DATA = Path(__file__).resolve().parents[1] / "plugins" / "guizhou" / "data"
FILES = [DATA / "demo_schools.csv", DATA / "demo_county.csv"]


def school(stage: str, students: int, halls: int = 0) -> dict:
    t = max(2, students // 18)
    return {"school_id": "5226990001", "stage": stage, "province": "guizhou", "county_code": "522699",
            "year": 2023, "location": "town", "is_public": True, "is_boarding": False, "students": students,
            "classes": max(1, students // 40), "teachers": t, "staff": t + 3, "multimedia_halls": halls}


@pytest.fixture(scope="module")
def ev():
    return Evaluator(engine="vector")


def hall_status(ev, records, batch):
    probe = Probe(ev, ev.ruleset("guizhou", 2023), records)
    return probe(batch).status[probe.index["guizhou.multimedia_hall"]]


def test_variants_of_one_school_are_not_summed_as_one_school(ev):
    alone = school("primary", 150)
    # three variants of a 150-pupil school: under 200 pupils, the hall rule does not apply to any
    assert list(hall_status(ev, [alone], [alone, dict(alone), dict(alone)])) == [NOT_APPLICABLE] * 3
    # a nine-year school: 150 primary + 100 junior pupils is 250, so it applies to every variant
    junior = school("junior", 100)
    assert list(hall_status(ev, [alone, junior], [alone, dict(alone)])) == [FAIL, FAIL]
    # as the report judges the two records together
    entry = ev.evaluate_records([alone, junior]).to_dict()["schools"][0]
    assert {v["rule_id"]: v["status"] for v in entry["verdicts"]}["guizhou.multimedia_hall"] == "fail"


def test_the_probe_is_the_evaluators_school_stage(ev, monkeypatch):
    calls = []
    stage = Evaluator.school_results

    def counting(self, *args, **kwargs):
        calls.append(kwargs.get("timed", True))
        return stage(self, *args, **kwargs)

    monkeypatch.setattr(Evaluator, "school_results", counting)
    records = [school("primary", 150)]
    Probe(ev, ev.ruleset("guizhou", 2023), records)(records)
    assert calls == [False]                   # untimed: the search does not count in the report's stages


def test_plan_validates_its_input_once_and_asks_reasons_once_per_rule_set(monkeypatch):
    counts = {"school_validations": 0, "reasons": 0}
    validate, reasons = evaluator_module.validate, SchoolSolver.reasons

    def counting_validate(rows, *args, **kwargs):
        if kwargs.get("kind", "school") == "school":
            counts["school_validations"] += 1
        return validate(rows, *args, **kwargs)

    def counting_reasons(self, rows):
        counts["reasons"] += 1
        return reasons(self, rows)

    monkeypatch.setattr(evaluator_module, "validate", counting_validate)
    monkeypatch.setattr(SchoolSolver, "reasons", counting_reasons)
    plan = Evaluator(engine="vector").plan(FILES)
    assert len(plan["schools"]) > 1 and {s["ruleset"] for s in plan["schools"]} == {"guizhou/2023"}
    # the input once; the adjusted records once more, to check the plan
    assert counts == {"school_validations": 2, "reasons": 1}
    assert any(a["for"] for s in plan["schools"] for a in s["additions"])


def test_files_and_records_given_together_are_one_input(ev):
    from edubalance.loading import frame_rows
    rows, _ = ev.load(FILES[:1])
    first = dict(frame_rows(rows)[0].data)
    plan = ev.plan(FILES, records=[first])     # the same school twice: one input, so a duplicate
    assert len(plan["rejected"]) == 1 and plan["rejected"][0]["file"] == "<records>"
    assert len(plan["schools"]) == rows.height


def test_a_small_stage_of_a_large_school_gets_the_hall_the_report_asks_for(ev):
    # 300 primary pupils with a hall, 12 junior pupils without: the school has 312 pupils, so the
    # junior record fails the hall rule in the report, and its plan must add a hall
    primary, junior = school("primary", 300, halls=1), school("junior", 12, halls=0)
    before = {s["stage"]: s for s in ev.evaluate_records([primary, junior]).to_dict()["schools"]}
    assert {v["rule_id"]: v["status"] for v in before["junior"]["verdicts"]}["guizhou.multimedia_hall"] == "fail"
    plan = ev.plan(records=[primary, junior])
    planned = {s["stage"]: s for s in plan["schools"]}
    assert {a["field"]: a["amount"] for a in planned["junior"]["additions"]}.get("multimedia_halls") == 1
    assert "guizhou.multimedia_hall" in planned["junior"]["claims"] and planned["junior"]["verified"]


def test_with_more_pupils_every_stage_of_the_school_grows(ev):
    probe = Probe(ev, ev.ruleset("guizhou", 2023), [school("primary", 150), school("junior", 100)])
    assert probe.siblings[("5226990001", 2023, "primary")] == 100
    grown = probe.for_records([school("primary", 158), school("junior", 105)])
    assert grown.siblings[("5226990001", 2023, "primary")] == 105 and grown.engine is probe.engine
    assert probe.siblings[("5226990001", 2023, "primary")] == 100


def test_the_derive_stage_gets_each_variants_whole_school(ev):
    """A pack measure computed from the whole school's pupils (here: the pupils themselves, at
    most 260) sees each variant's own school — its pupils and its other stages' — not the sum
    of the batch, because the probe gives derive the whole school before it computes."""
    import dataclasses

    from edubalance import expr
    base = ev.ruleset("guizhou", 2023)
    hall = base.rule("guizhou.multimedia_hall")
    rule = dataclasses.replace(hall, id="test.whole_school_pupils", measure="whole_school_pupils", operator="<=",
                               thresholds={"primary": 260.0, "junior": 260.0}, scope=None, scope_text="")
    ruleset = dataclasses.replace(base, rules=base.rules + [rule],
                                  measures={**base.measures,
                                            "whole_school_pupils": expr.parse_value("school_total_students + 0")})
    alone, junior = school("primary", 150), school("junior", 100)

    def judged(records, batch):
        probe = Probe(ev, ruleset, records)
        results = probe(batch)
        k = probe.index["test.whole_school_pupils"]
        return list(results.status[k]), list(results.value[k])

    # three variants of a 150-pupil school: each is a school of 150, not 450
    assert judged([alone], [alone, dict(alone), dict(alone)]) == ([PASS] * 3, [150.0] * 3)
    # a nine-year school (一贯制): each primary variant is planned with the whole school's 250 pupils
    assert judged([alone, junior], [alone, dict(alone)]) == ([PASS] * 2, [250.0] * 2)
    grown = dict(alone, students=200)                   # 200 primary + 100 junior: over 260
    assert judged([alone, junior], [grown]) == ([FAIL], [300.0])
