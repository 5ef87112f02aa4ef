"""A seeded mutation fuzzer for the ``edubalance`` command.

Each case mutates one of the bundled sample files (demo county files, the test data in every
format, an override file) — byte flips, truncation, cells replaced by hostile values, header
changes, another encoding — and runs ``edubalance evaluate`` or ``validate`` on it in-process
(click's CliRunner). A case passes when:

* the command ends with a documented exit code (0, 1, 2) and no other exception;
* nothing prints a traceback, and an exit 2 says what went wrong (``edubalance: 错误 error:``);
* a report says ``read = evaluated + rejected + skipped`` (``accepted`` for ``validate``).

Cases run in a worker process watched by its parent: a case that gives no answer within
``case_timeout`` seconds is a hang (the worker is killed and a new one continues), so a hang
in C code is caught as well. Every failing case is saved under ``out`` with the command that
reproduces it.

    .venv/bin/python tests/fuzz.py --seconds 600 --seed 1 --out fuzz-failures
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEEDS = sorted(ROOT.glob("plugins/*/data/*.csv")) + sorted((ROOT / "tests" / "data").glob("schools.*"))
OVERRIDE = """\
pack: national
revision: fuzz-1
rules:
  - id: national.class_size
    threshold: {primary: 45, junior: 50}
    source: {document: 本地文件, clause: 第3条}
