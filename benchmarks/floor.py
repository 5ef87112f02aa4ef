"""The Arrow floor of an end-to-end run, with no edubalance: ``python floor.py SCHOOLS COUNTIES OUT RULES``.

What any program must do to turn the benchmark's CSV into a Parquet report of the same size:
read both files with pyarrow's multi-threaded CSV reader (types inferred, empty cells null),
judge ``RULES`` rules per school with one NumPy comparison each (a numeric column against a
threshold: pass, fail, or missing data where the cell is empty), and write the same two large
tables our Parquet report has — the schools (every input column) and the verdicts as a long
table (school key, rule id, status, value, threshold, gap, gap share) — with the same options.
It is a floor, not a competitor: it knows nothing of scopes, stages, derived measures,
validation or counties.
"""
from __future__ import annotations

import sys
import time

START = time.perf_counter()

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.compute as pc  # noqa: E402
import pyarrow.csv as pacsv  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402


def main(schools: str, counties: str, out: str, rules: int) -> None:
    table = pacsv.read_csv(schools)
    county_table = pacsv.read_csv(counties)
    numeric = [name for name, kind in zip(table.column_names, table.schema.types)
               if pa.types.is_integer(kind) or pa.types.is_floating(kind)]
    n = table.num_rows
    status, value, threshold = (np.empty((rules, n), dtype=np.int32), np.empty((rules, n)), np.empty((rules, n)))
    for k in range(rules):
        col = pc.cast(table.column(numeric[k % len(numeric)]), pa.float64()).to_numpy(zero_copy_only=False)
        t = float(np.nanmedian(col))
        value[k], threshold[k] = col, t
        status[k] = np.where(np.isnan(col), 3, np.where(col >= t, 0, 1))
    value, threshold, status = value.T.ravel(), threshold.T.ravel(), status.T.ravel()   # school by school
    gap = value - threshold
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(threshold != 0, gap / threshold, np.nan)
    names = pa.array([f"rule.{k}" for k in range(rules)])
    verdicts = pa.table({
        "school_key": pa.array(np.repeat(np.arange(n, dtype=np.int64), rules)),
        "rule_id": pa.DictionaryArray.from_arrays(pa.array(np.tile(np.arange(rules, dtype=np.int32), n)), names),
        "status": pa.DictionaryArray.from_arrays(pa.array(status),
                                                 pa.array(["pass", "fail", "not_applicable", "missing_data"])),
        "value": pa.array(value, mask=np.isnan(value)), "threshold": pa.array(threshold),
        "gap": pa.array(gap, mask=np.isnan(gap)), "gap_share": pa.array(share, mask=np.isnan(share))})
    for name, t in (("schools", table), ("verdicts", verdicts), ("counties", county_table)):
        text = [f.name for f in t.schema if pa.types.is_string(f.type) or pa.types.is_dictionary(f.type)]
        stats = [n for n in t.column_names if name != "verdicts" or n not in ("rule_id", "status")]
        pq.write_table(t, f"{out}/{name}.parquet", compression="snappy", use_dictionary=text, write_statistics=stats)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]))
    print(f"floor {time.perf_counter() - START:.3f}")
