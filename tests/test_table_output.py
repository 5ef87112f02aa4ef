"""What a new user reads in the text report: findings in words, never Python objects or bare
numbers, a missing value traced to the school and field behind it, and overridden rules that
say what they now are."""
from __future__ import annotations

import csv
import textwrap
from pathlib import Path

import pytest

from edubalance import Evaluator, RulePackError
from edubalance.render import render_table

ROOT = Path(__file__).resolve().parents[1]


def demo(province):
    data = ROOT / "plugins" / province / "data"
    return [data / "demo_schools.csv", data / "demo_county.csv"]


@pytest.fixture(scope="module")
def guizhou(vector_evaluator):
    return vector_evaluator.evaluate_files(demo("guizhou"))


def county_block(text):
    return text.split("有问题的学校 Schools with findings")[0]


def test_county_needs_name_the_field_not_a_python_dict(vector_evaluator, tmp_path):
    rows = list(csv.DictReader(open(demo("guizhou")[1], encoding="utf-8")))
    rows[0]["teacher_avg_salary_yuan"] = ""
    county = tmp_path / "county.csv"
    with open(county, "w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    report = vector_evaluator.evaluate_files([demo("guizhou")[0], county])
    text = render_table(report)
    assert "{'field'" not in text and "'rules'" not in text
    assert "需补充 needs: 县级记录的 教师年平均工资收入 (teacher_avg_salary_yuan), for national.county.teacher_pay" in text
    assert "缺少数据 missing data — 县级记录缺 教师年平均工资收入 (teacher_avg_salary_yuan)" in text


def test_a_count_of_schools_reads_as_schools(guizhou):
    text = county_block(render_table(guizhou))
    verdict = next(v for v in guizhou.counties[0]["verdicts"]
                   if v["rule_id"] == "national.county.schools_basic_standard" and v["stage"] == "primary")
    n = int(verdict["value"])
    assert n > 1
    assert f"[小学 primary]: {n} 所学校未达到 {n} schools fail" in text
    assert "required <= 0" not in text


def test_a_share_reads_in_percent(guizhou):
    """A county's rates are written as offices write them, 97%, not 0.97 比例."""
    text = county_block(render_table(guizhou))
    rules = guizhou.rulesets[guizhou.counties[0]["ruleset"]]["county_rules"]
    shares = [v for v in guizhou.counties[0]["verdicts"] if v["status"] == "fail"
              and rules[v["rule_id"]]["unit"] == "fraction"]
    assert shares
    for v in shares:
        title = rules[v["rule_id"]]["title"]["en"]
        value, threshold = (f"{x * 100:.3f}".rstrip("0").rstrip(".") + "%" for x in (v["value"], v["threshold"]))
        assert f"{title}: {value}, 要求 required ≥ {threshold}" in text
    assert " 比例" not in text


def test_a_missing_composite_cv_names_the_school_and_field(guizhou):
    county = guizhou.counties[0]
    missing = county["stages"]["primary"]["missing"]
    assert county["stages"]["primary"]["composite_cv_2012"] is None and missing
    line = next(x for x in county_block(render_table(guizhou)).splitlines()
                if "校际综合差异系数" in x and "[小学 primary]" in x)
    assert "缺少数据 missing data" in line and "needs composite_cv_2012" not in line
    for m in missing:
        assert m["school_id"] in line and f"{m['label']} ({m['field']})" in line


def test_a_county_with_no_rule_in_force_is_not_applicable(tmp_path):
    report = Evaluator(engine="vector", year=1990).evaluate_files(demo("guizhou"))
    county = report.counties[0]
    assert county["basic_balance"]["status"] == county["quality_balance"]["status"] == "not_applicable"
    assert county["status"] == "not_applicable"
    assert report.summary()["counties"]["pass"] == 0 and report.summary()["counties"]["not_applicable"] == 1
    text = render_table(report)
    assert f"县 County {county['county_code']} {county['county_name']} ({county['year']}): 不适用 not applicable" in text


def test_a_judged_county_keeps_its_status(guizhou):
    assert guizhou.counties[0]["status"] == "fail"


def override(tmp_path, rules, revision="local-1"):
    """An override file of pack national with these rules (YAML list items)."""
    path = tmp_path / "local.yaml"
    path.write_text(f"pack: national\nrevision: {revision}\nrules:\n{textwrap.dedent(rules)}", encoding="utf-8")
    return path


CLASS_SIZE_40 = """\
    - id: national.class_size
      threshold: {primary: 40}
"""
FIVE_OF_SEVEN = """\
    - id: national.resource_indicators
      threshold: {primary: 5, junior: 5}
"""


RECORD = {"school_id": "6101020001", "stage": "primary", "county_code": "610102", "year": 2023,
          "province": "shaanxi", "students": 430, "max_class_size": 43}


def class_size_rule(ev):
    entry = ev.evaluate_record(RECORD)
    verdict = next(v for v in entry["verdicts"] if v["rule_id"] == "national.class_size")
    return verdict, ev.rule_catalogue(entry["ruleset"])["rules"]["national.class_size"]


def test_an_override_threshold_carries_its_own_title_source_and_status(tmp_path):
    before = class_size_rule(Evaluator(engine="vector"))[1]
    assert before["threshold_status"] == "confirmed" and "45" in before["title"]["zh"]
    ev = Evaluator(engine="vector", overrides=[override(tmp_path, CLASS_SIZE_40 + "      source: {document: 本地文件}\n")])
    verdict, rule = class_size_rule(ev)
    assert verdict["status"] == "fail" and verdict["threshold"] == 40
    assert rule["title"]["zh"] == "班额（小学不超过40人，初中不超过50人）"
    assert rule["title"]["en"] == "Class size (primary at most 40, junior at most 50)"
    assert rule["threshold_status"] == "provisional"
    assert rule["source"] == {"document": "本地文件"}             # not the old clause beside it
    text = render_table(ev.evaluate_records([{**RECORD, "school_name": "x"}]))
    assert "不超过45人" not in text and "要求 required ≤ 40*" in text


def test_an_override_may_state_its_status_and_keeps_a_title_without_the_number(tmp_path):
    ev = Evaluator(engine="vector", overrides=[override(tmp_path, """\
        - id: national.class_size
          threshold: {primary: 44}
          threshold_status: confirmed
        - id: national.backbone_teachers_per_100
          threshold: {primary: 1.5}
        """)])
    rs = ev.rule_catalogue(ev.evaluate_record(RECORD)["ruleset"])["rules"]
    assert rs["national.class_size"]["threshold_status"] == "confirmed"
    assert rs["national.class_size"]["source"]["document"].endswith("local.yaml")    # the override file
    assert rs["national.class_size"]["title"]["zh"] == "班额（小学不超过44人，初中不超过50人）"
    assert rs["national.backbone_teachers_per_100"]["title"]["zh"] == "每百名学生拥有县级以上骨干教师数"


def test_an_override_whose_title_cannot_be_restated_asks_for_a_title(tmp_path):
    with pytest.raises(RulePackError, match="give the rule a new title"):
        Evaluator(engine="vector", overrides=[override(tmp_path, FIVE_OF_SEVEN)]).evaluate_record(RECORD)
    title = "      title: {zh: 资源配置七项指标（至少五项达标）, en: Resource allocation (at least 5 of 7)}\n"
    ok = override(tmp_path, FIVE_OF_SEVEN + title)
    ev = Evaluator(engine="vector", overrides=[ok])
    rule = ev.rule_catalogue(ev.evaluate_record(RECORD)["ruleset"])["rules"]["national.resource_indicators"]
    assert rule["title"]["zh"] == "资源配置七项指标（至少五项达标）"


def test_the_rules_listing_shows_an_overridden_rule_as_it_now_is(tmp_path):
    from click.testing import CliRunner
    from edubalance.cli import main
    path = override(tmp_path, CLASS_SIZE_40 + "      source: {document: 本地文件, clause: 第3条}\n")
    out = CliRunner().invoke(main, ["rules", "-P", "shaanxi", "--override", str(path)]).output
    block = out.split("national.class_size  ", 1)[1].split("\nnational.", 1)[0]
    assert block.startswith("班额（小学不超过40人，初中不超过50人） / Class size (primary at most 40, junior at most 50)")
    assert "primary <= 40; junior <= 50 人/班*" in block and "暂定 provisional）" in block
    assert "source: 本地文件 第3条" in block
