"""The rule language's tree: node classes, their canonical text, and what every stage asks of a node.

``str(node)`` is canonical, re-parsable text; nodes are frozen, so equal conditions are one key.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

COMPARE_OPS = ("<", "<=", ">", ">=", "==", "!=")
ORDERING_OPS = ("<", "<=", ">", ">=")


class ExprError(ValueError):
    """A rule expression is malformed, refers to an unknown name, or mixes types.

    Read by rule-pack authors, Chinese first: ``ExprError(zh, en)`` reads ``zh / en``; ``zh`` and
    ``en`` stay apart so that a caller can put its own words before each half."""

    def __init__(self, zh: str, en: str = ""):
        super().__init__(*((zh, en) if en else (zh,)))
        self.zh, self.en = zh, en

    def __str__(self) -> str:
        return f"{self.zh} / {self.en}" if self.en else self.zh



class Node:
    """Base class of every expression node; ``str(node)`` is canonical, re-parsable text."""

    __slots__ = ()

    def __str__(self) -> str:
        return format_node(self)

    @cached_property
    def arithmetic_inputs(self) -> tuple[frozenset, bool]:
        """(the names read inside arithmetic, whether a text constant is): where the columnar
        evaluation has a type rule of its own (text in arithmetic is an error even where the
        text is missing). Kept on the node, which never changes, beside its fields (in the
        instance dict every node class has: a node class with slots could not keep it)."""
        names_in, text_in = set(), False
        stack = [(self, False)]
        while stack:
            n, inside = stack.pop()
            inside = inside or isinstance(n, (Arith, Neg))
            if inside and isinstance(n, Name):
                names_in.add(n.name)
            text_in = text_in or (inside and isinstance(n, Str))
            stack.extend((c, inside) for c in children(n))
        return frozenset(names_in), text_in


@dataclass(frozen=True)
class Num(Node):
    value: float


@dataclass(frozen=True)
class Str(Node):
    value: str


@dataclass(frozen=True)
class Name(Node):
    name: str


@dataclass(frozen=True)
class Arith(Node):
    op: str                 # + - * /
    left: Node
    right: Node


@dataclass(frozen=True)
class Neg(Node):
    operand: Node


@dataclass(frozen=True)
class Compare(Node):
    op: str                 # < <= > >= == !=
    left: Node
    right: Node


@dataclass(frozen=True)
class In(Node):
    operand: Node
    values: tuple           # of float, or of str (never mixed)
    negate: bool = False


@dataclass(frozen=True)
class And(Node):
    items: tuple            # And(()) is the constant true


@dataclass(frozen=True)
class Or(Node):
    items: tuple            # Or(()) is the constant false


@dataclass(frozen=True)
class Not(Node):
    item: Node


BOOL_NODES = (Compare, In, And, Or, Not)
VALUE_NODES = (Num, Str, Name, Arith, Neg)
NUMERIC_NODES = (Num, Name, Arith, Neg)


def _fmt_num(value: float) -> str:
    if not math.isfinite(value):
        raise ExprError(f"数字 {value!r} 在规则语言中无法写出", f"the number {value!r} has no written form in the rule language")
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


def _fmt_str(value: str) -> str:
    if "'" not in value:
        return f"'{value}'"
    if '"' not in value:
        return f'"{value}"'
    raise ExprError("同时含两种引号的文字在规则语言中无法写出",
                    "text containing both kinds of quote has no written form in the rule language")


def _fmt_literal(value: float | str) -> str:
    return _fmt_str(value) if isinstance(value, str) else _fmt_num(value)


def _prec(node: Node) -> int:
    """Binding strength, matching the grammar levels (higher binds tighter)."""
    if isinstance(node, Or):
        return 9 if not node.items else 1
    if isinstance(node, And):
        return 9 if not node.items else 2
    if isinstance(node, Not):
        return 3
    if isinstance(node, (Compare, In)):
        return 4
    if isinstance(node, Arith):
        return 5 if node.op in "+-" else 6
    if isinstance(node, Neg) or (isinstance(node, Num) and node.value < 0):
        return 7
    return 9


def _wrap(node: Node, needs: bool) -> str:
    text = format_node(node)
    return f"({text})" if needs else text


def format_node(node: Node) -> str:
    if isinstance(node, Num):
        return _fmt_num(node.value)
    if isinstance(node, Str):
        return _fmt_str(node.value)
    if isinstance(node, Name):
        return node.name
    if isinstance(node, Arith):
        level = 5 if node.op in "+-" else 6
        return (f"{_wrap(node.left, _prec(node.left) < level)} {node.op} "
                f"{_wrap(node.right, _prec(node.right) <= level)}")
    if isinstance(node, Neg):
        # "-3" reads back as the number -3, so a negated number keeps its parentheses.
        inner = node.operand
        return "-" + _wrap(inner, isinstance(inner, Num) or _prec(inner) < 7)
    if isinstance(node, Compare):
        return (f"{_wrap(node.left, _prec(node.left) < 5)} {node.op} "
                f"{_wrap(node.right, _prec(node.right) < 5)}")
    if isinstance(node, In):
        values = ", ".join(_fmt_literal(v) for v in node.values)
        word = "not in" if node.negate else "in"
        return f"{_wrap(node.operand, _prec(node.operand) < 5)} {word} [{values}]"
    if isinstance(node, (And, Or)):
        if not node.items:
            return "true" if isinstance(node, And) else "false"
        level = _prec(node)
        word = " and " if isinstance(node, And) else " or "
        return word.join(_wrap(i, _prec(i) <= level) for i in node.items)
    if isinstance(node, Not):
        return "not " + _wrap(node.item, _prec(node.item) < 3)
    raise ExprError(f"不是表达式节点：{node!r}", f"not an expression node: {node!r}")



def describe(node: Node, zh: bool = False) -> str:
    """What kind of thing ``node`` is, in a message (``zh``: in Chinese)."""
    if isinstance(node, Num):
        return "数字" if zh else "a number"
    if isinstance(node, Str):
        return "文字" if zh else "text"
    if isinstance(node, Name):
        return f"名称 {node.name!r}" if zh else f"the name {node.name!r}"
    if isinstance(node, (Arith, Neg)):
        return "算术式" if zh else "arithmetic"
    return "条件" if zh else "a condition"


def as_condition(node: Node, col: int | None = None) -> Node:
    """Read ``node`` as a condition: a bare name means ``name == true``."""
    if isinstance(node, BOOL_NODES):
        return node
    if isinstance(node, Name):
        return Compare("==", node, Num(1.0))
    if isinstance(node, Num) and node.value in (0.0, 1.0):
        return And(()) if node.value == 1.0 else Or(())
    where_zh, where = (f"第 {col} 列", f" at column {col}") if col else ("", "")
    hint_zh, hint = ("（请作比较，例如 '... > 0'）", " (compare it, e.g. '... > 0')") \
        if isinstance(node, (Arith, Neg, Num)) else ("", "")
    raise ExprError(f"{where_zh}应为条件，却是{describe(node, zh=True)}{hint_zh}",
                    f"expected a condition{where}, got {describe(node)}{hint}")



def children(node: Node) -> tuple:
    if isinstance(node, (Arith, Compare)):
        return (node.left, node.right)
    if isinstance(node, Neg):
        return (node.operand,)
    if isinstance(node, In):
        return (node.operand,)
    if isinstance(node, (And, Or)):
        return node.items
    if isinstance(node, Not):
        return (node.item,)
    return ()



def names(node: Node) -> set[str]:
    """Every field or measure name the expression reads."""
    out: set[str] = set()
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, Name):
            out.add(n.name)
        stack.extend(children(n))
    return out

