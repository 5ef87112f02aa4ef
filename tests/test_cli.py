"""The command line end to end: exit codes, messages, no tracebacks."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

HEADER = "学校标识码,学校名称,学段,办学类型,省份,县级行政区划代码,学年,城乡类型,在校生数,最大班额\n"


def test_help_teaches(run):
    out = run("--help").output
    assert "Examples" in out and "edubalance validate" in out


def test_demo_prints_an_evaluated_county(run):
    result = run("demo", "guizhou")
    assert result.exit_code == 0
    assert "县 County" in result.output and "记录 Records" in result.output


@pytest.mark.parametrize("province", ["shaanxi", "anhui"])
def test_every_province_has_a_demo(run, province):
    result = run("demo", province, "--format", "json")
    data = json.loads(result.output)       # JSON only: no banner before it
    assert data["records"]["read"] == (data["records"]["evaluated"] + data["records"]["rejected"]
                                       + data["records"]["skipped"])
    assert data["counties"]


def test_evaluate_json_and_exit_code(run, tmp_path):
    path = tmp_path / "s.csv"
    path.write_text(HEADER + "5201020001,一小,primary,primary_school,guizhou,520102,2021,urban,450,45\n",
                    encoding="gbk")
    out = tmp_path / "r.json"
    result = run("evaluate", path, "--format", "json", "-o", out, "--engine", "durable")
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["records"] == {"read": 1, "evaluated": 1, "rejected": 0, "skipped": 0}
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
        assert "edubalance: 错误 error:" in result.output and str(path.name) in result.output


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
    assert data["records"] == {"read": 7, "accepted": 1, "rejected": 6, "skipped": 0}
    codes = [p["code"] for r in data["rejected"] for p in r["problems"]]
    for code in ("E102", "E103", "E201", "E204", "E202"):
        assert any(c.startswith(code) for c in codes), (code, codes)
    labels = {p["label"] for r in data["rejected"] for p in r["problems"]}
    assert "在校生数" in labels
    assert {r["row"] for r in data["rejected"]} == {2, 3, 4, 5, 6, 7}


# --- validate and evaluate agree ------------------------------------------------------------

BAD_FILES = {
    "schools.csv": (
        "学校标识码,学段,省份,县级行政区划代码,学年,在校生数,寄宿生数,专任教师数,县级及以上骨干教师数,备注\n"
        "5201020001,primary,guizhou,520102,2021,abc,0,10,5,\n"          # E102
        "5201020002,primary,guizhou,520102,2021,-5,0,10,5,\n"           # E103
        "5201020003,primary,guizhou,520102,2021,100,120,10,5,\n"        # E201
        "5201020003,primary,guizhou,520102,2021,100,0,10,5,\n"          # E204
        ",primary,guizhou,520102,2021,100,0,10,5,\n"                    # E101
        "5201020005,primary,guizhou,520102,2021,100,0,10,12,\n"         # E202
        "5201020006,primary,hebei,520102,2021,100,0,10,5,\n"            # E205
        "5201020007,高中,guizhou,520102,2021,100,0,10,5,\n"             # E104
        "5201020008,primary,guizhou,52010,2021,100,0,10,5,\n"           # E105
        "5201020009,primary,guizhou,520102,2200,100,0,10,5,\n"          # E107
        "5201020010,primary,guizhou,520102,2021,1e309,0,10,5,\n"        # E102
        "5201020011,primary,guizhou,520102,2021," + "9" * 5000 + ",0,10,5,\n"   # E107
        "5201020012,primary,guizhou,520102,2021,100,0,10,5,见附件\n"    # fine: 备注 is ignored (W401)
        "5201020013,primary,guizhou,520102,2021,100,0,10,5,\n"          # fine
    ),
    "counties.csv": (
        "县级行政区划代码,学年,省份,教师交流轮岗比例,教师年平均工资收入\n"
        "520102,2021,hebei,0.1,90000\n"                                 # E205 (validate used to accept it)
        "520103,2021,guizhou,1.5,90000\n"                               # E107
        "520104,2021,guizhou,0.1,90000\n"                               # fine
        "520104,2021,guizhou,0.1,90000\n"                               # E206
        "520105,2021,guizhou,0.1,1e400\n"                               # E107
    ),
    "more.ndjson": (
        '{"school_id": "5201020001", "stage": "primary", "province": "guizhou", "county_code": "520102", '
        '"year": 2021, "students": 100}\n'                              # E204 across files
        '{"school_id": "5201020021", "stage": "junior", "province": "guizhou", "county_code": "520102", '
        '"year": 2021, "students": 10, "school_name": ["a"]}\n'         # E102
        '{"school_id": "5201020022", "stage": "junior", "province": "guizhou", "county_code": "520102", '
        '"year": 2021, "students": 10, "school_name": "a\\u2028b"}\n'   # fine: U+2028 is not a line end
    ),
}


def test_validate_and_evaluate_accept_and_reject_the_same_rows(run, tmp_path):
    paths = []
    for name, text in BAD_FILES.items():
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    checked = run("validate", *paths, "--format", "json")
    assert checked.exit_code == 1
    data = json.loads(checked.stdout)
    assert [n["code"] for n in data["notices"]] == ["W401"] and "备注" in data["notices"][0]["message"]
    out = tmp_path / "r.json"
    judged = run("evaluate", *paths, "--format", "json", "-o", out)
    assert judged.exit_code == 1
    report = json.loads(out.read_text(encoding="utf-8"))
    rejected = {(r["file"], r["row"]): [p["code"] for p in r["problems"]] for r in data["rejected"]}
    in_report = {(r["file"], r["row"]): [p["code"] for p in r["problems"]]
                 for r in report["rejected"] + report.get("rejected_counties", [])}
    assert rejected == in_report
    schools = str(tmp_path / "schools.csv")
    assert {row: codes[0] for (file, row), codes in rejected.items() if file == schools} == {
        2: "E102", 3: "E103", 4: "E201", 5: "E204", 6: "E101", 7: "E202", 8: "E205", 9: "E104", 10: "E105",
        11: "E107", 12: "E102", 13: "E107"}
    counties = str(tmp_path / "counties.csv")
    assert {row: codes for (file, row), codes in rejected.items() if file == counties} == {
        2: ["E205"], 3: ["E107"], 5: ["E206"], 6: ["E107"]}
    assert data["records"] == {"read": 17, "accepted": 3, "rejected": 14, "skipped": 0}
    assert report["records"]["evaluated"] == 3 and report["records"]["rejected"] == 14
    assert report["notices"] == data["notices"]
    assert {(s["school_id"], s["stage"]) for s in report["schools"]} == {
        ("5201020012", "primary"), ("5201020013", "primary"), ("5201020022", "junior")}


def test_validate_exits_1_when_every_row_is_rejected(run, tmp_path):
    path = tmp_path / "all.csv"
    path.write_text("school_id,stage,county_code,year,students,province\n1,senior,520102,2023,5,guizhou\n",
                    encoding="utf-8")
    result = run("validate", path)
    assert result.exit_code == 1 and "E104" in result.output and "0 accepted" in result.output


def test_validate_says_when_no_row_has_a_problem_but_the_file_has_notices(run, tmp_path):
    """Columns ignored (W401) never change the exit code, but "no problems found" alone made a
    clerk believe every column had been read: the line says there are notices, above."""
    demo = (Path(__file__).resolve().parents[1] / "plugins" / "guizhou" / "data" / "demo_schools.csv")
    lines = demo.read_text(encoding="utf-8").splitlines()
    path = tmp_path / "s.csv"
    path.write_text("\n".join([lines[0].replace("班级数", "教学班数")] + lines[1:]) + "\n", encoding="utf-8")
    result = run("validate", path)
    assert result.exit_code == 0
    assert "未发现问题，但有 1 条关于整个文件的提示（已在标准错误输出中列出，如被忽略的列）。No problems found in any row, " \
           "but 1 notice(s) about whole files (listed on standard error: columns ignored, say)." in result.stdout
    assert "W401" in result.stderr
    clean = run("validate", demo)
    assert "未发现问题。No problems found." in clean.stdout


def test_serve_refuses_to_start_with_a_rule_that_does_not_compile(run, tmp_path, monkeypatch):
    """A pack error found only when a province's rules are compiled (an unknown measure) stops
    ``serve`` at once with the message, instead of a 500 at that province's first request."""
    from edubalance.service import server

    started = []
    monkeypatch.setattr(server, "serve", lambda *a, **k: started.append(a))
    override = tmp_path / "local.yaml"
    override.write_text("pack: national\nrevision: local-1\nrules:\n  - id: national.class_size\n"
                        "    measure: max_class_sise\n", encoding="utf-8")
    result = run("serve", "--override", override, "--workers", "1")
    assert result.exit_code == 2 and not started
    assert "local.yaml: pack national, rule national.class_size: 未知的指标 'max_class_sise'" \
        in result.output


