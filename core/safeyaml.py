"""YAML from outside the project, read within bounds — the one YAML guard for data, rule,
override, price and case files.

``safe_load`` runs no code, but it still lets a small file describe a huge document: an alias
repeats a whole node, so nine lines of aliases to aliases ("billion laughs") are 10⁹ nodes once
anything walks them (a schema check does), and nesting a hundred thousand levels deep exhausts
the stack. The event stream is checked first, in one pass and constant memory per level, and
the document is built only if it stays within the alias and depth bounds.
"""
from __future__ import annotations

from typing import Any

import yaml

#: The safe loader (plain data only: no tags, no objects), in C where libyaml is there.
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
#: Nodes that aliases may add to a document, all aliases together (a rule file's anchors
#: repeat a source or a record a few times; a "billion laughs" file needs millions).
MAX_ALIAS_NODES = 10_000
#: Deepest nesting of lists and mappings.
MAX_DEPTH = 100
#: Digits beyond which a data file's integer stays text (validation then rejects its row).
LONG_INT_DIGITS = 30


class _TextIntLoader(SAFE_LOADER):  # type: ignore[misc, valid-type]
    """The safe loader, keeping integers too long to be a count as their text."""

    def construct_yaml_int(self, node):
        if len(node.value) > LONG_INT_DIGITS:
            return node.value
        return super().construct_yaml_int(node)


_TextIntLoader.add_constructor("tag:yaml.org,2002:int", _TextIntLoader.construct_yaml_int)


class YamlLimitError(ValueError):
    """A YAML document beyond a limit, or one that cannot be read. ``limit`` names the bound
    exceeded (``"aliases"``, ``"alias_nodes"`` or ``"depth"``; None for a malformed document) and ``value`` how far."""

    def __init__(self, message: str, limit: str | None = None, value: int = 0) -> None:
        super().__init__(message)
        self.limit = limit
        self.value = value


def load(text: str, *, max_depth: int = MAX_DEPTH, max_aliases: int | None = None,
         long_ints_as_text: bool = False) -> Any:
    """The document in ``text``; :class:`YamlLimitError` for a document beyond the limits or
    malformed (the message says which, and where). ``max_aliases`` also bounds how many aliases
    (``*name``) appear at all; ``long_ints_as_text`` keeps integers of more than
    :data:`LONG_INT_DIGITS` digits as text instead of refusing the document."""
    try:
        check(text, max_depth=max_depth, max_aliases=max_aliases)
        return yaml.load(text, Loader=_TextIntLoader if long_ints_as_text else SAFE_LOADER)  # noqa: S506
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
        raise YamlLimitError(f"不是有效的 YAML / not valid YAML{where}: {problem}") from None
    except (ValueError, OverflowError, RecursionError) as exc:
        if isinstance(exc, YamlLimitError):
            raise
        # e.g. an integer of more than 4,300 digits
        raise YamlLimitError(f"YAML 中的值无法读取 a value cannot be read: {str(exc)[:200]}") from None


def _line(event: yaml.Event) -> int:
    """The line an event starts on, from 1 (the parser marks every event)."""
    return event.start_mark.line + 1 if event.start_mark is not None else 0


def check(text: str, *, max_depth: int = MAX_DEPTH, max_aliases: int | None = None) -> None:
    """Raise :class:`YamlLimitError` if aliases would add more than :data:`MAX_ALIAS_NODES`
    nodes, more than ``max_aliases`` aliases appear, or collections nest deeper than
    ``max_depth`` (stops at the first excess)."""
    sizes: dict[str, int] = {}        # anchor -> nodes in the anchored node, aliases expanded
    stack: list[list] = []            # [anchor, nodes so far] per open collection
    added = aliases = 0
    for event in yaml.parse(text, Loader=SAFE_LOADER):
        if isinstance(event, yaml.CollectionStartEvent):
            stack.append([event.anchor, 1])
            if len(stack) > max_depth:
                raise YamlLimitError(f"YAML 嵌套超过 {max_depth} 层 nested deeper than {max_depth} levels "
                                     f"(line {_line(event)})", "depth", len(stack))
            continue
        if isinstance(event, yaml.CollectionEndEvent):
            anchor, size = stack.pop()
        elif isinstance(event, yaml.ScalarEvent):
            anchor, size = event.anchor, 1
        elif isinstance(event, yaml.AliasEvent):
            anchor, size = None, sizes.get(event.anchor or "", 1)      # an alias always names one
            added += size
            aliases += 1
            if max_aliases is not None and aliases > max_aliases:
                raise YamlLimitError(f"YAML 别名过多 too many aliases: more than {max_aliases} "
                                     f"(line {_line(event)})", "aliases", aliases)
            if added > MAX_ALIAS_NODES:
                raise YamlLimitError(f"YAML 别名展开超过 {MAX_ALIAS_NODES} 个节点 aliases expand to more than "
                                     f"{MAX_ALIAS_NODES} nodes (line {_line(event)}); "
                                     "write the values out instead", "alias_nodes", added)
        else:
            continue
        if anchor is not None:
            sizes[anchor] = size
        if stack:
            stack[-1][1] += size
