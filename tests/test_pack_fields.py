"""A province adds its own input fields by writing a plug-in and nothing else: its pack's
``fields:`` declare them, and they are read (by label, units converted), checked, judged,
offered by the template and labelled as the data dictionary's own — for that province only."""
from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from edubalance import Evaluator, InvalidInput, PackSource, RulePackError, fields, hookimpl

COMMAND = Path(sys.executable).with_name("edubalance")

#: A third-party Henan plug-in: one declared field and one rule on it (an example, no real standard).
HENAN_PACK = """\
    pack: henan
    revision: "1"
    title: {zh: 河南（示例）, en: Henan (example)}
    extends: national
    fields:
      lab_area_m2:
        type: area
        label: 实验室面积
        aliases: [理科实验室面积]
        maximum: 1000000
        description: "Unit: m². Floor area of the science laboratories."
    rules:
      - id: henan.lab_area
        title: {zh: 生均实验室面积（示例）, en: Laboratory area per pupil (example)}
        dimension: facilities
        severity: required
        measure: lab_area_per_pupil
        expression: "lab_area_m2 / students"
        operator: ">="
        threshold: 0.5
        unit: m² per pupil
        threshold_status: provisional
        source: {document: 示例文件（非真实标准）}
    """
PLUGIN = 'from edubalance import province_hooks\n\nedubalance_rule_packs, edubalance_demo_data = province_hooks(__name__, __file__)\n'
HEADER = ["学校标识码", "学校名称", "学段", "办学类型", "省份", "县级行政区划代码", "学年", "城乡类型", "在校生数"]


def henan_plugin(folder: Path, name: str = "henan_lab") -> Path:
    """The plug-in as its author writes it: a package with ``pack.yaml`` beside its ``__init__.py``."""
    package = folder / name
    package.mkdir()
    (package / "__init__.py").write_text(PLUGIN, encoding="utf-8")
    (package / "pack.yaml").write_text(textwrap.dedent(HENAN_PACK), encoding="utf-8")
    return package


def clerk_csv(path: Path, lab_header: str, labs: list[str]) -> None:
    """A county office's file as Excel saves it (GBK), the laboratory column under its Chinese header."""
    rows = [[f"41010200{k + 1:02d}", f"示例县第{k + 1}小学", "小学", "小学", "河南", "410102", "2023", "城区", "1000", lab]
            for k, lab in enumerate(labs)]
    with open(path, "w", encoding="gbk", newline="") as f:
        csv.writer(f).writerows([HEADER + [lab_header], *rows])


def run(folder: Path, *args: object) -> subprocess.CompletedProcess:
    return subprocess.run([str(COMMAND), *map(str, args)], capture_output=True, text=True, timeout=120, cwd=folder,
                          env={**os.environ, "PYTHONPATH": str(folder)})


def test_a_plugin_field_is_read_checked_and_judged(tmp_path):
    henan_plugin(tmp_path)
    clerk_csv(tmp_path / "学校.csv", "实验室面积（平方米）", ["600", "300", "约500"])
    checked = run(tmp_path, "validate", "-p", "henan_lab", "学校.csv")
    assert checked.returncode == 1, checked.stderr
    assert "读取 3 read, 通过 2 accepted, 被拒 1 rejected" in checked.stdout
    assert ("学校.csv 第 4 行 row 4 4101020003 示例县第3小学: E102 实验室面积（lab_area_m2） 应为数值，实际为 '约500' "
            "/ expected a number, got '约500'") in checked.stdout

    judged = run(tmp_path, "evaluate", "-p", "henan_lab", "学校.csv", "-f", "json")
    report = json.loads(judged.stdout)
    verdicts = {s["school_id"]: v for s in report["schools"] for v in s["verdicts"] if v["rule_id"] == "henan.lab_area"}
    assert {k: (v["status"], v["value"]) for k, v in verdicts.items()} == {
        "4101020001": ("pass", 0.6), "4101020002": ("fail", 0.3)}
    assert [r["row"] for r in report["rejected"]] == [4]

    # A header in another unit is converted as for the data dictionary's fields (0.06 万平方米 = 600 m²),
    # and the other headers the pack names are read as well.
    clerk_csv(tmp_path / "万.csv", "实验室面积（万平方米）", ["0.06", "0.03"])
    clerk_csv(tmp_path / "别名.csv", "理科实验室面积", ["600", "300"])
    for name in ("万.csv", "别名.csv"):
        report = json.loads(run(tmp_path, "evaluate", "-p", "henan_lab", name, "-f", "json").stdout)
        assert [v["status"] for s in report["schools"] for v in s["verdicts"] if v["rule_id"] == "henan.lab_area"] \
            == ["pass", "fail"], name


