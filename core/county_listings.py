"""The schools a county report must name: left out of an indicator (and why), lacking a value a
CV needs, undecided by a scope condition, or unjudged by a school gate.

Each listing is decided over all schools at once and dealt to the stage rows of the county
table in one step per row (:func:`listing_order`), in a stable order: by school, then reason.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .derive import PER_100, PER_PUPIL
from .fields import label
from .model import MISSING_DATA
from .table import Table

#: The record field behind each indicator, so a report can say which field to fill in.
INDICATOR_FIELDS = {**PER_PUPIL, **PER_100}

_TEXT_TYPES = {str, type(None)}


class Names:
    """(school_id, school_name, stage) of schools, as :meth:`Table.value` gives them: what
    names a school in a list. Only the listed schools' cells are read and checked."""

    FIELDS = ("school_id", "school_name", "stage")

    def __init__(self, schools: Table):
        self.schools = schools

    def _values(self, name: str, idx: np.ndarray) -> list[Any]:
        """The cells of the listed schools only (a few of a file's schools)."""
        col = self.schools.columns.get(name)
        if col is None:
            return [None] * len(idx)
        values = col[idx].tolist()
        if set(map(type, values)) <= _TEXT_TYPES:          # text: as it is
            return values
        return [self.schools.value(name, i) for i in idx.tolist()]

    def of(self, idx: np.ndarray) -> list[list[Any]]:
        """One list per field of :attr:`FIELDS`, in the order of ``idx``."""
        return [self._values(name, idx) for name in self.FIELDS]


def listing_order(row: np.ndarray, *keys: np.ndarray
                   ) -> tuple[np.ndarray, list[int], list[tuple[int, int]]]:
    """Sort a listing's entries by stage row, then ``keys`` (most significant first); return the
    order, the rows that get entries and each one's [start, end) in the sorted entries, so that
    each row receives its entries in one step."""
    order = np.lexsort(tuple(reversed(keys)) + (row,))
    rows = row[order]
    cut = np.flatnonzero(np.diff(rows)) + 1
    starts = np.concatenate([[0], cut]).astype(np.intp)
    ends = np.concatenate([cut, [len(rows)]]).astype(np.intp)
    return order, rows[starts].tolist() if len(rows) else [], list(zip(starts.tolist(), ends.tolist()))


def distribute(details: list[dict], key: str, rows: list[int], runs: list[tuple[int, int]],
               entries: list[dict]) -> None:
    """Give each row its run of ``entries`` (a slice: one step per row, not per entry). Each
    listing fills its own key, once: a row's list is replaced, not extended."""
    for r, (a, b) in zip(rows, runs):
        details[r][key] = entries[a:b]


def pick(items: Sequence[Any], which: np.ndarray, shape: tuple[int, ...] | None = None) -> list[Any]:
    """``[items[w] for w in which]`` in one NumPy step (the same few items for many entries);
    nested lists of ``shape`` if given. An item may itself be a sequence: it is taken whole."""
    picked = np.fromiter(items, dtype=object, count=len(items))[which]
    return (picked if shape is None else picked.reshape(shape)).tolist()


def _pupils(schools: Table, i: int) -> str:
    v = schools.value("students", i)
    return "?" if v is None else f"{v:g}"


