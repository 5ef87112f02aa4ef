"""YAML (``.yaml``/``.yml``): the same shapes as JSON, read through :mod:`edubalance.safeyaml`.

Aliases (``*name``) are refused beyond :data:`~edubalance.limits.Limits.max_yaml_aliases`
(none by default), so that a few lines cannot expand into gigabytes; nesting is bounded as in
JSON; integers too long to be numbers stay text (validation then rejects them per row).
"""
from __future__ import annotations

from ..limits import LIMITS, limit_message
from ..loading import InputError, LoadedFile, read_text
from .documents import finish, from_document

#: safeyaml's names for the bounds the input limits set.
_LIMIT_NAMES = {"aliases": "max_yaml_aliases", "depth": "max_depth"}


def read(name: str, fmt: str, default_province: str | None) -> LoadedFile:
    """Read a YAML document into school and county frames."""
    from .. import safeyaml                         # PyYAML, imported for a YAML file only

    text, encoding = read_text(name)
    try:
        # +2: the document's own list (and its mapping of records) hold the records
        doc = safeyaml.load(text, max_depth=LIMITS.max_depth + 2, max_aliases=LIMITS.max_yaml_aliases,
                            long_ints_as_text=True)
    except safeyaml.YamlLimitError as exc:
        if exc.limit not in _LIMIT_NAMES:       # malformed, or beyond the fixed alias-node bound
            raise InputError(name, str(exc)) from None
        raise InputError(name, limit_message(_LIMIT_NAMES[exc.limit], exc.value)) from None
    if doc is None:
        raise InputError(name, "文件为空 / the file is empty")
    return finish(from_document(name, "yaml", doc), default_province, encoding)
