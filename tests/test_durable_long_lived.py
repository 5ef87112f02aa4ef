"""The durable-rules back end in a long-lived process: numbers the engine's JSON reader refuses,
rulesets compiled once and freed, and the process-wide limit on live rulesets."""
from __future__ import annotations

import gc
import json

import pytest

from edubalance import Evaluator
from edubalance.engines import durable
from edubalance.engines.durable import DurableEngine, durable_json
from edubalance.synthetic import generate


@pytest.fixture(scope="module")
def record():
    return next(r for r in generate(30, seed=5) if r.get("students"))


@pytest.mark.parametrize("value, text", [
    (1e20, "1.0e+20"), (1e16, "1.0e+16"), (1.5e-7, "1.5e-07"), (2e-300, "2.0e-300"), (0.1, "0.1"),
    (float("inf"), "1.7976931348623157e+308"), (float("-inf"), "-1.7976931348623157e+308"),
    (3, "3"), (2 ** 64, "1.8446744073709552e+19"), (True, "true"), (None, "null"),
])
def test_numbers_are_written_as_durable_rules_reads_them(value, text):
    assert durable_json(value) == text
    assert json.loads(durable_json({"x": [value]}))["x"][0] == pytest.approx(json.loads(text))


def test_text_is_json_and_a_lone_surrogate_is_escaped():
    assert json.loads(durable_json({"名": "学校 \"x\""})) == {"名": "学校 \"x\""}
    assert durable_json("a\ud800b") == '"a\\ud800b"'
    with pytest.raises(ValueError, match="NaN"):
        durable_json(float("nan"))


@pytest.mark.parametrize("value", [0.02271, 0.004542, 2.271e19, 1e20, 1e300, 1e-300, 5e-324, 2 ** 64 + 1])
@pytest.mark.parametrize("field", ["building_area_m2", "students", "books"])
def test_huge_tiny_and_exponent_numbers_give_the_same_verdicts_on_both_back_ends(
        record, value, field, vector_evaluator, durable_evaluator):
    r = dict(record, **{field: value})          # 0.02271 m² for 2,271 pupils: 1e-05 per pupil
    try:
        expected = vector_evaluator.evaluate_record(r)
    except ValueError as exc:                 # rejected at validation: the same on both
        with pytest.raises(ValueError, match="record rejected"):
            durable_evaluator.evaluate_record(r)
        assert "record rejected" in str(exc)
        return
    assert durable_evaluator.evaluate_record(r) == expected


def test_an_engine_compiles_a_rule_list_once_and_frees_its_rulesets_when_dropped(record, vector_evaluator):
    rules = vector_evaluator.ruleset(record["province"], int(record["year"])).rules
    gc.collect()                                  # engines of earlier tests, left in cycles, gone first
    before = len(durable._LIVE)
    engine = DurableEngine()
    names = engine._rulesets(rules)
    assert engine._rulesets(list(rules)) is names            # the same rules: compiled once
    assert len(durable._LIVE) == before + len(names)
    del engine
    gc.collect()
    assert len(durable._LIVE) == before


def test_fresh_evaluators_do_not_pile_up_rulesets(record):
    before = len(durable._LIVE)
    for _ in range(5):
        Evaluator(engine="durable").evaluate_record(record)
        gc.collect()
    assert len(durable._LIVE) == before


def test_a_process_at_its_ruleset_limit_refuses_durable_and_auto_picks_vector(record, monkeypatch):
    monkeypatch.setattr(durable, "MAX_LIVE_RULESETS", len(durable._LIVE))
    with pytest.raises(ValueError, match="rulesets are alive in this process.*--engine vector") as refused:
        Evaluator(engine="durable").evaluate_record(record)
    assert "too complex" not in str(refused.value)
    ev = Evaluator(engine="auto")
    ev.evaluate_record(record)
    assert sorted(ev._engine_objects) == ["vector"]


def test_an_engine_keeps_a_bounded_number_of_rule_lists(vector_evaluator, monkeypatch):
    monkeypatch.setattr(durable, "CACHED_RULE_LISTS", 2)
    engine = DurableEngine()
    lists = [vector_evaluator.ruleset(p, 2023).rules for p in ("guizhou", "shaanxi", "anhui")]
    for rules in lists:
        engine._rulesets(rules)
    assert len(engine._compiled) == 2 and len(engine._handles) == sum(
        len(names) for _, names in engine._compiled.values())
