"""Slices of the national benchmark file give the same report with either back end, through the CLI.

``edubalance.synthetic.national_slice`` returns exactly the rows the benchmark writes (a record
depends only on those before it), so each slice here is 2,000 consecutive rows of the 200,000-row
national file, written as the government-style CSV the benchmark reads, with the county records
of its counties. ``edubalance evaluate --format json`` runs once per back end in a fresh process;
the two reports must be equal after sorting keys and lists (only ``engine`` may differ).
"""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from edubalance.synthetic import NATIONAL, county_records, national_slice, write_csv

SLICE = 2_000


def _sorted(value):
    """Keys and lists sorted, so that only content is compared."""
    if isinstance(value, dict):
        return {k: _sorted(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        items = [_sorted(v) for v in value]
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True, ensure_ascii=False))
    return value


def _evaluate(engine: str, files: list[str], out) -> dict:
    proc = subprocess.run([sys.executable, "-m", "edubalance.cli", "evaluate", *files, "--engine", engine,
                           "--format", "json", "-o", str(out)], capture_output=True, text=True, timeout=600)
    assert proc.returncode in (0, 1), proc.stderr
    return json.loads(out.read_text(encoding="utf-8"))


@pytest.mark.parametrize("start", [0, 61_000])
def test_a_national_slice_gives_the_same_report_with_both_engines(tmp_path, start):
    schools = national_slice(start, SLICE)
    counties = county_records(schools, seed=NATIONAL["seed"])
    write_csv(tmp_path / "schools.csv", schools)
    write_csv(tmp_path / "counties.csv", counties)
    files = [str(tmp_path / "schools.csv"), str(tmp_path / "counties.csv")]

    vector = _evaluate("vector", files, tmp_path / "vector.json")
    durable = _evaluate("durable", files, tmp_path / "durable.json")

    assert (vector.pop("engine"), durable.pop("engine")) == ("vector", "durable")
    assert vector["records"]["read"] == SLICE
    assert vector["records"]["evaluated"] > 0.95 * SLICE and vector["counties"]
    for a, b in zip(vector["schools"], durable["schools"]):
        assert _sorted(a) == _sorted(b), f"school {a['school_id']} {a['stage']}"
    assert _sorted(vector) == _sorted(durable)