def list_exclusions(schools: Table, names: Names, details: list[dict], row: np.ndarray, conditions: dict,
                     excl_county: np.ndarray, zero: np.ndarray, in_county: np.ndarray) -> None:
    """Name every school left out of a county indicator, with the reason: one entry for a school
    out of every county indicator, else one per CV scope it is out of (2017 before 2012)."""
    text_c, _, _ = conditions["exclude_from_county"]
    text_17, t17, _ = conditions["exclude_from_cv_2017"]
    text_12, t12, _ = conditions["exclude_from_cv_2012"]
    zero_only = zero & ~excl_county & (row >= 0)
    cv17_out = in_county & t17          # in_county leaves out excl_county and zero pupils
    cv12_out = in_county & t12
    # Why each school is out, decided over all schools at once: an index into ``reasons``.
    private = (schools.get("is_public") == 0) & ("is_public" in (text_c or ""))
    special = schools.equals("school_type", "special_education") & ("special_education" in (text_c or ""))
    teaching_point = schools.equals("school_type", "teaching_point")
    reasons = [
        ("private", "民办学校 private school"),
        ("special_education", "特殊教育学校 special-education school"),
        ("excluded_from_county", f"不计入县域指标 / out of every county indicator: {text_c}"),
        ("zero_pupils", "在校生 0 人，不计权重 / 0 pupils: no weight"),
        ("excluded_from_cv_2017", f"不计入 2017 差异系数 / 2017 CVs only: {text_17}"),
        ("teaching_point_2012", f"教学点，不计入 2012 差异系数 / teaching point (2012 CVs only): {text_12}"),
        ("excluded_from_cv_2012", f"不计入 2012 差异系数 / 2012 CVs only: {text_12}"),
    ]
    county_out = excl_county | zero_only
    i_county = np.flatnonzero(county_out)
    why_county = np.where(excl_county, np.where(private, 0, np.where(special, 1, 2)), 3)[i_county]
    i_17 = np.flatnonzero(cv17_out)
    tp17 = (teaching_point & ("teaching_point" in (text_17 or "")))[i_17]
    # A small teaching point's 2017 reason names its pupils: one reason per number of pupils.
    why_17 = np.full(i_17.size, 4, dtype=np.intp)
    points = i_17[tp17]
    _, first, by_pupils = np.unique(schools.get("students")[points], return_index=True, return_inverse=True)
    why_17[tp17] = len(reasons) + by_pupils.reshape(-1)
    for i in points[first].tolist():
        p = _pupils(schools, i)
        reasons.append(("teaching_point_2017", f"教学点，在校生 {p} 人，不计入 2017 差异系数 / teaching point "
                                               f"with {p} pupils, under the cut-off (2017 CVs only): {text_17}"))
    i_12 = np.flatnonzero(cv12_out)
    why_12 = np.where(teaching_point[i_12] & ("teaching_point" in (text_12 or "")), 5, 6)

    idx = np.concatenate([i_county, i_17, i_12]).astype(np.intp)
    if not idx.size:
        return
    why = np.concatenate([why_county, why_17, why_12]).astype(np.intp)
    second = np.concatenate([np.zeros(i_county.size + i_17.size, np.intp), np.ones(i_12.size, np.intp)])
    order, rows, runs = listing_order(row[idx], idx, second)
    idx = idx[order]
    why = why[order]
    entries = [{"school_id": sid, "school_name": sname, "stage": stage, "reason_code": code, "reason": text}
               for sid, sname, stage, (code, text) in zip(*names.of(idx), pick(reasons, why))]
    distribute(details, "excluded", rows, runs, entries)