def test_the_terminal_report_and_the_template_label_it(tmp_path):
    henan_plugin(tmp_path)
    clerk_csv(tmp_path / "学校.csv", "实验室面积", ["300"])
    shown = run(tmp_path, "evaluate", "-p", "henan_lab", "学校.csv")
    assert "生均实验室面积（示例）" in shown.stdout and "0.3 平方米/生, 要求 required ≥ 0.5" in shown.stdout

    assert run(tmp_path, "template", "-p", "henan_lab", "-P", "henan", "--format", "csv", "-o", "henan.csv").returncode == 0
    with open(tmp_path / "henan.csv", encoding="utf-8-sig") as f:
        assert "实验室面积（平方米）" in next(csv.reader(f))
    # Another province's template does not offer it: no rule of Guizhou reads it.
    assert run(tmp_path, "template", "-p", "henan_lab", "-P", "guizhou", "--format", "csv", "-o", "gz.csv").returncode == 0
    with open(tmp_path / "gz.csv", encoding="utf-8-sig") as f:
        assert not [h for h in next(csv.reader(f)) if "实验室" in h]


def pack_plugin(folder: Path, pack: str, body: str) -> object:
    """A plug-in object whose pack (id ``pack``, extending national) has ``body`` after its header."""
    where = folder / pack
    where.mkdir()
    (where / "pack.yaml").write_text(f'pack: {pack}\nrevision: "1"\ntitle: {{zh: 示例, en: Example}}\n'
                                     f"extends: national\n" + textwrap.dedent(body), encoding="utf-8")

    class Plugin:
        @hookimpl
        def edubalance_rule_packs(self):
            return [PackSource.from_directory(where, plugin=pack)]
    return Plugin()


def evaluator(*plugins: object) -> Evaluator:
    return Evaluator(engine="vector", plugins=["edubalance_national", *plugins], autoload=False)


HUNAN_RULE = """\
    rules:
      - id: hunan.lab_area
        title: {zh: 实验室（示例）, en: Laboratories (example)}
        dimension: facilities
        severity: required
        measure: %s
        operator: ">="
        threshold: 1
        threshold_status: provisional
        source: {document: 示例文件（非真实标准）}
    """


def test_only_the_declaring_provinces_rules_read_it(tmp_path):
    henan = pack_plugin(tmp_path, "henan", "fields:\n  henan_lab_rooms: {type: count, unit: rooms, label: 河南实验室间数}\n")
    hunan = pack_plugin(tmp_path, "hunan", HUNAN_RULE % "henan_lab_rooms")
    ev = evaluator(henan, hunan)
    with pytest.raises(RulePackError, match=r"pack hunan, rule hunan.lab_area: 未知的指标 'henan_lab_rooms'"):
        ev.ruleset("hunan", 2023)
    assert "henan_lab_rooms" in ev.registry.declared("henan") and not ev.registry.declared("hunan")


def test_another_province_neither_needs_nor_judges_it():
    """A Guizhou record is judged without Shaanxi's fields; one carrying a Shaanxi field has it
    read and checked as any field (a county's file may hold every column), but no Guizhou rule reads it."""
    ev = evaluator("edubalance_guizhou", "edubalance_shaanxi")
    record = {"school_id": "5201020001", "stage": "primary", "county_code": "520102", "year": 2023,
              "students": 300, "province": "guizhou", "location": "rural", "is_small_rural_school": True}
    plain = ev.evaluate_record(record)
    carried = ev.evaluate_record({**record, "canteen_area_m2": 10})
    assert plain["verdicts"] == carried["verdicts"] and plain["status"] == carried["status"]
    assert not [v for v in plain["verdicts"] if v["rule_id"].startswith("shaanxi.")]
    with pytest.raises(InvalidInput, match=r"E102 .*食堂使用面积（canteen_area_m2） 应为数值"):
        ev.evaluate_record({**record, "canteen_area_m2": "很大"})


