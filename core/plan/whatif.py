"""Apply a plan to the records it was made from, and write the adjusted records.

``edubalance plan FILES --apply plan.json -o adjusted.csv`` writes every school record with the
plan's values in place, so that ``edubalance evaluate adjusted.csv county.csv`` proves the plan
with nothing but the ordinary evaluation. A plan made from other data (a value it started from
differs from the file's) is refused, naming the school and the field.
"""
from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from ..fields import SCHOOL_FIELDS
from ..loading import InputError


def read_plan(path: str | Path) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(str(path), f"cannot read the plan 无法读取方案: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise InputError(str(path), f"not a JSON plan 不是 JSON 方案: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("schools"), list):
        raise InputError(str(path), "not an edubalance plan (no 'schools' list) 不是 edubalance 方案")
    return data


def _same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is b
    try:
        return float(a) == float(b)
    except (TypeError, ValueError):
        return a == b


def apply_plan(plan: Mapping[str, Any], records: Sequence[Mapping[str, Any]], plan_path: str = "plan") -> list[dict]:
    """The records with the plan's ``after`` values; raises InputError on a mismatch."""
    by_key = {(s["school_id"], s["stage"], int(s["year"])): s for s in plan["schools"]}
    out = []
    for rec in records:
        adjusted = {k: v for k, v in rec.items() if not k.startswith("_")}
        school = by_key.get((str(rec.get("school_id")), str(rec.get("stage")), int(rec.get("year"))))
        if school is not None:
            for field, value in (school.get("after") or {}).items():
                start = (school.get("before") or {}).get(field)
                if not _same(rec.get(field), start):
                    raise InputError(plan_path, f"学校 {rec.get('school_id')} [{rec.get('stage')}] 的 {field} 在文件中为 "
                                                f"{rec.get(field)!r}，方案依据的是 {start!r} / the plan was made from "
                                                f"other data: {field} of school {rec.get('school_id')} "
                                                f"[{rec.get('stage')}] is {rec.get(field)!r}, the plan started from {start!r}")
                adjusted[field] = value
        out.append(adjusted)
    return out


def write_records(records: Iterable[Mapping[str, Any]], path: str | Path) -> int:
    """Write school records as CSV (UTF-8 with BOM for spreadsheets, English field names)."""
    records = list(records)
    used = {k for r in records for k, v in r.items() if v is not None}
    columns = [f for f in SCHOOL_FIELDS if f in used]
    target = Path(path)
    tmp = target.with_name(target.name + ".tmp")
    with tmp.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(columns)
        for r in records:
            writer.writerow([_cell(r.get(c)) for c in columns])
    tmp.replace(target)
    return len(records)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(int(value)) if value.is_integer() else repr(value)
    return str(value)
