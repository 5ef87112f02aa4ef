"""Rule packs are data: schema-checked, merged by id, overridable, and unable to run code."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from edubalance import Evaluator, RulePackError
from edubalance.rulepack import read_pack_file


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


RULE = """
pack: national
revision: evil
rules:
  - id: national.class_size
    measure: max_class_size
    expression: "{expression}"
"""


@pytest.mark.parametrize("expression", [
    "__import__('os').system('echo pwned')",
    "().__class__.__bases__",
    "open('/etc/passwd')",
    "max_class_size; 1",
    "lambda: 1",
])
def test_a_rule_file_with_python_code_is_rejected(tmp_path, expression):
    path = write(tmp_path, "evil.yaml", RULE.format(expression=expression.replace('"', '\\"')))
    with pytest.raises(RulePackError, match="evil.yaml"):
        read_pack_file(path)


def test_python_code_in_a_scope_condition_is_rejected(tmp_path):
    path = write(tmp_path, "evil.yaml", """
        pack: national
        revision: evil
        rules:
          - id: national.class_size
            scope: {when: "__import__('os').system('touch /tmp/pwned') == 0"}
        """)
    with pytest.raises(RulePackError):
        read_pack_file(path)


def test_yaml_tags_cannot_build_objects(tmp_path):
    path = write(tmp_path, "evil.yaml", """
        pack: national
        revision: !!python/object/apply:os.system ["echo pwned"]
        """)
    with pytest.raises(RulePackError, match="not valid YAML"):
        read_pack_file(path)


def test_schema_errors_name_the_place(tmp_path):
    path = write(tmp_path, "bad.yaml", """
        pack: national
        revision: x
        rules:
          - id: national.class_size
            operator: "=<"
        """)
    with pytest.raises(RulePackError, match="rules/0/operator"):
        read_pack_file(path)


GOOD = """
    pack: national
    revision: cached
    rules:
      - id: national.class_size
        measure: max_class_size
        expression: "max_class_size * 1"
    """


def test_a_checked_rule_file_is_remembered_by_its_text(tmp_path, monkeypatch):
    from edubalance import rulepack
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    path = write(tmp_path, "good.yaml", GOOD)
    first = read_pack_file(path)
    assert len(list((tmp_path / "cache" / "edubalance" / "packs").iterdir())) == 1
    checks = []
    monkeypatch.setattr(rulepack, "_checked", lambda *a: checks.append(a) or {})
    assert read_pack_file(path) == first and checks == []             # read back, not checked again
    write(tmp_path, "good.yaml", GOOD.replace("* 1", "* 2"))               # a new text is checked
    assert read_pack_file(path) == {} and len(checks) == 1


def test_a_bad_rule_file_is_never_remembered(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    path = write(tmp_path, "bad.yaml", GOOD.replace("* 1", "* ("))
    for _ in range(2):
        with pytest.raises(RulePackError, match="bad.yaml"):
            read_pack_file(path)
    assert not (tmp_path / "cache" / "edubalance" / "packs").exists()


def test_data_that_json_would_change_is_checked_each_time(tmp_path, monkeypatch):
    import datetime

    from edubalance.packcache import cached_check
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    for data in ({"effective": datetime.date(2023, 9, 1)}, {"years": (2023, 2024)}, {2023: "x"}):
        checks = []
        for _ in range(2):
            assert cached_check(repr(data), lambda: checks.append(1) or data) == data
        assert len(checks) == 2
    assert not list((tmp_path / "cache").rglob("*.json"))


def test_the_cache_can_be_turned_off(tmp_path, monkeypatch):
    from edubalance.packcache import cached_check
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("EDUBALANCE_NO_PACK_CACHE", "1")
    checks = []
    for _ in range(2):
        assert cached_check("a: 1", lambda: checks.append(1) or {"a": 1}) == {"a": 1}
    assert len(checks) == 2 and not (tmp_path / "cache").exists()


def test_an_unwritable_cache_is_ignored(tmp_path, monkeypatch):
    (tmp_path / "cache").write_text("a file, not a folder")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    path = write(tmp_path, "good.yaml", GOOD)
    assert read_pack_file(path)["revision"] == "cached"


def test_an_override_changes_the_verdict_without_code(tmp_path):
    record = {"school_id": "5201020001", "stage": "primary", "county_code": "520102", "year": 2021,
              "province": "guizhou", "students": 440, "max_class_size": 44}
    before = Evaluator(engine="vector").evaluate_record(record)
    override = write(tmp_path, "local.yaml", """
        pack: national
        revision: local-1
        rules:
          - id: national.class_size
            threshold: {primary: 40}
            source: {document: 本地文件, clause: 第3条}
        """)
    overridden = Evaluator(engine="vector", overrides=[override])
    after = overridden.evaluate_record(record)
    get = lambda entry: next(v for v in entry["verdicts"] if v["rule_id"] == "national.class_size")
    assert get(before)["status"] == "pass"
    assert get(after)["status"] == "fail"
    assert get(after)["threshold"] == 40
    rule = overridden.rule_catalogue(after["ruleset"])["rules"]["national.class_size"]
    assert rule["pack"]["revision"].endswith("+local-1") and rule["source"]["document"] == "本地文件"


def test_an_override_of_an_unknown_pack_is_an_error(tmp_path):
    override = write(tmp_path, "x.yaml", "pack: nowhere\nrevision: '1'\n")
    with pytest.raises(RulePackError, match="not loaded"):
        Evaluator(overrides=[override])


def test_rules_carry_source_and_status(vector_evaluator):
    for province in vector_evaluator.provinces:
        rs = vector_evaluator.ruleset(province, 2023)
        for rule in rs.rules + rs.composites + rs.county_rules:
            assert rule.threshold_status in ("confirmed", "provisional"), rule.id
            assert rule.source.get("document"), rule.id



def test_effective_years_select_what_was_in_force(vector_evaluator):
    """Shaanxi's 2020 small-school standards and the 2017 national indicators were not in force in 2016."""
    ids = lambda year: {r.id for r in vector_evaluator.ruleset("shaanxi", year).rules}
    added = ids(2023) - ids(2016)
    assert "shaanxi.small_school.canteen_area" in added
    assert "national.teaching_aux_area_per_pupil" in added
    assert "national.class_size" in ids(2016) and "national.staffing" in ids(2016)
    assert "shaanxi.small_school.canteen_area" not in ids(2019)


