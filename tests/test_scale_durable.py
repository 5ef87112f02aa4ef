"""10,000 records through durable-rules: no error, no record lost (the engine's session and
fact-identity limits would otherwise bite: 1,024 live sessions, 32-bit fact hashes)."""
from __future__ import annotations

from edubalance.synthetic import generate


def test_ten_thousand_records_with_durable(durable_evaluator):
    records = generate(10_000, seed=3, provinces=("guizhou",), missing_rate=0.02)
    report = durable_evaluator.evaluate_records(records)
    assert report.read == 10_000
    assert report.evaluated + len(report.rejected) == 10_000
    assert report.evaluated > 9_000
    keys = {(s["school_id"], s["stage"], s["year"]) for s in report.schools}
    assert len(keys) == report.evaluated
    assert all(s["verdicts"] for s in report.schools)
