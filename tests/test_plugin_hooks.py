"""Every hook in ``hookspecs`` has a test here that a plug-in implementing it is called and
changes what it should (as datasette's ``test_plugin_hooks_have_tests``)."""
from __future__ import annotations

import inspect
import json
import textwrap
from pathlib import Path

import pytest

from edubalance import Evaluator, PackSource, hookimpl, hookspecs
from edubalance.engines.vector import VectorEngine
from edubalance.loading import LoadedFile, records_frame

HERE = Path(__file__).resolve().parent
DEMO = HERE.parent / "plugins" / "guizhou" / "data"
FILES = [DEMO / "demo_schools.csv", DEMO / "demo_county.csv"]
RECORD = {"school_id": "5201020001", "school_name": "一小", "stage": "primary", "school_type": "primary_school",
          "province": "guizhou", "county_code": "520102", "year": 2021, "location": "urban",
          "students": 450, "max_class_size": 45}


def hook_names() -> list[str]:
    return [n for n, f in inspect.getmembers(hookspecs, inspect.isfunction) if n.startswith("edubalance_")]


@pytest.mark.parametrize("name", hook_names())
def test_every_hook_has_a_test(name):
    assert f"test_hook_{name.removeprefix('edubalance_')}" in globals(), f"{name} has no test in this file"


def test_hook_rule_packs(tmp_path):
    (tmp_path / "pack.yaml").write_text(textwrap.dedent("""\
        pack: hunan
        revision: "1"
        title: {zh: 湖南省标准, en: Hunan standards}
        extends: national
        rules: []
        """), encoding="utf-8")

    class Hunan:
        @hookimpl
        def edubalance_rule_packs(self):
            return [PackSource.from_directory(tmp_path, plugin="hunan")]

    ev = Evaluator(engine="vector", plugins=[Hunan()])
    assert "hunan" in ev.provinces
    entry = ev.evaluate_record({**RECORD, "province": "hunan", "county_code": "430102"})
    assert entry["ruleset"] == "hunan/2021" and entry["verdicts"]


def test_hook_demo_data():
    class Demo:
        @hookimpl
        def edubalance_demo_data(self):
            return {"sample": [str(f) for f in FILES]}

    ev = Evaluator(plugins=[Demo()])
    demos = {}
    for found in ev.pm.hook.edubalance_demo_data():
        demos.update(found or {})
    assert demos["sample"] == [str(f) for f in FILES] and "guizhou" in demos


def test_hook_load_file(tmp_path):
    path = tmp_path / "schools.rec"
    path.write_text(json.dumps(RECORD), encoding="utf-8")

    class Reader:
        @hookimpl
        def edubalance_load_file(self, path, default_province):
            if not str(path).endswith(".rec"):
                return None
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            return LoadedFile(str(path), "rec", records_frame(str(path), [(1, "record 1", data)]))

    report = Evaluator(engine="vector", plugins=[Reader()]).evaluate_files([path])
    assert report.evaluated == 1 and report.schools[0]["school_id"] == RECORD["school_id"]


def test_hook_validate_records():
    from edubalance.problems import Problem

    class NoSchoolsNamedX:
        @hookimpl
        def edubalance_validate_records(self, records, context):
            return [Problem(code="E901", severity="error", file=r["_file"], row=r["_row"],
                            school_id=r.get("school_id"), field="school_name", label="学校名称",
                            observed="X", expected="another name", message="不收名为 X 的学校 no school named X")
                    for r in records if r.get("school_name") == "X"]

    ev = Evaluator(engine="vector", plugins=[NoSchoolsNamedX()])
    report = ev.evaluate_records([RECORD, {**RECORD, "school_id": "5201020002", "school_name": "X"}])
    assert report.evaluated == 1 and len(report.rejected) == 1
    assert report.rejected[0]["problems"][0]["code"] == "E901"


def test_hook_derive_measures():
    seen = []

    class Deriver:
        @hookimpl
        def edubalance_derive_measures(self, table, ruleset):
            seen.append((table.n, ruleset.province))

    Evaluator(engine="vector", plugins=[Deriver()]).evaluate_record(RECORD)
    assert seen == [(1, "guizhou")]


def test_hook_evaluate_school_rules():
    class Counted:
        @hookimpl(tryfirst=True)
        def edubalance_evaluate_school_rules(self, rules, table, engine, progress):
            results = engine.evaluate(rules, table, progress)
            Counted.calls += 1
            return results
    Counted.calls = 0

    entry = Evaluator(engine="vector", plugins=[Counted()]).evaluate_record(RECORD)
    assert Counted.calls == 1 and entry["verdicts"]


def test_hook_evaluate_county_rules():
    calls = []

    class County:
        @hookimpl(tryfirst=True)
        def edubalance_evaluate_county_rules(self, rules, table, engine):
            calls.append(table.n)
            return engine.evaluate(rules, table)

    report = Evaluator(engine="vector", plugins=[County()]).evaluate_files(FILES)
    assert calls and report.counties


def test_hook_merge_scores():
    class Note:
        @hookimpl
        def edubalance_merge_scores(self, report):
            report.notes.append(f"本省说明 province note: {report.evaluated} schools")

    report = Evaluator(engine="vector", plugins=[Note()]).evaluate_files(FILES)
    assert f"本省说明 province note: {report.evaluated} schools" in report.to_dict()["notes"]


def test_hook_render_report(tmp_path):
    class Counts:
        @hookimpl
        def edubalance_render_report(self, report, fmt, path):
            if fmt != "counts":
                return None
            path.write_text(f"{report.evaluated}\n", encoding="utf-8")
            return True

        @hookimpl
        def edubalance_report_formats(self):
            return {"counts": {"suffixes": [".cnt"], "title": {"zh": "计数", "en": "counts"}}}

    from edubalance.output import format_for, write_report
    ev = Evaluator(engine="vector", plugins=[Counts()])
    report = ev.evaluate_files(FILES)
    out = tmp_path / "r.cnt"
    write_report(ev.pm, report, format_for(ev.pm, None, str(out)), str(out))
    assert out.read_text(encoding="utf-8") == f"{report.evaluated}\n"


def test_hook_report_formats():
    from edubalance.output import report_formats
    formats = report_formats(Evaluator().pm)
    assert {"table", "json", "ndjson", "parquet", "xlsx", "html"} <= set(formats)
    assert all(info["title"]["zh"] and info["title"]["en"] for info in formats.values())


def test_hook_engines():
    class Counting(VectorEngine):
        name = "counting"
        runs = 0

        def evaluate(self, rules, table, progress=None):
            Counting.runs += 1
            return super().evaluate(rules, table, progress)

    class Engines:
        @hookimpl
        def edubalance_engines(self):
            return {"counting": Counting}

    entry = Evaluator(engine="counting", plugins=[Engines()]).evaluate_record(RECORD)
    assert Counting.runs >= 1 and entry["verdicts"]


def test_a_plugin_installed_without_its_pack_files_says_so(tmp_path):
    """A plug-in package built without its YAML as package data finds an empty folder: the
    message names the folder and says what the package must include."""
    from edubalance import RulePackError, province_hooks

    (tmp_path / "__init__.py").write_text("", encoding="utf-8")
    rule_packs, _ = province_hooks("edubalance_henan", str(tmp_path / "__init__.py"))

    class Henan:
        edubalance_rule_packs = staticmethod(rule_packs)

    with pytest.raises(RulePackError, match=f"{tmp_path}: 插件 edubalance_henan 的目录中没有规则文件 pack.yaml.*package data"):
        Evaluator(engine="vector", plugins=[Henan()])
