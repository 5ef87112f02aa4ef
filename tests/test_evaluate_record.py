"""One record through the Python API gives exactly the entry a file of that one record gives.

``Evaluator.evaluate_record`` takes the one-row paths (a Table picked in Python, conditions by
the scalar evaluator, every rule of a rule set judged as one matrix); the entry must stay the
dict ``evaluate_records([record]).schools[0]`` returns — same keys, same values, same types —
for ordinary, zero-pupil and incomplete records, and a rejected record must raise.
"""
from __future__ import annotations

import random

import numpy as np
import pytest

from edubalance import Evaluator
from edubalance.derive import derive_measures
from edubalance.engines.vector import VectorEngine
from edubalance.expr import ExprError, evaluate_columns, evaluate_conditions, parse_condition, parse_value
from edubalance.loading import RawRow
from edubalance.synthetic import OPTIONAL, generate
from edubalance.table import Table

IDENTITY = ("school_id", "stage", "province", "county_code", "year")


def varied_records(n: int, seed: int) -> list[dict]:
    """Synthetic records, a fifth with 0 pupils, a fifth with optional fields left out."""
    rng = random.Random(seed)
    records = generate(n, seed=seed, missing_rate=0.08)
    for k, r in enumerate(records):
        if k % 5 == 1:                      # a closed school: nothing per pupil exists
            r.update(students=0, boarders=0, special_needs_students=0)
        elif k % 5 == 3:                    # an incomplete record: fields absent, not null
            for name in rng.sample(OPTIONAL, 12):
                r.pop(name, None)
    return records


@pytest.fixture(scope="module")
def records():
    return varied_records(300, seed=21)


@pytest.mark.parametrize("options", [{}, {"verdicts": "findings"}, {"year": 2023, "province": "guizhou"}],
                         ids=["all", "findings", "year-2023"])
def test_a_record_gives_the_entry_of_a_file_of_that_record(records, options, identical):
    ev = Evaluator(engine="vector", **options)
    judged = 0
    for r in records[:300 if not options else 120]:
        alone = ev.evaluate_records([r])
        if alone.rejected:
            with pytest.raises(ValueError, match="record rejected"):
                ev.evaluate_record(r)
            continue
        identical(ev.evaluate_record(r), alone.schools[0], f"school {r['school_id']} {r['stage']}")
        judged += 1
    assert judged >= 0.9 * (300 if not options else 120)


def test_the_sample_has_closed_schools_missing_fields_and_every_verdict(records, vector_evaluator):
    entries = [vector_evaluator.evaluate_record(r) for r in records[:100]]
    assert any(e["counts"]["not_applicable"] and e["measures"].get("teachers_per_pupil") is None
               for e, r in zip(entries, records) if r["students"] == 0)
    assert any(e["status"] == "incomplete" for e in entries)
    assert {v["status"] for e in entries for v in e["verdicts"]} == {"pass", "fail", "not_applicable", "missing_data"}
    assert len({(e["province"], e["year"]) for e in entries}) >= 2


def test_a_closed_school_is_not_applicable_everywhere(vector_evaluator):
    record = {"school_id": "5201020009", "stage": "primary", "county_code": "520102", "year": 2023,
              "province": "guizhou", "students": 0, "teachers": 2, "books": 100}
    entry = vector_evaluator.evaluate_record(record)
    assert entry == vector_evaluator.evaluate_records([record]).schools[0]
    assert entry["status"] == "not_applicable"
    assert entry["counts"]["pass"] == entry["counts"]["fail"] == 0
    assert entry["measures"]["books_per_pupil"] is None


def test_a_rejected_record_raises_with_its_problems(vector_evaluator):
    bad = {"school_id": "5201020001", "stage": "primary", "county_code": "520102", "year": 2023,
           "province": "guizhou", "students": 10, "boarders": 11}
    report = vector_evaluator.evaluate_records([bad])
    assert report.rejected and not report.schools
    with pytest.raises(ValueError) as err:              # InvalidInput is a ValueError
        vector_evaluator.evaluate_record(bad)
    # the same problems as the report's, as data
    assert [p.to_dict() for p in err.value.problems] == report.rejected[0]["problems"]
    assert str(err.value) == ("记录未通过校验（1 个问题）/ record rejected (1 problem):\n"
                              "  第 1 条记录 record 1: E201 寄宿生数 11 超过 在校生数 10 / boarders exceed students")
    with pytest.raises(ValueError, match="record rejected"):
        vector_evaluator.evaluate_record({"school_id": "5201020001", "year": 2023})