def list_missing(schools: Table, names: Names, details: list[dict], row: np.ndarray, students: np.ndarray,
                  scopes: Sequence[tuple[str, str, Sequence[str], np.ndarray]]) -> None:
    """Name the in-scope schools whose lacking value leaves a CV uncomputed.

    One entry per school and lacking measure (``students`` when the pupils are unknown), naming
    every CV it spoils; entries are ordered by school, then measure name."""
    # Per measure, in scope order: (the CVs it spoils, the schools where it is lacking).
    spoils: dict[str, list[tuple[list[str], np.ndarray]]] = {}
    for _programme, prefix, indicators, scope in scopes:
        spoils.setdefault("students", []).append(
            ([f"{prefix}{ind}" for ind in indicators], scope & np.isnan(students)))
        weighted = scope & (students > 0)
        for ind in indicators:
            spoils.setdefault(ind, []).append(([f"{prefix}{ind}"], weighted & np.isnan(schools.get(ind))))

    measures = sorted(spoils)
    parts: list[tuple[np.ndarray, np.ndarray]] = []
    kinds: list[tuple[str, Any, str, list[str]]] = []   # (measure, field, label, CVs) of each kind
    for measure in measures:
        found = spoils[measure]
        # The CVs an entry names depend on which scopes lack the value: one kind per combination
        # that occurs, and one more bit for "the record field itself is missing".
        pattern = np.zeros(len(row), dtype=np.int64)
        for bit, (_, mask) in enumerate(found):
            pattern |= mask.astype(np.int64) << bit
        idx = np.flatnonzero(pattern)
        if not idx.size:
            continue
        src = "students" if measure == "students" else INDICATOR_FIELDS.get(measure)
        if measure == "students":
            field_missing = np.ones(idx.size, dtype=np.int64)
        elif src:
            field_missing = np.isnan(schools.get(src)[idx]).astype(np.int64)
        else:
            field_missing = np.zeros(idx.size, dtype=np.int64)
        combos, kind_of = np.unique(pattern[idx] * 2 + field_missing, return_inverse=True)
        base = len(kinds)
        for combo in combos.tolist():
            p, fm = combo >> 1, combo & 1
            cvs = [cv for bit, (spoilt, _) in enumerate(found) if p >> bit & 1 for cv in spoilt]
            kinds.append((measure, src, label(src), cvs) if fm else (measure, None, label(measure), cvs))
        parts.append((idx, base + kind_of.reshape(-1)))
    if not parts:
        return
    idx = np.concatenate([p[0] for p in parts])
    kind = np.concatenate([p[1] for p in parts])
    # Kinds are numbered in measure-name order, so (school, kind) is (school, measure name).
    order, rows, runs = listing_order(row[idx], idx, kind)
    idx = idx[order]
    entries = [{"school_id": sid, "school_name": sname, "stage": stage, "measure": measure,
                "field": field, "label": text, "cvs": cvs[:]}
               for sid, sname, stage, (measure, field, text, cvs) in zip(*names.of(idx), pick(kinds, kind[order]))]
    distribute(details, "missing", rows, runs, entries)


def list_scope_unknown(schools: Table, names: Names, details: list[dict], row: np.ndarray, conditions: dict,
                        known_stage: np.ndarray) -> None:
    """Name the schools a scope condition could not be decided for (condition by condition)."""
    effect = "数据缺失，按计入处理 / data missing: counted as not excluded"
    keys = list(conditions.items())
    found = [np.flatnonzero(unknown & known_stage) for _, (_, _, unknown) in keys]
    idx = np.concatenate(found).astype(np.intp)
    if not idx.size:
        return
    which = np.repeat(np.arange(len(keys)), [f.size for f in found])
    order, rows, runs = listing_order(row[idx], which, idx)
    which = which[order]
    entries = [{"school_id": sid, "school_name": sname, "stage": stage, "condition": condition,
                "text": text, "effect": effect}
               for sid, sname, stage, (condition, text) in zip(*names.of(idx[order]),
                                                              pick([(k, v[0]) for k, v in keys], which))]
    distribute(details, "scope_unknown", rows, runs, entries)


def list_gates_unknown(schools: Table, names: Names, details: list[dict], row: np.ndarray, table: Table,
                        basic_judged: np.ndarray, resource_status: np.ndarray,
                        in_county: np.ndarray, in_2017: np.ndarray) -> None:
    """Where a gate count is unknown, name the schools that could not be judged
    (``basic_judged``: the schools that passed or failed their basic standard)."""
    basic = np.isnan(table.get("schools_not_meeting_basic_standard"))
    resource = np.isnan(table.get("schools_not_meeting_resource_rule"))
    has_row = row >= 0
    safe_row = np.where(has_row, row, 0)
    unjudged_basic = in_county & ~basic_judged & basic[safe_row]
    unjudged_res = in_2017 & (resource_status == MISSING_DATA) & resource[safe_row]
    gates = ("schools_not_meeting_basic_standard", "schools_not_meeting_resource_rule")
    found = [np.flatnonzero(mask & has_row) for mask in (unjudged_basic, unjudged_res)]
    idx = np.concatenate(found).astype(np.intp)
    if not idx.size:
        return
    which = np.repeat(np.arange(len(gates)), [f.size for f in found])
    order, rows, runs = listing_order(row[idx], which, idx)
    entries = [{"school_id": sid, "school_name": sname, "stage": stage, "measure": gate}
               for sid, sname, stage, gate in zip(*names.of(idx[order]), pick(gates, which[order]))]
    distribute(details, "gates_unknown", rows, runs, entries)
