"""Rule packs are data: schema-checked, merged by id, overridable, and unable to run code."""
from __future__ import annotations

import textwrap

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
    after = Evaluator(engine="vector", overrides=[override]).evaluate_record(record)
    get = lambda entry: next(v for v in entry["verdicts"] if v["rule_id"] == "national.class_size")
    assert get(before)["status"] == "pass"
    assert get(after)["status"] == "fail"
    assert get(after)["threshold"] == 40
    assert get(after)["pack"]["revision"].endswith("+local-1")


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

