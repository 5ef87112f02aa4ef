"""`edubalance plan` end to end: JSON, workbook, --apply, --costs, and bad input."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from edubalance.cli import main

DATA = Path(__file__).resolve().parents[1] / "plugins" / "guizhou" / "data"
SCHOOLS, COUNTY = DATA / "demo_schools.csv", DATA / "demo_county.csv"


RUNNER = CliRunner()


def run(*args):
    result = RUNNER.invoke(main, [str(a) for a in args], catch_exceptions=False)
    assert "Traceback" not in result.output            # one message, never a traceback
    return result


def plan_json(run, path, *args):
    run("plan", *args, "-e", "vector", "-o", path)
    return json.loads(path.read_text(encoding="utf-8"))


def test_plan_json_then_apply_then_evaluate_proves_it(tmp_path):
    plan_path = tmp_path / "plan.json"
    result = run("plan", SCHOOLS, COUNTY, "-e", "vector", "-o", plan_path)
    assert result.exit_code == 1                     # class sizes and a basement dormitory remain
    plan = json.loads(plan_path.read_text(encoding="utf-8"))
    fixed = {(s["school_id"], s["stage"]) for s in plan["schools"] if s["status_after"] == "pass"}
    adjusted = tmp_path / "adjusted.csv"
    result = run("plan", SCHOOLS, "--apply", plan_path, "-o", adjusted)
    assert result.exit_code == 0 and adjusted.exists()
    result = run("evaluate", adjusted, COUNTY, "-e", "vector", "-f", "json")
    report = json.loads(result.output)
    passing = {(s["school_id"], s["stage"]) for s in report["schools"] if s["status"] == "pass"}
    assert passing == fixed and len(fixed) > 11


def test_plan_on_the_terminal_is_chinese_first():
    result = run("plan", SCHOOLS, COUNTY, "-e", "vector")
    assert result.output.startswith("edubalance 整改方案")
    assert "暂定规划占位值" in result.output and "5226980009" in result.output


def test_plan_workbook_has_a_sheet_per_level(tmp_path):
    out = tmp_path / "plan.xlsx"
    assert run("plan", SCHOOLS, COUNTY, "-e", "vector", "-o", out).exit_code == 1
    wb = load_workbook(out)
    assert wb.sheetnames == ["汇总 Totals", "项目 Items", "县 Counties", "学校 Schools", "排名 Ranking", "单价 Prices"]
    totals = {row[0]: row for row in wb["汇总 Totals"].iter_rows(min_row=2, values_only=True)}
    plan = plan_json(run, tmp_path / "p.json", SCHOOLS, COUNTY)
    assert totals["合计 total"][4] == plan["totals"]["first_year_yuan"]
    assert wb["学校 Schools"].max_row > 10


def test_local_costs_replace_the_placeholders(tmp_path):
    costs = tmp_path / "costs.yaml"
    costs.write_text("teacher: 50000\nbuilding_m2: {yuan: 2500, per: once}\n", encoding="utf-8")
    base = plan_json(run, tmp_path / "a.json", SCHOOLS, COUNTY)
    local = plan_json(run, tmp_path / "b.json", SCHOOLS, COUNTY, "--costs", costs)
    teachers = base["totals"]["by_item"]["teacher"]["quantity"]
    assert local["totals"]["by_item"]["teacher"]["yuan"] == teachers * 50000
    assert local["totals"]["by_item"]["building_m2"]["yuan"] == round(
        base["totals"]["by_item"]["building_m2"]["quantity"] * 2500, 2)
    assert local["costs"]["guizhou/2023"]["items"]["teacher"]["threshold_status"] == "confirmed"
    assert local["costs"]["guizhou/2023"]["items"]["book"]["threshold_status"] == "provisional"


@pytest.mark.parametrize("text,expected", [("teacher: -1\n", "≥ 0"), ("dragons: 5\n", "unknown cost item"),
                                           ("[1, 2\n", "not valid YAML")])
def test_bad_cost_file_is_one_message(tmp_path, text, expected):
    costs = tmp_path / "costs.yaml"
    costs.write_text(text, encoding="utf-8")
    result = run("plan", SCHOOLS, "-e", "vector", "--costs", costs)
    assert result.exit_code == 2 and expected in result.output


def test_apply_needs_a_csv_and_a_matching_plan(tmp_path):
    plan_path = tmp_path / "plan.json"
    run("plan", SCHOOLS, COUNTY, "-e", "vector", "-o", plan_path)
    assert run("plan", SCHOOLS, "--apply", plan_path).exit_code == 2
    plan = json.loads(plan_path.read_text(encoding="utf-8"))
    school = next(s for s in plan["schools"] if s["before"])
    field = next(iter(school["before"]))
    school["before"][field] = (school["before"][field] or 0) + 7
    plan_path.write_text(json.dumps(plan), encoding="utf-8")
    result = run("plan", SCHOOLS, "--apply", plan_path, "-o", tmp_path / "x.csv")
    assert result.exit_code == 2 and "other data" in result.output and school["school_id"] in result.output
    (tmp_path / "junk.json").write_text("{}", encoding="utf-8")
    assert run("plan", SCHOOLS, "--apply", tmp_path / "junk.json", "-o", tmp_path / "y.csv").exit_code == 2


def test_what_if_moves_merges_and_closes(tmp_path):
    changes = tmp_path / "changes.yaml"
    changes.write_text(
        "changes:\n"
        "  - add: {school_id: '5226980009', stage: primary, backbone_teachers: 1, teachers: 1}\n"
        "  - move: {from: '5226980001', to: '5226980017', stage: primary, pe_art_teachers: 1, teachers: 1}\n"
        "  - close: {school_id: '5226980021', stage: primary, pupils_to: '5226980014'}\n"
        "  - merge: {from: '5226980019', into: '5226980017', stage: primary}\n", encoding="utf-8")
    out = tmp_path / "what_if.csv"
    result = run("plan", SCHOOLS, "--what-if", changes, "-o", out)
    assert result.exit_code == 0, result.output
    report = json.loads(run("evaluate", out, "-e", "vector", "-f", "json").output)
    before = json.loads(run("evaluate", SCHOOLS, "-e", "vector", "-f", "json").output)
    assert report["records"]["read"] == before["records"]["read"] - 2
    by_id = {(s["school_id"], s["stage"]): s for s in report["schools"]}
    old = {(s["school_id"], s["stage"]): s for s in before["schools"]}
    merged = by_id[("5226980017", "primary")]
    gained = merged["measures"]["school_total_students"] - old[("5226980017", "primary")]["measures"]["school_total_students"]
    assert gained == old[("5226980019", "primary")]["measures"]["school_total_students"]
    assert merged["measures"]["pe_art_teachers_per_100"] > 0
    bad = tmp_path / "bad.yaml"
    bad.write_text("changes:\n  - move: {from: '5226980001', to: '0000', stage: primary, teachers: 1}\n", encoding="utf-8")
    result = run("plan", SCHOOLS, "--what-if", bad, "-o", tmp_path / "z.csv")
    assert result.exit_code == 2 and "0000" in result.output


def test_a_file_with_no_rows_is_a_usage_error(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("学校标识码,学段,在校生数\n", encoding="utf-8")
    result = run("plan", empty)
    assert result.exit_code == 2 and "no records found" in result.output
    assert run("plan", tmp_path / "missing.csv").exit_code == 2


def test_a_plan_is_json_xlsx_or_text(tmp_path):
    result = run("plan", SCHOOLS, "-e", "vector", "-o", tmp_path / "plan.csv")
    assert result.exit_code == 2 and "--apply" in result.output
    text = tmp_path / "plan.txt"
    run("plan", SCHOOLS, "-e", "vector", "-o", text)
    assert text.read_text(encoding="utf-8").startswith("edubalance 整改方案")


def test_plan_on_the_terminal_names_rules_items_stages_and_units_in_chinese():
    out = run("plan", SCHOOLS, COUNTY, "-e", "vector").output
    # a rule by its title, with the id a supervisor traces; the value and limit in the rule's unit
    assert ("班额（小学不超过45人，初中不超过50人） [national.class_size]: 58 人/班, 要求 required ≤ 45 人/班"
            in out)
    assert "学生宿舍不得设在地下室 [guizhou.no_basement_dorms]: 是 yes, 要求 required = 否 no" in out
    # an addition in its Chinese unit, for the rule it meets
    assert "学生床位数 beds +10 张  ← 寄宿生一人一床 [guizhou.beds_per_boarder]" in out
    assert "公用经费实际拨付数 public_funds_received_yuan +6,500 元/年" in out
    assert "+1 teachers" not in out and "volumes" not in out
    # cost items by their titles and counting units, stages and the target in Chinese first
    assert "学生床位 10 张 = 15,000 元" in out and "新增专任教师 8 人 = 800,000 元" in out
    assert "目标 target: 优质均衡 quality" in out
    assert "青岚县第一小学 小学 primary: 未达标 fail → 未达标 fail" in out and "[primary]" not in out
    assert "缺数据 needs data: 公用经费足额拨付 [national.public_funds]" in out
    # and which of the record's cells to fill in for it
    assert "请填写 fill in: 公用经费实际拨付数 (public_funds_received_yuan)" in out
    assert "请填写 fill in: 图书册数 (books)、学生用计算机台数 (computers)" in out


def test_plan_workbook_names_things_in_chinese_and_lists_every_school_that_needs_something(tmp_path):
    out = tmp_path / "plan.xlsx"
    run("plan", SCHOOLS, COUNTY, "-e", "vector", "-o", out)
    wb = load_workbook(out)
    rows = list(wb["学校 Schools"].iter_rows(min_row=2, values_only=True))
    needs = [r for r in rows if r[4] == "缺数据 needs data"]
    # the incomplete schools are listed with the rules that lack data (they used to be left out)
    assert {(r[0], r[8]) for r in needs} >= {("5226980023", "公用经费足额拨付 [national.public_funds]")}
    assert {(r[0], r[5]) for r in needs} >= {("5226980023", "公用经费实际拨付数 (public_funds_received_yuan)"),
                                             ("5226980014", "图书册数 (books)、学生用计算机台数 (computers)")}
    fixed = [r for r in rows if r[0] == "5226980015"]
    assert fixed == [("5226980015", "青岚县平寨乡中心小学", "小学 primary", "522698", "学生床位数", "beds", 10, "张",
                      "寄宿生一人一床 [guizhou.beds_per_boarder]", 0, "未达标 fail", "达标 pass")]
    structural = [r for r in rows if r[0] == "5226980001"]
    assert structural[0][8].endswith("58 人/班, 要求 required ≤ 45 人/班")
    items = {r[1]: r for r in wb["项目 Items"].iter_rows(min_row=2, values_only=True)}
    assert items["teacher"][0] == "新增专任教师" and items["teacher"][3] == "人"
    assert "被拒记录 Rejected" not in wb.sheetnames       # nothing was rejected


def test_plan_workbook_lists_the_rows_it_could_not_judge(tmp_path):
    lines = SCHOOLS.read_text(encoding="utf-8").splitlines()
    header, first = lines[0].split(","), lines[1].split(",")
    first[header.index("在校生数")] = "两千"                # a count in words: refused
    bad = tmp_path / "schools.csv"
    bad.write_text("\n".join([lines[0], ",".join(first), *lines[2:]]) + "\n", encoding="utf-8")
    out = tmp_path / "plan.xlsx"
    assert run("plan", bad, COUNTY, "-e", "vector", "-o", out).exit_code == 1
    rows = list(load_workbook(out)["被拒记录 Rejected"].iter_rows(min_row=2, values_only=True))
    assert [(r[1], r[2], r[5], r[6]) for r in rows] == [(2, "5226980001", "在校生数", "两千")]
    out = run("plan", bad, COUNTY, "-e", "vector").output      # and on the terminal, what to fix
    assert "被拒记录 Rejected records (1)" in out and "两千" in out and "第 2 行" in out


def test_local_prices_given_as_data_are_the_cost_files():
    """The API takes the prices a --costs file holds as a dict: the same plan, and the pack's
    item titles and units are kept for a price given as a bare number."""
    from edubalance import Evaluator
    ev = Evaluator(engine="vector")
    plan = ev.plan([SCHOOLS, COUNTY], costs={"teacher": 50000, "book": {"yuan": 40, "per": "once"}})
    items = plan["costs"]["guizhou/2023"]["items"]
    assert items["teacher"]["title"] == {"zh": "新增专任教师", "en": "new full-time teacher"}
    assert items["teacher"]["unit"] == "元/人·年" and items["teacher"]["source"]["document"] == "<costs>"
    assert plan["totals"]["by_item"]["teacher"]["yuan"] == plan["totals"]["by_item"]["teacher"]["quantity"] * 50000
    with pytest.raises(Exception, match="dragons"):
        ev.plan([SCHOOLS, COUNTY], costs={"dragons": 5})


def test_a_plan_says_what_it_is_working_on():
    """A province's plan takes minutes: the progress line is told each step (at a terminal the
    command draws it; redirected, nothing is written)."""
    from edubalance import Evaluator
    steps: list[str] = []
    Evaluator(engine="vector").plan([SCHOOLS, COUNTY], progress=steps.append)
    assert steps[0].startswith("评估现状") and steps[-1].startswith("复核")
    assert any(s.startswith("学校 schools 贵州省 2023: 第 1 轮 round 1, 尚缺 ") for s in steps)
    assert "县域差异系数 county CVs 贵州省 2023" in steps
    result = run("plan", SCHOOLS, COUNTY, "-e", "vector")
    assert "整改方案 planning" not in result.output and "第 1 轮" not in result.output


def test_a_plans_json_names_the_empty_cells_a_school_must_fill(tmp_path):
    plan = plan_json(run, tmp_path / "p.json", SCHOOLS, COUNTY)
    by_id = {s["school_id"]: s for s in plan["schools"]}
    assert by_id["5226980014"]["needs_fields"] == ["books", "computers"]
    assert by_id["5226980023"]["needs_fields"] == ["public_funds_received_yuan"]
    assert all(s["needs_fields"] == [] for s in plan["schools"] if not s["needs_data"])
