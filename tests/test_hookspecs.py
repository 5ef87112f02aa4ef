"""Every hook is documented, plug-ins load through the entry-point group, and no state is global."""
from __future__ import annotations

import inspect

import pytest

from edubalance import hookspecs
from edubalance.plugins import DISABLE_AUTOLOAD_ENV, PluginError, plugin_manager


def hook_functions():
    return [f for name, f in inspect.getmembers(hookspecs, inspect.isfunction) if name.startswith("edubalance_")]


def test_there_is_one_hook_per_lifecycle_stage():
    names = {f.__name__ for f in hook_functions()}
    for stage in ("load_file", "validate_records", "derive_measures", "evaluate_school_rules",
                  "evaluate_county_rules", "merge_scores", "render_report"):
        assert f"edubalance_{stage}" in names


@pytest.mark.parametrize("hook", hook_functions(), ids=lambda f: f.__name__)
def test_every_hook_is_documented(hook):
    doc = inspect.getdoc(hook) or ""
    assert len(doc.split()) >= 8, f"{hook.__name__} needs a docstring that says what it is for"


def test_bundled_provinces_load_through_the_entry_point_group():
    pm = plugin_manager()
    names = {name for name, _ in pm.list_name_plugin()}
    assert {"national", "guizhou", "shaanxi", "anhui", "edubalance.defaults"} <= names


CORE_READERS = {"edubalance.readers"}


def test_one_load_file_hook_dispatches_to_the_reader_of_each_format(tmp_path, monkeypatch):
    from edubalance import loading, readers

    pm = plugin_manager(autoload=False)
    impls = {impl.plugin_name for impl in pm.hook.edubalance_load_file.get_hookimpls()}
    assert impls == CORE_READERS
    assert set(readers.READERS) == {"csv", "xlsx", "xls", "json", "ndjson", "yaml"}
    calls = []
    real = loading.detect_format
    monkeypatch.setattr(readers, "detect_format", lambda p: calls.append(p) or real(p))
    for name, text in (("a.csv", "school_id,stage\n1,primary\n"), ("a.json", '[{"school_id": "1"}]'),
                       ("a.ndjson", '{"school_id": "1"}\n'), ("a.yaml", "- school_id: '1'\n")):
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        loaded = pm.hook.edubalance_load_file(path=str(path), default_province=None)
        assert loaded.frame["school_id"].to_list() == ["1"]
    assert len(calls) == 4                    # the format decided once per file


def test_a_plugin_reader_comes_before_the_core_readers(tmp_path):
    from edubalance import Evaluator, hookimpl
    from edubalance.loading import LoadedFile, records_frame

    class Tsv:
        @hookimpl
        def edubalance_load_file(self, path, default_province):
            if not path.endswith(".weird"):
                return None
            frame = records_frame(path, [(1, "record 1", {"school_id": "1", "stage": "primary"})])
            return LoadedFile(path, "weird", frame)

    path = tmp_path / "a.weird"
    path.write_text("anything", encoding="utf-8")
    ev = Evaluator(plugins=[Tsv()])
    schools, counties = ev.load([path])
    assert schools["school_id"].to_list() == ["1"] and counties.height == 0
    other = tmp_path / "b.csv"
    other.write_text("school_id\n2\n", encoding="utf-8")
    assert ev.load([other])[0]["school_id"].to_list() == ["2"]


def test_autoload_can_be_disabled_and_plugins_named(monkeypatch):
    monkeypatch.setenv(DISABLE_AUTOLOAD_ENV, "1")
    pm = plugin_manager()
    assert {name for name, _ in pm.list_name_plugin()} == {"edubalance.defaults", "edubalance.reports", *CORE_READERS}
    pm = plugin_manager(["edubalance_national"])
    assert pm.get_plugin("edubalance_national") is not None


def test_a_misspelled_hook_fails_at_once():
    class Bad:
        @hookspecs.hookimpl
        def edubalance_rule_pack(self):  # misspelled: no such hook
            return []

    bad = Bad()
    with pytest.raises(PluginError, match=r"插件 \S+ 实现了不存在的钩子 'edubalance_rule_pack'（是否应为 "
                                          r"'edubalance_rule_packs'）.*did you mean 'edubalance_rule_packs'"):
        plugin_manager([bad], autoload=False)


def test_an_installed_plugin_that_fails_to_import_is_named(tmp_path, monkeypatch):
    """pluggy's error says only what failed; the message names the entry point, its module and
    the distribution that installed it, so the author knows which package to fix."""
    (tmp_path / "broken_henan").mkdir()
    (tmp_path / "broken_henan" / "__init__.py").write_text("import edubalance_no_such_dependency\n", encoding="utf-8")
    info = tmp_path / "broken_henan-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-henan\nVersion: 0.1\n", encoding="utf-8")
    (info / "entry_points.txt").write_text("[edubalance.plugins.v1]\nbroken_henan = broken_henan\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(PluginError, match=r"插件 broken_henan（broken_henan, broken-henan 0.1）加载失败 .*"
                                          r"ModuleNotFoundError: No module named 'edubalance_no_such_dependency'"):
        plugin_manager()


def test_unknown_plugin_module_is_a_clear_error():
    with pytest.raises(PluginError, match="^无法导入插件 'no_such_module_xyz' / cannot import plug-in"):
        plugin_manager(["no_such_module_xyz"], autoload=False)


def test_evaluators_do_not_share_plugin_managers():
    from edubalance import Evaluator
    a, b = Evaluator(), Evaluator()
    assert a.pm is not b.pm


def test_importing_the_package_starts_no_thread():
    import subprocess
    import sys
    code = ("import threading, edubalance, edubalance.evaluator, edubalance.engines.durable; "
            "print(threading.active_count())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "1"


def test_a_calling_program_catches_plugin_errors_from_the_package_root():
    """Every error the API raises is importable where the API is (``from edubalance import …``)."""
    import edubalance
    from edubalance import Evaluator

    assert set(edubalance.__all__) >= {"InvalidInput", "InputError", "RulePackError", "PluginError"}
    with pytest.raises(edubalance.PluginError, match="无法导入插件 'no_such_module_xyz'"):
        Evaluator(plugins=["no_such_module_xyz"])
