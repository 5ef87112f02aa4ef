"""Apply a plan to the records it was made from, and write the adjusted records.

``edubalance plan FILES --apply plan.json -o adjusted.csv`` writes every school record with the
plan's values in place, so that ``edubalance evaluate adjusted.csv county.csv`` proves the plan
with nothing but the ordinary evaluation. A plan made from other data (a value it started from
differs from the file's) is refused, naming the school and the field.
"""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from ..fields import declared, school_fields
from ..loading import InputError
from .inputs import read_yaml


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
        school = by_key.get((str(rec.get("school_id")), str(rec.get("stage")), int(rec["year"])))
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
    columns = [f for f in school_fields() if f in used]
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:   # the caller's temporary name
        writer = csv.writer(fh)
        writer.writerow(columns)
        for r in records:
            writer.writerow([_cell(r.get(c)) for c in columns])
    return len(records)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(int(value)) if value.is_integer() else repr(value)
    return str(value)


#: Fields that add up when two schools become one; the rest keep the larger (class size) or the
#: smaller (the smallest special room) or either flag. A field a pack declares says which (``merged``).
_SUMMED = ("students", "boarders", "classes", "special_needs_students")
_LARGER = ("max_class_size",)
_SMALLER = ("music_room_area_m2", "art_room_area_m2")
_EITHER = ("is_boarding",)


def _merged(kind: str, own: tuple[str, ...]) -> tuple[str, ...]:
    """``own`` and the declared fields whose ``merged`` is ``kind`` (sum, larger, smaller, either)."""
    return own + tuple(name for name, spec in declared().items() if spec.get("x-merged") == kind)
_PUPIL_FIELDS = ("students", "boarders", "special_needs_students")


def read_changes(path: str | Path) -> list[dict[str, Any]]:
    """A ``--what-if`` file: ``changes:`` a list of ``add``, ``move``, ``merge`` or ``close`` steps."""
    data = read_yaml(path, "变更文件", "changes")
    steps = data.get("changes") if isinstance(data, dict) else data
    if not isinstance(steps, list) or not all(isinstance(s, dict) and len(s) == 1 for s in steps):
        raise InputError(str(path), "应为 changes 列表，每步为 add、move、merge 或 close 之一 / "
                                    "expected 'changes:' a list of steps, each one of add / move / merge / close")
    return steps


def what_if(records: Sequence[Mapping[str, Any]], steps: Sequence[Mapping[str, Any]],
            path: str = "changes") -> list[dict[str, Any]]:
    """The records after the steps, in order:

    - ``add: {school_id, stage, <field>: amount…}`` adds resources to a school;
    - ``move: {from, to, stage, <field>: amount…}`` moves resources (teachers, m², books…);
    - ``merge: {from, into, stage}`` merges one school into another (pupils, classes and
      resources added up, the first record removed);
    - ``close: {school_id, stage, pupils_to}`` closes a school or teaching point: its pupils go
      to ``pupils_to``, its resources with it are gone.
    """
    from .levers import addable
    can_add = addable()
    out = [{k: v for k, v in r.items() if not k.startswith("_")} for r in records]

    def find(school_id: Any, stage: Any, step: int) -> dict[str, Any]:
        found = [r for r in out if str(r.get("school_id")) == str(school_id) and r.get("stage") == stage]
        if len(found) != 1:
            raise InputError(path, f"第 {step} 步 step {step}: 找不到唯一记录 no single record for school "
                                   f"{school_id} [{stage}]")
        return found[0]

    def shift(rec: dict[str, Any], field: str, delta: Any, step: int) -> None:
        if field not in can_add and field not in _PUPIL_FIELDS + ("classes",):
            raise InputError(path, f"第 {step} 步 step {step}: '{field}' 不能增减 / cannot be added or moved")
        if isinstance(delta, bool) or not isinstance(delta, (int, float)):
            raise InputError(path, f"第 {step} 步 step {step}: {field} 应为数值 / must be a number, got {delta!r}")
        new = (rec.get(field) or 0) + delta
        if new < 0:
            raise InputError(path, f"第 {step} 步 step {step}: 学校 {rec.get('school_id')} 的 {field} 将为负数 / "
                                   f"would be negative ({new})")
        rec[field] = int(new) if isinstance(rec.get(field), int) and float(delta).is_integer() else new

    for n, step in enumerate(steps, 1):
        (kind, spec), = step.items()
        spec = dict(spec or {})
        if kind == "add":
            rec = find(spec.pop("school_id", None), spec.pop("stage", None), n)
            for field, delta in spec.items():
                shift(rec, field, delta, n)
        elif kind == "move":
            stage = spec.pop("stage", None)
            src, dst = find(spec.pop("from", None), stage, n), find(spec.pop("to", None), stage, n)
            for field, delta in spec.items():
                shift(src, field, -delta if isinstance(delta, (int, float)) else delta, n)
                shift(dst, field, delta, n)
        elif kind == "merge":
            stage = spec.get("stage")
            src, dst = find(spec.get("from"), stage, n), find(spec.get("into"), stage, n)
            larger, smaller = _merged("larger", _LARGER), _merged("smaller", _SMALLER)
            for field in dict.fromkeys(can_add + _merged("sum", _SUMMED)):
                if src.get(field) is not None and dst.get(field) is not None and field not in smaller + larger:
                    dst[field] = dst[field] + src[field]
            for field in larger + smaller:
                values = [v for v in (src.get(field), dst.get(field)) if v is not None]
                if values:
                    dst[field] = max(values) if field in larger else min(values)
            for field in _merged("either", _EITHER):
                dst[field] = bool(src.get(field)) or bool(dst.get(field))
            out.remove(src)
        elif kind == "close":
            src = find(spec.get("school_id"), spec.get("stage"), n)
            dst = find(spec.get("pupils_to"), spec.get("stage"), n)
            for field in _PUPIL_FIELDS:
                if src.get(field) is not None and dst.get(field) is not None:
                    dst[field] = dst[field] + src[field]
            out.remove(src)
        else:
            raise InputError(path, f"第 {n} 步 step {n}: 未知变更 unknown change '{kind}' (add, move, merge, close)")
    return out