"""

#: Values a hostile or careless file may hold in a cell.
HOSTILE = [
    "", " ", "-1", "0", "-0", "1e309", "-1e309", "1e308", "1e16", "1E5", "1e-300", "4.9e-324",
    "NaN", "nan", "inf", "-Infinity", "9" * 40, "9" * 5000, "1" + "0" * 400, "0x1F", "1_000",
    "1,000", "１２３", "٣", "12.5.1", "+5", "--5", ".5", "5.", "true", "FALSE", "null", "None",
    "[]", "{}", "[1, 2]", "{\"a\": 1}", "\x00", "\x1b[31m", "\u2028", "\u0085", "\ufeff", "\ud800",
    "💥" * 50, "学" * 3000, "=cmd|' /C calc'!A0", "'; DROP TABLE schools; --", "a\nb", "a,b", "\"",
    "2023", "1900", "99999", "-2023", "primary", "junior", "senior", "guizhou", "mars",
    "urban", "rural", "primary_school", "520102", "5201020001",
]
JSON_HOSTILE = [None, True, False, 0, -1, 10 ** 400, 2 ** 64, -2 ** 63 - 1, 1e308, 0.1, "", "x" * 5000,
                [], {}, [[[[1]]]], {"a": {"b": 1}}, "\u2028", "1e309"]
THRESHOLDS = [".inf", "-.inf", ".nan", "1e400", "1e16", "abc", "'45'", "[1, 2]", "{}", "null", "true",
              "-5", "0", "99999999999999999999", "*a", "&a 3"]
ENCODINGS = ["utf-8-sig", "gb18030", "utf-16", "utf-16-le", "latin-1", "utf-32"]


@dataclass
class Case:
    number: int
    command: str                 # evaluate / validate
    name: str                    # the mutated file's name
    data: bytes
    mutation: str
    args: list[str] = field(default_factory=list)
    override: bytes | None = None


def mutate(rng: random.Random, number: int) -> Case:
    """One seeded case: a seed file, one to three mutations, a command."""
    if rng.random() < 0.12:
        return _override_case(rng, number)
    seed = rng.choice(SEEDS)
    data = seed.read_bytes()
    steps = []
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        kind = rng.choice(("flip", "cell", "cell", "cell", "header", "truncate", "encoding", "insert",
                           "lines", "json"))
        data, done = MUTATIONS[kind](rng, data, seed.suffix)
        steps.append(done)
    command = rng.choice(("evaluate", "evaluate", "validate"))
    args = []
    if command == "evaluate":
        args += rng.choice((["-f", "json"], ["-f", "json"], ["-f", "table"]))
        args += rng.choice(([], [], ["-e", "vector"], ["-e", "durable"], ["--year", "2016"]))
    else:
        args += ["-f", "json"]
    if seed.parent.name == "data" and seed.parent.parent.name != "tests":
        args += ["--province", seed.parent.parent.name] if command == "evaluate" and rng.random() < 0.3 else []
    return Case(number, command, seed.stem + "_fuzz" + seed.suffix, data, "; ".join(steps), args)


def _override_case(rng: random.Random, number: int) -> Case:
    text = OVERRIDE
    value = rng.choice(THRESHOLDS)
    how = rng.choice(("primary", "whole", "alias", "junk"))
    if how == "primary":
        text = text.replace("primary: 45", f"primary: {value}")
    elif how == "whole":
        text = text.replace("{primary: 45, junior: 50}", value)
    elif how == "alias":
        depth = rng.randint(2, 9)
        lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
        lines += [f"a{k}: &a{k} [" + ", ".join([f"*a{k - 1}"] * 10) + "]" for k in range(1, depth)]
        text = "\n".join(lines) + "\n" + text
    else:
        pos = rng.randrange(len(text))
        text = text[:pos] + rng.choice(HOSTILE) + text[pos + 1:]
    seed = rng.choice([p for p in SEEDS if p.suffix == ".csv" and "county" not in p.name])
    return Case(number, "evaluate", seed.name, seed.read_bytes(), f"override ({how}: {value!r})",
                ["-f", "json"], text.encode("utf-8", "surrogatepass"))


def _flip(rng, data: bytes, suffix: str):
    if not data:
        return data, "flip (empty)"
    buf = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        buf[rng.randrange(len(buf))] ^= 1 << rng.randrange(8)
    return bytes(buf), "byte flips"


def _insert(rng, data: bytes, suffix: str):
    pos = rng.randrange(len(data) + 1)
    junk = rng.choice((os.urandom(rng.randint(1, 64)), b"\x00" * 10, b"\xff\xfe", b"\r", b'"', b"\n\n",
                       "\u2028".encode(), b"\xe5\xad", b"&a [*a]"))
    return data[:pos] + junk + data[pos:], f"insert {junk[:12]!r} at {pos}"


def _truncate(rng, data: bytes, suffix: str):
    cut = rng.randrange(len(data) + 1)
    return data[:cut], f"truncate at {cut}"


def _encoding(rng, data: bytes, suffix: str):
    enc = rng.choice(ENCODINGS)
    text = data.decode("utf-8", "replace")
    return text.encode(enc, "replace"), f"re-encode as {enc}"


def _lines(rng, data: bytes, suffix: str):
    lines = data.split(b"\n")
    how = rng.choice(("dup", "drop", "swap", "crlf", "blank"))
    if how == "dup" and lines:
        k = rng.randrange(len(lines))
        lines.insert(k, lines[k])
    elif how == "drop" and len(lines) > 1:
        lines.pop(rng.randrange(len(lines)))
    elif how == "swap" and len(lines) > 1:
        i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
        lines[i], lines[j] = lines[j], lines[i]
    elif how == "crlf":
        return data.replace(b"\n", b"\r\n"), "CRLF line ends"
    elif how == "blank":
        lines.insert(rng.randrange(len(lines) + 1), b"")
    return b"\n".join(lines), f"lines: {how}"


def _cell(rng, data: bytes, suffix: str):
    value = rng.choice(HOSTILE)
    if suffix == ".json" or suffix == ".ndjson":
        return _json(rng, data, suffix)
    text = data.decode("utf-8", "replace")
    lines = text.split("\n")
    body = [k for k, line in enumerate(lines) if line.strip()][1:] if suffix == ".csv" else []
    if suffix == ".csv" and body:
        k = rng.choice(body)
        cells = lines[k].split(",")
        j = rng.randrange(len(cells))
        quoted = '"' + value.replace('"', '""') + '"' if any(c in value for c in ',"\n') else value
        cells[j] = quoted
        lines[k] = ",".join(cells)
        out, where = "\n".join(lines), f"cell {k}:{j} = {value[:20]!r}"
    elif suffix == ".yaml":
        targets = [k for k, line in enumerate(lines) if ":" in line]
        if not targets:
            return data, "cell (none)"
        k = rng.choice(targets)
        key = lines[k].split(":", 1)[0]
        out, where = "\n".join(lines[:k] + [f"{key}: {json.dumps(value)}"] + lines[k + 1:]), \
            f"yaml {key.strip()} = {value[:20]!r}"
    else:
        return data, "cell (n/a)"
    return out.encode("utf-8", "surrogatepass"), where


def _json(rng, data: bytes, suffix: str):
    try:
        docs = ([json.loads(line) for line in data.decode().splitlines() if line.strip()]
                if suffix == ".ndjson" else [json.loads(data)])
    except ValueError:
        return data, "json (unparsable)"
    records = []
    for doc in docs:
        if isinstance(doc, dict) and isinstance(doc.get("records"), list):
            records += [r for r in doc["records"] if isinstance(r, dict)]
        elif isinstance(doc, list):
            records += [r for r in doc if isinstance(r, dict)]
        elif isinstance(doc, dict):
            records.append(doc)
    if not records:
        return data, "json (no records)"
    rec = rng.choice(records)
    key = rng.choice(sorted(rec) + ["unknown_field"])
    value = rng.choice(JSON_HOSTILE + HOSTILE)
    rec[key] = value
    text = ("\n".join(json.dumps(d, ensure_ascii=False) for d in docs) if suffix == ".ndjson"
            else json.dumps(docs[0], ensure_ascii=False))
    return text.encode("utf-8", "surrogatepass"), f"json {key} = {str(value)[:20]!r}"


def _header(rng, data: bytes, suffix: str):
    text = data.decode("utf-8", "replace")
    head, sep, rest = text.partition("\n")
    cols = head.split(",")
    how = rng.choice(("drop", "dup", "rename", "junk", "case"))
    j = rng.randrange(len(cols))
    if how == "drop" and len(cols) > 1:
        cols.pop(j)
    elif how == "dup":
        cols.insert(j, cols[j])
    elif how == "rename":
        cols[j] = rng.choice(("学校标识码", "学段", "在校生数", "省份", "学年", "school_id", "stage", ""))
    elif how == "junk":
        cols[j] = rng.choice(HOSTILE)
    else:
        cols[j] = cols[j].upper()
    return (",".join(cols) + sep + rest).encode("utf-8", "surrogatepass"), f"header {how} column {j}"


MUTATIONS = {"flip": _flip, "cell": _cell, "header": _header, "truncate": _truncate, "encoding": _encoding,
             "insert": _insert, "lines": _lines, "json": _json}


# --------------------------------------------------------------------------- running a case


def run_case(case: Case, workdir: Path) -> str | None:
    """None if the case behaved; otherwise what went wrong."""
    from click.testing import CliRunner

    from edubalance.cli import main

    path = workdir / case.name
    path.write_bytes(case.data)
    args = [case.command, str(path), *case.args]
    if case.override is not None:
        over = workdir / "override.yaml"
        over.write_bytes(case.override)
        args += ["--override", str(over)]
    result = CliRunner().invoke(main, args)
    return judge(result, case)


def judge(result, case: Case) -> str | None:
    """The fuzzer's oracle over one CliRunner result (also used by the bad-input tests)."""
    exc = result.exception
    if exc is not None and not isinstance(exc, SystemExit):
        return f"crash: {type(exc).__name__}: {str(exc)[:300]}"
    code = result.exit_code
    if code not in (0, 1, 2):
        return f"exit code {code}"
    output = result.output
    if "Traceback" in output:
        return "a traceback in the output"
    if code == 2:
        if "edubalance: 错误 error:" not in result.stderr:
            return f"exit 2 without a message: {result.stderr[-300:]!r}"
        return None
    if "-f" in case.args and case.args[case.args.index("-f") + 1] == "json":
        try:
            data = json.loads(result.stdout)
        except ValueError as e:
            return f"exit {code} but the JSON report does not parse ({e})"
        return accounting(data, case.command)
    return None


