"""School fields a province's rule pack declares (``fields:``), for inputs the national data
dictionary lacks.

A declaration is data, checked by ``rulepack.schema.json``: a kind (``count``, ``area``,
``amount``, ``number``, ``yes_no``, ``text``), a Chinese label and the other headers it is read
under, a unit, bounds and a description; for the planner, the cost item an addition is priced as
and what a what-if merge of two schools keeps. :func:`declared_specs` turns it into a property as
the school schema writes one, and :func:`declare` makes it known to :mod:`edubalance.fields`:
from then on a column under its label is read, converted, checked and labelled as a core
field's. A name (or a header) means one field in a process: a declaration that disagrees with
the schema or with another pack's is refused, naming both.

Any record may carry a declared field (a county's file may hold every column), as it may any
field of the schema; only the rules of the provinces whose chain declares it read it
(:meth:`edubalance.rulepack.PackRegistry.declared`), and only their templates offer it.
"""
from __future__ import annotations

from typing import Any, Mapping

from . import fields

#: Each kind: the schema type, the unit it has when none is given, and the units it may have.
KINDS: dict[str, tuple[str, str, frozenset[str]]] = {
    "count": ("integer", "", frozenset({"pupils", "persons", "teachers", "classes", "rooms", "computers", "volumes",
                                        "halls", "beds", "floor", "year"})),
    "area": ("number", "m²", frozenset({"m²"})),
    "amount": ("number", "yuan", frozenset({"yuan", "yuan/year"})),
    "number": ("number", "", frozenset({"m²", "yuan", "yuan/year", "fraction", "points", "lessons/year"})),
    "yes_no": ("boolean", "", frozenset()),
    "text": ("string", "", frozenset()),
}
#: Kinds that count or measure something: none is below 0 unless the declaration says so.
_NOT_NEGATIVE = ("count", "area", "amount")

#: Where each declared field came from: name → (pack id, its file).
_SOURCES: dict[str, tuple[str, str]] = {}


class FieldConflict(ValueError):
    """A declared field that would mean something else than a field already known."""


def declared_specs(pack: str, file: str, declared: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """The school-schema properties of a pack's ``fields:`` section."""
    out: dict[str, dict[str, Any]] = {}
    for name, d in declared.items():
        json_type, default_unit, units = KINDS[d["type"]]
        unit = d.get("unit", default_unit)
        if unit and unit not in units:
            allowed = ", ".join(sorted(units)) or "无 none"
            raise FieldConflict(f"{file or pack}: 字段 '{name}' 的种类 {d['type']} 不能用单位 {unit}（可用：{allowed}）"
                                f"/ field '{name}' of kind {d['type']} cannot be counted in {unit} (allowed: {allowed})")
        spec: dict[str, Any] = {"title": d["label"], "description": d.get("description", ""), "type": json_type}
        if unit:
            spec["x-unit"] = unit
        if d["type"] in _NOT_NEGATIVE and "minimum" not in d:
            spec["minimum"] = 0
        spec.update({k: d[k] for k in ("minimum", "maximum") if k in d})
        if d["type"] == "text" and d.get("values"):
            spec["enum"] = list(d["values"])
        if d.get("aliases"):
            spec["x-aliases"] = list(d["aliases"])
        spec.update({f"x-{k}": d[k] for k in ("cost", "merged") if k in d})
        out[name] = spec
    return out


def declare(pack: str, file: str, declared: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Check a pack's declared fields against the schemas and every other pack's, then make them
    known (:func:`edubalance.fields.add_fields`); returns their properties. A pack declaring
    again what it declared before (the same pack read by another evaluator) changes nothing."""
    specs = declared_specs(pack, file, declared)
    here_zh, here = _where(pack, file)
    headers: dict[str, str] = {}                   # a header of this pack's own fields → the field
    for name, spec in specs.items():
        if fields.is_core_field(name):
            core = fields.school_spec(name) or {}
            raise FieldConflict(f"{file or pack}: 字段 '{name}' 与核心数据字典中的同名字段（{core.get('title', name)}，"
                                f"edubalance 的 school.schema.json 或 county.schema.json）冲突，请换一个名称 / field '{name}' "
                                f"is already a core field ({core.get('title', name)}, in edubalance's school or county "
                                f"schema): give it another name")
        known = fields.school_spec(name)
        owner = _SOURCES.get(name)
        if known is not None and known != spec and owner is not None and owner[0] != pack:
            there_zh, there = _where(*owner)
            raise FieldConflict(f"字段 '{name}' 的两处声明不一致：{there_zh} 与 {here_zh}，请统一或改名 / field '{name}' is "
                                f"declared differently by {there} and {here}: make them agree or rename one")
        for header in (spec["title"], *spec.get("x-aliases", ())):
            other = fields.header_owner(header) or headers.get(fields.header_key(header))
            headers[fields.header_key(header)] = name
            if other is not None and other != name:
                by_zh, by = (_where(*_SOURCES[other]) if other in _SOURCES else (here_zh, here) if other in specs
                              else ("核心数据字典", "the core data dictionary"))
                raise FieldConflict(f"{file or pack}: 字段 '{name}' 的表头“{header}”已是字段 '{other}'（{by_zh}）的表头 / "
                                    f"field '{name}': the header '{header}' already names field '{other}' ({by})")
    fields.add_fields(specs)
    for name in specs:
        _SOURCES.setdefault(name, (pack, file))
        if _SOURCES[name][0] == pack:
            _SOURCES[name] = (pack, file)
    return specs


def _where(pack: str, file: str) -> tuple[str, str]:
    """A declaration's source, in Chinese and in English: the pack and its file."""
    return f"规则包 {pack}" + (f"（{file}）" if file else ""), f"pack {pack}" + (f" ({file})" if file else "")