# --- the one-row paths against the columnar ones ---------------------------------------------


def table_of(records: list[dict], numeric: list[str]) -> Table:
    return Table.from_records(records, numeric)


@pytest.fixture(scope="module")
def accepted(vector_evaluator):
    result = vector_evaluator.validate_rows([RawRow("<t>", i + 1, r) for i, r in enumerate(varied_records(120, 5))])
    return result


def test_a_few_rows_from_a_frame_equal_the_record_table(accepted, vector_evaluator):
    numeric = vector_evaluator._numeric
    for index in ([0], [7], [3, 1, 4], list(range(20))):
        a = Table.from_frame(accepted.frame[index], numeric)
        b = Table.from_records([accepted.accepted[i] for i in index], numeric)
        assert list(a.columns) == list(b.columns)
        for name in a.columns:
            assert a.columns[name].dtype == b.columns[name].dtype, name
            assert a.columns[name].shape == (len(index),)
            if a.columns[name].dtype == object:
                assert a.columns[name].tolist() == b.columns[name].tolist(), name
            else:
                np.testing.assert_array_equal(a.columns[name], b.columns[name], err_msg=name)


CONDITIONS = [
    "students > 0 and school_type in ['primary_school', 'teaching_point']",
    "not (location == 'rural' or is_boarding == true)",
    "boarders / students >= 0.3 or classes < 3",
    "teachers_per_pupil > 0.05",                       # undefined at 0 pupils: unknown
    "location not in ['urban'] and (books - 100) * 2 > students",
    "never_recorded == 1 or students >= 0",
    "school_type != 'nine_year' and not is_public == 1",
]


def test_one_row_conditions_and_values_equal_their_row_of_the_columns(accepted, vector_evaluator):
    records = accepted.accepted[:60]
    full = table_of(records, vector_evaluator._numeric)
    derive_measures(full)
    nodes = [parse_condition(c) for c in CONDITIONS]
    values = [parse_value(v) for v in ("boarders / students", "-(books - 2) * 3", "classes / 0")]
    truth, falsity = evaluate_conditions(nodes, full)
    assert truth.shape == falsity.shape == (len(nodes), len(records))
    seen = set()
    for i, record in enumerate(records):
        one = table_of([record], vector_evaluator._numeric)
        derive_measures(one)
        t1, f1 = evaluate_conditions(nodes, one)
        np.testing.assert_array_equal(t1[:, 0], truth[:, i])
        np.testing.assert_array_equal(f1[:, 0], falsity[:, i])
        for k, node in enumerate(nodes):
            t, f = evaluate_columns(node, one)
            assert (t.tolist(), f.tolist()) == ([bool(truth[k, i])], [bool(falsity[k, i])]), CONDITIONS[k]
            seen.add("true" if t[0] else "false" if f[0] else "unknown")
        for node in values:
            v_all, ok_all = evaluate_columns(node, full)
            v, ok = evaluate_columns(node, one)
            assert v.dtype == v_all.dtype and ok.tolist() == [bool(ok_all[i])], str(node)
            assert v[0] == v_all[i] or (np.isnan(v[0]) and np.isnan(v_all[i])), str(node)
    assert seen == {"true", "false", "unknown"}


@pytest.mark.parametrize("text", ["location * 2 > 1", "(school_type + 1) == 2"])
def test_arithmetic_on_text_is_an_error_for_one_row_too(accepted, vector_evaluator, text):
    record = dict(accepted.accepted[0], location=None)    # missing text: still an error, as in columns
    for records in ([record], accepted.accepted[:5]):
        with pytest.raises(ExprError, match="text cannot be used in arithmetic"):
            evaluate_columns(parse_condition(text), table_of(records, vector_evaluator._numeric))


