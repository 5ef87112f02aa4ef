"""edubalance at national scale: ``make bench`` (or ``python benchmarks/run.py``).

1. Writes (once) a synthetic national file: 200,000 school records in 2,850 counties of three
   provinces, ~3 % of optional values missing, plus a county-record file (benchmarks/out/).
2. End to end, through the ``edubalance evaluate`` command in a fresh process each run
   (read → validate → evaluate → county CVs → scores → JSON report): wall time, the seconds
   of every stage (``--timings``) and peak memory, for ``--verdicts findings`` and ``all``.
3. The rules stage alone on the same records — the seven 2017 per-school indicators and the
   class-size rule — by our columnar back end, a hand-written NumPy floor, GoRules zen-engine
   (the rules as JDM decision tables) and our durable-rules back end (on a sample,
   extrapolated); every peer's verdicts are checked against ours.
4. The median latency of ``Evaluator.evaluate_record`` (one record through the Python API).

Times are medians (the machine is shared and noisy); the table says which targets are met.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from statistics import median

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import data  # noqa: E402
import peers  # noqa: E402

TARGET_SECONDS = 10.0
TARGET_MEMORY_GB = 2.0
TARGET_LATENCY_MS = 1.0


def _tree_pss(pid: int) -> int:
    """Proportional set size (bytes) of a process and its children: shared pages counted once."""
    total = 0
    pids = [pid]
    while pids:
        p = pids.pop()
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1]) * 1024
                        break
            with open(f"/proc/{p}/task/{p}/children") as f:
                pids.extend(int(c) for c in f.read().split())
        except (OSError, ValueError):
            continue
    return total


class TreeMemory:
    """Samples the PSS of a process tree every quarter second in a thread; ``peak`` is the
    largest sum.

    The report is written by forked processes that share the parent's pages: max RSS would
    count those pages once per process, the sum of PSS counts them once. Reading PSS walks the
    process's page tables (and holds its memory-map lock), so it is sampled sparingly: more
    often slows the run being measured.
    """

    def __init__(self, pid: int):
        self.pid, self.peak, self._stop = pid, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.25):
            self.peak = max(self.peak, _tree_pss(self.pid))

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


def cli_run(schools: Path, counties: Path, mode: str, out: Path) -> dict:
    """One ``edubalance evaluate`` in a new process: wall seconds, stages, peak memory, size."""
    cmd = [sys.executable, "-m", "edubalance.cli", "evaluate", str(schools), str(counties),
           "--engine", "vector", "--format", "json", "--output", str(out), "--verdicts", mode, "--timings"]
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
        memory = TreeMemory(proc.pid) if Path("/proc/self/smaps_rollup").exists() else None
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        tree_peak = memory.stop() if memory else 0
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        text = err.read().decode("utf-8", "replace")
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{text}")
    found = re.search(r"timings[^:]*: (.*)", text)
    stages = {k: float(v) for k, v in (p.rsplit(" ", 1) for p in found.group(1).split(", "))} if found else {}
    # The larger of: the largest process's max RSS, and the sampled sum over the process tree.
    return {"wall": wall, "stages": stages, "peak_gb": max(usage.ru_maxrss * 1024, tree_peak) / 1024 ** 3,
            "max_rss_gb": usage.ru_maxrss / 1024 ** 2, "tree_pss_gb": tree_peak / 1024 ** 3,
            "size_gb": out.stat().st_size / 1e9}


def rules_table(schools: Path, counties: Path):
    """The accepted records of the file as one table with the derived measures, and the rules."""
    from edubalance import Evaluator
    from edubalance.derive import derive_measures
    from edubalance.table import Table

    ev = Evaluator(engine="vector")
    rows, _ = ev.load([schools, counties])
    accepted = ev.validate_rows(rows).accepted
    table = Table.from_records(accepted, ev._numeric)
    derive_measures(table)
    rules = [ev.ruleset("guizhou", 2023).rule(i) for i in peers.RULE_IDS]
    for province in ("shaanxi", "anhui"):
        if [ev.ruleset(province, 2023).rule(i) for i in peers.RULE_IDS] != rules:
            raise RuntimeError(f"the benchmarked rules differ in {province}; the peers assume one set")
    return table, rules


def latency_in_new_process(calls: int) -> dict:
    """:func:`latency` in a fresh interpreter, as an embedding program would call it (not in
    this process, which by then holds a national table and the peers' engines)."""
    code = f"import json, run; print(json.dumps(run.latency({int(calls)})))"
    out = subprocess.run([sys.executable, "-c", code], cwd=HERE, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def latency(calls: int) -> dict:
    """Median and 90th-percentile seconds of ``evaluate_record`` over ``calls`` calls."""
    from edubalance import Evaluator
    from edubalance.synthetic import generate

    ev = Evaluator(engine="vector")
    records = generate(200, seed=5)
    for r in records[:200]:
        ev.evaluate_record(r)              # warm-up: rule sets compiled, code paths hot
    times = []
    for i in range(calls):
        start = time.perf_counter()
        ev.evaluate_record(records[i % len(records)])
        times.append(time.perf_counter() - start)
    times.sort()
    return {"median": median(times), "p90": times[int(0.9 * len(times))], "calls": calls}


def fmt_s(x: float) -> str:
    return f"{x:.3f}" if x < 10 else f"{x:.1f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=200_000)
    ap.add_argument("--counties", type=int, default=2_850)
    ap.add_argument("--runs", type=int, default=3, help="end-to-end runs per verdicts mode (median)")
    ap.add_argument("--all-runs", type=int, default=3, help="end-to-end runs with --verdicts all (median)")
    ap.add_argument("--durable-sample", type=int, default=2_000)
    ap.add_argument("--zen-sample", type=int, default=10_000)
    ap.add_argument("--latency-calls", type=int, default=2_000)
    args = ap.parse_args(argv)
    results: dict = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                                 "platform": platform.platform()}}

    spec = data.Spec(records=args.records, counties=args.counties)
    start = time.perf_counter()
    schools, counties, fresh = data.make_files(spec)
    print(f"input: {schools.name} ({schools.stat().st_size / 1e6:.0f} MB), {counties.name}"
          + (f" — written in {time.perf_counter() - start:.1f} s" if fresh else " (reused)"), flush=True)

    # -- end to end ---------------------------------------------------------------------------
    e2e = {}
    for mode, runs in (("findings", args.runs), ("all", args.all_runs)):
        if runs <= 0:
            continue
        out = data.OUT / f"report_{mode}.json"
        done = []
        for k in range(runs):
            done.append(cli_run(schools, counties, mode, out))
            print(f"  end to end --verdicts {mode}, run {k + 1}/{runs}: {done[-1]['wall']:.1f} s, "
                  f"peak {done[-1]['peak_gb']:.2f} GB", flush=True)
        stages = {s: median(r["stages"].get(s, 0.0) for r in done) for s in done[0]["stages"]}
        e2e[mode] = {"wall": median(r["wall"] for r in done), "peak_gb": max(r["peak_gb"] for r in done),
                     "size_gb": done[-1]["size_gb"], "stages": stages, "runs": runs}
        out.unlink(missing_ok=True)
    results["end_to_end"] = e2e

    # -- rules stage ----------------------------------------------------------------------------
    print("rules stage: building the table …", flush=True)
    table, rules = rules_table(schools, counties)
    n = table.n
    cols, undefined = table.columns, table.undefined
    t_ours, ours = peers.timed(lambda: peers.ours(rules, table), 7)
    t_floor, floor = peers.timed(lambda: peers.numpy_floor(rules, cols, undefined), 7)
    if not (floor == ours).all():
        raise RuntimeError("the NumPy floor disagrees with the vector back end")
    rng = np.random.default_rng(0)

    sample = np.sort(rng.choice(n, size=min(args.zen_sample, n), replace=False))
    sub = table.take(sample)
    contexts = peers.zen_contexts(rules, sub.columns, sub.undefined)
    zen_runs = {}
    for how in ("batch", "loop"):
        seconds, got = peers.zen_run(rules, contexts, how)
        zen_runs[how] = {"seconds": seconds, "disagree": int((got != ours[:, sample]).sum())}
    agreeing = [h for h in zen_runs if zen_runs[h]["disagree"] == 0] or list(zen_runs)
    zen_how = min(agreeing, key=lambda h: zen_runs[h]["seconds"])
    t_zen = zen_runs[zen_how]["seconds"] * n / len(sample)

    dsample = np.sort(rng.choice(n, size=min(args.durable_sample, n), replace=False))
    start = time.perf_counter()
    dur = peers.durable(rules, table.take(dsample))
    t_dur = (time.perf_counter() - start) * n / len(dsample)
    if not (dur == ours[:, dsample]).all():
        raise RuntimeError("the durable-rules back end disagrees with the vector back end")
    results["rules_stage"] = {"records": n, "rules": list(peers.RULE_IDS), "ours": t_ours, "numpy_floor": t_floor,
                              "zen": t_zen, "zen_method": zen_how, "zen_sample": len(sample), "zen_runs": zen_runs,
                              "durable": t_dur, "durable_sample": len(dsample)}

    # -- single record ----------------------------------------------------------------------------
    lat = latency_in_new_process(args.latency_calls)
    results["latency"] = lat

    # -- the table ----------------------------------------------------------------------------------
    rows: list[tuple[str, str, str, str, str]] = []
    for mode in ("findings", "all"):
        if mode not in e2e:
            continue
        r = e2e[mode]
        rows.append((f"end to end, --verdicts {mode} ({r['size_gb']:.2f} GB JSON)", fmt_s(r["wall"]), "",
                     f"≤ {TARGET_SECONDS:g} s", "yes" if r["wall"] <= TARGET_SECONDS else "no"))
        for stage, sec in r["stages"].items():
            if stage != "total":
                rows.append((f"    {stage}", fmt_s(sec), "", "", ""))
        rows.append((f"  peak memory, --verdicts {mode}", f"{r['peak_gb']:.2f} GB", "", f"≤ {TARGET_MEMORY_GB:g} GB",
                     "yes" if r["peak_gb"] <= TARGET_MEMORY_GB else "no"))
    rows.append((f"rules stage, {len(rules)} rules × {n:,} records: ours (vector)", fmt_s(t_ours), "1", "", ""))
    rows.append(("  NumPy floor (hand-written)", fmt_s(t_floor), f"{t_floor / t_ours:.2f}",
                 "ours ≤ 10× floor", "yes" if t_ours <= 10 * t_floor else "no"))
    rows.append((f"  zen-engine {zen_how} ({len(sample):,} sampled, extrapolated)", fmt_s(t_zen),
                 f"{t_zen / t_ours:.0f}", "> 1×", "yes" if t_zen > t_ours else "no"))
    rows.append((f"  durable-rules ({len(dsample):,} sampled, extrapolated)", fmt_s(t_dur),
                 f"{t_dur / t_ours:.0f}", "≥ 100×", "yes" if t_dur >= 100 * t_ours else "no"))
    rows.append((f"evaluate_record median latency ({lat['calls']:,} calls; p90 {lat['p90'] * 1e3:.2f} ms)",
                 f"{lat['median'] * 1e3:.2f} ms", "", f"≤ {TARGET_LATENCY_MS:g} ms",
                 "yes" if lat["median"] * 1e3 <= TARGET_LATENCY_MS else "no"))

    widths = [max(len(r[i]) for r in rows + [("stage", "seconds", "ratio", "target", "met")]) for i in range(5)]
    print()
    print(f"edubalance benchmark — {args.records:,} school records, {args.counties:,} counties, "
          f"{os.cpu_count()} CPUs, Python {platform.python_version()}; ratio = peer seconds / ours")
    header = ("stage", "seconds", "ratio", "target", "met")
    for r in [header] + rows:
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))))
    for how, r in zen_runs.items():
        if r["disagree"]:
            print(f"note: zen-engine {how} disagreed with ours on {r['disagree']} of {len(rules) * len(sample):,} "
                  f"verdicts (values within 1e-15 of a threshold: its per-call dict input is rounded)")
    (data.OUT / "results.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    print(f"\nresults: {data.OUT / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
