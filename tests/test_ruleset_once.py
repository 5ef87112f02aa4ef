"""What the stages derive from the rules alone is made once per compiled rule set and kept on it,
and gives the same results as computing it afresh: the measure runs, the entries' rule columns,
the funding plan, the score layout, the composites' inputs and the rule catalogue."""
from __future__ import annotations

import copy
import dataclasses

import numpy as np
import pytest

from edubalance import expr
from edubalance.catalogue import catalogue
from edubalance.composite import evaluate_composites
from edubalance.derive import derive_measures
from edubalance.entries import RuleColumns, SchoolBlock
from edubalance.funding import FundingPlan, compute_funding
from edubalance.loading import RawRow
from edubalance.model import RuleSet, measure_runs
from edubalance.scoring import ScoreLayout, score, status_of
from edubalance.synthetic import generate
from edubalance.table import Table


def _table(ev, records):
    """The accepted records as a table, as the evaluator builds one."""
    accepted = ev.validate_rows([RawRow("<records>", i + 1, dict(r)) for i, r in enumerate(records)]).accepted
    assert len(accepted) == len(records)
    return Table.from_records(accepted, ev._numeric)


def _columns(table):
    return {k: v.copy() for k, v in table.columns.items()}, {k: v.copy() for k, v in table.undefined.items()}


def _same_columns(a, b):
    assert a[0].keys() == b[0].keys() and a[1].keys() == b[1].keys()
    for name in a[0]:
        if a[0][name].dtype == object:
            assert a[0][name].tolist() == b[0][name].tolist(), name
        else:
            np.testing.assert_array_equal(a[0][name], b[0][name], err_msg=name)
    for name in a[1]:
        np.testing.assert_array_equal(a[1][name], b[1][name], err_msg=name)


def test_measure_runs_start_a_new_run_where_a_measure_reads_one_of_its_run():
    m = {"a": expr.parse("x + 1"), "b": expr.parse("a * 2"), "c": expr.parse("x / y"), "d": expr.parse("b + c")}
    runs = measure_runs(m)
    assert [[name for name, _, _ in run] for run in runs] == [["a"], ["b", "c"], ["d"]]
    assert runs[1][1][2] == ("x", "y")                  # the names read, sorted
    assert measure_runs({}) == []


def test_a_rule_sets_measure_runs_are_made_once(vector_evaluator):
    rs = vector_evaluator.ruleset("guizhou", 2023)
    runs = rs.measure_runs
    assert rs.measure_runs is runs
    assert [name for run in runs for name, _, _ in run] == list(rs.measures)
    for run in runs:
        made = {name for name, _, _ in run}
        assert not any(made.intersection(used) for _, _, used in run)


def test_derive_measures_with_a_plain_dict_equals_the_rule_sets_runs(vector_evaluator):
    ev = vector_evaluator
    rs = ev.ruleset("guizhou", 2023)
    records = generate(40, seed=3, provinces=("guizhou",))
    for rows in (records[:1], records):                 # one record (scalar path) and a table
        by_dict, by_runs = _table(ev, rows), _table(ev, rows)
        derive_measures(by_dict, measure_runs(rs.measures))
        derive_measures(by_runs, rs.measure_runs)
        _same_columns(_columns(by_dict), _columns(by_runs))
        assert set(rs.measures) <= set(by_dict.columns)


def test_once_keeps_one_value_per_maker_and_a_copy_has_its_own(vector_evaluator):
    rs = vector_evaluator.ruleset("shaanxi", 2023)
    calls = []

    def make(ruleset: RuleSet) -> list:
        calls.append(ruleset)
        return [len(ruleset.rules)]

    first = rs.once(make)
    assert rs.once(make) is first and calls == [rs]
    assert rs.once(RuleColumns.of) is rs.once(RuleColumns.of)     # a bound method is the same maker
    other = dataclasses.replace(rs)
    assert other.once(make) is not first and len(calls) == 2
    assert other == rs                                             # what is kept is not part of the value
    runs = rs.measure_runs
    for copied in (copy.copy(rs), copy.deepcopy(rs)):              # a copy given other rules keeps nothing
        copied.rules = copied.rules[:3]
        assert copied.once(make) == [3] and rs.once(make) is first
        assert copied.once(RuleColumns.of).ids == [r.id for r in copied.school_rules]
        assert rs.measure_runs is runs


def test_funding_by_the_rule_sets_plan_equals_by_its_parameters(vector_evaluator):
    ev = vector_evaluator
    for province in ev.provinces:
        rs = ev.ruleset(province, 2023)
        records = generate(40, seed=8, provinces=(province,))
        by_plan, by_params = _table(ev, records), _table(ev, records)
        compute_funding(by_plan, rs.once(FundingPlan.of))
        compute_funding(by_params, FundingPlan(rs.parameters.get("funding") or {}, rs.year))
        _same_columns(_columns(by_plan), _columns(by_params))
        assert np.isfinite(by_plan.get("public_funds_entitlement_yuan")).any()


def test_catalogue_is_built_once_per_rule_set(vector_evaluator):
    rs = vector_evaluator.ruleset("anhui", 2023)
    assert catalogue(rs) is catalogue(rs)
    assert set(catalogue(rs)["rules"]) == {r.id for r in rs.school_rules}


@pytest.mark.parametrize("reverse", [False, True])
def test_entries_and_scores_of_other_rules_than_the_rule_sets(vector_evaluator, reverse):
    """Verdicts of the rule set's own rules use what it keeps; verdicts of another rule list
    (a plug-in's back end may judge the rules in its own order) get columns of their own."""
    ev = vector_evaluator
    rs = ev.ruleset("guizhou", 2023)
    table = _table(ev, generate(30, seed=4, provinces=("guizhou",)))
    ev.pm.hook.edubalance_derive_measures(table=table, ruleset=rs)
    rules = rs.rules[::-1] if reverse else rs.rules
    base = ev.engine_for(table.n).evaluate(rules, table)
    results = base.extend(evaluate_composites(rs.composites, base, table))
    overall, by_dim = score(results.status, results.rules)
    if not reverse:
        kept = rs.once(ScoreLayout.of)
        assert np.array_equal(score(results.status, results.rules, kept)[0], overall, equal_nan=True)
    status = status_of(results.status, results.rules)
    table.set_measure("meets_basic_standard", np.full(table.n, np.nan))
    block = SchoolBlock(table, results, overall, by_dim, status, rs, ["f"] * table.n, list(range(table.n)))
    assert (block.rule_columns is rs.once(RuleColumns.of)) is not reverse
    entries = block.entries(np.arange(table.n))
    for i, entry in enumerate(entries):
        assert [v["rule_id"] for v in entry["verdicts"]] == [r.id for r in results.rules]
        assert [v["status"] for v in entry["verdicts"]] == [
            ("pass", "fail", "not_applicable", "missing_data")[s] for s in results.status[:, i]]
        provisional = {r.id for k, r in enumerate(results.rules)
                       if (r.threshold_status == "provisional"
                           or (r.provisional_when and table.get(r.provisional_when)[i] == 1))
                       and results.status[k, i] in (0, 1)}
        assert entry["provisional_rules"] == [r.id for r in results.rules if r.id in provisional]
        assert entry["ruleset"] == "guizhou/2023"