@pytest.mark.parametrize("first, second, message", [
    ("{type: count, unit: rooms, label: 甲实验室间数}", "{type: area, label: 甲实验室间数}",
     r"字段 'demo_lab_a' 的两处声明不一致：规则包 (henan|hunan)（.*/pack.yaml） 与 规则包 (henan|hunan)（.*/pack.yaml），请统一或改名"
     r" / field 'demo_lab_a' is declared differently by pack (henan|hunan) \(.*/pack.yaml\) and pack (henan|hunan) \("),
    ("{type: count, unit: rooms, label: 乙实验室间数}", "{type: count, unit: rooms, label: 乙实验室间数}", None),
])
def test_two_declarations_that_disagree_are_refused(tmp_path, first, second, message):
    name = "demo_lab_a" if message else "demo_lab_b"
    hunan = pack_plugin(tmp_path, "hunan", f"fields:\n  {name}: {first}\n")
    henan = pack_plugin(tmp_path, "henan", f"fields:\n  {name}: {second}\n")
    if message is None:                                         # the same declaration twice: one field
        assert evaluator(hunan, henan).registry.declared("henan") and fields.label(name) == "乙实验室间数"
        return
    with pytest.raises(RulePackError, match=message):
        evaluator(hunan, henan)


@pytest.mark.parametrize("declared, message", [
    ("students: {type: count, unit: pupils, label: 在校生数}",
     r"henan/pack.yaml: 字段 'students' 与核心数据字典中的同名字段（在校生数.*冲突.* / field 'students' is already a core field"),
    ("pupils_here: {type: count, unit: pupils, label: 在校学生数}",
     r"字段 'pupils_here' 的表头“在校学生数”已是字段 'students'（核心数据字典）的表头 / field 'pupils_here': the header "
     r"'在校学生数' already names field 'students' \(the core data dictionary\)"),
    ("hall_area: {type: area, label: 礼堂面积}\n  hall_size: {type: area, label: 礼堂 面积}",
     r"字段 'hall_size' 的表头“礼堂 面积”已是字段 'hall_area'（规则包 henan（.*henan/pack.yaml））的表头"),
    ("hall_area: {type: area, unit: rooms, label: 礼堂面积}",
     r"字段 'hall_area' 的种类 area 不能用单位 rooms（可用：m²）/ field 'hall_area' of kind area cannot be counted in rooms"),
    ("hall_area: {type: area, label: 礼堂面积, colour: red}",
     r"不符合格式.*/ not a valid rule file.*\n  位置 at fields/hall_area: 未知的键 colour（可能拼写有误） / Additional properties .*'colour'"),
])
def test_a_declaration_that_means_something_else_is_refused(tmp_path, declared, message):
    henan = pack_plugin(tmp_path, "henan", f"fields:\n  {declared}\n")
    with pytest.raises(RulePackError, match=message):
        evaluator(henan)


def test_the_moved_fields_are_the_provinces_own():
    ev = evaluator("edubalance_guizhou", "edubalance_shaanxi")
    assert set(ev.registry.declared("shaanxi")) == {"is_small_rural_school", "canteen_area_m2", "max_classroom_floor"}
    assert set(ev.registry.declared("guizhou")) == {"crafts_rooms", "multimedia_halls", "beds", "dorm_in_basement"}
    assert fields.header_to_field("食堂使用面积（平方米）") == "canteen_area_m2" and fields.unit("beds") == "beds"
    assert fields.header_to_field("学生床位数（张）") == "beds" and fields.label("max_classroom_floor") == "普通教室所在最高楼层"


