"""Type checking: every name of a compiled rule is a number or text, and a condition must agree.

Run when a pack is read and when it is compiled, before any record is seen, so that a rule
comparing text with a number (``school_name > 3``) is a pack error naming the rule — the same
for every back end — rather than an error from one back end and a silent verdict from another.
"""
from __future__ import annotations

from typing import Mapping

from .nodes import (
    BOOL_NODES, ORDERING_OPS, And, Arith, Compare, ExprError, In, Name, Neg, Node, Not, Num, Or, Str,
    as_condition,
)

NUMBER = "number"
TEXT = "text"
_SHOWN = {NUMBER: ("数字", "a number"), TEXT: ("文字", "text")}


def check_types(node: Node, types: Mapping[str, str]) -> str:
    """The type of ``node`` (``NUMBER`` for a value or a condition); raise :class:`ExprError`
    where text meets a number, text is ordered, or text is used in arithmetic.

    ``types`` maps a name to ``TEXT`` or ``NUMBER``; a name it does not hold is a number
    (measures, counts, flags — booleans are 1 / 0).
    """
    if isinstance(node, BOOL_NODES):
        _check_condition(node, types)
        return NUMBER
    return _value_type(node, types)


def _value_type(node: Node, types: Mapping[str, str]) -> str:
    if isinstance(node, Num):
        return NUMBER
    if isinstance(node, Str):
        return TEXT
    if isinstance(node, Name):
        return types.get(node.name, NUMBER)
    if isinstance(node, (Arith, Neg)):
        for part in ((node.operand,) if isinstance(node, Neg) else (node.left, node.right)):
            if _value_type(part, types) == TEXT:
                raise ExprError(f"文字不能参与算术运算：{_named(part)} 是文字（{node}）",
                                f"text cannot be used in arithmetic: {_named(part)} is text ({node})")
        return NUMBER
    raise ExprError(f"应为数值，却是条件（{node}）", f"expected a value, got a condition ({node})")


def _check_condition(node: Node, types: Mapping[str, str]) -> None:
    if isinstance(node, Compare):
        left, right = _value_type(node.left, types), _value_type(node.right, types)
        if left != right:
            raise ExprError(f"文字不能与数字比较：{_named(node.left)} 是{_SHOWN[left][0]}，"
                            f"{_named(node.right)} 是{_SHOWN[right][0]}（{node}）",
                            f"cannot compare text with a number: {_named(node.left)} is {_SHOWN[left][1]}, "
                            f"{_named(node.right)} is {_SHOWN[right][1]} ({node})")
        if left == TEXT and node.op in ORDERING_OPS:
            raise ExprError(f"文字只能用 '==' 或 '!=' 比较，不能用 '{node.op}'（{node}）",
                            f"text can only be compared with '==' or '!=', not '{node.op}' ({node})")
    elif isinstance(node, In):
        operand = _value_type(node.operand, types)
        if node.values:
            listed = TEXT if isinstance(node.values[0], str) else NUMBER
            if listed != operand:
                raise ExprError(f"文字不能与数字比较：{_named(node.operand)} 是{_SHOWN[operand][0]}，"
                                f"列表中是{_SHOWN[listed][0]}（{node}）",
                                f"cannot compare text with a number: {_named(node.operand)} is {_SHOWN[operand][1]}, "
                                f"the list holds {_SHOWN[listed][1]} ({node})")
    elif isinstance(node, (And, Or)):
        for item in node.items:
            _check_condition(item, types)
    elif isinstance(node, Not):
        _check_condition(node.item, types)
    else:
        _check_condition(as_condition(node), types)


def _named(node: Node) -> str:
    return f"'{node.name}'" if isinstance(node, Name) else str(node)
