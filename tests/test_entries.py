"""School entries rendered from columns equal the obvious dict-per-verdict construction.

The oracle below builds every entry the slow, plain way (one dict per verdict, one scalar
conversion per value); the columnar renderer of ``edubalance.entries`` must give the very same
JSON values for random records with missing values, zero pupils and values on thresholds, in
both verdict modes, through ``Report.schools``, ``to_json`` and the streamed ``write_json``.
"""
from __future__ import annotations

import io
import json
import math
from collections import defaultdict

import numpy as np
import pytest

from edubalance.composite import evaluate_composites
from edubalance.derive import DERIVED_MEASURES
from edubalance.entries import number_tokens
from edubalance.catalogue import catalogue
from edubalance.evaluator import Evaluator
from edubalance.loading import RawRow
from edubalance.model import FAIL, PASS, STATUS_NAMES
from edubalance.report import Report
from edubalance.scoring import basic_standard_status, score, status_of
from edubalance.synthetic import county_records, generate
from edubalance.table import Table

IDENTITY = ("school_id", "stage", "school_name", "county_code", "county_name", "province", "year",
            "school_type", "location")


# --- the oracle: one dict per verdict ---------------------------------------------------------

def _num(v):
    if v is None:
        return None
    if isinstance(v, (np.floating, float)):
        v = float(v)
        if math.isnan(v):
            return None
        return int(v) if v.is_integer() and abs(v) < 2**53 else v
    if isinstance(v, np.integer):
        return int(v)
    return v


def _verdict(desc, status, value, threshold):
    v, t = _num(value), _num(threshold)
    gap = None
    if status in (PASS, FAIL) and v is not None and t is not None:
        g = float(value) - float(threshold)
        gap = {"value": _num(g), "share": _num(g / float(threshold)) if threshold else None}
    return {"rule_id": desc["rule_id"], "status": STATUS_NAMES[status], "value": v, "threshold": t, "gap": gap}


def _funding(table, i):
    entitlement = table.value("public_funds_entitlement_yuan", i)
    received = table.value("public_funds_received_yuan", i)
    floor_applied = table.value("funding_floor_applied", i)
    return {
        "entitlement_yuan": entitlement,
        "received_yuan": received,
        "shortfall_yuan": None if entitlement is None or received is None else max(entitlement - received, 0.0),
        "counted_pupils": table.value("funding_counted_pupils", i),
        "floor_applied": None if floor_applied is None else bool(floor_applied),
        "base_yuan": table.value("funding_base_yuan", i),
        "supplement_yuan": table.value("funding_supplement_yuan", i),
        "special_needs_yuan": table.value("funding_special_yuan", i),
        "heating_yuan": table.value("funding_heating_yuan", i),
    }


def oracle_entries(table, records, results, overall, by_dim, status, key):
    descs = [r.describe() for r in results.rules]
    basic = basic_standard_status(results.status, results.rules)
    names = sorted({r.measure for r in results.rules} | set(DERIVED_MEASURES))
    cols = [(m, table.get(m)) for m in names if m in table.columns]
    out = []
    for i, rec in enumerate(records):
        verdicts = [_verdict(descs[k], int(results.status[k, i]), results.value[k, i], results.threshold[k, i])
                    for k in range(len(descs))]
        counts = {name: 0 for name in STATUS_NAMES}
        for v in verdicts:
            counts[v["status"]] += 1
        entry = {k: _num(rec.get(k)) for k in IDENTITY}
        entry["ruleset"] = key
        entry["source"] = {"file": rec.get("_file"), "row": rec.get("_row")}
        entry["measures"] = {m: _num(c[i]) for m, c in cols if not math.isnan(c[i])}
        entry["verdicts"] = verdicts
        entry["counts"] = counts
        entry["funding"] = _funding(table, i)
        entry["score"] = {"overall": _num(overall[i]), "by_dimension": {d: _num(s[i]) for d, s in by_dim.items()}}
        entry["status"] = str(status[i])
        entry["provisional_rules"] = [v["rule_id"] for d, v in zip(descs, verdicts)
                                      if (d["threshold_status"] == "provisional"
                                          or table.value(d.get("provisional_when") or "-", i) == 1)
                                      and v["status"] in ("pass", "fail")]
        entry["meets_basic_standard"] = {"pass": True, "fail": False}.get(basic[i])
        out.append(entry)
    return out


