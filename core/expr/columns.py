"""Whole columns at once: the rule language over a :class:`~edubalance.table.Table` with NumPy.

A table of one row (one record through the API) is judged by :mod:`.scalar` where the two
are sure to agree (the same semantics, without a dozen NumPy calls on one-element arrays per node).
"""
from __future__ import annotations

import numpy as np

from .nodes import (
    BOOL_NODES, ORDERING_OPS, And, Arith, Compare, ExprError, In, Name, Neg, Node, Not, Num, Or, Str,
    as_condition, children, describe,
)
from ..table import filled
from .scalar import ARITH, CMP, eval_bool, eval_value

def _cols_value(node: Node, table) -> tuple[np.ndarray, np.ndarray]:
    n = table.n
    if isinstance(node, Num):
        return np.full(n, float(node.value)), np.ones(n, dtype=bool)
    if isinstance(node, Str):
        return filled(n, node.value), np.ones(n, dtype=bool)
    if isinstance(node, Name):
        col = table.get(node.name)
        valid = np.asarray(table.present(node.name), dtype=bool)
        if col.dtype == object:
            return col.copy(), valid
        return np.array(col, dtype=np.float64), valid
    if isinstance(node, (Arith, Neg)):
        parts = [_cols_value(c, table) for c in children(node)]
        if any(v.dtype == object for v, _ in parts):
            raise ExprError(f"文字不能参与算术运算（{node}）", f"text cannot be used in arithmetic ({node})")
        if isinstance(node, Neg):
            values, valid = -parts[0][0], parts[0][1]
        else:
            (lv, lok), (rv, rok) = parts
            values = ARITH[node.op](lv, rv)
            valid = lok & rok
            if node.op == "/":
                valid &= rv != 0
        valid = valid & np.isfinite(values)
        return np.where(valid, values, np.nan), valid
    raise ExprError(f"应为数值，却是{describe(node, zh=True)}", f"expected a value, got {describe(node)}")


def _check_col_types(op: str, lv: np.ndarray, rv: np.ndarray, valid: np.ndarray) -> bool:
    """True if the operands are text; raise on mixed types where both exist."""
    l_text, r_text = lv.dtype == object, rv.dtype == object
    if valid.any():
        if l_text != r_text:
            raise ExprError(f"文字不能与数字比较（'{op}'）", f"cannot compare text with a number ('{op}')")
        if l_text and op in ORDERING_OPS:
            raise ExprError(f"文字只能用 '==' 或 '!=' 比较（不能用 '{op}'）",
                            f"text can only be compared with '==' or '!=' (not '{op}')")
    return l_text and r_text


def _text_name(node: Node, table) -> str | None:
    """The field ``node`` names when it is a text column (compared through :meth:`Table.equals`:
    found once per column and text, not once per rule that asks)."""
    return node.name if isinstance(node, Name) and table.get(node.name).dtype == object else None


def _cols_bool(node: Node, table) -> tuple[np.ndarray, np.ndarray]:
    n = table.n
    if isinstance(node, Compare) and node.op in ("==", "!=") and isinstance(node.right, Str):
        name = _text_name(node.left, table)
        if name is not None:
            valid = table.present(name)
            result = table.equals(name, node.right.value)
            if node.op == "!=":
                result = ~result
            return valid & result, valid & ~result
    if isinstance(node, In) and node.values and isinstance(node.values[0], str):
        name = _text_name(node.operand, table)
        if name is not None:
            valid = table.present(name)
            member = np.zeros(n, dtype=bool)
            for item in node.values:
                member |= table.equals(name, item)
            yes, no = valid & member, valid & ~member
            return (no, yes) if node.negate else (yes, no)
    if isinstance(node, Compare):
        (lv, lok), (rv, rok) = _cols_value(node.left, table), _cols_value(node.right, table)
        valid = lok & rok
        text = _check_col_types(node.op, lv, rv, valid)
        if not valid.any():                 # all unknown (and types cannot be checked)
            return np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
        if text:
            result = np.asarray(lv == rv, dtype=bool)
            if node.op == "!=":
                result = ~result
        else:
            result = CMP[node.op](lv, rv)
        return valid & result, valid & ~result
    if isinstance(node, In):
        if not node.values:
            yes, no = np.zeros(n, dtype=bool), np.ones(n, dtype=bool)
            return (no, yes) if node.negate else (yes, no)
        v, valid = _cols_value(node.operand, table)
        text_list = isinstance(node.values[0], str)
        if valid.any() and (v.dtype == object) != text_list:
            raise ExprError("文字不能与数字比较（'in'）", "cannot compare text with a number ('in')")
        if v.dtype == object and text_list:
            member = np.zeros(n, dtype=bool)
            for item in node.values:
                member |= np.asarray(v == item, dtype=bool)
        elif v.dtype != object and not text_list:
            member = np.isin(v, np.array(node.values, dtype=np.float64))
        else:
            member = np.zeros(n, dtype=bool)
        yes, no = valid & member, valid & ~member
        return (no, yes) if node.negate else (yes, no)
    if isinstance(node, (And, Or)):
        parts = [_cols_bool(i, table) for i in node.items]
        trues = [t for t, _ in parts]
        falses = [f for _, f in parts]
        if isinstance(node, And):
            return _reduce(np.logical_and, trues, n, True), _reduce(np.logical_or, falses, n, False)
        return _reduce(np.logical_or, trues, n, False), _reduce(np.logical_and, falses, n, True)
    if isinstance(node, Not):
        t, f = _cols_bool(node.item, table)
        return f, t
    return _cols_bool(as_condition(node), table)


