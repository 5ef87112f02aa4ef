"""The planner's own input files (local prices, changes, a plan), each read with one clear message."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .. import safeyaml
from ..loading import InputError, read_bytes


def _text(path: str | Path, what_zh: str, what_en: str) -> str:
    """The file as text: a regular file within the input size limit, UTF-8."""
    try:
        return read_bytes(str(path)).decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(str(path), f"{what_zh}不是 UTF-8 文本 / the {what_en} is not UTF-8 text") from None


def read_yaml(path: str | Path, what_zh: str, what_en: str) -> Any:
    """A YAML file from the user, read within the same bounds as a rule file (aliases, depth)."""
    try:
        return safeyaml.load(_text(path, what_zh, what_en))
    except safeyaml.YamlLimitError as exc:
        raise InputError(str(path), str(exc)) from None


def read_plan(path: str | Path) -> dict[str, Any]:
    try:
        data = json.loads(_text(path, "方案", "plan"))
    except (ValueError, RecursionError) as exc:
        raise InputError(str(path), f"不是 JSON 方案 / not a JSON plan: {str(exc)[:200]}") from None
    if not isinstance(data, dict) or not isinstance(data.get("schools"), list):
        raise InputError(str(path), "不是 edubalance 方案 / not an edubalance plan (no 'schools' list)")
    return data