def test_funding_base_follows_the_year(vector_evaluator):
    rec = {"school_id": "3401020001", "stage": "primary", "county_code": "340102", "province": "anhui",
           "school_type": "primary_school", "location": "urban", "students": 500, "is_public": True,
           "is_boarding": False, "special_needs_students": 0}
    e2020 = vector_evaluator.evaluate_record({**rec, "year": 2020})["funding"]["entitlement_yuan"]
    e2023 = vector_evaluator.evaluate_record({**rec, "year": 2023})["funding"]["entitlement_yuan"]
    assert (e2020, e2023) == (600 * 500, 650 * 500)


def test_a_funding_rule_is_provisional_per_school_not_per_year(vector_evaluator):
    # The rule itself is confirmed; each school's verdict is provisional where a provisional
    # parameter entered its entitlement (tests/test_funding.py checks the schools).
    for year in (2020, 2023):
        rule = vector_evaluator.ruleset("anhui", year).rule("national.public_funds")
        assert rule.threshold_status == "confirmed" and rule.provisional_when == "funding_provisional"


def test_basic_standard_rules_are_marked_in_every_pack(vector_evaluator):
    for province in ("national", "guizhou", "shaanxi", "anhui"):
        basic = {r.id for r in vector_evaluator.ruleset(province, 2021).rules if r.standard == "basic"}
        assert "national.class_size" in basic
        assert not basic & {"national.public_funds", "national.resource_indicators"}
    gz = {r.id for r in vector_evaluator.ruleset("guizhou", 2021).rules if r.standard == "basic"}
    assert {"guizhou.books_per_pupil", "guizhou.computers_per_100", "guizhou.multimedia_hall"} <= gz
    assert "guizhou.land_area_per_pupil" not in gz                  # unconfirmed values stay scored
    ah = {r.id for r in vector_evaluator.ruleset("anhui", 2013).rules if r.standard == "basic"}
    assert "anhui.staffing.urban" in ah and "national.staffing_2001.urban" not in ah
    nat = {r.id for r in vector_evaluator.ruleset("national", 2013).rules if r.standard == "basic"}
    assert {"national.staffing_2001.urban", "national.staffing_2001.town", "national.staffing_2001.rural"} <= nat


def test_a_rule_id_given_twice_in_one_file_is_an_error(tmp_path):
    """Merged key by key, the first of two rules with one id would vanish without a word."""
    path = write(tmp_path, "pack.yaml", """
        pack: henan
        revision: "1"
        rules:
          - id: henan.books
            measure: books_per_pupil
          - id: henan.computers
            measure: computers_per_100
          - id: henan.books
            measure: computers_per_100
        """)
    with pytest.raises(RulePackError, match=r"pack.yaml: pack henan, rule henan.books: 规则 id 重复（rules/0 与 rules/2）"):
        read_pack_file(path)


def test_a_schema_error_names_the_rule(tmp_path):
    path = write(tmp_path, "bad.yaml", """
        pack: national
        revision: x
        rules:
          - id: national.class_size
            title: {zh: 班额, en: Class size (primary, junior)}
        """)
    with pytest.raises(RulePackError, match=r"位置 at rules/0/title（规则 rule national.class_size）: 未知的键 junior\)"):
        read_pack_file(path)


