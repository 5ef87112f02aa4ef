"""How problems are told: one line per problem with the rows it covers, Chinese first everywhere
a user reads (file errors, help pages, the text report), and the Python API's one exception
with its problems as data."""
from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

import click
import pytest

import edubalance
from edubalance import Evaluator, InvalidInput
from edubalance.cli import main
from edubalance.fields import header_to_field
from edubalance.problems import problem_lines, row_parts, rows_text

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "plugins" / "guizhou" / "data" / "demo_schools.csv"
PREFIX = "edubalance: 错误 error: "


def is_cjk(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff" or "\u3000" <= ch <= "\u303f" or "\uff00" <= ch <= "\uffef"


def chinese_first(text: str) -> bool:
    """Some Chinese, and before the first English word (three letters or more; command words
    such as FILES or HTTP count too, so a text may not open with them)."""
    import re
    words = re.search(r"[A-Za-z]{3,}", text)
    han = next((i for i, ch in enumerate(text) if is_cjk(ch)), None)
    return han is not None and (words is None or han < words.start())


def cli(*args, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "edubalance.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=300, cwd=cwd)


def demo_rows() -> list[list[str]]:
    return list(csv.reader(open(DEMO, encoding="utf-8")))


def write_csv(path: Path, rows: list[list[str]], encoding: str = "utf-8") -> Path:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


# --- rows, compressed ------------------------------------------------------------------------

def test_rows_are_compressed_into_runs():
    assert row_parts([9, 2, 3, 4, 5, 12, 13, 30, 14]) == ["2–5", "9", "12–14", "30"]
    assert rows_text([7]) == "第 7 行 row 7"
    assert rows_text(range(2, 30)) == "第 2–29 行 rows 2–29"
    assert rows_text([2, 3, 4, 5, 9] + list(range(12, 31))) == "第 2–5、9、12–30 行 rows 2–5, 9, 12–30"
    assert rows_text([2, 4]) == "第 2、4 行 rows 2, 4"


def test_a_long_scattered_list_is_the_first_rows_and_a_count():
    rows = list(range(2, 82, 2))                      # 40 rows, none adjacent
    assert rows_text(rows) == "第 2、4、6 行等 40 行 rows 2, 4, 6 … (40 rows)"
    # five runs are still shown whole, six are not
    assert rows_text([2, 4, 6, 8, 10]) == "第 2、4、6、8、10 行 rows 2, 4, 6, 8, 10"
    assert rows_text([2, 4, 6, 8, 10, 12]) == "第 2、4、6 行等 6 行 rows 2, 4, 6 … (6 rows)"


#: What follows problem lines that leave rows or values out.
CUT = ("  （以上有的问题只列出前几行或前几个值，每一行的问题见 --format json）/ (some problems above show their first rows or "
       "values only: every row's problems: --format json)")


def test_the_rows_and_values_a_line_leaves_out_are_said_to_be_in_the_json():
    """A problem on six scattered rows shows three of them (第 2、4、6 行等 6 行) and one with many
    values three of them: the clerk who must fix every row was not told where the rest are."""
    def rejected(rows, messages=None):
        return [{"school_id": str(r), "problems": [problem(r, message=(messages or {}).get(r, "未知列 '备注'"))]}
                for r in rows]
    assert problem_lines(rejected([2, 4, 6, 8, 10])) == ["  a.csv 第 2、4、6、8、10 行 rows 2, 4, 6, 8, 10: E106 未知列 '备注'"]
    assert problem_lines(rejected([2, 4, 6, 8, 10, 12]))[-1] == CUT
    assert problem_lines(rejected([2, 3], {3: "x"}))[-1] == CUT


@pytest.mark.parametrize("n", [3, 4])
def test_validate_says_where_the_values_it_leaves_out_are(tmp_path, n):
    rows = demo_rows()
    students = rows[0].index("在校生数")
    for k in range(n):
        rows[2 + k][students] = f"约{k}"
    out = cli("validate", write_csv(tmp_path / "schools.csv", rows, "gbk"), "-P", "guizhou")
    assert out.returncode == 1
    assert ("等 4 个不同的值" in out.stdout) == (n == 4) and (CUT in out.stdout.splitlines()) == (n == 4), out.stdout


def problem(row, code="E106", field="remark", message="未知列 '备注'", school="1"):
    return {"code": code, "severity": "error", "file": "a.csv", "row": row, "field": field, "message": message,
            "school_id": school}


def test_the_same_problem_on_many_rows_is_one_line_a_single_row_names_its_school():
    rejected = [{"school_id": str(r), "school_name": f"学校{r}", "problems": [problem(r)]} for r in range(2, 30)]
    rejected[4]["problems"].append(problem(6, "E104", "stage", "学段（stage） 取值 'xx' 不在允许范围"))
    lines = problem_lines(rejected)
    assert lines == ["  a.csv 第 2–29 行 rows 2–29: E106 未知列 '备注'",
                     "  a.csv 第 6 行 row 6 6 学校6: E104 学段（stage） 取值 'xx' 不在允许范围"]
    # the same code and field with another message (another value) is the same line, showing the first
    other = [{"school_id": "1", "problems": [problem(2, message="x")]},
             {"school_id": "2", "problems": [problem(3, message="y")]}]
    assert problem_lines(other) == ["  a.csv 第 2–3 行 rows 2–3: E106 例 e.g. 第 2 行 row 2：x（共 2 种不同的值 2 distinct values）",
                                    CUT]
    other.append({"school_id": "3", "problems": [problem(4, code="E104", message="z")]})
    # warnings are marked, and a limit counts what it leaves out
    warned = [problem(r, "W301", "max_class_size", "班额大于学生数") | {"severity": "warning"} for r in (3, 4, 5)]
    assert problem_lines((), warned) == ["  a.csv 第 3–5 行 rows 3–5: 警告 warning W301 班额大于学生数"]
    assert problem_lines(other, limit=1)[-1].startswith("  … 另有 1 类问题 and 1 more kinds of problem")


@pytest.mark.parametrize("encoding", ["gbk", "utf-8"])
def test_validate_and_evaluate_show_a_column_problem_once_with_its_rows(tmp_path, encoding):
    rows = demo_rows()
    stage, books = rows[0].index("学段"), rows[0].index("图书册数")
    rows[0].append("备注")
    for r in rows[1:]:
        r.append("已核")
        r[books] = "很多"                             # the same wrong value in every row
    rows[5][stage] = "xx"
    path = write_csv(tmp_path / "schools.csv", rows, encoding)
    n = len(rows) - 1
    for command in ("validate", "evaluate"):
        out = cli(command, path, "-P", "guizhou")
        assert out.returncode == 1, out.stderr
        assert "Traceback" not in out.stderr
        assert out.stderr.count("W401") == 1 and "备注" in out.stderr      # an unknown column: one notice
        lines = out.stdout.splitlines()
        wrong = [x for x in lines if "E102" in x and "很多" in x]
        assert len(wrong) == 1 and f"{path} 第 2–{n + 1} 行 rows 2–{n + 1}: E102 " in wrong[0], out.stdout
        stage_lines = [x for x in lines if "E104" in x]
        assert len(stage_lines) == 1 and f"{path} 第 6 行 row 6 " in stage_lines[0] and "'xx'" in stage_lines[0]
        assert lines[0].startswith("记录 Records: 读取 28 read") or lines[2].startswith("记录 Records: 读取 28 read")


def test_evaluate_groups_warnings_too(tmp_path):
    rows = demo_rows()
    head = rows[0]
    for r in rows[1:4]:                                # a class larger than the school: W301, same values
        for name, value in (("在校生数", "40"), ("寄宿生数", "0"), ("随班就读残疾学生数", "0"), ("最大班额", "45"),
                            ("班级数", "1")):
            r[head.index(name)] = value
    path = write_csv(tmp_path / "schools.csv", rows)
    out = cli("evaluate", path)
    warned = [x for x in out.stdout.splitlines() if "W301" in x]
    assert len(warned) == 1 and "第 2–4 行 rows 2–4: 警告 warning W301" in warned[0], out.stdout
    assert "警告 Warnings (3):" in out.stdout


# --- Chinese first wherever a user reads -------------------------------------------------------

def file_error(tmp_path, name, content=None, command="evaluate"):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    out = cli(command, path)
    assert out.returncode == 2, (out.stdout, out.stderr)
    assert "Traceback" not in out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(PREFIX), out.stderr
    return lines[0][len(PREFIX):].replace(str(path), "")


@pytest.mark.parametrize("command", ["validate", "evaluate"])
@pytest.mark.parametrize("name, content, words", [
    ("nope.csv", None, "文件不存在 / file not found"),
    ("empty.csv", "", "文件为空 / the file is empty"),
    ("head.csv", "学校标识码,学段,在校生数\n", "未找到学校或县级记录（只有表头，或没有数据行） / no records found"),
    ("codes.csv", "序号,学校代号,人数\n1,5201,300\n2,5202,400\n",
     "没有可识别的列名：第 1 行是 「序号」、「学校代号」（是否应为 学校标识码？）、「人数」；列名应为字段名或其中文标签，"
     "如 学校标识码/school_id、学校名称/school_name、学段/stage"),
    ("report.docx", "x", "不支持的文件类型 .docx"),
    ("table.et", "x", "请另存为 .xlsx 或 .csv"),
    ("table.ods", "x", "请另存为 .xlsx 或 .csv"),
    ("image.csv", b"\x89PNG\r\n\x1a\n" + bytes(range(256)), "这是二进制文件"),
    ("old.xlsx", "not a workbook", "这是文本文件（如 CSV），不是 Excel 工作簿：如果它是 CSV，请把扩展名改为 .csv"),
    ("bad16.csv", b"\xff\xfe" + b"\x00\xd8a\x00", "无法按 UTF-16 解码"),
])
def test_every_file_error_is_chinese_first_with_exit_2(tmp_path, command, name, content, words):
    message = file_error(tmp_path, name, content, command)
    assert words in message, message
    assert chinese_first(message), message


def test_click_usage_errors_and_an_unknown_province_are_chinese_first(tmp_path):
    for args, words in (((tmp_path,), "参数值无效 Invalid value for 'FILES...'"), ((), "缺少参数 Missing argument"),
                        (("--bogus", "x.csv"), "没有这个选项 No such option"),
                        (("-y", "1", "x.csv"), "参数值无效 Invalid value for '--year'")):
        out = cli("evaluate", *args)
        assert out.returncode == 2 and "Traceback" not in out.stderr
        last = out.stderr.strip().splitlines()[-1]
        assert last.startswith(PREFIX + words), out.stderr
        assert "用法 Usage: " in out.stderr and "evaluate [OPTIONS] FILES..." in out.stderr
    write_csv(tmp_path / "s.csv", demo_rows())
    out = cli("evaluate", tmp_path / "s.csv", "-P", "hunan")
    assert out.returncode == 2
    message = out.stderr.strip()
    assert message.startswith(PREFIX + "省份 湖南（hunan） 没有对应的插件"), message


def commands() -> list[tuple[str, click.Command]]:
    return [("edubalance", main)] + sorted(main.commands.items())


@pytest.mark.parametrize("name, command", commands())
def test_every_help_text_is_chinese_first(name, command):
    assert chinese_first(command.help), (name, command.help)
    for param in command.params:
        if isinstance(param, click.Option) and param.help:
            assert chinese_first(param.help), (name, param.name, param.help)
    ctx = command.context_class(command, info_name=name)
    page = command.get_help(ctx)
    assert "用法 Usage:" in page and "选项 Options:" in page
    assert "显示此帮助并退出 Show this message and exit." in page


def test_help_pages_on_the_command_line(run):
    out = run("--help").output
    assert out.startswith("用法 Usage: ") and "命令 Commands:" in out and "示例 Examples:" in out
    assert "显示版本并退出" in out
    out = run("evaluate", "--help").output
    assert "评估 FILES 中的学校" in out and "报告格式" in out


def test_the_text_report_is_chinese_first_and_names_the_cvs(vector_evaluator):
    from edubalance.render import render_table
    text = render_table(vector_evaluator.evaluate_files([DEMO, DEMO.with_name("demo_county.csv")]))
    lines = text.splitlines()
    assert lines[0] == "义务教育均衡发展评估报告 edubalance report"
    assert lines[2] == "记录 Records: 读取 28 read, 评估 28 evaluated, 被拒 0 rejected"
    assert "    生均教学及辅助用房面积 teaching_aux_area_per_pupil: 0.19" in lines
    assert any(x.startswith("  小学 primary: 计入 19 所学校 19 schools in scope") for x in lines)
    # no line of the report starts with an English word
    for line in lines:
        body = line.strip().lstrip("-*… ").strip()
        if body and body[0].isalpha() and body[0].isascii():
            assert body.split()[0].strip(":").isdigit() or body.startswith(("national.", "guizhou.")), line


def test_rules_listing_is_chinese_first(run):
    out = run("rules", "-P", "guizhou", "--year", "2016").output
    first = out.splitlines()[0]
    assert first.startswith("guizhou 2016 年 (2016) 的规则 rules")
    assert "出处 source:" in out and "公用经费参数" in out


# --- the Python API --------------------------------------------------------------------------

def demo_records(english: bool) -> list[dict]:
    """The demo county's school rows as dicts with the file's own (Chinese) keys, or with the
    English field names."""
    rows = demo_rows()
    head = rows[0]
    keys = [header_to_field(h) if english else h for h in head]
    return [{k: v for k, v in zip(keys, r) if v != ""} for r in rows[1:]]


def test_chinese_keys_give_the_same_verdicts_as_english_keys(vector_evaluator, durable_evaluator):
    chinese, english = demo_records(False), demo_records(True)
    assert "学段" in chinese[0] and "stage" in english[0]
    for ev in (vector_evaluator, durable_evaluator):
        a, b = ev.evaluate_records(chinese), ev.evaluate_records(english)
        assert a.read == b.read == a.evaluated == 28 and not a.rejected
        assert a.to_dict()["schools"] == b.to_dict()["schools"]
        one = ev.evaluate_record(chinese[3])
        assert one == ev.evaluate_record(english[3])
        assert one["status"] == a.to_dict()["schools"][3]["status"]


def test_chinese_labels_and_values_in_one_record():
    ev = Evaluator(province="guizhou", engine="vector")
    entry = ev.evaluate_record({"学校标识码": "5201020001", "学段": "小学", "县级行政区划代码": "520102",
                                "学年": 2023, "在校生数": 420, "最大班额": 46})
    english = ev.evaluate_record({"school_id": "5201020001", "stage": "primary", "county_code": "520102",
                                  "year": 2023, "students": 420, "max_class_size": 46})
    assert entry == english
    assert next(v for v in entry["verdicts"] if v["rule_id"] == "national.class_size")["status"] == "fail"


def test_invalid_input_carries_the_problems_as_data(vector_evaluator):
    assert edubalance.InvalidInput is InvalidInput and issubclass(InvalidInput, ValueError)
    record = {"学校标识码": "5201020001", "学段": "大学", "省份": "guizhou", "县级行政区划代码": "520102",
              "学年": 2023, "在校生数": -5}
    with pytest.raises(InvalidInput) as err:
        vector_evaluator.evaluate_record(record)
    by_field = {p.field: p for p in err.value.problems}
    assert set(by_field) == {"stage", "students"}
    stage, students = by_field["stage"], by_field["students"]
    assert (stage.code, stage.label, stage.value, stage.row) == ("E104", "学段", "大学", 1)
    assert "primary (小学)" in stage.expected and stage.message.startswith("学段（stage）")
    assert (students.code, students.label, students.expected, students.row) == ("E103", "在校生数", "≥ 0", 1)
    assert students.value in (-5, "-5")
    text = str(err.value)
    assert text.splitlines()[0] == "记录未通过校验（2 个问题）/ record rejected (2 problems):"
    assert "  第 1 条记录 record 1: E104 学段（stage） 取值 '大学' 不在允许范围" in text
    assert err.value.to_list() == [p.to_dict() for p in err.value.problems]


def test_what_is_not_a_record_and_a_field_given_twice(vector_evaluator):
    good = demo_records(True)[0]
    with pytest.raises(InvalidInput) as err:
        vector_evaluator.evaluate_records([good, "5201020001", 7])
    assert [(p.code, p.row) for p in err.value.problems] == [("E190", 2), ("E190", 3)]
    assert str(err.value).startswith("记录无效（2 个问题）/ not records (2 problems):")
    with pytest.raises(InvalidInput) as err:
        vector_evaluator.evaluate_record({**good, "学段": "小学"})
    [p] = err.value.problems
    assert (p.code, p.field, p.label, p.row) == ("E191", "stage", "学段", 1)
    assert p.message == "键「stage」和「学段」都是 学段，只能给一个 / keys 'stage' and '学段' both give 学段 (stage); give one"


def test_bad_arguments_are_invalid_input():
    with pytest.raises(InvalidInput) as err:
        Evaluator(province="hunan")
    [p] = err.value.problems
    assert (p.code, p.field, p.value) == ("E205", "province", "hunan")
    assert p.message.startswith("省份 湖南（hunan） 没有对应的插件，支持的省份：") and "unknown province 'hunan'" in p.message
    for kwargs, field in (({"engine": "fast"}, "engine"), ({"verdicts": "some"}, "verdicts"), ({"year": 20230}, "year")):
        with pytest.raises(InvalidInput) as err:
            Evaluator(**kwargs)
        assert [(p.code, p.field) for p in err.value.problems] == [("E192", field)]


def test_an_unknown_province_lists_the_provinces_not_the_national_base():
    """The national pack is the base the provinces extend, not a province to choose."""
    with pytest.raises(InvalidInput) as err:
        Evaluator(province="xx")
    [p] = err.value.problems
    assert "支持的省份：安徽（anhui）、贵州（guizhou）、陕西（shaanxi） / " in p.message, p.message
    assert p.message.endswith("(known: anhui, guizhou, shaanxi)"), p.message
    assert p.expected == "安徽（anhui）、贵州（guizhou）、陕西（shaanxi） / anhui, guizhou, shaanxi"


# --- a bad value that differs per row, and a rejected county row -------------------------------

def test_a_column_with_a_different_bad_value_on_each_row_is_one_line_with_examples(tmp_path):
    rows = demo_rows()
    students = rows[0].index("在校生数")
    values = ["abc", "x", "多", "很多", "x"]
    for k, r in enumerate(rows[1:]):
        r[students] = values[k % len(values)]
    path = write_csv(tmp_path / "schools.csv", rows, "gbk")
    n = len(rows) - 1
    out = cli("validate", path)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    wrong = [x for x in out.stdout.splitlines() if "E102" in x]
    assert wrong == [f"  {path} 第 2–{n + 1} 行 rows 2–{n + 1}: E102 在校生数（students） 应为整数，实际为 "
                     "'abc'、'x'、'多' 等 4 个不同的值 / expected an integer, got 'abc', 'x', '多' and 1 more value"]
    # the JSON keeps every problem with its own value
    data = __import__("json").loads(cli("validate", path, "-f", "json").stdout)
    found = [(r["row"], p["observed"]) for r in data["rejected"] for p in r["problems"] if p["code"] == "E102"]
    assert found == [(k + 2, values[k % len(values)]) for k in range(n)]


def test_a_rule_across_fields_broken_with_other_values_on_each_row_is_one_line(tmp_path):
    rows = demo_rows()
    head = rows[0]
    for k, r in enumerate(rows[1:4]):                  # boarders over students, by another number each row
        r[head.index("寄宿生数")] = str(int(r[head.index("在校生数")]) + k + 1)
    path = write_csv(tmp_path / "schools.csv", rows)
    lines = [x for x in cli("validate", path).stdout.splitlines() if "E201" in x]
    assert len(lines) == 1 and lines[0].startswith(f"  {path} 第 2–4 行 rows 2–4: E201 例 e.g. 第 2 行 row 2：寄宿生数 "), lines
    assert lines[0].endswith("（共 3 种不同的值 3 distinct values）")


COUNTY_DEMO = ROOT / "plugins" / "guizhou" / "data" / "demo_county.csv"


def bad_county_file(tmp_path) -> Path:
    """A county office's GBK file with Chinese headers and a second county whose rate is a word."""
    rows = list(csv.reader(open(COUNTY_DEMO, encoding="utf-8")))
    head = rows[0]
    bad = list(rows[1])
    bad[head.index("county_code")], bad[head.index("county_name")] = "522699", "石桥县"
    bad[head.index("rotation_rate")] = "很高"
    from edubalance.fields import label
    return write_csv(tmp_path / "县级.csv", [[label(h) for h in head], rows[1], bad], "gbk")


def test_a_rejected_county_row_is_named_by_its_county_code_and_name(tmp_path):
    path = bad_county_file(tmp_path)
    out = cli("validate", path)
    assert out.returncode == 1
    [line] = [x for x in out.stdout.splitlines() if "E102" in x]
    assert line.startswith(f"  {path} 第 3 行 row 3 522699 石桥县: E102 教师交流轮岗比例（rotation_rate）"), line
    out = cli("evaluate", DEMO, path)
    assert f"  {path}:3 522699 石桥县\n" in out.stdout


def test_a_rejected_county_given_to_the_api_with_chinese_keys_is_named(vector_evaluator):
    from edubalance.fields import label
    from edubalance.problems import record_name
    from edubalance.reports.view import ReportView
    rows = list(csv.reader(open(COUNTY_DEMO, encoding="utf-8")))
    county = {label(k): v for k, v in zip(rows[0], rows[1])} | {"教师交流轮岗比例": "很高"}
    report = vector_evaluator.evaluate_records([], [county])
    [rej] = report.county_rejected
    assert rej["school_name"] == "青岚县" and record_name(rej) == "522698 青岚县"
    view = ReportView(report)
    assert [(r["id"], r["name"]) for r in view.rejected_problems()] == [("522698", "青岚县")]
    assert [(r["county_code"], r["county_name"]) for r in view.rejected_county_rows()] == [("522698", "青岚县")]
