"""One YAML guard: data files, rule files and the planner's files all go through safeyaml."""
from __future__ import annotations

import pytest

from edubalance import rulepack, safeyaml
from edubalance.limits import LIMITS
from edubalance.loading import InputError
from edubalance.readers import load_file


def laughs(levels: int = 8) -> list[str]:
    lines = ["a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    return lines + [f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]"
                    for i in range(levels)]


def test_a_data_file_bomb_is_refused_by_the_node_bound_even_when_aliases_are_allowed(tmp_path, monkeypatch):
    monkeypatch.setattr(LIMITS, "max_yaml_aliases", 10**9)
    path = tmp_path / "laughs.yaml"
    path.write_text("\n".join(laughs()) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"laughs\.yaml: YAML 别名展开超过 10000 个节点"):
        load_file(path)
    with pytest.raises(safeyaml.YamlLimitError, match=f"more than {safeyaml.MAX_ALIAS_NODES} nodes"):
        safeyaml.load("\n".join(laughs()))


def test_the_data_reader_uses_the_input_depth_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(LIMITS, "max_depth", 3)
    path = tmp_path / "deep.yaml"
    path.write_text("- school_id: '1'\n  x: [[[[1]]]]\n", encoding="utf-8")
    with pytest.raises(InputError, match="嵌套层数过深"):
        load_file(path)
    monkeypatch.setattr(LIMITS, "max_depth", 4)      # list, mapping, then four brackets: 6 = 4 + 2
    assert len(load_file(path).rows) == 1


def test_a_long_integer_stays_text_in_data_but_is_refused_in_rule_files(tmp_path):
    path = tmp_path / "long.yaml"
    path.write_text(f"- school_id: '1'\n  students: {'9' * 5000}\n", encoding="utf-8")
    assert load_file(path).rows[0].data["students"] == "9" * 5000
    assert safeyaml.load(f"x: {'9' * 31}", long_ints_as_text=True) == {"x": "9" * 31}
    assert safeyaml.load(f"x: {'9' * 30}", long_ints_as_text=True) == {"x": int("9" * 30)}
    with pytest.raises(safeyaml.YamlLimitError, match="a value cannot be read"):
        safeyaml.load(f"x: {'9' * 5000}")


def test_aliases_count_both_ways():
    assert safeyaml.load("a: &x [1]\nb: *x\n", max_aliases=1) == {"a": [1], "b": [1]}
    with pytest.raises(safeyaml.YamlLimitError) as info:
        safeyaml.load("a: &x [1]\nb: *x\nc: *x\n", max_aliases=1)
    assert info.value.limit == "aliases" and info.value.value == 2


@pytest.mark.parametrize("content, message", [
    (b"", "the file is empty"),
    (b"pack: x\n" + b"#" * (rulepack.MAX_RULE_FILE_BYTES + 1), "the rule file is larger than"),
    (b"pack: \xff\n", "must be UTF-8"),
])
def test_rule_files_are_read_through_the_one_input_reading(tmp_path, content, message):
    path = tmp_path / "rules.yaml"
    path.write_bytes(content)
    with pytest.raises(rulepack.RulePackError, match=message):
        rulepack.read_pack_file(path)


def test_a_rule_file_that_is_a_folder_or_missing(tmp_path):
    with pytest.raises(rulepack.RulePackError, match="is a directory"):
        rulepack.read_pack_file(tmp_path)
    with pytest.raises(rulepack.RulePackError, match="file not found"):
        rulepack.read_pack_file(tmp_path / "none.yaml")
