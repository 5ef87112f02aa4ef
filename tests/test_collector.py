"""Every caller of the Evaluator (the command line, a program, the service's jobs) runs its
stages with the cyclic collector paused, and finds it as it was afterwards."""
from __future__ import annotations

import gc
from pathlib import Path

import pytest

from edubalance import Evaluator, hookimpl
from edubalance.synthetic import county_records, generate, write_csv


class Watch:
    """A plug-in that notes whether the collector runs at the load, validate and merge stages."""

    def __init__(self) -> None:
        self.seen: dict[str, bool] = {}

    @hookimpl
    def edubalance_load_file(self, path, default_province):
        self.seen["load"] = gc.isenabled()
        return None                                  # the core's reader reads the file

    @hookimpl
    def edubalance_validate_records(self, records, context):
        self.seen["validate"] = gc.isenabled()

    @hookimpl
    def edubalance_merge_scores(self, report):
        self.seen["merge"] = gc.isenabled()


@pytest.fixture()
def files(tmp_path: Path) -> tuple[Path, Path, list[dict]]:
    records = generate(60, seed=5)
    write_csv(tmp_path / "schools.csv", records)
    write_csv(tmp_path / "counties.csv", county_records(records, seed=5))
    return tmp_path / "schools.csv", tmp_path / "counties.csv", records


@pytest.fixture()
def collector_on():
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def test_evaluate_files_pauses_every_stage_and_restores(files, collector_on) -> None:
    watch = Watch()
    report = Evaluator(engine="vector", plugins=[watch]).evaluate_files(files[:2])
    assert report.evaluated > 0
    assert watch.seen == {"load": False, "validate": False, "merge": False}
    assert gc.isenabled()


def test_the_stages_called_one_by_one_pause_too(files, collector_on) -> None:
    """As the service's jobs call them: load, check, evaluate_checked."""
    watch = Watch()
    ev = Evaluator(engine="vector", plugins=[watch])
    loaded = ev.load(files[:2])
    assert gc.isenabled() and watch.seen == {"load": False}
    checked = ev.check_timed(loaded)
    assert gc.isenabled() and watch.seen["validate"] is False
    ev.evaluate_checked(checked, [str(f) for f in files[:2]])
    assert gc.isenabled() and watch.seen["merge"] is False


def test_records_and_one_record_pause_too(files, collector_on) -> None:
    watch = Watch()
    ev = Evaluator(engine="vector", plugins=[watch])
    ev.evaluate_records(files[2])
    assert watch.seen == {"validate": False, "merge": False} and gc.isenabled()
    watch.seen.clear()
    ev.evaluate_record(files[2][0])
    assert watch.seen == {"validate": False, "merge": False} and gc.isenabled()


def test_a_collector_the_caller_turned_off_stays_off(files) -> None:
    was = gc.isenabled()
    gc.disable()
    try:
        Evaluator(engine="vector").evaluate_files(files[:2])
        assert not gc.isenabled()
    finally:
        if was:
            gc.enable()


def test_an_error_restores_the_collector(tmp_path: Path, collector_on) -> None:
    from edubalance import InputError
    with pytest.raises(InputError):
        Evaluator(engine="vector").evaluate_files([tmp_path / "missing.csv"])
    assert gc.isenabled()


def test_the_durable_back_end_leaves_no_cycles_behind_with_the_collector_off() -> None:
    """durable-rules makes objects in cycles for every fact it judges; a process that runs with
    the collector off (the installed command) would keep them all until it ends."""
    records = generate(300, seed=5)
    ev = Evaluator(engine="durable")
    ev.evaluate_records(records[:5])                 # first use: imports and compiled rule sets
    was = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        report = ev.evaluate_records(records)
        assert report.evaluated == len(records) and not gc.isenabled()
        left = gc.collect()
    finally:
        if was:
            gc.enable()
    assert left < 30 * len(records), left     # measured: 220 a record were left before


def test_one_durable_record_makes_no_full_collection(files) -> None:
    """A full collection scans every object of the process (15 ms a call in a service): the
    durable loop collects only the young generations it filled."""
    ev = Evaluator(engine="durable")
    ev.evaluate_record(files[2][0])
    full = []

    def seen(phase: str, info: dict) -> None:
        if phase == "start" and info["generation"] == 2:
            full.append(info)
    gc.callbacks.append(seen)
    try:
        for record in files[2][:5]:
            ev.evaluate_record(record)
    finally:
        gc.callbacks.remove(seen)
        del ev
        gc.collect()                                  # its durable rulesets freed, for the tests after
    assert full == []


def test_overlapping_pauses_keep_the_collector_off_until_the_last_ends(collector_on) -> None:
    """Two calls in two threads pause the one collector of the process: the first to end must not
    turn it back on under the other, and the last puts it back as the first found it."""
    from edubalance.serialise import gc_paused

    first, second = gc_paused(), gc_paused()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    assert not gc.isenabled()
    second.__exit__(None, None, None)
    assert gc.isenabled()


def test_the_durable_back_end_never_turns_the_collector_on(monkeypatch) -> None:
    """The collector's switch is the whole process's: a durable run inside one paused call must
    not turn it on under another call paused in another thread. It collects its cycles itself."""
    records = generate(20, seed=3)
    ev = Evaluator(engine="durable")
    ev.evaluate_records(records[:2])                 # first use: imports and compiled rule sets
    turned_on = []
    monkeypatch.setattr(gc, "enable", lambda: turned_on.append(True))
    was = gc.isenabled()
    gc.disable()
    try:
        report = ev.evaluate_records(records)
    finally:
        monkeypatch.undo()
        if was:
            gc.enable()
    assert report.evaluated == len(records) and turned_on == []
