"""Checked rule files remembered by content, so that each run does not parse and check them again.

Reading a rule file means parsing its YAML within limits, checking it against the pack schema
and parsing every expression: about a tenth of a second for the shipped packs, paid by every
command. A file that passed is stored as JSON under a key made of its text and of the code and
schema that checked it (``$XDG_CACHE_HOME/edubalance/packs``, else ``~/.cache/edubalance/packs``);
the next read of the same text returns the stored data. Only data is stored (nothing that runs),
only a file that passed every check, and only data that JSON gives back unchanged (no dates,
no tuples). A cache that cannot be read or written is ignored: the file is simply checked;
``EDUBALANCE_NO_PACK_CACHE=1`` turns it off (``0`` or empty: on).
"""
from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any, Callable

import orjson


def cached_check(text: str, check: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """The checked data of a rule file's ``text``: from the cache, or ``check()`` (which raises
    for a bad file) and then stored."""
    if os.environ.get("EDUBALANCE_NO_PACK_CACHE", "") not in ("", "0"):
        return check()
    try:
        key = hashlib.sha256(_code_key() + text.encode("utf-8", "surrogatepass")).hexdigest()
    except OSError:                                     # the checking code cannot be read: no cache
        return check()
    path = _folder() / f"{key}.json"
    try:
        return orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        pass
    data = check()
    _store(path, data)
    return data


def _store(path: Path, data: dict[str, Any]) -> None:
    try:
        raw = orjson.dumps(data)
        if orjson.loads(raw) != data:                  # e.g. a date or a tuple: not kept as it is
            return
        import tempfile                               # only when a file is remembered

        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    except (OSError, TypeError, ValueError):
        return
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
        os.replace(tmp, path)
    except OSError:
        Path(tmp).unlink(missing_ok=True)


def _folder() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "edubalance" / "packs"


@lru_cache(maxsize=None)
def _code_key() -> bytes:
    """What decides whether a text passes: the checking code, the pack schema, the record
    fields (and so the names an expression may use, and their types), and the versions of the
    libraries that parse and check it."""
    from importlib.metadata import version

    from .schemas import SCHEMA_PACKAGE

    here = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for name in ("rulepack.schema.json", "school.schema.json", "county.schema.json"):
        digest.update(files(SCHEMA_PACKAGE).joinpath(name).read_bytes())
    for p in [here / "rulepack.py", here / "safeyaml.py", here / "fields.py", *sorted((here / "expr").glob("*.py"))]:
        digest.update(p.read_bytes())
    for lib in ("jsonschema", "PyYAML"):
        digest.update(version(lib).encode())
    return digest.digest()
