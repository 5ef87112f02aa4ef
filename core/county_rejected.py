"""Counties judged while some of their schools were rejected: no verdict on the survivors.

A county's CVs and school gates are over all its schools. When a school row of the county was
rejected by validation, what the survivors give is shown (CVs, verdicts, reasons), but the
county and its two recognitions are ``incomplete`` until the rejected rows are corrected, and
the entry lists those rows (:func:`mark_rejected_schools`).
"""
from __future__ import annotations

import re
from functools import cache
from typing import Any, Callable, Iterable, Mapping

from .coercion import normal_text
from .fields import enum_value

#: The heading over a county's rejected school rows, Chinese and English: why it has no verdict.
REJECTED_SCHOOLS_HEADING = ("未通过校验的本县学校记录（县域结论暂不作出） "
                            "rejected school records: no county verdict until they are corrected")

_YEAR = re.compile(r"(?<!\d)(\d{4})(?!\d)")
_CODE = re.compile(r"\d{6}")


def _year_of(raw: Any) -> int | None:
    """The school year a rejected row names, if it names one plainly (``2023``, ``2023-2024``)."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    found = _YEAR.search(normal_text(str(raw))) if raw is not None else None
    return int(found.group(1)) if found else None


def _summary(problems: list[dict]) -> str:
    """The rejection in one line: the first problem's message, and how many more there are."""
    if not problems:
        return ""
    first = problems[0].get("message") or problems[0].get("code") or ""
    more = len(problems) - 1
    return first + (f"（另有 {more} 个问题 / and {more} more problem{'s' if more > 1 else ''}）" if more else "")


def rejected_school_entry(row: dict) -> dict[str, Any]:
    """What a county entry says of one rejected school row: who, where, why."""
    data = row.get("data") or {}
    stage = data.get("stage")
    stage = enum_value("stage", normal_text(str(stage))) if stage is not None else None
    problems = row.get("problems") or []
    return {"school_id": row.get("school_id"), "school_name": row.get("school_name"), "stage": stage,
            "file": row.get("file"), "row": row.get("row"),
            "codes": sorted({p.get("code") for p in problems if p.get("code")}),
            "reason": _summary(problems)}


def mark_rejected_schools(counties: list[dict], rejected: Iterable[dict],
                          counties_of_files: Callable[[], Mapping[str, set[str]]] | None = None) -> None:
    """Attach each rejected school row to the county entry it belongs to, and make every such
    county and recognition ``incomplete``.

    A row belongs to the county its county code names (and its year, when the row names one).
    A row whose code is not a six-digit code (mistyped, or empty) belongs to the county its county
    name names, if exactly one judged county has that name; else, when every accepted school of
    its file is of one county (a county office's file), to that county. ``matched_by`` says which.
    A row that none of these places stays in the report's ``rejected`` only.
    ``counties_of_files`` gives the county codes of each file's accepted schools; it is called
    only if some row needs it.
    """
    by_code: dict[str, list[dict]] = {}
    by_name: dict[str, list[dict]] = {}
    for county in counties:
        county.setdefault("rejected_schools", [])
        by_code.setdefault(county["county_code"], []).append(county)
        if county.get("county_name"):
            by_name.setdefault(county["county_name"], []).append(county)
    @cache
    def of_file() -> Mapping[str, set[str]]:
        return counties_of_files() if counties_of_files is not None else {}

    for row in rejected:
        data = row.get("data") or {}
        year = _year_of(data.get("year"))
        found, how = _counties_of(data, row.get("file"), by_code, by_name, of_file)
        for county in found:
            if year is None or year == county["year"]:
                county["rejected_schools"].append({**rejected_school_entry(row), "matched_by": how})
    for county in counties:
        if county["rejected_schools"]:
            _withhold_verdict(county)


def _text(value: Any) -> str:
    return normal_text(str(value)) if value is not None else ""


def _counties_of(data: Mapping, file: Any, by_code: Mapping[str, list[dict]], by_name: Mapping[str, list[dict]],
                 counties_of_files: Callable[[], Mapping[str, set[str]]]) -> tuple[list[dict], str]:
    code = _text(data.get("county_code"))
    if code in by_code:
        return by_code[code], "county_code"
    if _CODE.fullmatch(code):                  # a well-formed code of a county not judged here
        return [], ""
    named = by_name.get(_text(data.get("county_name")))
    if named and len({c["county_code"] for c in named}) == 1:
        return named, "county_name"
    codes = counties_of_files().get(file) or set()
    if len(codes) == 1:
        return by_code.get(next(iter(codes)), []), "file"
    return [], ""


def _withhold_verdict(county: dict) -> None:
    n = len(county["rejected_schools"])
    rows_zh, rows_en = f"{n} 条学校记录", f"{n} school record{'s' if n > 1 else ''}"
    if county.get("school_records"):
        rest_zh, rest_en = "（下列为其余学校的结果）", " (what follows is the other schools' result)"
    else:                       # every school row of the county was rejected: there is no other school
        rest_zh, rest_en = "（本县没有通过校验的学校记录）", " (no school record of this county was accepted)"
        if county.get("needs_schools"):
            county["needs_schools"] = {**county["needs_schools"], "message": (
                "本县的学校记录均未通过校验：差异系数和“每所学校达标”各项要等学校记录改正后才能评估 / every school "
                "record of this county was rejected: the CV items and the every-school items wait for them to be "
                "corrected")}
    why = (f"本县有 {rows_zh}未通过校验，改正后才能作出县域结论{rest_zh} / {rows_en} of this county "
           f"{'were' if n > 1 else 'was'} rejected: no county verdict until {'they are' if n > 1 else 'it is'} "
           f"corrected{rest_en}")
    county["status"] = "incomplete"
    county["status_reason"] = why
    for key in ("basic_balance", "quality_balance"):
        prog = county.get(key)
        if prog and prog.get("status") in ("pass", "fail"):
            prog["status"] = "incomplete"
            prog["reasons"] = [why] + list(prog.get("reasons") or [])
