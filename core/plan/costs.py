"""What a plan costs: quantities per cost item, priced by the packs' cost table.

The table is pack data (``parameters.costs`` of the national pack, overridable by a province
pack or by ``--costs FILE``); every item carries its source and status. The bundled prices are
provisional planning placeholders, to be replaced by local prices.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from ..fields import declared
from ..loading import InputError
from .inputs import read_yaml

#: Cost item -> the school schema's fields whose additions it counts (see :func:`quantities`);
#: a field a province's pack declares names its item itself (``cost:``, see :func:`item_fields`).
ITEM_FIELDS: dict[str, tuple[str, ...]] = {
    "teacher": ("teachers",),
    "staff_member": ("staff",),
    "certification": ("certified_teachers",),
    "building_m2": ("building_area_m2",),
    "sports_m2": ("sports_area_m2",),
    "land_m2": ("land_area_m2",),
    "computer": ("computers",),
    "book": ("books",),
    "room": ("multimedia_classrooms", "music_rooms", "art_rooms"),
    "bed": (),
    "equipment_yuan": ("equipment_value_yuan",),
    "public_funds_yuan": ("public_funds_received_yuan",),
}


def item_fields() -> dict[str, tuple[str, ...]]:
    """:data:`ITEM_FIELDS` with the fields packs declare under the item their ``cost`` names."""
    out = dict(ITEM_FIELDS)
    for name, spec in declared().items():
        if spec.get("x-cost") in out:
            out[spec["x-cost"]] += (name,)
    return out


def quantities(changes: Mapping[str, float]) -> dict[str, float]:
    """Cost quantities of a record's changes (field -> amount added, as :func:`levers.changes`).

    New teachers are new staff and come certified, so staff and certification count only what
    goes beyond the new teachers. Floor area of teaching rooms, dormitories and new special
    rooms is counted once, in the building's floor area.
    """
    teachers = changes.get("teachers", 0.0)
    out: dict[str, float] = {}
    for item, fields in item_fields().items():
        q = sum(changes.get(f, 0.0) for f in fields)
        if item in ("staff_member", "certification"):
            q -= teachers
        if q > 0:
            out[item] = round(q, 2)
    return out


class CostTable:
    """Unit prices by item: ``{item: {title, yuan, per, unit, threshold_status, source}}``."""

    def __init__(self, items: Mapping[str, Mapping[str, Any]], origin: str):
        self.items = {k: dict(v) for k, v in items.items()}
        self.origin = origin

    @classmethod
    def from_parameters(cls, parameters: Mapping[str, Any], path: str | Path | None = None) -> "CostTable":
        items = dict((parameters.get("costs") or {}).get("items") or {})
        origin = "pack"
        if path is not None:
            items.update(read_costs(path))
            origin = str(path)
        return cls(items, origin)

    def price(self, quantities: Mapping[str, float]) -> dict[str, float]:
        """Yuan per item (items with no price are left out: see :meth:`unpriced`)."""
        return {k: round(q * float(self.items[k]["yuan"]), 2) for k, q in quantities.items() if k in self.items}

    def unpriced(self, quantities: Mapping[str, float]) -> list[str]:
        return sorted(k for k in quantities if k not in self.items)

    def annual(self, item: str) -> bool:
        return self.items.get(item, {}).get("per") == "year"

    def to_dict(self) -> dict[str, Any]:
        return {"origin": self.origin,
                "provisional": any(v.get("threshold_status") != "confirmed" for v in self.items.values()),
                "items": self.items}


def read_costs(path: str | Path) -> dict[str, dict[str, Any]]:
    """A ``--costs`` file: ``{item: yuan}`` or ``{item: {yuan, per, source, …}}``, optionally under
    a top-level ``costs`` key. Prices from a file are the user's own: status ``confirmed`` unless
    the file says otherwise."""
    data = read_yaml(path, "成本文件", "cost file")
    if isinstance(data, dict) and isinstance(data.get("costs"), dict):
        data = data["costs"]
    if isinstance(data, dict) and isinstance(data.get("items"), dict):
        data = data["items"]
    if not isinstance(data, dict) or not data:
        raise InputError(str(path), "应为成本项目到单价的映射 / expected a mapping of cost items to prices")
    out: dict[str, dict[str, Any]] = {}
    for item, spec in data.items():
        if item not in ITEM_FIELDS:
            raise InputError(str(path), f"未知成本项目 unknown cost item '{item}' "
                                        f"(known 可用: {', '.join(ITEM_FIELDS)})")
        entry = dict(spec) if isinstance(spec, dict) else {"yuan": spec}
        yuan = entry.get("yuan")
        if isinstance(yuan, bool) or not isinstance(yuan, (int, float)) or yuan < 0:
            raise InputError(str(path), f"成本项目 cost item '{item}': 单价应为 ≥ 0 的数 / yuan must be a number ≥ 0, got {yuan!r}")
        entry.setdefault("per", "year" if item in ("teacher", "staff_member", "public_funds_yuan") else "once")
        entry.setdefault("threshold_status", "confirmed")
        entry.setdefault("source", {"document": str(path), "clause": item})
        entry.setdefault("title", {"zh": item, "en": item})
        out[item] = entry
    return out
