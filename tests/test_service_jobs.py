"""The worker's jobs in this process: one Evaluator per worker, each rule set compiled once,
a rejected school validated once, and the contract's years taken from the record schema."""
from __future__ import annotations

import orjson
import pytest
from pydantic import ValidationError

from edubalance import evaluator as evaluator_module
from edubalance import Evaluator
from edubalance.schemas import school_schema
from edubalance.service.contract import MAX_YEAR, MIN_YEAR, EvaluateBody
from edubalance.service.jobs import Jobs
from edubalance.service.problems import ServiceProblem
from edubalance.service.settings import Settings

SCHOOL = {"school_id": "5201020001", "stage": "primary", "county_code": "520102", "year": 2023,
          "students": 420, "max_class_size": 46}


@pytest.fixture
def counted(monkeypatch):
    """Counts of Evaluators built, rule sets compiled and school validations run."""
    counts = {"evaluators": 0, "compiled": [], "school_validations": 0}
    init, compile_ruleset, validate = Evaluator.__init__, evaluator_module.compile_ruleset, evaluator_module.validate

    def counting_init(self, *args, **kwargs):
        counts["evaluators"] += 1
        init(self, *args, **kwargs)

    def counting_compile(registry, province, year):
        counts["compiled"].append((province, year))
        return compile_ruleset(registry, province, year)

    def counting_validate(rows, *args, **kwargs):
        if kwargs.get("kind", "school") == "school":
            counts["school_validations"] += 1
        return validate(rows, *args, **kwargs)

    monkeypatch.setattr(Evaluator, "__init__", counting_init)
    monkeypatch.setattr(evaluator_module, "compile_ruleset", counting_compile)
    monkeypatch.setattr(evaluator_module, "validate", counting_validate)
    return counts


def body(**extra) -> bytes:
    return orjson.dumps({"records": [SCHOOL], **extra})


def test_one_evaluator_per_worker_and_each_rule_set_compiled_once(counted, tmp_path):
    jobs = Jobs(Settings(engine="vector"))
    asked = [dict(province="guizhou"), dict(province="guizhou", verdicts="findings"),
             dict(province="guizhou", year=2016), dict(province="shaanxi", year=2016),
             dict(province="guizhou"), dict(province="shaanxi", year=2016, verdicts="findings")]
    summaries = []
    for extra in asked:
        result = jobs.evaluate(("json", body(**extra)), {}, str(tmp_path))
        summaries.append(result["rulesets"])
    assert summaries[0] == ["guizhou/2023"] and summaries[2] == ["guizhou/2016"] and summaries[3] == ["shaanxi/2016"]
    assert counted["evaluators"] == 1
    assert sorted(counted["compiled"]) == [("guizhou", 2016), ("guizhou", 2023), ("shaanxi", 2016)]
    # the options of a request do not stick to the worker's evaluator
    assert (jobs.base.province, jobs.base.year, jobs.base.verdicts) == (None, None, "all")
    entry = orjson.loads(jobs.evaluate_school(orjson.dumps(SCHOOL), "guizhou", None)["body"])
    assert entry == orjson.loads(orjson.dumps(Evaluator(province="guizhou", engine="vector").evaluate_record(SCHOOL)))


def test_findings_and_year_reach_the_report(tmp_path):
    jobs = Jobs(Settings(engine="vector"))
    out = tmp_path / "a"
    out.mkdir()
    jobs.evaluate(("json", body(province="guizhou", year=2016, verdicts="findings")), {}, str(out))
    report = orjson.loads((out / "report.json").read_bytes())
    assert report["schools"][0]["ruleset"] == "guizhou/2016"
    assert all(v["status"] in ("fail", "missing_data") for v in report["schools"][0]["verdicts"])


def test_an_unknown_province_is_a_problem(counted):
    jobs = Jobs(Settings(engine="vector"))
    with pytest.raises(ServiceProblem) as info:
        jobs.evaluate_school(orjson.dumps(SCHOOL), "atlantis", None)
    assert info.value.kind == "unknown-province"


def test_a_rejected_school_is_validated_once(counted):
    jobs = Jobs(Settings(engine="vector"))
    bad = {**SCHOOL, "stage": "college", "students": -5, "province": "guizhou"}
    with pytest.raises(ServiceProblem) as info:
        jobs.evaluate_school(orjson.dumps(bad), None, None)
    assert info.value.kind == "records-rejected"
    assert {p["field"] for p in info.value.problems} >= {"stage", "students"}
    assert counted["school_validations"] == 1


def test_the_contract_years_are_the_record_schema_years():
    year = school_schema()["properties"]["year"]
    assert (MIN_YEAR, MAX_YEAR) == (year["minimum"], year["maximum"])
    assert (MIN_YEAR, MAX_YEAR) == evaluator_module.year_range()
    EvaluateBody.model_validate({"records": [SCHOOL], "year": MAX_YEAR})
    for outside in (MIN_YEAR - 1, MAX_YEAR + 1):
        with pytest.raises(ValidationError):
            EvaluateBody.model_validate({"records": [SCHOOL], "year": outside})


def test_a_province_named_in_chinese_is_taken_by_every_request():
    jobs = Jobs(Settings(engine="vector", province="贵州"))
    assert jobs.base.province == "guizhou"
    assert jobs.evaluator("贵州", None).province == jobs.evaluator("Guizhou", None).province == "guizhou"


def test_uploaded_files_over_the_record_limit_are_refused_before_anything_is_judged(tmp_path, monkeypatch):
    """Files and a JSON body are read the same way: counted, then checked, then judged."""
    import shutil
    from pathlib import Path
    demo = Path(__file__).resolve().parents[1] / "plugins" / "guizhou" / "data" / "demo_schools.csv"
    shutil.copy(demo, tmp_path / "schools.csv")                     # 28 school records
    judged = []
    monkeypatch.setattr(Evaluator, "evaluate_checked", lambda self, *a, **k: judged.append(a) or 1 / 0)
    jobs = Jobs(Settings(engine="vector", max_records=10))
    for job in (jobs.evaluate, jobs.validate):
        with pytest.raises(ServiceProblem) as err:
            job(("files", str(tmp_path), ["schools.csv"]), {}, *([str(tmp_path)] if job == jobs.evaluate else []))
        assert err.value.kind == "too-large" and "28" in err.value.detail
    assert judged == []
    many = orjson.dumps({"records": [SCHOOL | {"school_id": str(5201020000 + k)} for k in range(11)]})
    with pytest.raises(ServiceProblem) as err:
        jobs.evaluate(("json", many), {}, str(tmp_path))
    assert err.value.kind == "too-large" and judged == []


def test_a_body_over_the_record_limit_is_refused_before_its_records_are_read(tmp_path, monkeypatch):
    """Counted as parsed: no record of a body over the limit is converted or checked."""
    from edubalance.service import jobs as jobs_module
    read = []
    monkeypatch.setattr(jobs_module, "given_rows", lambda rows, *a: read.append(rows) or 1 / 0)
    jobs = Jobs(Settings(engine="vector", max_records=10))
    many = orjson.dumps({"records": [SCHOOL | {"school_id": str(5201020000 + k)} for k in range(11)]})
    for job in (jobs.evaluate, jobs.validate):
        with pytest.raises(ServiceProblem) as err:
            job(("json", many), {}, *([str(tmp_path)] if job == jobs.evaluate else []))
        assert err.value.kind == "too-large" and "11" in err.value.detail
    assert read == []
