"""The installed command ends its process at once after the run (``edubalance.__main__.main``): the
exit codes, the output read through a pipe, the files and folders it leaves must be exactly
those of a normal exit."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from edubalance.synthetic import county_records, generate, write_csv

COMMAND = Path(sys.executable).with_name("edubalance")
ROOT = Path(__file__).resolve().parents[1]


def run(*args: object, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([str(COMMAND), *map(str, args)], capture_output=True, timeout=timeout, cwd=ROOT)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, int, int]:
    """A file of 1,500 school records (a report far larger than a pipe's buffer) and its counties."""
    folder = tmp_path_factory.mktemp("console")
    records = generate(1500, seed=3)
    counties = county_records(records, seed=3)
    write_csv(folder / "schools.csv", records)
    write_csv(folder / "counties.csv", counties)
    return folder / "schools.csv", folder / "counties.csv", len(records), len(counties)


def test_the_console_script_is_the_hard_exit_entry_point() -> None:
    assert COMMAND.is_file()
    assert "edubalance.__main__" in COMMAND.read_text()


def test_a_report_through_a_pipe_is_complete_and_the_exit_code_kept(files) -> None:
    schools, counties, n, _ = files
    done = run("evaluate", schools, counties, "-e", "vector", "-f", "json")
    assert done.returncode == 1, done.stderr.decode()       # synthetic schools include failing ones
    report = json.loads(done.stdout)                         # the whole document arrived
    assert len(done.stdout) > 1 << 20
    assert report["summary"]["records"]["read"] == n
    assert b"Traceback" not in done.stderr


def test_ndjson_on_a_pipe_has_every_line(files) -> None:
    schools, counties, n, _ = files
    done = run("evaluate", schools, counties, "-e", "vector", "-f", "ndjson")
    assert done.returncode == 1
    head, *entries = map(json.loads, done.stdout.decode().splitlines())
    s = head["summary"]["records"]
    assert s["read"] == n and len([e for e in entries if "school_id" in e]) == s["evaluated"]
    assert [e for e in entries if "school_id" not in e]            # the county lines come last, all there


def test_exit_codes_pass_and_usage_error(tmp_path: Path) -> None:
    demo = run("demo", "guizhou")
    assert demo.returncode == 0 and demo.stdout.decode().rstrip().splitlines()
    missing = run("evaluate", tmp_path / "none.csv")
    assert missing.returncode == 2
    assert "文件不存在" in missing.stderr.decode() and b"Traceback" not in missing.stderr
    usage = run("evaluate", "--no-such-option")
    assert usage.returncode == 2


def test_parquet_folder_written_whole_and_no_temporary_left(files, tmp_path: Path) -> None:
    schools, counties, n, _ = files
    target = tmp_path / "report.parquet"
    done = run("evaluate", schools, counties, "-e", "vector", "-o", target)
    assert done.returncode == 1, done.stderr.decode()
    assert os.listdir(tmp_path) == ["report.parquet"]         # the temporary folder beside it is gone
    summary = json.loads(run("evaluate", schools, counties, "-e", "vector", "-f", "json").stdout)["summary"]
    assert pq.read_table(target / "schools.parquet").num_rows == summary["records"]["evaluated"] > n / 2
    assert pq.read_table(target / "verdicts.parquet").num_rows > n


def test_json_file_written_whole(files, tmp_path: Path) -> None:
    schools, counties, n, _ = files
    target = tmp_path / "report.json"
    done = run("evaluate", schools, counties, "-e", "vector", "-o", target)
    assert done.returncode == 1
    assert json.loads(target.read_bytes())["summary"]["records"]["read"] == n
    assert os.listdir(tmp_path) == ["report.json"]


SLOW_PLUGIN = """
import time
from edubalance import hookimpl

@hookimpl
def edubalance_validate_records(records, context):
    open(context_file, "w").close()          # the run has begun
    for _ in range(600):
        time.sleep(0.1)
"""


def test_ctrl_c_exits_130_and_writes_nothing(tmp_path: Path) -> None:
    """Interrupted in the middle of a run (a plug-in that takes its time), as Ctrl-C does."""
    started = tmp_path / "started"
    (tmp_path / "slow_plugin.py").write_text(f"context_file = {str(started)!r}\n" + SLOW_PLUGIN, encoding="utf-8")
    write_csv(tmp_path / "schools.csv", generate(20, seed=1))
    proc = subprocess.Popen([str(COMMAND), "evaluate", str(tmp_path / "schools.csv"), "-p", "slow_plugin",
                             "-o", str(tmp_path / "report.json")], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(tmp_path)},
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 60
    while not started.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err.decode()
    assert "已中止 Aborted!" in err.decode() and b"Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "__pycache__") == [
        "schools.csv", "slow_plugin.py", "started"]


GC_PLUGIN = """
import gc
from edubalance import hookimpl

@hookimpl
def edubalance_validate_records(records, context):
    with open(state_file, "w") as f:
        f.write(f"{gc.isenabled()} {gc.get_freeze_count() > 1000}")
"""


def test_the_command_runs_with_the_collector_off_and_its_modules_frozen(tmp_path: Path) -> None:
    state = tmp_path / "state"
    (tmp_path / "gc_plugin.py").write_text(f"state_file = {str(state)!r}\n" + GC_PLUGIN, encoding="utf-8")
    write_csv(tmp_path / "schools.csv", generate(20, seed=1))
    done = subprocess.run([str(COMMAND), "evaluate", str(tmp_path / "schools.csv"), "-p", "gc_plugin", "-f", "json"],
                          capture_output=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(tmp_path)}, timeout=120)
    assert done.returncode in (0, 1), done.stderr.decode()
    assert state.read_text() == "False True"


def test_serve_turns_the_collector_on(monkeypatch) -> None:
    """A server runs for days: it collects its garbage (the command starts without a collector)."""
    import gc

    from click.testing import CliRunner

    from edubalance.cli import main
    from edubalance.service import server

    seen = []
    monkeypatch.setattr(server, "serve", lambda *args: seen.append(gc.isenabled()))
    was = gc.isenabled()
    gc.disable()
    try:
        result = CliRunner().invoke(main, ["serve", "--port", "0"])
    finally:
        if was:
            gc.enable()
    assert result.exit_code == 0, result.output
    assert seen == [True]


@pytest.mark.parametrize("closed", [1, 2])
def test_a_stream_closed_at_start_ends_as_before(closed: int) -> None:
    """``edubalance plugins >&-`` (or ``2>&-``): the command starts with that stream None; the
    end of the process must not trip over it."""
    done = subprocess.run(f"'{COMMAND}' rules -P guizhou {closed}>&-", shell=True, capture_output=True,
                          timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr.decode()
    assert b"Traceback" not in done.stderr + done.stdout
