"""A 10,000-record file through durable-rules: no error, no record lost.

The engine's limits would otherwise bite: 1,024 live sessions per ruleset, and fact identity
by a 32-bit hash that merged 3 distinct facts in 100,000 when no explicit id was given.
"""
from __future__ import annotations

import csv
import json

from click.testing import CliRunner

from edubalance.cli import main
from edubalance.synthetic import OPTIONAL, generate


def test_ten_thousand_records_from_a_file_with_durable(tmp_path):
    records = generate(10_000, seed=3, provinces=("guizhou",), missing_rate=0.02)
    path = tmp_path / "schools.csv"
    columns = ["school_id", "school_name", "stage", "province", "county_code", "county_name", "year", "students",
               *[c for c in OPTIONAL]]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, columns)
        writer.writeheader()
        writer.writerows(records)
    out = tmp_path / "report.json"
    result = CliRunner().invoke(main, ["evaluate", str(path), "--engine", "durable", "--format", "json", "-o", str(out)])
    assert result.exit_code in (0, 1), result.output
    report = json.loads(out.read_text(encoding="utf-8"))
    counts = report["records"]
    assert counts["read"] == 10_000
    assert counts["evaluated"] + counts["rejected"] == 10_000
    assert counts["evaluated"] > 9_000
    assert report["engine"] == "durable"
    keys = {(s["school_id"], s["stage"], s["year"]) for s in report["schools"]}
    assert len(keys) == counts["evaluated"]
    assert all(s["verdicts"] for s in report["schools"])
