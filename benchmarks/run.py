"""edubalance at national scale: ``make bench`` (or ``python benchmarks/run.py``).

1. Writes (once) a synthetic national file: 200,000 school records in 2,850 counties of three
   provinces, ~3 % of optional values missing, plus a county-record file, and a province-size
   one (25,000 records, 360 counties) (benchmarks/out/).
2. End to end, through the ``edubalance evaluate`` command in a fresh process each run
   (read → validate → evaluate → county CVs → scores → report): wall time, the seconds of every
   stage (``--timings``) and peak memory, to Parquet, NDJSON and JSON; and the Arrow floor of the
   same job (``floor.py``: pyarrow reads the CSV, NumPy judges as many rules per school, pyarrow
   writes the same tables; no edubalance), run in turn with ours so that both see the same load.
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
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import data  # noqa: E402
import peers  # noqa: E402

#: The targets, in seconds (end to end), GB and milliseconds.
TARGETS = {("national", "parquet"): 2.0, ("national", "ndjson"): 10.0, ("national", "json"): 10.0,
           ("province", "parquet"): 1.0, ("province", "json"): 1.0}
TARGET_FLOOR_RATIO = 7.0
TARGET_MEMORY_GB = 1.5
TARGET_LATENCY_MS = 1.0
SUFFIX = {"parquet": ".parquet", "ndjson": ".ndjson", "json": ".json"}


def cli_run(schools: Path, counties: Path, fmt: str, out: Path) -> dict:
    """One ``edubalance evaluate`` in a new process: wall seconds, stages, peak memory, size."""
    cmd = [sys.executable, "-m", "edubalance.cli", "evaluate", str(schools), str(counties),
           "--engine", "vector", "--output", str(out), "--timings"]
    _remove(out)
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        err.seek(0)
        text = err.read().decode("utf-8", "replace")
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        raise RuntimeError(f"{' '.join(cmd)} failed ({code}):\n{text}")
    found = re.search(r"timings[^:]*: (.*)", text)
    stages = {k: float(v) for k, v in (p.rsplit(" ", 1) for p in found.group(1).split(", "))} if found else {}
    size = sum(p.stat().st_size for p in out.iterdir()) if out.is_dir() else out.stat().st_size
    return {"wall": wall, "stages": stages, "peak_gb": usage.ru_maxrss / 1024 ** 2, "size_gb": size / 1e9}


def precompile() -> None:
    """Write the package's bytecode, as an installed wheel has it, so that each timed process
    does not compile edubalance's modules again (where ``PYTHONDONTWRITEBYTECODE`` is set, or
    an editable install has not yet been run)."""
    import compileall

    import edubalance
    compileall.compile_dir(str(Path(edubalance.__file__).resolve().parent), quiet=1)


def floor_run(schools: Path, counties: Path, out: Path, rules: int) -> dict:
    """``floor.py`` in a new process: wall seconds and peak memory."""
    _remove(out)
    out.mkdir()
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, str(HERE / "floor.py"), str(schools), str(counties), str(out),
                             str(rules)], stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError("the Arrow floor failed")
    return {"wall": wall, "peak_gb": usage.ru_maxrss / 1024 ** 2}


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def rules_per_school(report: Path) -> int:
    """Verdicts per school in a Parquet report (what the floor judges per school)."""
    import pyarrow.parquet as pq
    schools = pq.ParquetFile(report / "schools.parquet").metadata.num_rows
    return round(pq.ParquetFile(report / "verdicts.parquet").metadata.num_rows / max(schools, 1))


def end_to_end(name: str, schools: Path, counties: Path, formats: list[str], runs: int) -> dict:
    """Each run: the floor, then ours in each format (in turn, so that all see the same load)."""
    done: dict[str, list[dict]] = {fmt: [] for fmt in formats}
    floors = []
    rules = None
    for k in range(runs):
        for fmt in formats:
            out = data.OUT / f"report_{name}{SUFFIX[fmt]}"
            done[fmt].append(cli_run(schools, counties, fmt, out))
            if fmt == "parquet" and rules is None:
                rules = rules_per_school(out)
            print(f"  {name}, {fmt}, run {k + 1}/{runs}: {done[fmt][-1]['wall']:.2f} s, "
                  f"peak {done[fmt][-1]['peak_gb']:.2f} GB", flush=True)
            _remove(out)
        floors.append(floor_run(schools, counties, data.OUT / f"floor_{name}", rules or 23))
        _remove(data.OUT / f"floor_{name}")
        print(f"  {name}, Arrow floor, run {k + 1}/{runs}: {floors[-1]['wall']:.2f} s", flush=True)
    result = {"floor": median(f["wall"] for f in floors), "floor_runs": [f["wall"] for f in floors],
              "rules_per_school": rules}
    for fmt, rs in done.items():
        stages = {s: median(r["stages"].get(s, 0.0) for r in rs) for s in rs[0]["stages"]}
        result[fmt] = {"wall": median(r["wall"] for r in rs), "runs": [r["wall"] for r in rs],
                       "peak_gb": max(r["peak_gb"] for r in rs), "size_gb": rs[-1]["size_gb"], "stages": stages}
    return result


def rules_table(schools: Path, counties: Path):
    """The accepted records of the file as one table with the derived measures, and the rules."""
    from edubalance import Evaluator
    from edubalance.derive import derive_measures
    from edubalance.table import Table

    ev = Evaluator(engine="vector")
    loaded = ev.load([schools, counties])
    table = Table.from_frame(ev.validate_rows(loaded.schools).frame, ev._numeric)   # as evaluate builds it
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
    ap.add_argument("--province-records", type=int, default=25_000)
    ap.add_argument("--province-counties", type=int, default=360)
    ap.add_argument("--runs", type=int, default=3, help="end-to-end runs per format (median)")
    ap.add_argument("--durable-sample", type=int, default=2_000)
    ap.add_argument("--zen-sample", type=int, default=10_000)
    ap.add_argument("--latency-calls", type=int, default=2_000)
    ap.add_argument("--formats", default="parquet,ndjson,json",
                    help="end-to-end report formats, comma-separated (the province size: Parquet and JSON)")
    args = ap.parse_args(argv)
    asked = [f.strip().lower() for f in args.formats.split(",")]
    unknown = [f for f in asked if f not in ("parquet", "ndjson", "json")]
    if unknown:
        ap.error(f"unknown --formats {', '.join(unknown)} (choose from parquet, ndjson, json)")
    results: dict = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                                 "platform": platform.platform(), "load": os.getloadavg()}}

    sizes = {"national": data.Spec(records=args.records, counties=args.counties),
             "province": data.Spec(records=args.province_records, counties=args.province_counties)}
    files = {}
    for name, spec in sizes.items():
        start = time.perf_counter()
        schools, counties, fresh = data.make_files(spec)
        files[name] = (schools, counties)
        print(f"input: {schools.name} ({schools.stat().st_size / 1e6:.0f} MB), {counties.name}"
              + (f" — written in {time.perf_counter() - start:.1f} s" if fresh else " (reused)"), flush=True)

    # -- end to end ---------------------------------------------------------------------------
    precompile()
    e2e = {}
    if args.runs > 0:
        formats = [f for f in ("parquet", "ndjson", "json") if f in asked]
        e2e["national"] = end_to_end("national", *files["national"], formats, args.runs)
        e2e["province"] = end_to_end("province", *files["province"], [f for f in formats if f != "ndjson"], args.runs)
    results["end_to_end"] = e2e

    # -- rules stage ----------------------------------------------------------------------------
    print("rules stage: building the table …", flush=True)
    table, rules = rules_table(*files["national"])
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
    for name, spec in sizes.items():
        if name not in e2e:
            continue
        r = e2e[name]
        floor = r["floor"]
        for fmt in ("parquet", "ndjson", "json"):
            if fmt not in r:
                continue
            x = r[fmt]
            target = TARGETS[(name, fmt)]
            ratio = x["wall"] / floor
            met = x["wall"] <= target and (fmt != "parquet" or ratio <= TARGET_FLOOR_RATIO)
            rows.append((f"{name} ({spec.records:,} records) → {fmt} ({x['size_gb']:.2f} GB)", fmt_s(x["wall"]),
                         f"{ratio:.1f}× floor", f"≤ {target:g} s" + (f", ≤ {TARGET_FLOOR_RATIO:g}× floor"
                                                                    if fmt == "parquet" else ""),
                         "yes" if met else "no"))
            rows.append(("  peak memory", f"{x['peak_gb']:.2f} GB", "", f"≤ {TARGET_MEMORY_GB:g} GB",
                         "yes" if x["peak_gb"] <= TARGET_MEMORY_GB else "no"))
        rows.append((f"  Arrow floor (pyarrow CSV → {r['rules_per_school']} NumPy rules → Parquet, no edubalance)",
                     fmt_s(floor), "1", "", ""))
    rows.append((f"rules stage, {len(rules)} rules × {n:,} records: ours (vector)", fmt_s(t_ours), "1", "", ""))
    rows.append(("  NumPy floor (hand-written)", fmt_s(t_floor), f"{t_floor / t_ours:.2f}",
                 "ours ≤ 2× floor", "yes" if t_ours <= 2 * t_floor else "no"))
    rows.append((f"  zen-engine {zen_how} ({len(sample):,} sampled, extrapolated)", fmt_s(t_zen),
                 f"{t_zen / t_ours:.0f}", "> 1×", "yes" if t_zen > t_ours else "no"))
    rows.append((f"  durable-rules ({len(dsample):,} sampled, extrapolated)", fmt_s(t_dur),
                 f"{t_dur / t_ours:.0f}", "≥ 500×", "yes" if t_dur >= 500 * t_ours else "no"))
    rows.append((f"evaluate_record median latency ({lat['calls']:,} calls; p90 {lat['p90'] * 1e3:.2f} ms)",
                 f"{lat['median'] * 1e3:.2f} ms", "", f"≤ {TARGET_LATENCY_MS:g} ms",
                 "yes" if lat["median"] * 1e3 <= TARGET_LATENCY_MS else "no"))

    widths = [max(len(r[i]) for r in rows + [("stage", "seconds", "ratio", "target", "met")]) for i in range(5)]
    print()
    print(f"edubalance benchmark — {args.records:,} school records, {args.counties:,} counties, "
          f"{os.cpu_count()} CPUs, Python {platform.python_version()}, load average at start "
          f"{results['machine']['load'][0]:.1f}; ratio = ours ÷ floor (end to end), peer ÷ ours (rules)")
    header = ("stage", "seconds", "ratio", "target", "met")
    for r in [header] + rows:
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))))
    print("\nstages (s, medians):")
    for name in e2e:
        for fmt in ("parquet", "ndjson", "json"):
            if fmt in e2e[name]:
                print(f"  {name} → {fmt}: " + ", ".join(f"{k} {v:.2f}" for k, v in e2e[name][fmt]["stages"].items()))
    for how, r in zen_runs.items():
        if r["disagree"]:
            print(f"note: zen-engine {how} disagreed with ours on {r['disagree']} of {len(rules) * len(sample):,} "
                  f"verdicts (values within 1e-15 of a threshold: its per-call dict input is rounded)")
    (data.OUT / "results.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    print(f"\nresults: {data.OUT / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