def test_the_vector_back_end_judges_in_blocks_as_in_one_go(accepted, vector_evaluator):
    records = [r for r in accepted.accepted if r["province"] == "guizhou"]
    ruleset = vector_evaluator.ruleset("guizhou", 2023)
    table = table_of(records, vector_evaluator._numeric)
    vector_evaluator.pm.hook.edubalance_derive_measures(table=table, ruleset=ruleset)
    whole = VectorEngine().evaluate(ruleset.rules, table)
    blocks = VectorEngine()
    blocks.BLOCK = 7
    parts = blocks.evaluate(ruleset.rules, table)
    assert table.n > 7 * 3
    np.testing.assert_array_equal(parts.status, whole.status)
    np.testing.assert_array_equal(parts.value, whole.value)
    np.testing.assert_array_equal(parts.threshold, whole.threshold)
    # and each record alone gives its column (a school of one record: its totals are its own)
    keys = [(r["school_id"], r["year"]) for r in records]
    for i in [i for i in range(table.n) if keys.count(keys[i]) == 1][::4]:
        one = table_of([records[i]], vector_evaluator._numeric)
        vector_evaluator.pm.hook.edubalance_derive_measures(table=one, ruleset=ruleset)
        alone = VectorEngine().evaluate(ruleset.rules, one)
        np.testing.assert_array_equal(alone.status[:, 0], whole.status[:, i])
        np.testing.assert_array_equal(alone.value[:, 0], whole.value[:, i])
        np.testing.assert_array_equal(alone.threshold[:, 0], whole.threshold[:, i])


def test_expression_measures_read_earlier_ones_and_mark_undefined_per_row():
    from edubalance.derive import add_expression_measures
    a = [1.0, 0.0, np.nan, 2.0, 3.0]
    b = [0.0, 0.0, 1.0, np.nan, 2.0]
    b_undefined = [False, True, False, False, False]
    measures = {"c1": parse_value("1 / 0"), "c2": parse_value("a / b"),
                "c3": parse_value("c2 * 2"), "c4": parse_value("a - -b")}

    def judged(rows):
        table = Table(len(rows), {"a": np.array([a[i] for i in rows]), "b": np.array([b[i] for i in rows])})
        table.undefined["b"] = np.array([b_undefined[i] for i in rows])
        add_expression_measures(table, measures)
        return table

    whole = judged(range(5))
    nan = float("nan")
    expected = {"c1": ([nan] * 5, [True] * 5),                  # nothing to compute it from: undefined
                "c2": ([nan, nan, nan, nan, 1.5], [True, True, False, False, False]),
                "c3": ([nan, nan, nan, nan, 3.0], [True, True, False, False, False]),
                "c4": ([1.0, nan, nan, nan, 5.0], [False, True, False, False, False])}
    for name, (values, undefined) in expected.items():
        np.testing.assert_array_equal(whole.columns[name], values, err_msg=name)
        assert whole.is_undefined(name).tolist() == undefined, name
    for i in range(5):
        one = judged([i])
        for name in measures:
            np.testing.assert_array_equal(one.columns[name], whole.columns[name][[i]], err_msg=name)
            assert one.is_undefined(name).tolist() == [bool(whole.is_undefined(name)[i])], name


def test_a_polars_frame_of_records_is_judged_as_its_rows(vector_evaluator):
    """A program holding its records in a DataFrame passes it as it is: iterating a frame gives
    its columns, which were refused one by one as "not a record"."""
    import polars as pl

    rows = [{"学校标识码": "5201020001", "学段": "小学", "县级行政区划代码": "520102", "学年": 2023, "在校生数": 420,
             "最大班额": None},
            {"学校标识码": "5201020002", "学段": "小学", "县级行政区划代码": "520102", "学年": 2023, "在校生数": 300,
             "最大班额": 46}]
    from_frame = vector_evaluator.evaluate_records(pl.DataFrame(rows)).to_dict()
    assert from_frame["records"]["evaluated"] == 2
    assert from_frame == vector_evaluator.evaluate_records(rows).to_dict()