def province_pack(tmp_path, body: str, cases: str | None = None) -> Evaluator:
    """An evaluator with a Henan plug-in: its pack written from ``body``, and ``cases.yaml``."""
    from edubalance import PackSource, hookimpl

    folder = tmp_path / "henan"
    folder.mkdir()
    (folder / "pack.yaml").write_text(textwrap.dedent(body), encoding="utf-8")
    if cases is not None:
        (folder / "cases.yaml").write_text(cases, encoding="utf-8")

    class Henan:
        @hookimpl
        def edubalance_rule_packs(self):
            return [PackSource.from_directory(folder, plugin="henan")]

    # The bundled packs alone beside it, whatever else is installed.
    return Evaluator(engine="vector", plugins=["edubalance_national", "edubalance_guizhou", Henan()], autoload=False)


HENAN = """\
    pack: henan
    revision: "1"
    title: {zh: 河南（示例）, en: Henan (example)}
    extends: %s
    rules:
      - id: henan.books
        title: {zh: 生均图书（示例）, en: Books per pupil (example)}
        dimension: facilities
        severity: required
        measure: %s
        operator: ">="
        threshold: 25
        threshold_status: provisional
        %s
    """
SOURCE = "source: {document: 示例文件（非真实标准）}"


@pytest.mark.parametrize("extends, measure, extra, message", [
    ("national", "books_per_pupl", SOURCE,
     r"henan/pack.yaml: pack henan, rule henan.books: 未知的指标 'books_per_pupl'.*'books_per_pupil'.* / "
     r"unknown measure 'books_per_pupl'.*'books_per_pupil'"),
    ("national", "books_per_pupil", "",
     r"henan/pack.yaml: pack henan, rule henan.books: 缺少 source / missing source"),
    ("national", "books_per_pupil", SOURCE + "\n        scope: {when: \"studnets > 100\"}",
     r"henan/pack.yaml: pack henan, rule henan.books: scope/when: 规则表达式有误：第 1 列的名称 'studnets' 未知；是否想写 'students'？ / "
     r"invalid rule expression: unknown name 'studnets' at column 1"),
    ("national", "books_per_pupil", SOURCE + "\n        scope: {when: \"students >\"}",
     r"henan/pack.yaml: pack henan, rule henan.books, scope/when: 规则表达式有误：第 11 列处表达式意外结束.* / "
     r"invalid rule expression: unexpected end of input at column 11"),
    ("national\n    disable: [national.clas_size]", "books_per_pupil", SOURCE,
     r"henan/pack.yaml: pack henan, disable national.clas_size: 所扩展的规则包中没有规则 'national.clas_size'（是否应为 "
     r"'national.class_size'）"),
    ("national", "books_per_pupil", SOURCE + "\n      - id: national.clas_size\n        threshold: 40", r"henan/pack.yaml: "
     r"pack henan, rule national.clas_size: 所扩展的规则包中没有规则 'national.clas_size'.*did you mean 'national.class_size'"),
    ("nationl", "books_per_pupil", SOURCE,
     r"henan/pack.yaml: 规则包 'henan' 的 extends: 'nationl' 未加载.*did you mean 'national'"),
])
def test_a_province_pack_error_says_which_file_rule_and_key(tmp_path, extends, measure, extra, message):
    """Errors found when the merged rules are compiled name the file the rule is in, as the
    errors found when a file is read do, and a column is a column of what the author wrote."""
    with pytest.raises(RulePackError, match=message):      # when the pack is read, or compiled
        province_pack(tmp_path, HENAN % (extends, measure, extra)).ruleset("henan", 2023)


def test_an_override_error_names_the_override_file(tmp_path):
    path = write(tmp_path, "local.yaml", """
        pack: national
        revision: local-1
        rules:
          - id: national.class_size
            measure: max_class_sise
        """)
    ev = Evaluator(engine="vector", overrides=[path])
    with pytest.raises(RulePackError, match=r"local.yaml: pack national, rule national.class_size: 未知的指标"):
        ev.ruleset("guizhou", 2023)


