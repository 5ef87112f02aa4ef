"""YAML (``.yaml``/``.yml``): the same shapes as JSON, read with a safe loader only.

Aliases (``*name``) are refused beyond a small bound (none by default), so that a few lines
cannot expand into gigabytes; nesting is bounded as in JSON; integers too long to be numbers
stay text (validation then rejects them per row).
"""
from __future__ import annotations

import yaml

from ..limits import LIMITS, limit_message
from ..loading import InputError, LoadedFile, read_text
from .documents import check_depth, finish, from_document


class _Loader(yaml.SafeLoader):
    """SafeLoader that counts aliases and keeps long integers as text."""

    aliases = 0

    def compose_node(self, parent, index):  # type: ignore[override]
        if self.check_event(yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > LIMITS.max_yaml_aliases:
                raise _TooMany(self.aliases)
        return super().compose_node(parent, index)

    def construct_yaml_int(self, node):  # type: ignore[override]
        if len(node.value) > 30:
            return node.value
        return super().construct_yaml_int(node)


_Loader.add_constructor("tag:yaml.org,2002:int", _Loader.construct_yaml_int)


class _TooMany(Exception):
    pass


def read(name: str, fmt: str, default_province: str | None) -> LoadedFile:
    """Read a YAML document into school and county frames."""
    text, encoding = read_text(name)
    check_depth(name, text)
    try:
        doc = yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except _TooMany as exc:
        raise InputError(name, limit_message("max_yaml_aliases", exc.args[0])) from None
    except RecursionError:
        raise InputError(name, limit_message("max_depth")) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
        raise InputError(name, f"不是有效的 YAML / not valid YAML{where}: {problem}") from None
    if doc is None:
        raise InputError(name, "文件为空 / the file is empty")
    return finish(from_document(name, "yaml", doc), default_province, encoding)
