"""The command line end to end: exit codes, messages, no tracebacks."""
from __future__ import annotations

import json

import pytest

HEADER = "学校标识码,学校名称,学段,办学类型,省份,县级行政区划代码,学年,城乡类型,在校生数,最大班额\n"


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
    data = json.loads(result.output)       # JSON only: no banner before it
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


def test_a_failed_write_is_one_message_and_leaves_no_half_report(run, tmp_path, monkeypatch):
    from edubalance.report import Report
    path = tmp_path / "s.csv"
    path.write_text(HEADER + "5201020001,一小,primary,primary_school,guizhou,520102,2021,urban,450,45\n",
                    encoding="utf-8")
    out = tmp_path / "r.json"

    def broken(self, stream, indent=None, workers=None, progress=None):
        stream.write(b'{"summary":')
        raise RuntimeError("rendering part of the report failed: the process was killed by signal 9")
    monkeypatch.setattr(Report, "write_json", broken)
    result = run("evaluate", path, "--format", "json", "-o", out)
    assert result.exit_code == 2
    assert f"writing the report to {out} failed: rendering part" in result.output
    assert not out.exists()


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


def test_the_worked_cv_example_through_a_csv(run, tmp_path):
    """data-dictionary §4: four junior schools, teaching and auxiliary area → CV 0.179847."""
    path = tmp_path / "junior.csv"
    rows = [("A", 120, 800), ("B", 300, 1500), ("C", 480, 3000), ("D", 100, 900)]
    text = "school_id,stage,school_type,province,county_code,year,location,is_public,students,teaching_aux_area_m2\n"
    text += "".join(f"52010200{i:02d},junior,junior_school,guizhou,520102,2023,urban,true,{p},{a}\n"
                    for i, (_, p, a) in enumerate(rows))
    path.write_text(text, encoding="utf-8")
    out = tmp_path / "r.json"
    run("evaluate", path, "--format", "json", "-o", out)
    data = json.loads(out.read_text(encoding="utf-8"))
    junior = data["counties"][0]["stages"]["junior"]
    assert round(junior["cv"]["teaching_aux_area_per_pupil"], 6) == 0.179847
    assert junior["schools_in_scope"] == 4


def test_validate_reports_every_problem_with_chinese_labels(run, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(
        "学校标识码,学段,省份,县级行政区划代码,学年,在校生数,寄宿生数,专任教师数,中级及以上专业技术职务专任教师数\n"
        "5201020001,primary,guizhou,520102,2021,abc,0,10,5\n"        # wrong type
        "5201020002,primary,guizhou,520102,2021,-5,0,10,5\n"         # negative count
        "5201020003,primary,guizhou,520102,2021,100,120,10,5\n"      # boarders > students
        "5201020003,primary,guizhou,520102,2021,100,0,10,5\n"        # duplicate id
        ",primary,guizhou,520102,2021,100,0,10,5\n"                  # missing identity
        "5201020005,primary,guizhou,520102,2021,100,0,10,12\n"       # subset > teachers
        "5201020006,primary,guizhou,520102,2021,100,0,10,5\n",       # fine
        encoding="gbk")
    result = run("validate", path, "--format", "json")
    data = json.loads(result.output)
    assert result.exit_code == 1
    assert data["records"] == {"read": 7, "accepted": 1, "rejected": 6}
    codes = [p["code"] for r in data["rejected"] for p in r["problems"]]
    for code in ("E102", "E103", "E201", "E204", "E202"):
        assert any(c.startswith(code) for c in codes), (code, codes)
    labels = {p["label"] for r in data["rejected"] for p in r["problems"]}
    assert "在校生数" in labels
    assert {r["row"] for r in data["rejected"]} == {2, 3, 4, 5, 6, 7}