def oracle_report(ev: Evaluator, records: list[dict]) -> list[dict]:
    rows = [RawRow("<records>", i + 1, dict(r)) for i, r in enumerate(records)]
    groups = defaultdict(list)
    for rec in ev.validate_rows(rows).accepted:
        groups[(rec["province"], int(rec["year"]))].append(rec)
    out = []
    for (province, year), recs in sorted(groups.items()):
        ruleset = ev.ruleset(province, year)
        table = Table.from_records(recs, ev._numeric)
        ev.pm.hook.edubalance_derive_measures(table=table, ruleset=ruleset)
        base = ev.engine_for(len(recs)).evaluate(ruleset.rules, table)
        results = base.extend(evaluate_composites(ruleset.composites, base, table))
        overall, by_dim = score(results.status, results.rules)
        status = status_of(results.status, results.rules)
        out.extend(oracle_entries(table, recs, results, overall, by_dim, status, f"{province}/{year}"))
    out.sort(key=lambda s: (s["county_code"] or "", s["school_id"] or "", s["stage"] or "", s["year"] or 0))
    return json.loads(json.dumps(out, ensure_ascii=False, allow_nan=False))


def findings_only(entries: list[dict]) -> list[dict]:
    return [{**s, "verdicts": [v for v in s["verdicts"] if v["status"] in ("fail", "missing_data")]}
            for s in entries]


# --- tests ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def sample():
    records = generate(1500, seed=11, missing_rate=0.08)
    return records, county_records(records, seed=11)


@pytest.fixture(scope="module")
def expected(sample, vector_evaluator):
    return oracle_report(vector_evaluator, sample[0])


def test_columnar_entries_equal_the_oracle(sample, expected, vector_evaluator):
    report = vector_evaluator.evaluate_records(*sample)
    got = json.loads(json.dumps(report.schools, ensure_ascii=False))
    assert len(got) == len(expected) > 1000
    for a, b in zip(got, expected):
        assert a == b, f"school {b['school_id']} {b['stage']}"
    assert {v["status"] for s in got for v in s["verdicts"]} == set(STATUS_NAMES)


def test_the_catalogue_describes_every_verdicts_rule_once(sample, vector_evaluator):
    report = vector_evaluator.evaluate_records(*sample)
    data = json.loads(report.to_json())
    keys = {s["ruleset"] for s in data["schools"]} | {c["ruleset"] for c in data["counties"]}
    assert keys == set(data["rulesets"]) and len(keys) == 3          # one year per province here
    for key, entry in data["rulesets"].items():
        province, year = key.split("/")
        ruleset = vector_evaluator.ruleset(province, int(year))
        assert entry == json.loads(json.dumps(catalogue(ruleset), ensure_ascii=False))
        assert entry["funding_parameters"]["base_per_pupil"][0]["threshold_status"] in ("confirmed", "provisional")
    for s in data["schools"][:200]:
        for v in s["verdicts"]:
            rule = report.rule_of(s, v)
            assert rule["rule_id"] == v["rule_id"] and rule["title"]["zh"]
            assert set(v) == {"rule_id", "status", "value", "threshold", "gap"}


def test_streamed_json_equals_to_json_in_both_modes(sample, expected):
    for mode, schools in (("all", expected), ("findings", findings_only(expected))):
        ev = Evaluator(engine="vector", verdicts=mode)
        report = ev.evaluate_records(*sample)
        buf = io.BytesIO()
        report.write_json(buf)
        streamed = json.loads(buf.getvalue())
        assert streamed == json.loads(report.to_json())
        assert streamed["schools"] == schools
        assert streamed["counties"] and streamed["summary"]["records"]["evaluated"] == len(schools)