def accounting(data: dict, command: str) -> str | None:
    """``read = evaluated + rejected + skipped`` (``accepted`` for validate) in a JSON report."""
    rec = data.get("records") or {}
    if command == "validate":
        if rec.get("read") != rec.get("accepted", -1) + rec.get("rejected", -1) + rec.get("skipped", -1):
            return f"accounting: {rec}"
        return None
    if rec.get("read") != rec.get("evaluated", -1) + rec.get("rejected", -1) + rec.get("skipped", -1):
        return f"accounting: {rec}"
    if len(data.get("rejected") or []) < rec.get("rejected", 0):
        return f"accounting: {rec['rejected']} rejected but {len(data.get('rejected') or [])} listed"
    return None


def _worker(conn, seed: int, start: int, workdir: str) -> None:
    rng_base = random.Random(seed)
    base = rng_base.getrandbits(32)
    work = Path(workdir)
    number = start
    while True:
        case = mutate(random.Random(base + number), number)
        conn.send(("start", number))
        try:
            problem = run_case(case, work)
        except BaseException as exc:          # the oracle itself failed: report, do not die
            problem = f"crash outside the command: {type(exc).__name__}: {exc}"
        conn.send(("done", number, problem))
        number += 1


@dataclass
class Outcome:
    runs: int = 0
    crashes: list = field(default_factory=list)
    hangs: list = field(default_factory=list)
    accounting: list = field(default_factory=list)

    @property
    def failures(self) -> list:
        return self.crashes + self.hangs + self.accounting


