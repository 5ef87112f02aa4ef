"""School entries hold what the data dictionary and the rules say, built the plain way.

The oracle below builds every entry from the table one value at a time (one dict per verdict,
one scalar conversion per value); the entries of ``edubalance.entries`` must hold the very
same JSON values for random records with missing values, zero pupils and values on thresholds,
in both verdict modes, through ``Report.schools``, ``to_json`` and the streamed ``write_json``.
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
        entry["measures"] = {m: _num(c[i]) for m, c in cols}
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
    # Every entry has the report's measures and dimensions: null where its rules have none.
    measures = sorted({m for s in out for m in s["measures"]})
    dims = list(dict.fromkeys(d for s in out for d in s["score"]["by_dimension"]))
    for s in out:
        s["measures"] = {m: s["measures"].get(m) for m in measures}
        s["score"]["by_dimension"] = {d: s["score"]["by_dimension"].get(d) for d in dims}
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
    assert data["schools"] == [] and data["summary"]["records"] == {"read": 0, "evaluated": 0, "rejected": 0, "skipped": 0}


def test_numbers_follow_the_report_number_rule(vector_evaluator, sample):
    from edubalance.entries import floats
    assert floats(np.array([1.0, -0.0, 2.5, np.nan, np.inf, -np.inf, 1e-7])).to_pylist() == [1.0, 0.0, 2.5, None, None, None, 1e-7]
    report = vector_evaluator.evaluate_records(sample[0][:20])
    table = next(report.tables())
    assert table.schema.field("year").type == "int64" and table.schema.field("counts").type[0].type == "int64"
    assert table.schema.field("source").type.field("row").type == "int64"
    entry = json.loads(next(io.BytesIO(_ndjson(report)).readlines()[1:2].__iter__()))
    assert type(entry["year"]) is int and all(type(n) is int for n in entry["counts"].values())
    assert all(v is None or type(v) is float for v in entry["measures"].values())
    assert all(type(v["value"]) in (float, type(None)) for v in entry["verdicts"])


def _ndjson(report) -> bytes:
    buf = io.BytesIO()
    report.write_ndjson(buf)
    return buf.getvalue()


def test_every_entry_has_the_same_keys_across_provinces(vector_evaluator, sample):
    report = vector_evaluator.evaluate_records(*sample)
    lines = [json.loads(x) for x in _ndjson(report).splitlines()[1:report.evaluated + 1]]
    assert len({s["province"] for s in lines}) == 3
    assert len({tuple(s["measures"]) for s in lines}) == 1
    assert len({tuple(s["score"]["by_dimension"]) for s in lines}) == 1
    assert lines == json.loads(report.to_json())["schools"]


def test_the_years_of_each_school_interleaved_keep_the_report_order(vector_evaluator):
    """Each school in two years: the report alternates between two rule sets school by school
    (many runs of one block in a chunk), and every writer keeps that order."""
    records = [r for r in generate(300, seed=4, provinces=("guizhou",), years=(2023,), missing_rate=0.0)]
    both = [dict(r, year=y) for r in records for y in (2020, 2023)]
    report = vector_evaluator.evaluate_records(both, schools_only=True)
    assert len({b.ruleset for b in report.blocks}) == 2 and report.evaluated > 400
    lines = [json.loads(x) for x in _ndjson(report).splitlines()[1:report.evaluated + 1]]
    keys = [(s["county_code"], s["school_id"], s["stage"], s["year"]) for s in lines]
    assert keys == sorted(keys) and [k[3] for k in keys[:4]] == [2020, 2023, 2020, 2023]
    assert all(s["ruleset"] == f"guizhou/{s['year']}" for s in lines)
    assert lines == json.loads(report.to_json())["schools"]
    assert [report.school(k) for k in (0, 1, len(lines) - 1)] == [lines[0], lines[1], lines[-1]]


def test_the_catalogues_funding_is_the_kept_plans_entries_of_its_year(vector_evaluator):
    from edubalance.catalogue import funding_in_force
    from edubalance.funding import FundingPlan, funding_parameters

    for year in (2023, 2024):
        ruleset = vector_evaluator.ruleset("guizhou", year)
        plan = ruleset.once(FundingPlan.of)
        got = funding_in_force(ruleset)
        assert ruleset.once(FundingPlan.of) is plan                 # made once, kept with the rule set
        want = {k: [{f: v for f, v in e.items() if f not in ("from", "to")} for e in entries]
                for k, entries in funding_parameters(ruleset.parameters["funding"], year).items() if entries}
        assert got == want and got["base_per_pupil"]
        assert all("from" not in e and "to" not in e for entries in got.values() for e in entries)



@pytest.fixture
def small_tables(monkeypatch):
    """Tables of 97 entries: many serialised at once, finished in any order."""
    from edubalance import report as report_module
    monkeypatch.setattr(report_module, "CHUNK", 97)


def test_json_and_ndjson_of_many_tables_keep_the_report_order(sample, small_tables):
    report = Evaluator(engine="vector").evaluate_records(*sample)
    buf = io.BytesIO()
    report.write_json(buf)
    whole = json.loads(report.to_json())
    assert json.loads(buf.getvalue()) == whole and len(whole["schools"]) > 10 * 97
    lines = _ndjson(report).splitlines()
    assert [json.loads(x) for x in lines[1:report.evaluated + 1]] == whole["schools"]


def test_a_stream_that_fails_stops_the_serialising_threads(sample, small_tables):
    import errno
    import threading

    class Full(io.BytesIO):
        def write(self, data):
            if self.tell() > 100_000:
                raise OSError(errno.ENOSPC, "No space left on device")
            return super().write(data)

    report = Evaluator(engine="vector").evaluate_records(*sample)
    for write in (report.write_json, report.write_ndjson):
        with pytest.raises(OSError, match="No space"):
            write(Full())
        assert not [t for t in threading.enumerate() if t.name.startswith("json")]