def test_a_header_looked_up_before_the_pack_is_read_is_read_after(tmp_path):
    """What a header names is remembered; a pack declaring it later is not hidden by that memory."""
    from edubalance.loading import key_field

    assert key_field("示例饮水点数（个）") == ("示例饮水点数（个）", None) and fields.header_to_field("示例饮水点数") is None
    henan = pack_plugin(tmp_path, "henan", "fields:\n  demo_water_points: {type: count, unit: rooms, label: 示例饮水点数}\n")
    evaluator(henan)
    assert key_field("示例饮水点数（个）") == ("demo_water_points", None)
    assert fields.header_to_field("示例饮水点数") == "demo_water_points"


def test_the_planner_prices_and_merges_a_declared_field(tmp_path):
    """``cost`` makes a declared field one the planner adds, priced as that cost item; ``merged``
    says what a what-if merge of two schools keeps."""
    from edubalance.plan.costs import quantities
    from edubalance.plan.levers import addable
    from edubalance.plan.whatif import what_if

    henan = pack_plugin(tmp_path, "henan", """\
        fields:
          demo_labs: {type: count, unit: rooms, label: 示例实验室数, cost: room}
          demo_top_floor: {type: count, unit: floor, label: 示例教室最高楼层, merged: larger}
          demo_in_basement: {type: yes_no, label: 示例设在地下室, merged: either}
        """)
    evaluator(henan)
    assert "demo_labs" in addable() and "demo_top_floor" not in addable()
    assert quantities({"demo_labs": 2, "music_rooms": 1}) == {"room": 3}
    schools = [{"school_id": sid, "stage": "primary", "students": 100, "demo_labs": labs, "demo_top_floor": floor,
                "demo_in_basement": basement} for sid, labs, floor, basement in (("a", 1, 5, True), ("b", 2, 3, False))]
    merged, = what_if(schools, [{"merge": {"from": "a", "into": "b", "stage": "primary"}}])
    assert (merged["students"], merged["demo_labs"], merged["demo_top_floor"], merged["demo_in_basement"]) == \
        (200, 3, 5, True)


def test_a_declared_cost_is_an_item_the_planner_prices():
    from edubalance.plan.costs import ITEM_FIELDS
    from edubalance.schemas import rulepack_schema

    assert rulepack_schema()["$defs"]["field"]["properties"]["cost"]["enum"] == list(ITEM_FIELDS)


def test_a_declared_field_no_cost_item_counts_is_said_unpriced_not_costed_as_nothing(tmp_path):
    """A plan adding to a field whose pack named no ``cost`` cannot price it: the JSON plan lists
    it under the school's ``cost.unpriced`` and the terminal says so, rather than a lower total."""
    henan_plugin(tmp_path)
    clerk_csv(tmp_path / "学校.csv", "实验室面积", ["300"])        # 0.3 m² a pupil, 0.5 required
    run(tmp_path, "plan", "-p", "henan_lab", "学校.csv", "-o", "p.json")
    plan = json.loads((tmp_path / "p.json").read_text(encoding="utf-8"))
    [school] = plan["schools"]
    assert any(a["field"] == "lab_area_m2" for a in school["additions"])
    assert "lab_area_m2" in school["cost"]["unpriced"]
    shown = run(tmp_path, "plan", "-p", "henan_lab", "学校.csv").stdout
    assert "以下新增没有单价，未计入费用" in shown and "未定价 not priced: 实验室面积 lab_area_m2" in shown
    run(tmp_path, "plan", "-p", "henan_lab", "学校.csv", "-o", "p.html")
    assert "未定价、未计入费用" in (tmp_path / "p.html").read_text(encoding="utf-8")
    run(tmp_path, "plan", "-p", "henan_lab", "学校.csv", "-o", "p.xlsx")
    from openpyxl import load_workbook
    rows = list(load_workbook(tmp_path / "p.xlsx")["学校 Schools"].iter_rows(min_row=2, values_only=True))
    assert [(r[4], r[5], r[8]) for r in rows if r[4] == "未定价 not priced"] == [
        ("未定价 not priced", "lab_area_m2", "实验室面积")]
