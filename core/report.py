"""The report: counts first, then what failed, then everything — for people and for systems.

:class:`Report` owns the counts and the exit code (as black's ``Report`` does): 0 when every
record was evaluated and every school and county passes, 1 when there are findings (a failed
or incomplete school or county, or a rejected record), 2 and up for usage or input errors
(raised before a report exists). JSON keys follow the issue-tracked contract in the README.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .derive import DERIVED_MEASURES
from .fields import label
from .funding import funding_block
from .model import FAIL, MISSING_DATA, NOT_APPLICABLE, PASS, STATUS_NAMES, RuleResults, RuleSet
from .table import Table

IDENTITY = ("school_id", "stage", "school_name", "county_code", "county_name", "province", "year",
            "school_type", "location")


def _num(v: Any) -> Any:
    """JSON-safe number: NaN → None, NumPy scalars → Python."""
    if v is None:
        return None
    if isinstance(v, (np.floating, float)):
        v = float(v)
        if math.isnan(v):
            return None
        return int(v) if v.is_integer() and abs(v) < 2**53 else v
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.bool_):
        return bool(v)
    return v


def verdict(desc: dict, status: int, value: float, threshold: float) -> dict:
    v, t = _num(value), _num(threshold)
    gap = None
    if status in (PASS, FAIL) and v is not None and t is not None:
        g = float(value) - float(threshold)
        gap = {"value": _num(g), "share": _num(g / float(threshold)) if threshold else None}
    out = dict(desc)
    out.update(status=STATUS_NAMES[status], value=v, threshold=t, gap=gap)
    return out


def school_entries(table: Table, records: list[dict], results: RuleResults, overall: np.ndarray,
                   by_dim: dict[str, np.ndarray], status: np.ndarray, funding_params: dict) -> list[dict]:
    """One report entry per evaluated record."""
    descs = [r.describe() for r in results.rules]
    measure_names = sorted({r.measure for r in results.rules} | set(DERIVED_MEASURES))
    measure_cols = [(m, table.get(m)) for m in measure_names if m in table.columns]
    out = []
    for i, rec in enumerate(records):
        verdicts = [verdict(descs[k], int(results.status[k, i]), results.value[k, i], results.threshold[k, i])
                    for k in range(len(descs))]
        counts = {name: 0 for name in STATUS_NAMES}
        for v in verdicts:
            counts[v["status"]] += 1
        entry = {k: _num(rec.get(k)) for k in IDENTITY}
        entry["source"] = {"file": rec.get("_file"), "row": rec.get("_row")}
        entry["measures"] = {m: _num(col[i]) for m, col in measure_cols if not _isnan(col[i])}
        entry["verdicts"] = verdicts
        entry["counts"] = counts
        entry["funding"] = funding_block(table, i, funding_params)
        entry["score"] = {"overall": _num(overall[i]), "by_dimension": {d: _num(s[i]) for d, s in by_dim.items()}}
        entry["status"] = str(status[i])
        entry["provisional_rules"] = [v["rule_id"] for v in verdicts
                                      if v["threshold_status"] == "provisional" and v["status"] in ("pass", "fail")]
        out.append(entry)
    return out


def _isnan(v: Any) -> bool:
    return isinstance(v, float) and math.isnan(v)


@dataclass
class Report:
    files: list[str]
    read: int
    rejected: list[dict]
    warnings: list[dict] = field(default_factory=list)
    county_rejected: list[dict] = field(default_factory=list)
    packs: list[dict] = field(default_factory=list)
    schools: list[dict] = field(default_factory=list)
    counties: list[dict] = field(default_factory=list)
    engine: str = ""
    notes: list[str] = field(default_factory=list)

    def add_group(self, ruleset: RuleSet, schools: list[dict], counties: list[dict]) -> None:
        for p in ruleset.packs:
            if p not in self.packs:
                self.packs.append(p)
        self.schools.extend(schools)
        self.counties.extend(counties)

    def finish(self) -> None:
        self.schools.sort(key=lambda s: (s["county_code"] or "", s["school_id"] or "", s["stage"] or "", s["year"] or 0))
        self.counties.sort(key=lambda c: (c["county_code"] or "", c["year"] or 0))

    @property
    def evaluated(self) -> int:
        return len(self.schools)

    def summary(self) -> dict[str, Any]:
        by_status = {"pass": 0, "fail": 0, "incomplete": 0, "not_applicable": 0}
        for s in self.schools:
            by_status[s["status"]] = by_status.get(s["status"], 0) + 1
        county_status = {"pass": 0, "fail": 0, "incomplete": 0}
        for c in self.counties:
            county_status[c["status"]] = county_status.get(c["status"], 0) + 1
        provisional = sorted({r for s in self.schools for r in s["provisional_rules"]})
        return {
            "records": {"read": self.read, "evaluated": self.evaluated, "rejected": len(self.rejected)},
            "schools": by_status,
            "counties": county_status,
            "provisional_thresholds_used": provisional,
        }

    @property
    def exit_code(self) -> int:
        if self.rejected or self.county_rejected:
            return 1
        if any(s["status"] in ("fail", "incomplete") for s in self.schools):
            return 1
        if any(c["status"] != "pass" for c in self.counties):
            return 1
        return 0

    def to_dict(self) -> dict[str, Any]:
        summary = self.summary()
        return {
            "summary": summary,
            "records": summary["records"],
            "engine": self.engine,
            "files": self.files,
            "packs": self.packs,
            "rejected": self.rejected,
            "rejected_counties": self.county_rejected,
            "warnings": self.warnings,
            "schools": self.schools,
            "counties": self.counties,
            "notes": self.notes,
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=indent, allow_nan=False)

    def render_table(self, limit: int = 30) -> str:
        from .render import render_table
        return render_table(self, limit)
