"""The planner's own input files (local prices, changes, a plan), each read with one clear message."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from ..loading import InputError


def read_yaml(path: str | Path, what_zh: str, what_en: str) -> Any:
    try:
        return yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(str(path), f"无法读取{what_zh} / cannot read the {what_en}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise InputError(str(path), f"不是有效的 YAML / not valid YAML: {exc}") from None


def read_plan(path: str | Path) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(str(path), f"无法读取方案 / cannot read the plan: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise InputError(str(path), f"不是 JSON 方案 / not a JSON plan: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("schools"), list):
        raise InputError(str(path), "不是 edubalance 方案 / not an edubalance plan (no 'schools' list)")
    return data
