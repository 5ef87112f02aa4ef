"""A long-lived process: N single records through ``Evaluator.evaluate_record``, one at a time.

Prints, per block of calls, the seconds the block took (wall and processor time: on a shared
machine the processor time is the steadier figure) and the process's resident memory, so that
flat (or growing) latency and memory show at a glance.

    .venv/bin/python benchmarks/long_lived.py --calls 100000 --engine auto
"""
from __future__ import annotations

import argparse
import resource
import time

from edubalance import Evaluator
from edubalance.synthetic import generate


def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--calls", type=int, default=100_000)
    ap.add_argument("--block", type=int, default=10_000)
    ap.add_argument("--engine", default="auto")
    ap.add_argument("--province", default=None)
    args = ap.parse_args()
    records = [r for r in generate(500, seed=5, missing_rate=0.05) if r.get("students")]
    ev = Evaluator(engine=args.engine, province=args.province)
    print(f"engine {args.engine}, {args.calls} calls, {len(records)} distinct records", flush=True)
    print("calls      block_s   ms/call   cpu_ms/call   rss_MB   engine", flush=True)
    start = block_start = time.perf_counter()
    cpu_start = time.process_time()
    for i in range(args.calls):
        entry = ev.evaluate_record(records[i % len(records)])
        assert entry["status"] in ("pass", "fail", "incomplete")
        if (i + 1) % args.block == 0:
            now, cpu = time.perf_counter(), time.process_time()
            used = ",".join(sorted(ev._engine_objects))
            print(f"{i + 1:>7}  {now - block_start:>9.2f}  {(now - block_start) * 1000 / args.block:>8.3f}"
                  f"  {(cpu - cpu_start) * 1000 / args.block:>12.3f}  {rss_mb():>7.1f}   {used}", flush=True)
            block_start, cpu_start = now, cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"total {time.perf_counter() - start:.1f} s, peak RSS {peak:.1f} MB", flush=True)


if __name__ == "__main__":
    main()
