"""The Parquet report's small tables built from lists of dicts: columns of differing rows, the
types pyarrow would infer (lists of objects too), text where no one type fits, and county
verdicts shared between counties."""
from __future__ import annotations

import json
from types import SimpleNamespace

import pyarrow as pa
import pytest

from edubalance import parquet

SCHOOL = pa.struct([("school_id", pa.string()), ("reason", pa.string())])


def _report(**parts):
    return SimpleNamespace(**{"counties": [], "rejected": [], "county_rejected": [], "warnings": [], **parts})


def test_rows_of_differing_keys_fill_columns_in_the_order_found():
    rows = [{"a": 1, "b": {"x": 1}, "c": "one"},
            {"a": 2, "b": {"x": 2, "y": "why"}, "c": "two", "d": True},
            {"b": {}, "skip": "not me"}]
    table = parquet._table(rows, first=("key",), flat=True, skip="skip")
    assert table.column_names == ["key", "a", "b_x", "c", "b_y", "d", "b"]
    assert table.to_pydict() == {"key": [None] * 3, "a": [1, 2, None], "b_x": [1, 2, None],
                                 "c": ["one", "two", None], "b_y": [None, "why", None],
                                 "d": [None, True, None], "b": [None, None, None]}
    assert table.schema.field("b").type == pa.null()              # an empty object: a null column


def test_a_field_and_a_nested_field_of_the_same_name_share_a_column():
    table = parquet._table([{"a_b": 1}, {"a": {"b": 2}}], flat=True)
    assert table.to_pydict() == {"a_b": [1, 2]}


def test_ints_and_floats_become_floats_and_mixed_kinds_json_text():
    table = parquet._table([{"n": 1, "m": 1, "l": [1]}, {"n": 2.5, "m": "two", "l": "x"}])
    assert table.schema.field("n").type == pa.float64() and table.column("n").to_pylist() == [1.0, 2.5]
    assert table.column("m").to_pylist() == ["1", "two"]
    assert table.column("l").to_pylist() == ["[1]", "x"]


def test_lone_surrogates_become_replacement_characters_in_lists_of_objects_too():
    table = parquet._table([{"s": "a\ud800", "items": [{"school_id": "1", "reason": "\udc80b"}]}])
    assert table.column("s").to_pylist() == ["a\ufffd"]
    assert table.column("items").to_pylist() == [[{"school_id": "1", "reason": "\ufffdb"}]]


def _alike(values):
    return [{"school_id": str(i), "reason": "zero pupils"} for i in values]


@pytest.mark.parametrize("values, kind", [
    ([_alike(range(3)), None, [], _alike(range(100))], pa.list_(SCHOOL)),
    # later objects with a field more, a field less, a null field, fields in another order
    ([_alike(range(70)) + [{"school_id": "x", "reason": "r", "extra": 1.5}]],
     pa.list_(pa.struct([*SCHOOL, ("extra", pa.float64())]))),
    ([_alike(range(70)) + [{"school_id": "x"}]], pa.list_(SCHOOL)),
    ([_alike(range(70)) + [{"school_id": "x", "reason": None}]], pa.list_(SCHOOL)),
    ([_alike(range(70)) + [{"school_id": "x", "other": "y"}]],
     pa.list_(pa.struct([*SCHOOL, ("other", pa.string())]))),
    ([_alike(range(70)) + [{"reason": "r", "school_id": "x"}]], pa.list_(SCHOOL)),
    # a field's type from values past the first objects: ints then a float, nulls then text
    ([[{"n": 1}] * 70 + [{"n": 2.5}]], pa.list_(pa.struct([("n", pa.float64())]))),
    ([[{"n": 1.5}] * 70 + [{"n": 2}]], pa.list_(pa.struct([("n", pa.float64())]))),
    ([[{"t": None}] * 70 + [{"t": "x"}]], pa.list_(pa.struct([("t", pa.string())]))),
    ([[{"l": []}] * 70 + [{"l": ["a"]}]], pa.list_(pa.struct([("l", pa.list_(pa.string()))]))),
    # a nested object with a field more, a null object in a list
    ([[{"o": {"a": 1}}] * 70 + [{"o": {"a": 2, "b": "c"}}]],
     pa.list_(pa.struct([("o", pa.struct([("a", pa.int64()), ("b", pa.string())]))]))),
    ([_alike(range(3)) + [None]], pa.list_(SCHOOL)),
])
def test_lists_of_objects_have_the_type_pyarrow_infers(values, kind):
    built = parquet._texts(values, None)
    assert built.type == kind
    assert built.equals(pa.array(values, from_pandas=True))
    assert built.to_pylist()[-1][-1] == (None if values[-1][-1] is None else
                                         {**dict.fromkeys(kind.value_type.names), **values[-1][-1]})


