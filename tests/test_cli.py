"""The command line end to end: exit codes, messages, no tracebacks."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from edubalance.cli import main

HEADER = "学校标识码,学校名称,学段,办学类型,省份,县级行政区划代码,学年,城乡类型,在校生数,最大班额\n"


@pytest.fixture()
def run():
    runner = CliRunner()

    def invoke(*args):
        result = runner.invoke(main, [str(a) for a in args], catch_exceptions=False)
        assert "Traceback" not in result.output
        return result
    return invoke


def test_help_teaches(run):
    out = run("--help").output
    assert "Examples" in out and "edubalance validate" in out


def test_demo_prints_an_evaluated_county(run):
    result = run("demo", "guizhou")
    assert result.exit_code == 0
    assert "County 县" in result.output and "Records 记录" in result.output


@pytest.mark.parametrize("province", ["shaanxi", "anhui"])
def test_every_province_has_a_demo(run, province):
    result = run("demo", province, "--format", "json")
    data = json.loads(result.output.split("\n", 2)[2])
    assert data["records"]["read"] == data["records"]["evaluated"] + data["records"]["rejected"]
    assert data["counties"]


def test_evaluate_json_and_exit_code(run, tmp_path):
    path = tmp_path / "s.csv"
    path.write_text(HEADER + "5201020001,一小,primary,primary_school,guizhou,520102,2021,urban,450,45\n",
                    encoding="gbk")
    out = tmp_path / "r.json"
    result = run("evaluate", path, "--format", "json", "-o", out, "--engine", "durable")
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["records"] == {"read": 1, "evaluated": 1, "rejected": 0}
    school = data["schools"][0]
    assert school["status"] == "incomplete"          # most fields are missing: never a silent pass
    assert result.exit_code == 1
    assert next(v for v in school["verdicts"] if v["rule_id"] == "national.class_size")["status"] == "pass"


def test_bad_files_give_one_message_and_exit_2(run, tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    binary = tmp_path / "b.csv"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    for path in (empty, binary, tmp_path / "missing.csv"):
        result = run("validate", path)
        assert result.exit_code == 2
        assert "edubalance: error:" in result.output and str(path.name) in result.output


def test_unknown_province_option_is_a_usage_error(run, tmp_path):
    path = tmp_path / "s.csv"
    path.write_text(HEADER, encoding="utf-8")
    result = run("evaluate", path, "--province", "atlantis")
    assert result.exit_code == 2 and "atlantis" in result.output


def test_rules_lists_thresholds_status_and_source(run):
    result = run("rules", "--province", "shaanxi", "--year", "2016")
    assert result.exit_code == 0
    assert "national.class_size" in result.output and "source:" in result.output
    assert "confirmed" in result.output


def test_plugins_lists_packs_and_hooks(run):
    out = run("plugins").output
    for name in ("national", "guizhou", "shaanxi", "anhui"):
        assert f"pack: {name}" in out
    assert "edubalance_rule_packs" in out


def test_test_packs_passes_for_the_bundled_packs(run):
    result = run("test-packs")
    assert result.exit_code == 0, result.output
