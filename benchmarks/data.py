"""The national-scale input files: seeded synthetic schools and counties written as CSV.

The files look like a government export: Chinese column labels, enumerations in Chinese
(小学, 乡村 …), booleans as 是/否, empty cells for missing values. They are written once per
set of parameters and reused (``benchmarks/out/`` is not tracked).
"""
from __future__ import annotations

import csv
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from edubalance.fields import COUNTY_FIELDS, SCHOOL_FIELDS, enum_label, label
from edubalance.synthetic import county_records, generate

OUT = Path(__file__).resolve().parent / "out"
ENUM_FIELDS = ("stage", "school_type", "location")


@dataclass(frozen=True)
class Spec:
    """What the benchmark file holds; a change of any value writes new files."""

    records: int = 200_000
    counties: int = 2_850
    provinces: tuple[str, ...] = ("guizhou", "shaanxi", "anhui")
    missing_rate: float = 0.03
    seed: int = 2024


def _cell(name: str, value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if name in ENUM_FIELDS:
        return enum_label(name, value)
    return str(value)


def _write(path: Path, rows: list[dict], names: list[str]) -> None:
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow([label(n) for n in names])
        for r in rows:
            w.writerow([_cell(n, r.get(n)) for n in names])
    tmp.replace(path)


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
        counties = county_records(records, seed=spec.seed)
        used = set().union(*records)
        _write(schools_csv, records, [n for n in SCHOOL_FIELDS if n in used])
        c_used = set().union(*counties) if counties else set()
        _write(counties_csv, counties, [n for n in COUNTY_FIELDS if n in c_used])
        meta.write_text(wanted, encoding="utf-8")
    return schools_csv, counties_csv, fresh
