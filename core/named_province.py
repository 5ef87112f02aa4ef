"""The province given for a whole input (``-P``) against the provinces its records name.

A record that names no province takes the one given. What a record that names another one
does is the caller's choice: ``keep`` its own (the Python API and the service, where the given
province is a default), ``refuse`` the input (:class:`InputError`, exit 2: the command line,
so that a Guizhou file is not judged by Shaanxi's rules by a slip of ``-P``), or ``force`` the
given province on every record, with a note saying which rows named another.
"""
from __future__ import annotations

from typing import Any, Sequence

import polars as pl

from .checks import checker_for
from .coercion import Bad
from .fields import header_to_field
from .loading import InputError, RawRow
from .problems import row_runs
from .regions import province_label

PROVINCE_CONFLICTS = ("keep", "refuse", "force")
def _own_provinces(cells: list[Any]) -> dict[Any, str]:
    """Each distinct province cell → the id it names (cells that name nothing readable left out)."""
    conv = checker_for("school").coercers["province"]
    out: dict[Any, str] = {}
    for cell in cells:
        try:
            out[cell] = conv(str(cell))
        except Bad:
            pass
    return out


def _conflicts(rows: pl.DataFrame | Sequence[RawRow], given: str) -> list[tuple[str, str, list[int]]]:
    """``(file, named province, rows)`` for every record that names a province other than ``given``."""
    if isinstance(rows, pl.DataFrame):
        if "province" not in rows.columns or not rows.height:
            return []
        named = _own_provinces(rows["province"].drop_nulls().unique().to_list())
        other = {cell: pid for cell, pid in named.items() if pid != given}
        if not other:
            return []
        found = (rows.filter(pl.col("province").is_in(list(other)))
                 .select("_file", pl.col("province").replace_strict(other, return_dtype=pl.String), "_row"))
        triples = found.iter_rows()
    else:
        cells = [r.data.get(_province_key(r.data)) for r in rows]
        named = _own_provinces(list({c for c in cells if isinstance(c, str) and c.strip()}))
        triples = ((r.file, named[c], r.row) for r, c in zip(rows, cells)
                   if isinstance(c, str) and c in named and named[c] != given)
    grouped: dict[tuple[str, str], list[int]] = {}
    for file, pid, row in triples:
        grouped.setdefault((file, pid), []).append(row)
    return [(file, pid, found_rows) for (file, pid), found_rows in grouped.items()]


def _where(conflicts: list[tuple[str, str, list[int]]]) -> tuple[str, str]:
    zh = "；".join(f"{file} {row_runs(rows)[0]}为 {province_label(pid)}" for file, pid, rows in conflicts[:3])
    en = "; ".join(f"{file} {row_runs(rows)[1]}: province {pid}" for file, pid, rows in conflicts[:3])
    if len(conflicts) > 3:
        zh += f"；另有 {len(conflicts) - 3} 处"
        en += f"; and {len(conflicts) - 3} more"
    return zh, en


def _forced(rows: pl.DataFrame | Sequence[RawRow], given: str) -> pl.DataFrame | list[RawRow]:
    if isinstance(rows, pl.DataFrame):
        return rows.with_columns(pl.lit(given, dtype=pl.String).alias("province")) if rows.height else rows
    out = []
    for r in rows:
        key = _province_key(r.data)
        out.append(RawRow(r.file, r.row, {**{k: v for k, v in r.data.items() if k != key}, "province": given}))
    return out


def _province_key(data: dict[str, Any]) -> Any:
    """The key a record given as a dict names its province by (``province``, ``省份`` …), or None."""
    return next((k for k in data if k == "province" or (isinstance(k, str) and header_to_field(k) == "province")),
                None)


def apply_given_province(schools: Any, counties: Any, given: str | None, conflicts_do: str
                         ) -> tuple[Any, Any, list[str]]:
    """``(schools, counties, notes)``: the inputs as they are when no record names a province
    other than ``given`` (or ``conflicts_do`` is ``keep``); when one does, raises
    :class:`InputError` (``refuse``) or gives every record ``given`` with a note (``force``)."""
    if not given or conflicts_do == "keep":
        return schools, counties, []
    conflicts = _conflicts(schools, given) + _conflicts(counties, given)
    if not conflicts:
        return schools, counties, []
    zh, en = _where(conflicts)
    label = province_label(given)
    if conflicts_do != "force":
        raise InputError(conflicts[0][0],
                         f"记录中的省份与 -P/--province 指定的 {label} 不一致：{zh}。如确需按 {label} 评估，"
                         f"请加 --force-province / the records name another province than -P/--province "
                         f"{given} ({en}); add --force-province to judge them under {given}")
    note = (f"已按 -P/--province 指定的 {label} 评估全部记录（--force-province），替换了记录中的省份：{zh} / "
            f"all records judged under {given} (--force-province); replaced the province of {en}")
    return _forced(schools, given), _forced(counties, given), [note]
