"""One record at a time: the rule language's semantics over a row (a mapping of name to value).

Missing data is unknown, never false (Kleene's three-valued ``and`` / ``or`` / ``not``). The
columnar evaluator uses this for a table of one row (a record through the API) and the
compiler for constant folding; both must give :mod:`.columns`' answers, and the tests hold
them to it.
"""
from __future__ import annotations

import math
import operator
from typing import Any, Callable, Protocol

import numpy as np

from .nodes import (
    ORDERING_OPS, And, Arith, Compare, ExprError, In, Name, Neg, Node, Not, Num, Or, Str,
    as_condition, describe,
)

ARITH: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
}
CMP: dict[str, Callable[[Any, Any], Any]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
    "==": operator.eq, "!=": operator.ne,
}


class Row(Protocol):
    """What is read of a record: a value by name (a mapping, or a table's one row)."""

    def get(self, name: str, /) -> Any: ...


def _cell(row: Row, name: str) -> float | str | None:
    v = row.get(name)
    if type(v) is float:                  # the common case first; the same answer as below
        return None if v != v else v
    if v is None or isinstance(v, str):
        return v
    if isinstance(v, (bool, np.bool_)):
        return 1.0 if v else 0.0
    if isinstance(v, (int, float, np.integer, np.floating)):
        f = float(v)
        return None if math.isnan(f) else f
    raise ExprError(f"{name!r} 的值类型 {type(v).__name__} 不受支持",
                    f"value of {name!r} has unsupported type {type(v).__name__}")


def check_value_types(op: str, left: float | str, right: float | str) -> None:
    if isinstance(left, str) != isinstance(right, str):
        raise ExprError(f"文字不能与数字比较（{left!r} {op} {right!r}）",
                        f"cannot compare text with a number ({left!r} {op} {right!r})")
    if isinstance(left, str) and op in ORDERING_OPS:
        raise ExprError(f"文字只能用 '==' 或 '!=' 比较（{left!r} {op} {right!r}）",
                        f"text can only be compared with '==' or '!=' ({left!r} {op} {right!r})")


def eval_value(node: Node, row: Row) -> float | str | None:
    if isinstance(node, Name):
        return _cell(row, node.name)
    if isinstance(node, Num):
        return float(node.value)
    if isinstance(node, Str):
        return node.value
    if isinstance(node, Arith):
        left, right = eval_value(node.left, row), eval_value(node.right, row)
        if isinstance(left, str) or isinstance(right, str):
            raise ExprError(f"文字不能参与算术运算（{node}）", f"text cannot be used in arithmetic ({node})")
        if left is None or right is None or (node.op == "/" and right == 0):
            return None
        try:
            result = ARITH[node.op](left, right)
        except (OverflowError, ZeroDivisionError):
            return None
        return result if math.isfinite(result) else None
    if isinstance(node, Neg):
        v = eval_value(node.operand, row)
        if isinstance(v, str):
            raise ExprError(f"文字不能参与算术运算（{node}）", f"text cannot be used in arithmetic ({node})")
        return None if v is None else -v
    raise ExprError(f"应为数值，却是{describe(node, zh=True)}", f"expected a value, got {describe(node)}")


def eval_bool(node: Node, row: Row) -> bool | None:
    if isinstance(node, Compare):
        left, right = eval_value(node.left, row), eval_value(node.right, row)
        if left is None or right is None:
            return None
        check_value_types(node.op, left, right)
        return bool(CMP[node.op](left, right))
    if isinstance(node, In):
        if not node.values:
            return node.negate
        v = eval_value(node.operand, row)
        if v is None:
            return None
        check_value_types("in", v, node.values[0])
        return (v in node.values) != node.negate
    if isinstance(node, And):
        got = [eval_bool(i, row) for i in node.items]     # no short cut: type errors surface
        return False if False in got else (None if None in got else True)
    if isinstance(node, Or):
        got = [eval_bool(i, row) for i in node.items]
        return True if True in got else (None if None in got else False)
    if isinstance(node, Not):
        v = eval_bool(node.item, row)
        return None if v is None else not v
    return eval_bool(as_condition(node), row)