def test_plugins_shows_a_pack_whose_rules_do_not_compile(run, tmp_path, monkeypatch):
    """An author's first check is ``edubalance plugins``: a pack that reads but does not compile
    (an unknown measure) is listed with its error and exit 2, not as loaded and fine."""
    package = tmp_path / "henan_uncompiled"
    package.mkdir()
    (package / "__init__.py").write_text("from edubalance import province_hooks\n"
                                         "edubalance_rule_packs, edubalance_demo_data = province_hooks(__name__, "
                                         "__file__)\n", encoding="utf-8")
    (package / "pack.yaml").write_text(
        "pack: henan\nrevision: '1'\ntitle: {zh: 河南（示例）, en: Henan (example)}\nextends: national\nrules:\n"
        "  - id: henan.books\n    title: {zh: 生均图书, en: Books}\n    dimension: facilities\n"
        "    severity: required\n    measure: books_per_pupl\n    operator: '>='\n    threshold: 25\n"
        "    threshold_status: provisional\n    source: {document: 示例文件（非真实标准）}\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    result = run("plugins", "-p", "henan_uncompiled")
    assert result.exit_code == 2
    assert ("规则包 pack: henan 1（扩展 extends national）\n      错误 error: " in result.output
            and "pack.yaml: pack henan, rule henan.books: 未知的指标 'books_per_pupl'" in result.output)
    assert "规则包 pack: guizhou" in result.output


def test_demo_runs_a_plugin_named_with_p(run, tmp_path, monkeypatch):
    """A province author tries their plug-in's sample county before installing it: ``-p`` works
    for ``demo`` as for every other command."""
    package = tmp_path / "edubalance_henan_demo"
    (package / "data").mkdir(parents=True)
    (package / "__init__.py").write_text("from edubalance import province_hooks\n\n"
                                         "edubalance_rule_packs, edubalance_demo_data = province_hooks(__name__, __file__)\n",
                                         encoding="utf-8")
    (package / "pack.yaml").write_text('pack: henan\nrevision: "1"\nextends: national\n'
                                       "title: {zh: 河南, en: Henan}\nrules: []\n", encoding="utf-8")
    (package / "data" / "demo_schools.csv").write_text(
        "学校标识码,学校名称,学段,省份,县级行政区划代码,学年,在校生数\n4101020001,测试小学,小学,河南,410102,2023,100\n",
        encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    result = run("demo", "henan", "-p", "edubalance_henan_demo")
    assert "示例县 Demo: henan" in result.output and "henan 1" in result.output
