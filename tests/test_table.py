"""The columnar table: what a frame of validated records becomes."""
from __future__ import annotations

import math

import numpy as np
import polars as pl
import pyarrow as pa

from edubalance.table import Table


def test_a_frames_text_columns_hold_one_string_per_value_and_none_for_missing():
    # Two chunks (files read one after the other), more rows than the record-by-record path takes.
    part = pl.DataFrame({"county_code": ["520102", None, "520103", "520102", "520102"],
                         "stage": ["primary", "junior", None, "primary", "junior"],
                         "school_id": ["a1", "a2", None, "a4", "a5"],
                         "students": [10, None, 0, 7, 3]})
    frame = pl.concat([part, part], rechunk=False)
    table = Table.from_frame(frame, ["students", "teachers"])
    code = table.columns["county_code"]
    assert code.tolist() == ["520102", None, "520103", "520102", "520102"] * 2
    assert len({id(c) for c in code.tolist() if c is not None}) == 2        # one object per county
    assert table.columns["stage"].tolist() == ["primary", "junior", None, "primary", "junior"] * 2
    assert table.columns["school_id"].tolist() == ["a1", "a2", None, "a4", "a5"] * 2
    assert table.columns["county_name"].tolist() == [None] * 10             # a field no record has
    students = table.columns["students"]
    assert students.dtype == np.float64 and [None if math.isnan(v) else v for v in students.tolist()] == \
        [10.0, None, 0.0, 7.0, 3.0] * 2
    assert np.isnan(table.columns["teachers"]).all()


def test_a_frames_text_columns_are_kept_as_read_for_the_reports_until_replaced():
    part = pl.DataFrame({"county_code": ["520102", None, "520103", "520102", "520102"],
                         "school_id": ["a1", "a2", None, "a4", "a5"], "students": [10, None, 0, 7, 3]})
    table = Table.from_frame(pl.concat([part, part], rechunk=False), ["students"])
    code = table.arrow_text("county_code")
    assert isinstance(code, pa.DictionaryArray) and code.type.value_type == pa.string()
    assert code.dictionary.to_pylist() == ["520102", "520103"]                # numbered as first found
    assert code.to_pylist() == ["520102", None, "520103", "520102", "520102"] * 2
    ids = table.arrow_text("school_id")
    assert ids.type == pa.string() and ids.to_pylist() == ["a1", "a2", None, "a4", "a5"] * 2
    assert table.arrow_text("county_name") is None                          # no record has it
    assert table.arrow_text("students") is None
    table.columns["county_code"] = table.columns["county_code"].copy()      # replaced: no longer as read
    assert table.arrow_text("county_code") is None
    few = Table.from_records([{"county_code": "520102"}], ["students"])     # one record: Python strings
    assert few.arrow_text("county_code") is None
