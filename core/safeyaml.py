"""YAML from outside the project, read within bounds.

``safe_load`` runs no code, but it still lets a small file describe a huge document: an alias
repeats a whole node, so nine lines of aliases to aliases ("billion laughs") are 10⁹ nodes once
anything walks them (a schema check does), and nesting a hundred thousand levels deep exhausts
the stack. The event stream is checked first, in one pass and constant memory per level, and
the document is built only if it stays within :data:`MAX_ALIAS_NODES` and :data:`MAX_DEPTH`.
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


class YamlLimitError(ValueError):
    """A YAML document beyond a limit, or one that cannot be read."""


def load(text: str) -> Any:
    """The document in ``text``; :class:`YamlLimitError` for a document beyond the limits or
    malformed (the message says which, and where)."""
    try:
        check(text)
        return yaml.load(text, Loader=SAFE_LOADER)
    except yaml.YAMLError as exc:
        raise YamlLimitError(f"不是有效的 YAML not valid YAML: {exc}") from None
    except (ValueError, OverflowError, RecursionError) as exc:
        if isinstance(exc, YamlLimitError):
            raise
        # e.g. an integer of more than 4,300 digits
        raise YamlLimitError(f"YAML 中的值无法读取 a value cannot be read: {str(exc)[:200]}") from None


def check(text: str) -> None:
    """Raise :class:`YamlLimitError` if aliases would add more than :data:`MAX_ALIAS_NODES`
    nodes or collections nest deeper than :data:`MAX_DEPTH` (stops at the first excess)."""
    sizes: dict[str, int] = {}        # anchor -> nodes in the anchored node, aliases expanded
    stack: list[list] = []            # [anchor, nodes so far] per open collection
    added = 0
    for event in yaml.parse(text, Loader=SAFE_LOADER):
        if isinstance(event, yaml.CollectionStartEvent):
            stack.append([event.anchor, 1])
            if len(stack) > MAX_DEPTH:
                raise YamlLimitError(f"YAML 嵌套超过 {MAX_DEPTH} 层 nested deeper than {MAX_DEPTH} levels "
                                     f"(line {event.start_mark.line + 1})")
            continue
        if isinstance(event, yaml.CollectionEndEvent):
            anchor, size = stack.pop()
        elif isinstance(event, yaml.ScalarEvent):
            anchor, size = event.anchor, 1
        elif isinstance(event, yaml.AliasEvent):
            anchor, size = None, sizes.get(event.anchor, 1)
            added += size
            if added > MAX_ALIAS_NODES:
                raise YamlLimitError(f"YAML 别名展开超过 {MAX_ALIAS_NODES} 个节点 aliases expand to more than "
                                     f"{MAX_ALIAS_NODES} nodes (line {event.start_mark.line + 1}); "
                                     "write the values out instead")
        else:
            continue
        if anchor is not None:
            sizes[anchor] = size
        if stack:
            stack[-1][1] += size