def test_findings_mode_keeps_counts_scores_and_status(sample, expected):
    report = Evaluator(engine="vector", verdicts="findings").evaluate_records(*sample)
    full = {(s["school_id"], s["stage"]): s for s in expected}
    listed_kinds = set()
    for s in report.schools:
        ref = full[(s["school_id"], s["stage"])]
        listed_kinds |= {v["status"] for v in s["verdicts"]}
        assert s["counts"] == ref["counts"]
        assert s["score"] == ref["score"] and s["status"] == ref["status"]
        assert s["funding"] == ref["funding"] and s["provisional_rules"] == ref["provisional_rules"]
        assert len(s["verdicts"]) == s["counts"]["fail"] + s["counts"]["missing_data"]
    assert listed_kinds == {"fail", "missing_data"}


def test_unknown_verdicts_mode_is_refused():
    with pytest.raises(ValueError, match="verdicts"):
        Evaluator(verdicts="some")
    with pytest.raises(ValueError, match="verdicts"):
        Report(files=[], read=0, rejected=[], verdicts="none")


def test_an_empty_report_streams_valid_json(vector_evaluator):
    report = vector_evaluator.evaluate_records([])
    buf = io.BytesIO()
    report.write_json(buf)
    data = json.loads(buf.getvalue())
    assert data["schools"] == [] and data["summary"]["records"] == {"read": 0, "evaluated": 0, "rejected": 0}


def test_number_tokens_follow_the_report_number_rule():
    values = np.array([1.0, -0.0, 2.5, np.nan, 1e16, 2.0**53, 1 / 3, 4.2, -7.0, 1e-7])
    tokens = [json.loads(t) for t in number_tokens(values)]
    assert tokens == [1, 0, 2.5, None, 1e16, 2.0**53, 1 / 3, 4.2, -7, 1e-7]
    assert [type(t) for t in tokens[:2]] == [int, int] and isinstance(tokens[4], float)
    assert [json.loads(t) for t in number_tokens(np.array([3.0, np.nan]), whole_as_int=False)] == [3.0, None]
    assert isinstance(json.loads(number_tokens(np.array([3.0]), whole_as_int=False)[0]), float)
    with pytest.raises(ValueError):
        number_tokens(np.array([np.inf]))
    assert number_tokens(np.array([])) == []


@pytest.mark.parametrize("encoder", ["orjson", "stdlib"])
def test_a_column_of_numbers_gives_the_tokens_of_each_number(encoder, monkeypatch):
    """Long columns take the array paths; each token must be what the one-number rule writes."""
    from edubalance import entries
    if encoder == "stdlib":
        monkeypatch.setattr(entries, "_orjson", None)
    rng = np.random.default_rng(3)
    special = [0.0, -0.0, 1.0, -7.0, 2.0**53, 2.0**53 - 1, -(2.0**53), 1e16, 1e15, 1e-7, 5e-324, 0.1 + 0.2,
               1 / 3, 123456789.125, np.nan, 1e300, -2.5]
    values = np.concatenate([special, rng.normal(0, 1e4, 500), np.round(rng.normal(0, 1e4, 500)),
                             rng.choice(special, 300)])
    rng.shuffle(values)
    for whole_as_int in (True, False):
        want = [entries._number_token(x, whole_as_int) for x in values.tolist()]
        if encoder == "stdlib":            # the same values (the two encoders may spell a float differently)
            assert [json.loads(t) for t in number_tokens(values, whole_as_int)] == [json.loads(t) for t in want]
        else:
            assert number_tokens(values, whole_as_int) == want
    with pytest.raises(ValueError):
        number_tokens(np.concatenate([values, [np.inf]]))


def test_a_report_of_ready_dicts_renders_them(expected):
    report = Report(files=[], read=2, rejected=[], verdicts="findings")
    province, year = expected[0]["ruleset"].split("/")
    report.add_group(Evaluator(engine="vector").ruleset(province, int(year)), expected[:2], [])
    report.finish()
    assert report.schools == findings_only(expected[:2])
    assert report.summary()["records"]["evaluated"] == 2


