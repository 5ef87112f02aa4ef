"""`validate --format json`, `rules --format json` and `plan -o x.json` go through the one serialiser."""
from __future__ import annotations

import json
from pathlib import Path

import orjson

from edubalance.evaluator import Evaluator
from edubalance.serialise import dumps

DATA = Path(__file__).resolve().parents[1] / "plugins" / "guizhou" / "data"
SCHOOLS, COUNTY = DATA / "demo_schools.csv", DATA / "demo_county.csv"


def test_validate_json_is_the_serialiser_output_with_lone_surrogates_replaced(run, tmp_path):
    path = tmp_path / "odd.json"
    path.write_text('[{"school_id": "1", "school_name": "\\ud800学校", "province": "guizhou", "year": 2024,'
                    ' "stage": "primary", "students": "x"}]', encoding="utf-8")
    result = run("validate", path, "--format", "json")
    assert result.exit_code == 1
    ev = Evaluator(province=None)
    expected = dumps(ev.check(*ev.load([str(path)])).to_dict(), indent=True)
    assert result.stdout_bytes.rstrip(b"\n") == expected
    data = orjson.loads(result.stdout_bytes)                  # strict JSON, valid UTF-8
    assert data["rejected"][0]["school_name"] == "\ufffd学校"


def test_plan_json_file_is_the_serialiser_output(run, tmp_path):
    out = tmp_path / "plan.json"
    run("plan", SCHOOLS, COUNTY, "-e", "vector", "-o", out)
    raw = out.read_bytes()
    document = orjson.loads(raw)
    assert raw == dumps(document, indent=True)                # orjson's two-space layout, not json.dumps'
    assert document["schools"]


def test_rules_json_is_strict_json(run):
    result = run("rules", "--province", "guizhou", "--format", "json")
    assert result.exit_code == 0
    assert orjson.loads(result.stdout_bytes) == json.loads(result.output)
    assert result.stdout_bytes.rstrip(b"\n") == dumps(orjson.loads(result.stdout_bytes), indent=True)
