"""Compile step: arithmetic inside a condition becomes a measure computed beforehand."""
from __future__ import annotations

import hashlib

from .nodes import And, Arith, Compare, In, Name, Neg, Node, Not, Num, Or, names
from .scalar import eval_value

def _lifted_name(node: Node) -> str:
    return "_x_" + hashlib.sha1(str(node).encode("utf-8")).hexdigest()[:12]


def lift_arithmetic(node: Node) -> tuple[Node, dict[str, Node]]:
    """Replace arithmetic inside a condition by names of measures computed beforehand.

    The core computes each lifted measure once per column, so the rule engines only ever see
    comparisons of fields, measures and constants. Constant arithmetic folds to a number
    (unless it cannot be computed, e.g. ``1 / 0``, which is lifted and is always unknown).
    """
    measures: dict[str, Node] = {}

    def lift(v: Node) -> Node:
        if not isinstance(v, (Arith, Neg)):
            return v
        if not names(v):
            folded = eval_value(v, {})
            if isinstance(folded, float):
                return Num(folded)
        key = _lifted_name(v)
        measures[key] = v
        return Name(key)

    def walk(n: Node) -> Node:
        if isinstance(n, Compare):
            return Compare(n.op, lift(n.left), lift(n.right))
        if isinstance(n, In):
            return In(lift(n.operand), n.values, n.negate)
        if isinstance(n, And):
            return And(tuple(walk(i) for i in n.items))
        if isinstance(n, Or):
            return Or(tuple(walk(i) for i in n.items))
        if isinstance(n, Not):
            return Not(walk(n.item))
        return lift(n)

    return walk(node), measures