def test_the_standard_library_encoder_gives_the_same_entries(sample, expected, monkeypatch):
    from edubalance import entries
    monkeypatch.setattr(entries, "_orjson", None)
    report = Evaluator(engine="vector").evaluate_records(*sample)
    assert isinstance(report.schools[0]["verdicts"], list)
    buf = io.BytesIO()
    report.write_json(buf)
    assert json.loads(buf.getvalue())["schools"] == expected


@pytest.mark.parametrize("workers", [2, 3])
def test_rendering_in_several_processes_writes_the_same_bytes(sample, monkeypatch, workers, tmp_path):
    from edubalance import writing
    report = Evaluator(engine="vector", verdicts="findings").evaluate_records(*sample)
    one = io.BytesIO()
    report.write_json(one, workers=1)
    monkeypatch.setattr(writing, "PARALLEL_MIN", 100)
    monkeypatch.setattr(writing, "PIECE", 37)
    assert len(writing.pieces(report.evaluated, workers)) > workers     # it really deals pieces out
    with open(tmp_path / "r.json", "wb") as f:                        # a file: moved by the kernel
        report.write_json(f, workers=workers)
    piped = io.BytesIO()                                               # no file descriptor: copied
    written = []
    report.write_json(piped, workers=workers, progress=written.append)
    assert (tmp_path / "r.json").read_bytes() == one.getvalue() == piped.getvalue()
    assert sum(written) == report.evaluated


def _break_render(monkeypatch, at: int, failure) -> None:
    """Pieces of 50 schools from 100 on; the piece starting at school ``at`` fails."""
    from edubalance import report as report_module
    from edubalance import writing
    monkeypatch.setattr(writing, "PARALLEL_MIN", 100)
    monkeypatch.setattr(writing, "PIECE", 50)
    real = report_module.Report._json_chunks

    def broken(self, chunk, order=None):
        if order is not None and order[0] == self._render_order()[at]:
            failure()
        return real(self, chunk, order)
    monkeypatch.setattr(report_module.Report, "_json_chunks", broken)


def test_a_failing_render_process_is_an_error_not_a_truncated_file(sample, monkeypatch, tmp_path):
    report = Evaluator(engine="vector").evaluate_records(*sample)

    def fail():
        raise MemoryError("no memory left")
    _break_render(monkeypatch, 150, fail)
    with pytest.raises(RuntimeError, match="MemoryError: no memory left"):
        report.write_json(io.BytesIO(), workers=2)
    with open(tmp_path / "r.json", "wb") as f, pytest.raises(RuntimeError, match="MemoryError"):
        report.write_json(f, workers=3)


def test_a_render_process_that_dies_is_an_error(sample, monkeypatch):
    import os
    import signal
    report = Evaluator(engine="vector").evaluate_records(*sample)
    _break_render(monkeypatch, 50, lambda: os.kill(os.getpid(), signal.SIGKILL))
    with pytest.raises(RuntimeError, match="killed by signal 9"):
        report.write_json(io.BytesIO(), workers=2)



@pytest.mark.parametrize("mode", ["all", "findings"])
def test_an_entry_built_as_a_dict_equals_its_json(sample, mode, identical):
    """``SchoolBlock.entry`` (one record through the API) must be the parsed ``render`` exactly:
    the same keys in the same order, ints where the JSON has ints, floats where it has floats."""
    report = Evaluator(engine="vector", verdicts=mode).evaluate_records(*sample)
    checked = 0
    for block in report.blocks:
        texts = block.render(np.arange(block.n), mode)
        for i in range(block.n):
            identical(block.entry(i, mode), json.loads(texts[i]), f"school {i}")
            checked += 1
    assert checked == report.evaluated > 100
    assert all(report.school(k) == s for k, s in enumerate(report.schools))
