"""The national-scale input files: seeded synthetic schools and counties written as CSV.

The files look like a government export: Chinese column labels, enumerations in Chinese
(小学, 乡村 …), booleans as 是/否, empty cells for missing values. They are written once per
set of parameters and reused (``benchmarks/out/`` is not tracked).
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from edubalance.synthetic import NATIONAL, county_records, generate, write_csv

OUT = Path(__file__).resolve().parent / "out"


@dataclass(frozen=True)
class Spec:
    """What the benchmark file holds; a change of any value writes new files."""

    records: int = NATIONAL["n"]
    counties: int = NATIONAL["counties"]
    provinces: tuple[str, ...] = NATIONAL["provinces"]
    missing_rate: float = NATIONAL["missing_rate"]
    seed: int = NATIONAL["seed"]


def make_files(spec: Spec = Spec(), out: Path = OUT) -> tuple[Path, Path, bool]:
    """(schools CSV, counties CSV, whether they were written now); reused when already there."""
    out.mkdir(parents=True, exist_ok=True)
    tag = f"n{spec.records}_c{spec.counties}_s{spec.seed}"
    schools_csv, counties_csv = out / f"schools_{tag}.csv", out / f"counties_{tag}.csv"
    meta = out / f"spec_{tag}.json"
    wanted = json.dumps(asdict(spec), sort_keys=True)
    fresh = not (schools_csv.exists() and counties_csv.exists() and meta.exists()
                 and meta.read_text(encoding="utf-8") == wanted)
    if fresh:
        records = generate(spec.records, seed=spec.seed, provinces=spec.provinces, counties=spec.counties,
                           missing_rate=spec.missing_rate)
        write_csv(schools_csv, records)
        write_csv(counties_csv, county_records(records, seed=spec.seed))
        meta.write_text(wanted, encoding="utf-8")
    return schools_csv, counties_csv, fresh
