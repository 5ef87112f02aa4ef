"""The columnar table: what a frame of validated records becomes."""
from __future__ import annotations

import math

import numpy as np
import polars as pl

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
