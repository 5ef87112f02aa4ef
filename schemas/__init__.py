"""The project's JSON Schemas and the functions that read them (package ``edubalance.schemas``).

The schemas are data shipped with the package (not paths in a checkout), so an installed
wheel and an editable install read the same files. Each file is parsed once; callers get a
deep copy so that no caller can change what another one sees.
"""
from __future__ import annotations

import copy
import json
from functools import lru_cache
from importlib.resources import files
from typing import Any

SCHEMA_PACKAGE = __name__


@lru_cache(maxsize=None)
def _parsed(name: str) -> dict[str, Any]:
    text = files(SCHEMA_PACKAGE).joinpath(name).read_text(encoding="utf-8")
    return json.loads(text)


def load_schema(name: str) -> dict[str, Any]:
    """The schema file ``name`` (e.g. ``"school.schema.json"``) as a fresh dict."""
    return copy.deepcopy(_parsed(name))


def school_schema() -> dict[str, Any]:
    return load_schema("school.schema.json")


def year_range() -> tuple[int, int]:
    """The school years a record may have (the record schema's bounds), and so the years to judge by."""
    year = _parsed("school.schema.json")["properties"]["year"]
    return year["minimum"], year["maximum"]


def county_schema() -> dict[str, Any]:
    return load_schema("county.schema.json")


def rulepack_schema() -> dict[str, Any]:
    return load_schema("rulepack.schema.json")


def report_schema() -> dict[str, Any]:
    return load_schema("report.schema.json")