def fuzz(seconds: float, seed: int = 1, case_timeout: float = 20.0, out: Path | None = None,
         log=None) -> Outcome:
    """Run seeded cases for ``seconds``; failing cases are saved under ``out``."""
    outcome = Outcome()
    deadline = time.monotonic() + seconds
    ctx = mp.get_context("spawn")       # not fork: a forked copy of a process whose polars threads run can deadlock
    number = 0
    with tempfile.TemporaryDirectory(prefix="edubalance-fuzz-") as tmp:
        while time.monotonic() < deadline:
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=_worker, args=(child, seed, number, tmp), daemon=True)
            proc.start()
            current = None
            try:
                while time.monotonic() < deadline:
                    if not parent.poll(case_timeout):
                        outcome.hangs.append(_record(seed, current, "hang", out))
                        number = (current if current is not None else number) + 1
                        break
                    try:
                        msg = parent.recv()
                    except EOFError:            # the worker died (a crash in C code)
                        outcome.crashes.append(_record(seed, current, "worker died", out))
                        number = (current if current is not None else number) + 1
                        break
                    if msg[0] == "start":
                        current = msg[1]
                        continue
                    _, done, problem = msg
                    outcome.runs += 1
                    number = done + 1
                    if problem:
                        kind = outcome.accounting if problem.startswith("accounting") else outcome.crashes
                        kind.append(_record(seed, done, problem, out))
                        if log:
                            log(f"case {done}: {problem}")
            finally:
                proc.kill()
                proc.join()
    return outcome


def _record(seed: int, number: int | None, problem: str, out: Path | None) -> dict:
    """Save a failing case (its file, its override and how to run it again)."""
    base = random.Random(seed).getrandbits(32)
    found = {"seed": seed, "case": number, "problem": problem}
    if number is None:
        return found
    case = mutate(random.Random(base + number), number)
    found.update(command=case.command, args=case.args, mutation=case.mutation)
    if out is not None:
        folder = out / f"case-{number}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / case.name).write_bytes(case.data)
        if case.override is not None:
            (folder / "override.yaml").write_bytes(case.override)
        (folder / "case.json").write_text(json.dumps(found, ensure_ascii=False, indent=2), encoding="utf-8")
    return found


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=float(os.environ.get("FUZZ_SECONDS", 600)))
    ap.add_argument("--seed", type=int, default=int(os.environ.get("FUZZ_SEED", 1)))
    ap.add_argument("--case-timeout", type=float, default=20.0)
    ap.add_argument("--out", type=Path, default=Path("fuzz-failures"))
    args = ap.parse_args()
    if args.out.exists():
        shutil.rmtree(args.out)
    started = time.monotonic()
    outcome = fuzz(args.seconds, args.seed, args.case_timeout, args.out, log=lambda m: print(m, flush=True))
    took = time.monotonic() - started
    print(f"fuzz: {outcome.runs} cases in {took:.0f} s (seed {args.seed}): {len(outcome.crashes)} crashes, "
          f"{len(outcome.hangs)} hangs, {len(outcome.accounting)} accounting violations", flush=True)
    if outcome.failures:
        print(f"failing cases saved under {args.out}/", flush=True)
    return 1 if outcome.failures else 0


if __name__ == "__main__":
    sys.exit(main())
