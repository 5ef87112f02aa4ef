"""What can be added to a school, in which unit, and what else an addition brings with it.

A *lever* is a record field a plan may raise: a resource counted in whole units (teachers,
rooms, computers, books, beds) or measured (m², yuan, to 0.01 m² and 1 yuan). Which field a
rule's measure reads comes from the rule model — the data-dictionary ratios of
:mod:`edubalance.derive` and each pack's own measure expressions — never from rule ids.

Additions are the plan's decisions; :func:`materialise` turns them into a record, applying the
"part of" relations of the data dictionary: a teacher added in a category (above the required
degree, backbone, PE/arts, titled) is a new full-time teacher, and one new teacher may count in
several categories, so the school hires the largest of those numbers; new teachers hold a
certificate and are members of staff; teaching, dormitory and special-room floor area is
building floor area; a new music or art room is built at the area its rule asks for.
"""
from __future__ import annotations

import math
from functools import lru_cache
from typing import Any, Mapping

from ..derive import measure_inputs
from ..fields import integer_fields, school_fields, unit
from ..fields import version as fields_version
from ..model import Rule, RuleSet

#: Units of the resources a plan may add (the school schema's ``x-unit``). Pupils, classes and
#: floors are demand or structure: no addition changes them.
RESOURCE_UNITS = frozenset({"m²", "yuan", "yuan/year", "teachers", "persons", "rooms", "computers",
                            "volumes", "halls", "beds"})
#: Teacher categories that are a part of the full-time teachers (data dictionary: ≤ teachers).
HIRED_CATEGORIES = ("teachers_above_required_degree", "teachers_mid_senior_title", "backbone_teachers",
                    "pe_art_teachers")
#: Floor areas that are a part of the building's floor area.
BUILDING_PARTS = ("teaching_aux_area_m2", "dorm_area_m2")

def addable() -> tuple[str, ...]:
    """The school fields a plan may add to: those counted in a resource unit, the fields the
    provinces' packs declare included."""
    return _addable(fields_version())


@lru_cache(maxsize=8)
def _addable(version: int) -> tuple[str, ...]:
    return tuple(f for f in school_fields() if unit(f) in RESOURCE_UNITS)


def resolution(field: str) -> float:
    """The smallest addition of ``field``: one whole unit, 0.01 m², or 1 yuan."""
    if field in integer_fields() or unit(field).startswith("yuan"):
        return 1.0
    return 0.01


def amount(field: str, units: int) -> float:
    """``units`` steps of ``field``'s resolution, as the number written in a plan."""
    res = resolution(field)
    return float(units) if res == 1.0 else round(units * res, 2)


def units_of(field: str, value: float) -> int:
    """The number of resolution steps in a plan's amount (inverse of :func:`amount`)."""
    return int(round(value / resolution(field)))


def room_area_field(field: str) -> str | None:
    """``music_rooms`` → ``music_room_area_m2``: the field holding a room kind's (smallest) area."""
    if field.endswith("_rooms"):
        name = field[:-len("_rooms")] + "_room_area_m2"
        if name in school_fields():
            return name
    return None


def candidate_levers(ruleset: RuleSet, rule: Rule) -> list[str]:
    """Fields whose addition may move ``rule``'s measure (the solver keeps the one that works)."""
    if rule.kind != "check":
        return []
    return [f for f in measure_inputs(ruleset, rule.measure) if f in addable()]


def _area_of_room() -> dict[str, str]:
    """Each room field whose rooms' area a field holds → that field (``music_rooms`` → ``music_room_area_m2``)."""
    return _rooms_with_area(fields_version())


@lru_cache(maxsize=8)
def _rooms_with_area(version: int) -> dict[str, str]:
    return {f: a for f in addable() if (a := room_area_field(f)) is not None}


def room_areas(ruleset: RuleSet, stage: str) -> dict[str, float]:
    """Area of a new special room, per room field: the threshold of the rule on its area field."""
    out: dict[str, float] = {}
    for rule in ruleset.rules:
        if rule.operator not in (">=", ">") or rule.threshold_measure:
            continue
        for room in addable():
            threshold = rule.threshold_for(stage)
            if room_area_field(room) == rule.measure and threshold is not None:
                out[room] = max(out.get(room, 0.0), float(threshold))
    return out


def _num(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(v) else v


def _add(rec: dict[str, Any], field: str, delta: float) -> None:
    """Add to a present value (a missing value stays missing: the plan does not guess it)."""
    if not delta:
        return
    old = _num(rec.get(field))
    if old is None:
        return
    new = old + delta
    rec[field] = int(round(new)) if field in integer_fields() else new


def hires(additions: Mapping[str, float]) -> float:
    """New full-time teachers a plan's additions need (one may count in several categories)."""
    return max([additions.get("teachers", 0.0)] + [additions.get(f, 0.0) for f in HIRED_CATEGORIES])


def materialise(record: Mapping[str, Any], additions: Mapping[str, float],
                areas: Mapping[str, float]) -> dict[str, Any]:
    """The record with the plan's additions and everything they bring with them."""
    rec = dict(record)
    new_teachers = hires(additions)
    building = 0.0
    area_of_room = _area_of_room()
    for field, delta in additions.items():
        if not delta or field in ("teachers", "staff", "certified_teachers"):
            continue
        _add(rec, field, delta)
        if field in BUILDING_PARTS:
            building += delta
        elif field in area_of_room.values() and _num(record.get(field)) is not None:
            _add(rec, "teaching_aux_area_m2", delta)        # a room enlarged: more teaching floor area
            building += delta
    for room, area_field in area_of_room.items():
        delta, area = additions.get(room, 0.0), areas.get(room, 0.0)
        if not delta or not area:
            continue
        _add(rec, "teaching_aux_area_m2", delta * area)
        building += delta * area
        if (_num(record.get(room)) or 0) == 0 or _num(record.get(area_field)) is None:
            rec[area_field] = area                           # the first room of its kind: built to standard
    _add(rec, "teachers", new_teachers)
    _add(rec, "certified_teachers", new_teachers + additions.get("certified_teachers", 0.0))
    _add(rec, "staff", max(additions.get("staff", 0.0), new_teachers))
    _add(rec, "building_area_m2", building)
    return rec


def changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, float]:
    """Per field, how much ``after`` adds to ``before`` (only fields that changed)."""
    out = {}
    for field in addable():
        a, b = _num(after.get(field)), _num(before.get(field))
        if a is not None and a != b:
            out[field] = round(a - (b or 0.0), 2)
    return out