def _reduce(fn, arrays: list[np.ndarray], n: int, empty: bool) -> np.ndarray:
    if not arrays:
        return np.full(n, empty, dtype=bool)
    return fn.reduce(arrays) if len(arrays) > 1 else arrays[0].copy()


def evaluate_columns(node: Node, table) -> tuple[np.ndarray, np.ndarray]:
    """Evaluate over every row of an :class:`edubalance.table.Table` at once.

    A condition gives ``(is_true, is_false)`` masks (unknown rows are in neither); a value
    gives ``(values, valid)`` — float64 with NaN where invalid, or an object array for a text
    field or text constant. Division by zero and overflow are invalid, never ``inf``.

    A table of one row (one record through the API) is judged by :func:`evaluate`: the same
    semantics, without a dozen NumPy calls on one-element arrays per node.
    """
    if table.n == 1:
        found = _one_row(node, table)
        if found is not None:
            return found
    with np.errstate(all="ignore"):
        if isinstance(node, BOOL_NODES):
            return _cols_bool(node, table)
        return _cols_value(node, table)


def evaluate_conditions(nodes: list[Node], table) -> tuple[np.ndarray, np.ndarray]:
    """:func:`evaluate_columns` of several conditions: ``(is_true, is_false)`` as
    ``[conditions, rows]`` matrices (a rule back end judges all its scopes at once)."""
    n, k = table.n, len(nodes)
    if n == 1:                            # the scalar evaluator, as evaluate_columns would use it
        row, yes, no = _Row(table), [], []
        for node in nodes:
            if isinstance(node, BOOL_NODES) and _one_row_safe(node, table):
                v = eval_bool(node, row)
                yes.append(v is True)
                no.append(v is False)
            else:
                t, f = evaluate_columns(node, table)
                yes.append(bool(t[0]))
                no.append(bool(f[0]))
        return np.array(yes, dtype=bool).reshape(k, 1), np.array(no, dtype=bool).reshape(k, 1)
    found = [evaluate_columns(node, table) for node in nodes]
    return (np.concatenate([t for t, _ in found] or [np.zeros(0, bool)]).reshape(k, n),
            np.concatenate([f for _, f in found] or [np.zeros(0, bool)]).reshape(k, n))


class _Row:
    """Row 0 of a table as the mapping :func:`evaluate` reads (NaN and undefined are ``None``)."""

    __slots__ = ("table",)

    def __init__(self, table):
        self.table = table

    def get(self, name: str) -> float | str | None:
        return self.table.value(name, 0)


_ONE_ROW = BOOL_NODES + (Arith, Neg)


def _one_row_safe(node: Node, table) -> bool:
    """Whether the scalar evaluator gives exactly :func:`evaluate_columns`' answer for ``node``."""
    if not isinstance(node, _ONE_ROW):
        return False
    names_in, text_in = node.arithmetic_inputs
    if text_in:
        return False
    columns = table.columns
    for name in names_in:
        col = columns.get(name)
        if col is not None and col.dtype == object:
            return False
    return True


def _one_row(node: Node, table) -> tuple[np.ndarray, np.ndarray] | None:
    """:func:`evaluate_columns` of a one-row table by the scalar evaluator, or None where the
    two could differ: a plain name or constant as a value (its column type decides the
    result's), or arithmetic over a text column (an error in columns even if the text is missing)."""
    if not _one_row_safe(node, table):
        return None
    row = _Row(table)
    if isinstance(node, BOOL_NODES):
        v = eval_bool(node, row)
        return np.array([v is True]), np.array([v is False])
    x = eval_value(node, row)
    return (np.array([np.nan]), np.array([False])) if x is None else (np.array([x]), np.array([True]))

