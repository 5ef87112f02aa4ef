"""The two back ends must agree exactly: verdicts, values, measures, funding and scores.

Random records (seeded) with missing values, zeros, values exactly on thresholds, every school
type and location and three standards years go through the durable-rules back end and the
columnar one; any difference fails the test with the record and rule that differ.
"""
from __future__ import annotations

import json

import pytest

from edubalance.synthetic import county_records, generate

N_RECORDS = 2400


def comparable(report) -> dict:
    data = report.to_dict()
    data.pop("engine")
    return json.loads(json.dumps(data, sort_keys=True))


@pytest.fixture(scope="module")
def records():
    recs = generate(N_RECORDS, seed=7, missing_rate=0.06)
    return recs, county_records(recs, seed=7)


def test_random_records_give_identical_reports(records, vector_evaluator, durable_evaluator):
    schools, counties = records
    vec = vector_evaluator.evaluate_records(schools, counties)
    dur = durable_evaluator.evaluate_records(schools, counties)
    assert vec.engine == "vector" and dur.engine == "durable"
    assert vec.read == dur.read == len(schools)
    assert vec.evaluated + len(vec.rejected) == len(schools)
    a, b = comparable(vec), comparable(dur)
    for sa, sb in zip(a["schools"], b["schools"]):
        for va, vb in zip(sa["verdicts"], sb["verdicts"]):
            assert va == vb, f"school {sa['school_id']} {sa['stage']} rule {va['rule_id']}"
        assert sa == sb, f"school {sa['school_id']} {sa['stage']}"
    assert a == b


def test_single_records_give_identical_entries(vector_evaluator, durable_evaluator):
    """One record through the API: the columnar back end's one-row paths against durable-rules."""
    recs = generate(120, seed=13, missing_rate=0.1)
    for r in recs[::6]:
        r.update(students=0, boarders=0, special_needs_students=0)
    compared = 0
    for r in recs:
        try:
            vec = vector_evaluator.evaluate_record(r)
        except ValueError:
            with pytest.raises(ValueError):
                durable_evaluator.evaluate_record(r)
            continue
        dur = durable_evaluator.evaluate_record(r)
        for va, vb in zip(vec["verdicts"], dur["verdicts"]):
            assert va == vb, f"school {r['school_id']} {r['stage']} rule {va['rule_id']}"
        assert vec == dur, f"school {r['school_id']} {r['stage']}"
        compared += 1
    assert compared >= 100


def test_the_sample_covers_every_verdict_kind(records, vector_evaluator):
    schools, counties = records
    report = vector_evaluator.evaluate_records(schools, counties)
    seen = {v["status"] for s in report.schools for v in s["verdicts"]}
    assert seen == {"pass", "fail", "not_applicable", "missing_data"}
    assert {s["school_type"] for s in report.schools} >= {"primary_school", "teaching_point", "nine_year"}
    assert any(s["measures"].get("teaching_aux_area_per_pupil") == 4.5 for s in report.schools)


def test_a_first_record_that_matches_no_rule_does_not_crash_durable_rules():
    """Deleting the session of an unmatched fact on a fresh ruleset aborts the process in
    durable-rules 2.0.28; run in a subprocess so that a regression fails instead of killing the run."""
    import subprocess
    import sys
    code = (
        "from edubalance import Evaluator\n"
        "base = {'stage': 'primary', 'county_code': '520102', 'year': 2023, 'province': 'guizhou'}\n"
        "r = Evaluator(engine='durable').evaluate_records([{**base, 'school_id': '5201020001', 'students': 0},"
        " {**base, 'school_id': '5201020002', 'students': 10}])\n"
        "print(','.join(s['status'] for s in r.schools))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-500:]
    assert out.stdout.strip() == "not_applicable,incomplete"
