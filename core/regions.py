"""China's provinces as data (``schemas/provinces.json``): a 省份 cell written as a name or in
pinyin → the plug-in id, and a county code → the province its first two digits (GB/T 2260) name.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Any

from .schemas import load_schema

#: What follows a province's short name in its official or everyday name.
_SUFFIXES = ("省", "市", "自治区", "壮族自治区", "回族自治区", "维吾尔自治区")
_CODE = re.compile(r"[0-9]{6}")
#: The national standards' pack: the base the provinces extend, and no province. A record naming it
#: (``national``, ``全国``) is judged by the national standards alone — for a province with no
#: plug-in of its own — and a list of the provinces to choose from leaves it out.
NATIONAL = "national"
#: Packs that are not on the official list of provinces, by their Chinese names.
_EXTRA_NAMES = {NATIONAL: "全国"}


@lru_cache(maxsize=1)
def _table() -> tuple[dict[str, str], dict[str, str], dict[str, str], dict[str, str]]:
    """``(name or pinyin → id, two-digit code → id, id → short Chinese name, id → official name)``."""
    doc = load_schema("provinces.json")
    by_name: dict[str, str] = {}
    by_code: dict[str, str] = {}
    short: dict[str, str] = dict(_EXTRA_NAMES)
    official: dict[str, str] = {}
    by_name.update({name: pid for pid, name in _EXTRA_NAMES.items()})
    for p in doc["provinces"]:
        pid, name, sh = p["id"], p["name"], p["short"]
        by_code[p["code"]] = pid
        short[pid] = sh
        official[pid] = name
        for key in (pid, name, sh, *(sh + s for s in _SUFFIXES)):
            by_name[key] = pid
    return by_name, by_code, short, official


def province_id(text: str) -> str | None:
    """The id of the province ``text`` names (``贵州省``, ``贵州``, ``Guizhou``, ``GUIZHOU``), or None."""
    s = "".join(unicodedata.normalize("NFKC", text).split()).lower()
    return _table()[0].get(s)


def province_key(text: str) -> str:
    """The plug-in id a province is written as, wherever one is given (a 省份 cell, ``-P``, the
    Python API, the service): a listed province's id (``贵州省``, ``Guizhou`` → ``guizhou``), else
    the text NFKC-normalised, stripped and lower-cased (``National`` → ``national``, a plug-in
    not on the list)."""
    return province_id(text) or unicodedata.normalize("NFKC", text).strip().lower()


def province_of_code(code: Any) -> str | None:
    """The id of the province a 6-digit county code belongs to (``520102`` → ``guizhou``), or None."""
    if not isinstance(code, str) or not _CODE.fullmatch(code):
        return None
    return _table()[1].get(code[:2])


def code_provinces() -> dict[str, str]:
    """Two-digit code prefix → province id, for every province of the list."""
    return dict(_table()[1])


def province_name(pid: str) -> str:
    """``贵州省``: the official name a 省份 cell is written with (read back as ``pid``), or ``pid``
    itself for a plug-in not on the list."""
    return _table()[3].get(pid, pid)


def province_label(pid: str) -> str:
    """``贵州（guizhou）``: the Chinese name first, then the id (the id alone if it has no name)."""
    name = _table()[2].get(pid)
    return f"{name}（{pid}）" if name else pid


def provinces_text(ids: Any) -> str:
    """The provinces ``ids`` for a message: ``安徽（anhui）、贵州（guizhou）``."""
    return "、".join(province_label(p) for p in sorted(ids)) or "无 / none"


def real_provinces(ids: Any) -> list[str]:
    """The provinces among plug-in ids, for a list to choose from: all but :data:`NATIONAL`."""
    return sorted(p for p in ids if p != NATIONAL)
