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


def uncounted(changes: Mapping[str, float]) -> list[str]:
    """Fields a pack declares that a record's changes add to but no cost item counts (the pack
    named no ``cost``): an addition the plan cannot price, said rather than costed as nothing."""
    counted = {f for fields in item_fields().values() for f in fields}
    return sorted(f for f in declared() if changes.get(f, 0.0) > 0 and f not in counted)


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
    def from_parameters(cls, parameters: Mapping[str, Any],
                        local: str | Path | Mapping[str, Any] | None = None) -> "CostTable":
        """The pack's prices, with ``local`` ones (a ``--costs`` file, or its content as given to
        the API or the service) in their place."""
        items = dict((parameters.get("costs") or {}).get("items") or {})
        if local is None:
            return cls(items, "pack")
        given = costs_from(local, GIVEN) if isinstance(local, Mapping) else read_costs(local)
        for item, entry in given.items():           # named as the pack names it, in its unit if still apt
            base = items.get(item, {})
            entry.setdefault("title", base.get("title") or {"zh": item, "en": item})
            if "unit" not in entry and base.get("unit") and base.get("per") == entry["per"]:
                entry["unit"] = base["unit"]
            items[item] = entry
        return cls(items, GIVEN if isinstance(local, Mapping) else str(local))

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
    return costs_from(read_yaml(path, "成本文件", "cost file"), str(path))


#: Where prices given as data (not as a file) are said to come from.
GIVEN = "<costs>"


def costs_from(data: Any, origin: str) -> dict[str, dict[str, Any]]:
    """Local prices, as a cost file holds them, checked (``origin``: the file, or ``<costs>``)."""
    path = origin
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
        out[item] = entry
    return out
