"""The service's throughput on loopback: ``python benchmarks/service.py`` (part of ``make bench``).

Starts ``edubalance serve`` on a free 127.0.0.1 port and measures, with every loop bounded in
count and in time:

1. ``POST /v1/evaluate/school``: requests per second and p50 / p99 latency with N concurrent
   clients (keep-alive connections, one record each, cycling through 200 synthetic schools);
   the first answers are checked against ``Evaluator.evaluate_record`` in this process.
2. ``POST /v1/evaluate`` with 10,000 school records as a JSON body: the time to the whole
   report, beside the same evaluation in process (``evaluate_records`` + ``write_json``).
3. What a request would cost if it built its own Evaluator (reading and compiling the packs),
   beside one ``evaluate_record`` on a reused one: why the service builds them once.

The clients run on the same machine as the server and take CPU from it; the figures are for
this machine, not a ceiling.
"""
from __future__ import annotations

import argparse
import asyncio
import io
import json
import sys
import time
from statistics import median, quantiles

import httpx

from edubalance import Evaluator
from edubalance.service.local import running_server
from edubalance.synthetic import generate


def percentile(values: list[float], p: int) -> float:
    return quantiles(values, n=100, method="inclusive")[p - 1]


async def school_load(url: str, records: list[dict], clients: int, requests: int, seconds: float) -> dict:
    """``clients`` concurrent loops sending single-school requests until ``requests`` are done or
    ``seconds`` have passed; latencies in ms."""
    latencies: list[float] = []
    failures = 0
    next_index = 0
    deadline = time.perf_counter() + seconds
    bodies = [json.dumps(r).encode() for r in records]

    async def client(c: httpx.AsyncClient) -> None:
        nonlocal next_index, failures
        while next_index < requests and time.perf_counter() < deadline:
            i = next_index
            next_index += 1
            t = time.perf_counter()
            r = await c.post("/v1/evaluate/school", content=bodies[i % len(bodies)],
                             headers={"content-type": "application/json"})
            latencies.append((time.perf_counter() - t) * 1000)
            if r.status_code != 200:
                failures += 1

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as c:
        for _ in range(min(20, requests)):       # warm: connections, each worker's rule sets
            await c.post("/v1/evaluate/school", content=bodies[0], headers={"content-type": "application/json"})
        start = time.perf_counter()
        await asyncio.gather(*(client(c) for _ in range(clients)))
        elapsed = time.perf_counter() - start
    return {"clients": clients, "requests": len(latencies), "failures": failures, "seconds": elapsed,
            "per_second": len(latencies) / elapsed, "p50_ms": percentile(latencies, 50),
            "p99_ms": percentile(latencies, 99)}


def check_answers(url: str, records: list[dict], ev: Evaluator, n: int = 20) -> None:
    with httpx.Client(base_url=url, timeout=60) as c:
        for rec in records[:n]:
            got = c.post("/v1/evaluate/school", json=rec).json()
            if got != json.loads(json.dumps(ev.evaluate_record(rec))):
                raise SystemExit(f"the service's entry for {rec['school_id']} differs from evaluate_record")


def big_request(url: str, records: list[dict], runs: int) -> dict:
    body = json.dumps({"records": records}).encode()
    times = []
    with httpx.Client(base_url=url, timeout=300) as c:
        for _ in range(runs):
            t = time.perf_counter()
            r = c.post("/v1/evaluate", content=body, headers={"content-type": "application/json"})
            times.append(time.perf_counter() - t)
            if r.status_code != 200:
                raise SystemExit(f"10,000-record request: HTTP {r.status_code}: {r.text[:300]}")
            report = r.json()
            if report["records"]["evaluated"] + report["records"]["rejected"] != len(records):
                raise SystemExit("10,000-record request: records lost")
    local = []
    ev = Evaluator()
    for _ in range(runs):
        t = time.perf_counter()
        ev.evaluate_records(records).write_json(io.BytesIO())       # what the service writes
        local.append(time.perf_counter() - t)
    return {"records": len(records), "body_mb": len(body) / 2**20, "report_mb": len(r.content) / 2**20,
            "seconds": median(times), "all": times, "in_process_seconds": median(local)}


def build_cost(records: list[dict], calls: int) -> dict:
    builds, evals = [], []
    ev = Evaluator()
    ev.evaluate_record(records[0])
    for i in range(calls):
        t = time.perf_counter()
        Evaluator()
        builds.append(time.perf_counter() - t)
        t = time.perf_counter()
        ev.evaluate_record(records[i % len(records)])
        evals.append(time.perf_counter() - t)
    return {"build_ms": median(builds) * 1000, "evaluate_record_ms": median(evals) * 1000}


def _accepted(ev: Evaluator, record: dict) -> bool:
    """Synthetic data holds a few records that validation rejects (on purpose, for the tests)."""
    try:
        ev.evaluate_record(record)
    except ValueError:
        return False
    return True


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=2, help="evaluation processes of the server")
    ap.add_argument("--clients", default="1,4,16", help="concurrent clients, comma-separated")
    ap.add_argument("--requests", type=int, default=2000, help="single-school requests per client count")
    ap.add_argument("--seconds", type=float, default=20, help="at most this long per client count")
    ap.add_argument("--big", type=int, default=10_000, help="records in the large request")
    ap.add_argument("--big-runs", type=int, default=3)
    ap.add_argument("--json", action="store_true", help="print the figures as JSON too")
    args = ap.parse_args()

    ev = Evaluator()
    schools = [r for r in generate(220, seed=11) if _accepted(ev, r)][:200]
    big = generate(args.big, seed=12)[:args.big]
    results: dict = {"workers": args.workers}
    with running_server("--workers", str(args.workers), "--max-records", str(max(args.big, 20_000))) as url:
        check_answers(url, schools, ev)
        results["school"] = [asyncio.run(school_load(url, schools, int(n), args.requests, args.seconds))
                             for n in args.clients.split(",")]
        results["big"] = big_request(url, big, args.big_runs)
    results["build"] = build_cost(schools, 30)
    p50 = results["school"][0]["p50_ms"]

    print(f"\nedubalance serve on loopback, {args.workers} evaluation processes (clients on the same machine)\n")
    print("| measure | clients | requests | per second | p50 ms | p99 ms |")
    print("|---|---|---|---|---|---|")
    for s in results["school"]:
        print(f"| POST /v1/evaluate/school | {s['clients']} | {s['requests']} ({s['failures']} failed) | "
              f"{s['per_second']:.0f} | {s['p50_ms']:.2f} | {s['p99_ms']:.2f} |")
    b = results["big"]
    print(f"\nPOST /v1/evaluate, {b['records']:,} records ({b['body_mb']:.1f} MB JSON in, {b['report_mb']:.1f} MB "
          f"report out): median {b['seconds']:.2f} s over {len(b['all'])} runs "
          f"({', '.join(f'{t:.2f}' for t in b['all'])}); in process (evaluate_records + write_json) "
          f"{b['in_process_seconds']:.2f} s (service ÷ in process {b['seconds'] / b['in_process_seconds']:.2f})")
    c = results["build"]
    print(f"Building an Evaluator: {c['build_ms']:.1f} ms; evaluate_record on a reused one: "
          f"{c['evaluate_record_ms']:.2f} ms (median of 30); one client's p50 through the service "
          f"{p50:.2f} ms")
    if args.json:
        json.dump(results, sys.stdout, indent=2)
        print()


if __name__ == "__main__":
    main()