def test_a_field_of_mixed_kinds_in_lists_of_objects_makes_the_column_json_text():
    values = [[{"n": 1}] * 70 + [{"n": "one"}], None]
    assert parquet._texts(values, None).to_pylist() == [json.dumps(values[0], separators=(",", ":")), None]


def test_county_verdicts_shared_between_counties_are_each_counties_rows():
    shared = {"rule_id": "r1", "stage": "primary", "status": "fail", "value": 1, "threshold": 2.5,
              "gap": {"value": 1.5, "share": 0.6}}
    own = {"rule_id": "r2", "status": "missing_data", "value": None, "threshold": None, "gap": None}
    counties = [{"verdicts": [shared, own]}, {}, {"verdicts": [dict(own, value=3), shared]}]
    table = parquet._county_verdicts(_report(counties=counties))
    assert table.column_names == ["county_key", "rule_id", "stage", "status", "value", "threshold", "gap",
                                  "gap_share"]
    assert table.to_pylist() == [
        {"county_key": 0, "rule_id": "r1", "stage": "primary", "status": "fail", "value": 1.0, "threshold": 2.5,
         "gap": 1.5, "gap_share": 0.6},
        {"county_key": 0, "rule_id": "r2", "stage": None, "status": "missing_data", "value": None,
         "threshold": None, "gap": None, "gap_share": None},
        {"county_key": 2, "rule_id": "r2", "stage": None, "status": "missing_data", "value": 3.0,
         "threshold": None, "gap": None, "gap_share": None},
        {"county_key": 2, "rule_id": "r1", "stage": "primary", "status": "fail", "value": 1.0, "threshold": 2.5,
         "gap": 1.5, "gap_share": 0.6}]


def test_no_county_verdicts_is_an_empty_table_of_the_same_columns():
    table = parquet._county_verdicts(_report())
    assert table.num_rows == 0 and table.schema.field("county_key").type == pa.int64()
    assert table.schema.field("value").type == pa.float64() and table.schema.field("rule_id").type == pa.string()


def test_problems_carry_their_records_fields_and_data_as_json_text():
    record = {"file": "s.csv", "row": 3, "school_id": "1", "data": {"students": "-3"},
              "problems": [{"code": "E101", "field": "students", "observed": -3},
                           {"code": "E102", "observed": "x", "hint": "new column"}]}
    warning = {"code": "W301", "message": "note", "observed": [1, 2]}
    table = parquet._rejected(_report(rejected=[record], warnings=[warning]))
    assert table.column_names == [*parquet._PROBLEM_COLUMNS, "hint"]
    rows = table.to_pylist()
    assert [r["record"] for r in rows] == ["school", "school", "warning"]
    assert [r["observed"] for r in rows] == ["-3", "x", "[1,2]"]
    assert [r["data"] for r in rows] == ['{"students":"-3"}'] * 2 + [None]
    assert [r["row"] for r in rows] == [3, 3, None] and [r["hint"] for r in rows] == [None, "new column", None]
    assert [r["field"] for r in rows] == ["students", None, None]


def test_a_rejected_school_names_its_county_under_a_field_name_or_a_label():
    """Records given to the API may use the Chinese labels as keys: the county code is found
    under either, as the rejected row's name and code are."""
    records = [{"file": "s.csv", "row": 2, "school_id": "1", "data": {"county_code": "522698"},
                "problems": [{"code": "E102"}]},
               {"file": None, "row": 1, "school_id": "2", "data": {"县级行政区划代码": 522699.0},
                "problems": [{"code": "E102"}]}]
    table = parquet._rejected(_report(rejected=records))
    assert table.column("county_code").to_pylist() == ["522698", "522699"]