@pytest.mark.parametrize("cases, message", [
    ("pack: henan\ncases:\n  - name: one\n    record: {books: 1\n",
     r"cases.yaml: 不是有效的 YAML / not valid YAML at line 5"),
    ("- a list\n", r"cases.yaml: 用例文件不符合格式.*\n  位置 at \(top\): 应为映射（键: 值），实际为 \['a list'\] / "
                  r"\['a list'\] is not of type 'object'"),
    ("pack: henan\ncases:\n  - just a name\n", r"cases.yaml: 用例文件不符合格式.*\n  位置 at cases/0: 应为映射"),
    ("pack: henan\ncase:\n  - {name: one, expect: {henan.books: pass}}\n", r"未知的键 case（可能拼写有误）.*'case' was unexpected"),
    ("pack: henan\ncases:\n  - {name: one, expect: {henan.books: failed}}\n",
     r"位置 at cases/0/expect/henan.books（用例 case one）: 应为以下之一：pass, fail.*'failed' is not one of"),
])
def test_a_bad_case_file_is_one_message_naming_it(tmp_path, cases, message):
    """A case file that is not YAML, not a mapping, or misspells a key is one message naming the
    file and the case, never a traceback (``'list' object has no attribute 'get'``) and never
    a file whose cases are silently not run."""
    from edubalance.packtests import run_pack_cases

    ev = province_pack(tmp_path, HENAN % ("national", "books_per_pupil", SOURCE), cases)
    with pytest.raises(RulePackError, match=message):
        run_pack_cases(ev, "henan")


def test_a_pack_id_given_by_two_plugins_names_both_files(tmp_path):
    """A province pack copied from a bundled one and not renamed clashes with it: both files named."""
    body = HENAN.replace("pack: henan", "pack: guizhou") % ("national", "books_per_pupil", SOURCE)
    with pytest.raises(RulePackError, match=r"^规则包 'guizhou' 重复：插件 henan（\S+henan/pack.yaml）与 "
                                            r"edubalance_guizhou（\S+guizhou/pack.yaml）/ pack 'guizhou' is given twice"):
        province_pack(tmp_path, body)


def test_a_rule_file_saved_as_gbk_names_the_line(tmp_path):
    """A pack written in a Chinese Windows editor is often saved as GBK: the message names the
    line an editor shows (the first with Chinese text), not only a byte offset."""
    path = tmp_path / "pack.yaml"
    path.write_bytes("pack: henan\nrevision: '1'\ntitle: {zh: 河南, en: Henan}\n".encode("gbk"))
    with pytest.raises(RulePackError, match=r"pack.yaml: 第 3 行不是 UTF-8（如为 GBK 等编码，请另存为 UTF-8）/ line 3 is "
                                            r"not UTF-8 .*a rule file must be UTF-8"):
        read_pack_file(path)


@pytest.mark.parametrize("rule, chinese", [
    ("threshold: many", "应为数，实际为 'many'（不符合任何允许的写法）"),
    ("severity: requird", "应为以下之一：veto, required, scored；实际为 'requird'"),
    ("weight: -1", "应 ≥ 0，实际为 -1"),
])
def test_a_pack_authors_schema_error_reads_chinese_first(tmp_path, rule, chinese):
    key = rule.split(":")[0]
    fields = {"threshold": "threshold: 5", "severity": "severity: required", "weight": "weight: 1", key: rule}
    path = tmp_path / "bad.yaml"
    path.write_text("pack: national\nrevision: x\nrules:\n  - id: national.x\n    title: {zh: 测试, en: test}\n"
                    "    measure: students\n    operator: \">=\"\n    dimension: facilities\n    unit: pupils\n"
                    "    threshold_status: confirmed\n    source: {document: d, clause: c}\n"
                    + "".join(f"    {line}\n" for line in fields.values()), encoding="utf-8")
    with pytest.raises(RulePackError) as info:
        read_pack_file(path)
    line = str(info.value).splitlines()[1]
    assert line.startswith(f"  位置 at rules/0/{key}（规则 rule national.x）: {chinese}"), line
    assert "/ " in line and line.split("/ ", 1)[1][0].isascii()     # the English after


def test_a_plugin_giving_one_path_or_a_lone_source_is_read_as_meant(tmp_path):
    """A province author's PackSource(path) (one file, not a list) or a hook returning one
    PackSource used to end in a traceback; a hook returning anything else is one message."""
    from edubalance import PackSource, hookimpl
    from edubalance.rulepack import pack_sources
    pack = Path(__file__).resolve().parents[1] / "plugins" / "guizhou" / "pack.yaml"
    assert PackSource(pack, plugin="x").files == [pack]
    assert PackSource(str(pack), plugin="x").files == [pack]
    assert pack_sources(PackSource(pack)) == [PackSource([pack])]
    with pytest.raises(RulePackError, match="edubalance_rule_packs 应返回 PackSource 的列表.*got 'pack.yaml'"):
        pack_sources("pack.yaml")
    with pytest.raises(RulePackError, match="PackSource.files 应为规则文件路径的列表"):
        PackSource(files=[1, 2])

    class OnePack:
        @hookimpl
        def edubalance_rule_packs(self):
            return PackSource(pack, plugin="one")          # not in a list
    ev = Evaluator(plugins=[OnePack()], autoload=False)
    assert "guizhou" in ev.provinces
