"""The small, safe expression language of rule packs (conditions and computed measures).

A rule pack is data written by people outside the project, so its conditions must never be
able to run code: the text is tokenised and parsed here into a tiny AST (no ``eval``, no
Python ``compile``), and anything outside the grammar is an :class:`ExprError` that names
the column and what was expected.

Grammar (keywords are case-sensitive, whitespace is free)::

    expr    := or
    or      := and ('or' and)*
    and     := not ('and' not)*
    not     := 'not' not | cmp
    cmp     := sum ( ('<'|'<='|'>'|'>='|'=='|'!=') sum | 'in' list | 'not' 'in' list )?
    sum     := term (('+'|'-') term)*
    term    := unary (('*'|'/') unary)*
    unary   := '-' unary | atom
    atom    := NUMBER | STRING | 'true' | 'false' | NAME | '(' expr ')'
    list    := '[' (literal (',' literal)*)? ']'

``true`` / ``false`` are the numbers 1.0 / 0.0, as booleans are stored in a Table.

Missing data is *unknown*, never false: comparisons with a missing, undefined or
uncomputable operand (division by zero) are unknown, and ``and`` / ``or`` / ``not`` follow
Kleene's three-valued tables. The same semantics are implemented three times — scalar
(:func:`evaluate`), columnar (:func:`evaluate_columns`) and as durable-rules JSON
(:func:`to_durable`) — and a test demands they agree on random conditions and records.
"""
from __future__ import annotations

import difflib
import hashlib
import json
import keyword
import math
import operator
import re
from dataclasses import dataclass
from typing import Any, Callable, Collection, Mapping, NamedTuple, Union

import numpy as np

__all__ = [
    "ExprError", "Node", "Num", "Str", "Name", "Arith", "Neg", "Compare", "In", "And", "Or",
    "Not", "parse", "parse_condition", "parse_value", "names", "evaluate", "evaluate_columns",
    "evaluate_conditions",
    "lift_arithmetic", "to_durable", "MAX_LENGTH", "MAX_NESTING", "MAX_DEPTH",
    "STATUS_SUFFIX", "STATUS_OK", "DURABLE_MAX_CONNECTIVES",
]

#: Longest accepted expression text, so a rule file cannot make parsing expensive.
MAX_LENGTH = 2000
#: Deepest nesting of parentheses, ``not`` and unary minus in the text (bounds recursion).
MAX_NESTING = 50
#: Deepest accepted tree (long ``a + b + c …`` chains nest to the left).
MAX_DEPTH = 100

KEYWORDS = frozenset({"and", "or", "not", "in", "true", "false"})
COMPARE_OPS = ("<", "<=", ">", ">=", "==", "!=")
ORDERING_OPS = ("<", "<=", ">", ">=")


class ExprError(ValueError):
    """A rule expression is malformed, refers to an unknown name, or mixes types."""


# --------------------------------------------------------------------------- AST


class Node:
    """Base class of every expression node; ``str(node)`` is canonical, re-parsable text."""

    __slots__ = ()

    def __str__(self) -> str:
        return _format(self)


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


_BOOL = (Compare, In, And, Or, Not)
_VALUE = (Num, Str, Name, Arith, Neg)
_NUMERIC = (Num, Name, Arith, Neg)

# --------------------------------------------------------------------------- text form


def _fmt_num(value: float) -> str:
    if not math.isfinite(value):
        raise ExprError(f"the number {value!r} has no written form in the rule language")
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


def _fmt_str(value: str) -> str:
    if "'" not in value:
        return f"'{value}'"
    if '"' not in value:
        return f'"{value}"'
    raise ExprError("text containing both kinds of quote has no written form in the rule language")


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
    text = _format(node)
    return f"({text})" if needs else text


def _format(node: Node) -> str:
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
    raise ExprError(f"not an expression node: {node!r}")


# --------------------------------------------------------------------------- tokens


class _Tok(NamedTuple):
    kind: str       # num str name kw op eof
    text: str
    col: int        # 1-based
    value: Any = None


_TOKEN_RE = re.compile(r"""
    (?P<ws>\s+)
  | (?P<num>[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<str>'[^']*'|"[^"]*")
  | (?P<op>\*\*|<=|>=|==|!=|[<>+\-*/()\[\],])
""", re.VERBOSE)

# Characters people may try, with the reason they are refused.
_CHAR_HINTS = {
    ".": "attribute access is not part of the rule language",
    ";": "a condition is a single expression",
    "=": "use '==' to compare",
    "!": "use 'not' (or '!=')",
    "&": "use 'and'",
    "|": "use 'or'",
    ":": "lambdas, slices and dictionaries are not part of the rule language",
    "%": "the operators are + - * /",
    "@": "the operators are + - * /",
    "{": "use [...] after 'in' for a list of values",
    "}": "use [...] after 'in' for a list of values",
}


def _describe_char(ch: str) -> str:
    return repr(ch) if ch.isprintable() else f"character U+{ord(ch):04X}"


def _tokenize(text: str) -> list[_Tok]:
    """Tokens of ``text``; a lexical error becomes an ``err`` token so that the parser
    reports problems in reading order (the first thing wrong is the one named)."""
    toks: list[_Tok] = []
    pos = 0
    while pos < len(text):
        col = pos + 1
        m = _TOKEN_RE.match(text, pos)
        if m is None:
            ch = text[pos]
            if ch in "'\"":
                msg = f"unterminated text starting at column {col}: expected a closing {ch}"
            elif ch == "." and text[pos + 1:pos + 2].isdigit():
                msg = f"unexpected '.' at column {col}: write numbers with a leading digit (0.5)"
            else:
                hint = _CHAR_HINTS.get(ch, "this character is not part of the rule language")
                msg = f"unexpected {_describe_char(ch)} at column {col}: {hint}"
            toks.append(_Tok("err", ch, col, msg))
            return toks
        kind, tok = m.lastgroup, m.group()
        pos = m.end()
        if kind == "ws":
            continue
        if kind == "num":
            if pos < len(text) and (text[pos].isalnum() or text[pos] in "._"):
                toks.append(_Tok("err", tok, col, f"malformed number at column {col}: unexpected "
                                                  f"{_describe_char(text[pos])} at column {pos + 1}"))
                return toks
            value = float(tok)
            if not math.isfinite(value):
                toks.append(_Tok("err", tok, col, f"number out of range at column {col}"))
                return toks
            toks.append(_Tok("num", tok, col, value))
        elif kind == "name":
            toks.append(_Tok("kw" if tok in KEYWORDS else "name", tok, col))
        elif kind == "str":
            toks.append(_Tok("str", tok, col, tok[1:-1]))
        elif tok == "**":
            toks.append(_Tok("err", tok, col, f"unexpected '**' at column {col}: "
                                              "powers are not part of the rule language"))
            return toks
        else:
            toks.append(_Tok("op", tok, col))
    toks.append(_Tok("eof", "", len(text) + 1))
    return toks


# --------------------------------------------------------------------------- parser


def _what(node: Node) -> str:
    if isinstance(node, Num):
        return "a number"
    if isinstance(node, Str):
        return "text"
    if isinstance(node, Name):
        return f"the name {node.name!r}"
    if isinstance(node, (Arith, Neg)):
        return "arithmetic"
    return "a condition"


def _as_condition(node: Node, col: int | None = None) -> Node:
    """Read ``node`` as a condition: a bare name means ``name == true``."""
    if isinstance(node, _BOOL):
        return node
    if isinstance(node, Name):
        return Compare("==", node, Num(1.0))
    if isinstance(node, Num) and node.value in (0.0, 1.0):
        return And(()) if node.value == 1.0 else Or(())
    where = f" at column {col}" if col else ""
    hint = " (compare it, e.g. '... > 0')" if isinstance(node, (Arith, Neg, Num)) else ""
    raise ExprError(f"expected a condition{where}, got {_what(node)}{hint}")


def _as_value(node: Node, col: int | None = None, numeric: bool = False) -> Node:
    where = f" at column {col}" if col else ""
    if isinstance(node, _BOOL):
        raise ExprError(f"expected a value{where}, got a condition")
    if numeric and isinstance(node, Str):
        raise ExprError(f"text cannot be used in arithmetic{where}")
    return node


class _Parser:
    def __init__(self, text: str, known: Collection[str] | None):
        self.toks = _tokenize(text)
        self.i = 0
        self.nesting = 0
        self.known = None if known is None else set(known)
        self.known_sorted = None if known is None else sorted(self.known)

    # token helpers
    def peek(self, ahead: int = 0) -> _Tok:
        tok = self.toks[min(self.i + ahead, len(self.toks) - 1)]
        if tok.kind == "err":
            raise ExprError(tok.value)
        return tok

    def take(self) -> _Tok:
        tok = self.peek()
        self.i += 1
        return tok

    def at(self, kind: str, text: str | None = None) -> bool:
        tok = self.peek()
        return tok.kind == kind and (text is None or tok.text == text)

    def fail(self, tok: _Tok, expected: str) -> ExprError:
        prev = self.toks[self.i - 1] if self.i > 0 else None
        if tok.kind == "eof":
            return ExprError(f"unexpected end of input at column {tok.col}: expected {expected}")
        what = f"'{tok.text}'"
        if prev is not None and (prev.kind == "name" or prev.text == ")"):
            if tok.text == "(":
                return ExprError(f"unexpected '(' at column {tok.col}: "
                                 "functions are not part of the rule language")
            if tok.text == "[":
                return ExprError(f"unexpected '[' at column {tok.col}: "
                                 "indexing is not part of the rule language")
        if tok.text in COMPARE_OPS and expected.startswith("an operator"):
            return ExprError(f"unexpected {what} at column {tok.col}: "
                             "comparisons cannot be chained; join them with 'and'")
        if tok.text == "[":
            return ExprError(f"unexpected '[' at column {tok.col}: lists are only allowed after 'in'")
        if tok.kind == "name" and keyword.iskeyword(tok.text):
            return ExprError(f"unexpected {what} at column {tok.col}: "
                             "Python keywords are not part of the rule language")
        return ExprError(f"unexpected {what} at column {tok.col}: expected {expected}")

    def enter(self, tok: _Tok) -> None:
        self.nesting += 1
        if self.nesting > MAX_NESTING:
            raise ExprError(f"expression nested deeper than {MAX_NESTING} levels at column {tok.col}")

    def leave(self) -> None:
        self.nesting -= 1

    # grammar
    def parse(self) -> Node:
        node = self.or_()
        if not self.at("eof"):
            raise self.fail(self.peek(), "an operator or the end of the expression")
        return node

    def or_(self) -> Node:
        return self._chain("or", Or, self.and_)

    def and_(self) -> Node:
        return self._chain("and", And, self.not_)

    def _chain(self, word: str, cls: type, sub: Callable[[], Node]) -> Node:
        col = self.peek().col
        items = [(sub(), col)]
        while self.at("kw", word):
            self.take()
            col = self.peek().col
            items.append((sub(), col))
        if len(items) == 1:
            return items[0][0]
        return cls(tuple(_as_condition(n, c) for n, c in items))

    def not_(self) -> Node:
        if self.at("kw", "not"):
            tok = self.take()
            self.enter(tok)
            col = self.peek().col
            item = self.not_()
            self.leave()
            return Not(_as_condition(item, col))
        return self.cmp()

    def cmp(self) -> Node:
        col = self.peek().col
        left = self.sum_()
        tok = self.peek()
        if tok.kind == "op" and tok.text in COMPARE_OPS:
            self.take()
            rcol = self.peek().col
            right = self.sum_()
            _as_value(left, col)
            _as_value(right, rcol)
            if tok.text in ORDERING_OPS and (isinstance(left, Str) or isinstance(right, Str)):
                raise ExprError(f"text can only be compared with '==' or '!=' "
                                f"('{tok.text}' at column {tok.col})")
            return Compare(tok.text, left, right)
        if tok.kind == "kw" and tok.text == "in":
            self.take()
            return In(_as_value(left, col), self.list_(), False)
        if tok.kind == "kw" and tok.text == "not":
            nxt = self.peek(1)
            if nxt.kind == "kw" and nxt.text == "in":
                self.take()
                self.take()
                return In(_as_value(left, col), self.list_(), True)
            raise ExprError(f"unexpected 'not' at column {tok.col}: expected 'in' after 'not' "
                            "(write 'not' before a condition)")
        return left

    def _arith(self, ops: str, sub: Callable[[], Node]) -> Node:
        col = self.peek().col
        left = sub()
        while self.at("op") and self.peek().text in ops:
            op = self.take().text
            rcol = self.peek().col
            right = sub()
            left = Arith(op, _as_value(left, col, numeric=True), _as_value(right, rcol, numeric=True))
        return left

    def sum_(self) -> Node:
        return self._arith("+-", self.term)

    def term(self) -> Node:
        return self._arith("*/", self.unary)

    def unary(self) -> Node:
        if self.at("op", "-"):
            tok = self.take()
            if self.at("num"):
                return Num(-self.take().value)
            self.enter(tok)
            col = self.peek().col
            operand = self.unary()
            self.leave()
            return Neg(_as_value(operand, col, numeric=True))
        return self.atom()

    def atom(self) -> Node:
        tok = self.peek()
        if tok.kind == "num":
            self.take()
            return Num(tok.value)
        if tok.kind == "str":
            self.take()
            return Str(tok.value)
        if tok.kind == "kw" and tok.text in ("true", "false"):
            self.take()
            return Num(1.0 if tok.text == "true" else 0.0)
        if tok.kind == "name":
            self.take()
            return Name(self._check_name(tok))
        if tok.kind == "op" and tok.text == "(":
            self.take()
            self.enter(tok)
            node = self.or_()
            if not self.at("op", ")"):
                raise self.fail(self.peek(), f"')' to close the '(' at column {tok.col}")
            self.take()
            self.leave()
            return node
        raise self.fail(tok, "a value (number, 'text', name, true, false or '(')")

    def _check_name(self, tok: _Tok) -> str:
        name = tok.text
        if name in ("True", "False"):
            raise ExprError(f"unexpected {name!r} at column {tok.col}: write {name.lower()!r}")
        if name == "None":
            raise ExprError(f"unexpected 'None' at column {tok.col}: missing values are handled "
                            "by the rule engine, not written in conditions")
        if keyword.iskeyword(name):
            raise ExprError(f"unexpected {name!r} at column {tok.col}: "
                            "Python keywords are not part of the rule language")
        if self.known is not None and name not in self.known:
            close = difflib.get_close_matches(name, self.known_sorted, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ExprError(f"unknown name {name!r} at column {tok.col}{hint}")
        return name

    def list_(self) -> tuple:
        open_tok = self.peek()
        if not self.at("op", "["):
            raise ExprError(f"unexpected {self._tok_text(open_tok)} at column {open_tok.col}: "
                            "expected a list '[...]' after 'in'")
        self.take()
        values: list[float | str] = []
        if self.at("op", "]"):
            self.take()
            return ()
        while True:
            values.append(self._literal())
            if self.at("op", ","):
                self.take()
                continue
            if self.at("op", "]"):
                self.take()
                break
            raise self.fail(self.peek(), "',' or ']' in the list")
        if len({isinstance(v, str) for v in values}) > 1:
            raise ExprError(f"the list at column {open_tok.col} mixes numbers and text")
        return tuple(values)

    def _literal(self) -> float | str:
        tok = self.take()
        if tok.kind == "num":
            return tok.value
        if tok.kind == "str":
            return tok.value
        if tok.kind == "kw" and tok.text in ("true", "false"):
            return 1.0 if tok.text == "true" else 0.0
        if tok.kind == "op" and tok.text == "-" and self.at("num"):
            return -self.take().value
        self.i -= 1
        raise self.fail(tok, "a number, 'text', true or false in the list")

    @staticmethod
    def _tok_text(tok: _Tok) -> str:
        return "end of input" if tok.kind == "eof" else f"'{tok.text}'"


def _children(node: Node) -> tuple:
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


def _check_depth(node: Node) -> None:
    stack = [(node, 1)]
    while stack:
        n, d = stack.pop()
        if d > MAX_DEPTH:
            raise ExprError(f"expression nested deeper than {MAX_DEPTH} levels "
                            "(split long chains into computed measures)")
        stack.extend((c, d + 1) for c in _children(n))


def parse(text: str, known_names: Collection[str] | None = None) -> Node:
    """Parse ``text``; with ``known_names``, every NAME must be one of them."""
    if not isinstance(text, str):
        raise ExprError(f"an expression must be text, not {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ExprError(f"expression is {len(text)} characters long; the limit is {MAX_LENGTH}")
    if not text.strip():
        raise ExprError("empty expression")
    node = _Parser(text, known_names).parse()
    _check_depth(node)
    return node


def parse_condition(text: str, known_names: Collection[str] | None = None) -> Node:
    """Parse a condition (true/false/unknown); a bare name ``x`` means ``x == true``."""
    return _as_condition(parse(text, known_names), 1)


def parse_value(text: str, known_names: Collection[str] | None = None) -> Node:
    """Parse a numeric value (a computed measure)."""
    node = parse(text, known_names)
    if not isinstance(node, _NUMERIC):
        raise ExprError(f"expected a numeric value, got {_what(node)}")
    return node


def names(node: Node) -> set[str]:
    """Every field or measure name the expression reads."""
    out: set[str] = set()
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, Name):
            out.add(n.name)
        stack.extend(_children(n))
    return out


# --------------------------------------------------------------------------- scalar evaluation

_ARITH: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
}
_CMP: dict[str, Callable[[Any, Any], Any]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
    "==": operator.eq, "!=": operator.ne,
}


def _cell(row: Mapping[str, Any], name: str) -> float | str | None:
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
    raise ExprError(f"value of {name!r} has unsupported type {type(v).__name__}")


def _check_types(op: str, left: float | str, right: float | str) -> None:
    if isinstance(left, str) != isinstance(right, str):
        raise ExprError(f"cannot compare text with a number ({left!r} {op} {right!r})")
    if isinstance(left, str) and op in ORDERING_OPS:
        raise ExprError(f"text can only be compared with '==' or '!=' ({left!r} {op} {right!r})")


def _eval_value(node: Node, row: Mapping[str, Any]) -> float | str | None:
    if isinstance(node, Name):
        return _cell(row, node.name)
    if isinstance(node, Num):
        return float(node.value)
    if isinstance(node, Str):
        return node.value
    if isinstance(node, Arith):
        left, right = _eval_value(node.left, row), _eval_value(node.right, row)
        if isinstance(left, str) or isinstance(right, str):
            raise ExprError(f"text cannot be used in arithmetic ({node})")
        if left is None or right is None or (node.op == "/" and right == 0):
            return None
        try:
            result = _ARITH[node.op](left, right)
        except (OverflowError, ZeroDivisionError):
            return None
        return result if math.isfinite(result) else None
    if isinstance(node, Neg):
        v = _eval_value(node.operand, row)
        if isinstance(v, str):
            raise ExprError(f"text cannot be used in arithmetic ({node})")
        return None if v is None else -v
    raise ExprError(f"expected a value, got {_what(node)}")


def _eval_bool(node: Node, row: Mapping[str, Any]) -> bool | None:
    if isinstance(node, Compare):
        left, right = _eval_value(node.left, row), _eval_value(node.right, row)
        if left is None or right is None:
            return None
        _check_types(node.op, left, right)
        return bool(_CMP[node.op](left, right))
    if isinstance(node, In):
        if not node.values:
            return node.negate
        v = _eval_value(node.operand, row)
        if v is None:
            return None
        _check_types("in", v, node.values[0])
        return (v in node.values) != node.negate
    if isinstance(node, And):
        got = [_eval_bool(i, row) for i in node.items]     # no short cut: type errors surface
        return False if False in got else (None if None in got else True)
    if isinstance(node, Or):
        got = [_eval_bool(i, row) for i in node.items]
        return True if True in got else (None if None in got else False)
    if isinstance(node, Not):
        v = _eval_bool(node.item, row)
        return None if v is None else not v
    return _eval_bool(_as_condition(node), row)


def evaluate(node: Node, row: Mapping[str, Any]) -> bool | float | str | None:
    """Evaluate over one record; ``None`` means unknown (missing key, ``None`` or NaN value).

    Conditions give True / False / None, values give float / str / None.
    """
    if isinstance(node, _BOOL):
        return _eval_bool(node, row)
    return _eval_value(node, row)


# --------------------------------------------------------------------------- columnar evaluation


def _cols_value(node: Node, table) -> tuple[np.ndarray, np.ndarray]:
    n = table.n
    if isinstance(node, Num):
        return np.full(n, float(node.value)), np.ones(n, dtype=bool)
    if isinstance(node, Str):
        return np.full(n, node.value, dtype=object), np.ones(n, dtype=bool)
    if isinstance(node, Name):
        col = table.get(node.name)
        valid = np.asarray(table.present(node.name), dtype=bool)
        if col.dtype == object:
            return col.copy(), valid
        return np.array(col, dtype=np.float64), valid
    if isinstance(node, (Arith, Neg)):
        parts = [_cols_value(c, table) for c in _children(node)]
        if any(v.dtype == object for v, _ in parts):
            raise ExprError(f"text cannot be used in arithmetic ({node})")
        if isinstance(node, Neg):
            values, valid = -parts[0][0], parts[0][1]
        else:
            (lv, lok), (rv, rok) = parts
            values = _ARITH[node.op](lv, rv)
            valid = lok & rok
            if node.op == "/":
                valid &= rv != 0
        valid = valid & np.isfinite(values)
        return np.where(valid, values, np.nan), valid
    raise ExprError(f"expected a value, got {_what(node)}")


def _check_col_types(op: str, lv: np.ndarray, rv: np.ndarray, valid: np.ndarray) -> bool:
    """True if the operands are text; raise on mixed types where both exist."""
    l_text, r_text = lv.dtype == object, rv.dtype == object
    if valid.any():
        if l_text != r_text:
            raise ExprError(f"cannot compare text with a number ('{op}')")
        if l_text and op in ORDERING_OPS:
            raise ExprError(f"text can only be compared with '==' or '!=' (not '{op}')")
    return l_text and r_text


def _cols_bool(node: Node, table) -> tuple[np.ndarray, np.ndarray]:
    n = table.n
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
            result = _CMP[node.op](lv, rv)
        return valid & result, valid & ~result
    if isinstance(node, In):
        if not node.values:
            yes, no = np.zeros(n, dtype=bool), np.ones(n, dtype=bool)
            return (no, yes) if node.negate else (yes, no)
        v, valid = _cols_value(node.operand, table)
        text_list = isinstance(node.values[0], str)
        if valid.any() and (v.dtype == object) != text_list:
            raise ExprError("cannot compare text with a number ('in')")
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
    return _cols_bool(_as_condition(node), table)


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
        if isinstance(node, _BOOL):
            return _cols_bool(node, table)
        return _cols_value(node, table)


def evaluate_conditions(nodes: list[Node], table) -> tuple[np.ndarray, np.ndarray]:
    """:func:`evaluate_columns` of several conditions: ``(is_true, is_false)`` as
    ``[conditions, rows]`` matrices (a rule back end judges all its scopes at once)."""
    n, k = table.n, len(nodes)
    if n == 1:                            # the scalar evaluator, as evaluate_columns would use it
        row, yes, no = _Row(table), [], []
        for node in nodes:
            if isinstance(node, _BOOL) and _one_row_safe(node, table):
                v = _eval_bool(node, row)
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


#: id(node) -> (node, names read inside arithmetic, text constant inside arithmetic).
_ARITH_INPUTS: dict[int, tuple[Node, frozenset, bool]] = {}


def _arith_inputs(node: Node) -> tuple[frozenset, bool]:
    """What the node's arithmetic reads: where the columnar evaluation has a type rule of
    its own (text in arithmetic is an error even where the text is missing)."""
    found = _ARITH_INPUTS.get(id(node))
    if found is None:
        names_in, text_in = set(), False
        stack = [(node, False)]
        while stack:
            n, inside = stack.pop()
            inside = inside or isinstance(n, (Arith, Neg))
            if inside and isinstance(n, Name):
                names_in.add(n.name)
            text_in = text_in or (inside and isinstance(n, Str))
            stack.extend((c, inside) for c in _children(n))
        if len(_ARITH_INPUTS) >= 1024:
            _ARITH_INPUTS.clear()
        found = _ARITH_INPUTS[id(node)] = (node, frozenset(names_in), text_in)
    return found[1], found[2]


_ONE_ROW = _BOOL + (Arith, Neg)


def _one_row_safe(node: Node, table) -> bool:
    """Whether the scalar evaluator gives exactly :func:`evaluate_columns`' answer for ``node``."""
    if not isinstance(node, _ONE_ROW):
        return False
    names_in, text_in = _arith_inputs(node)
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
    if isinstance(node, _BOOL):
        v = _eval_bool(node, row)
        return np.array([v is True]), np.array([v is False])
    v = _eval_value(node, row)
    return (np.array([np.nan]), np.array([False])) if v is None else (np.array([v]), np.array([True]))


# --------------------------------------------------------------------------- lifting arithmetic


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
            folded = _eval_value(v, {})
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


# --------------------------------------------------------------------------- durable-rules JSON

#: Suffix of the presence field every fact carries for every name a condition reads.
STATUS_SUFFIX = "__st"
#: Presence value meaning "the value exists" (anything else is missing / not applicable).
STATUS_OK = "ok"
#: Fields durable-rules reserves: a condition on them hangs the engine (2.0.28).
RESERVED_FIELDS = frozenset({"id", "sid"})

#: durable-rules 2.0.28 gives each pattern 31 expression slots and every $and/$or takes two
#: (error 113 when the ruleset is created); comparisons within one fact take none.
DURABLE_MAX_CONNECTIVES = 15

_TRUE: Any = object()      # sentinels for constant parts while composing
_FALSE: Any = object()
_Cond = Union[dict, str]

_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}
_NEGATE = {"<": ">=", "<=": ">", ">": "<=", ">=": "<", "==": "!=", "!=": "=="}
_DURABLE_OP = {"<": "$lt", "<=": "$lte", ">": "$gt", ">=": "$gte", "!=": "$neq"}


def _key(cond: dict) -> str:
    return json.dumps(cond, sort_keys=True, ensure_ascii=False)


def _join(parts: list[_Cond], word: str, unit: Any, zero: Any) -> _Cond:
    """Conjunction (``$and``) or disjunction (``$or``), flattened, deduplicated, simplified."""
    out: list[dict] = []
    seen: set[str] = set()
    for p in parts:
        if p is zero:
            return zero
        if p is unit:
            continue
        for q in (p[word] if list(p) == [word] else [p]):
            k = _key(q)
            if k not in seen:
                seen.add(k)
                out.append(q)
    out = _absorb(out, "$or" if word == "$and" else "$and")
    if not out:
        return unit
    return out[0] if len(out) == 1 else {word: out}


def _absorb(items: list[dict], inner: str) -> list[dict]:
    """Drop items implied by others: ``a ∧ (a ∨ b)`` is ``a``, ``a ∨ (a ∧ b)`` is ``a``."""
    sets = [frozenset(_key(q) for q in (p[inner] if list(p) == [inner] else [p])) for p in items]
    return [p for i, p in enumerate(items)
            if not any(j != i and sets[j] < sets[i] for j in range(len(items)))]


def _connectives(cond: _Cond) -> int:
    if not isinstance(cond, dict):
        return 0
    count = 0
    for key, value in cond.items():
        if key in ("$and", "$or"):
            count += 1 + sum(_connectives(c) for c in value)
    return count


def _all(parts: list[_Cond]) -> _Cond:
    return _join(parts, "$and", _TRUE, _FALSE)


def _any(parts: list[_Cond]) -> _Cond:
    return _join(parts, "$or", _FALSE, _TRUE)


class _Tri(NamedTuple):
    """Matchers for true, false, unknown, and the compact complements not-true, not-false."""
    t: _Cond
    f: _Cond
    u: _Cond
    nt: _Cond
    nf: _Cond

    def swap(self) -> "_Tri":
        return _Tri(self.f, self.t, self.u, self.nf, self.nt)


def _const_tri(value: bool) -> _Tri:
    if value:
        return _Tri(_TRUE, _FALSE, _FALSE, _FALSE, _TRUE)
    return _Tri(_FALSE, _TRUE, _FALSE, _TRUE, _FALSE)


def _literal_json(value: float | str) -> float | int | str:
    if isinstance(value, str):
        return value
    if not math.isfinite(value):
        raise ExprError(f"the number {value!r} cannot be written in durable-rules JSON")
    return int(value) if float(value).is_integer() and abs(value) < 2 ** 53 else float(value)


def _field(node: Name) -> str:
    if node.name in RESERVED_FIELDS:
        raise ExprError(f"the name {node.name!r} is reserved by durable-rules")
    return node.name


def _ok(field: str) -> dict:
    return {field + STATUS_SUFFIX: STATUS_OK}


def _not_ok(field: str) -> dict:
    return {"$neq": {field + STATUS_SUFFIX: STATUS_OK}}


def _test(op: str, field: str, value: Any) -> dict:
    return {field: value} if op == "==" else {_DURABLE_OP[op]: {field: value}}


def _tri_compare(node: Compare) -> _Tri:
    left, right = node.left, node.right
    for side in (left, right):
        if isinstance(side, (Arith, Neg)):
            raise ExprError(f"arithmetic must be lifted before translation ({node}); "
                            "use lift_arithmetic")
        if not isinstance(side, _VALUE):
            raise ExprError(f"expected a value, got {_what(side)} in ({node})")
    if not isinstance(left, Name) and not isinstance(right, Name):
        return _const_tri(bool(_eval_bool(node, {})))
    op = node.op
    if not isinstance(left, Name):
        left, right, op = right, left, _FLIP[op]
    x = _field(left)
    if isinstance(right, Name):
        y = _field(right)
        if x == y:      # x op x: decided as soon as x exists
            holds = op in ("==", "<=", ">=")
            t, f = (_ok(x), _FALSE) if holds else (_FALSE, _ok(x))
            nok = _not_ok(x)
            return _Tri(t, f, nok, _any([f, nok]), _any([t, nok]))
        present, absent = [_ok(x), _ok(y)], [_not_ok(x), _not_ok(y)]
        value: Any = {"$m": y}
    else:
        if isinstance(right, Str) and op in ORDERING_OPS:
            raise ExprError(f"text can only be compared with '==' or '!=' ({node})")
        present, absent = [_ok(x)], [_not_ok(x)]
        value = _literal_json(right.value)
    yes, no = _test(op, x, value), _test(_NEGATE[op], x, value)
    return _Tri(_all(present + [yes]), _all(present + [no]), _any(absent),
                _any(absent + [no]), _any(absent + [yes]))


def _tri_in(node: In) -> _Tri:
    operand = node.operand
    if isinstance(operand, (Arith, Neg)):
        raise ExprError(f"arithmetic must be lifted before translation ({node}); use lift_arithmetic")
    if not isinstance(operand, Name) or not node.values:
        tri = _const_tri(bool(_eval_bool(In(operand, node.values, False), {})))
    else:
        x = _field(operand)
        values = [_literal_json(v) for v in node.values]
        member = _any([{x: v} for v in values])
        outside = _all([{"$neq": {x: v}} for v in values])
        nok = _not_ok(x)
        tri = _Tri(_all([_ok(x), member]), _all([_ok(x), outside]), nok,
                   _any([nok, outside]), _any([nok, member]))
    return tri.swap() if node.negate else tri


def _constant(tri: _Tri) -> bool | None:
    if tri.u is _FALSE and (tri.t is _TRUE or tri.f is _TRUE):
        return tri.t is _TRUE
    return None


def _smallest(*conds: _Cond) -> _Cond:
    return min(conds, key=lambda c: (_connectives(c), len(_key(c)) if isinstance(c, dict) else 0))


def _tri_junction(node: And | Or) -> _Tri:
    """Kleene ``and`` / ``or``. Constant items are dropped first, so the output stays small
    and only a condition that is constant as a whole needs the anchor field."""
    is_and = isinstance(node, And)
    parts = []
    for item in node.items:
        tri = _tri(item)
        const = _constant(tri)
        if const is None:
            parts.append(tri)
        elif const is not is_and:           # false in an and, true in an or: decided
            return _const_tri(const)
    if not parts:
        return _const_tri(is_and)
    if len(parts) == 1:
        return parts[0]
    meet, join = (_all, _any) if is_and else (_any, _all)
    nt, nf = join([p.nt for p in parts]), meet([p.nf for p in parts])
    # Unknown is "neither true nor false"; equivalently (and the smaller one is kept):
    # and: no item false and some item unknown; or: no item true and some item unknown.
    some_unknown = _any([p.u for p in parts])
    u = _smallest(_all([nt, nf]), _all([nf if is_and else nt, some_unknown]))
    return _Tri(meet([p.t for p in parts]), join([p.f for p in parts]), u, nt, nf)


def _tri(node: Node) -> _Tri:
    if isinstance(node, Compare):
        return _tri_compare(node)
    if isinstance(node, In):
        return _tri_in(node)
    if isinstance(node, (And, Or)):
        return _tri_junction(node)
    if isinstance(node, Not):
        return _tri(node.item).swap()
    if isinstance(node, (Arith, Neg)):
        raise ExprError(f"expected a condition, got arithmetic ({node})")
    return _tri(_as_condition(node))


def to_durable(node: Node, anchor: str = "school_id") -> tuple[dict, dict, dict]:
    """durable-rules JSON conditions ``(T, F, U)`` matching when ``node`` is true/false/unknown.

    The node must be a condition without arithmetic (see :func:`lift_arithmetic`). Every
    fact must carry, for every name ``x`` the condition reads, a field ``x__st`` equal to
    ``"ok"`` when ``x`` has a value (anything else, e.g. ``"missing"`` or ``"na"``, when it
    has none): presence is a field because ``$nex`` hangs durable-rules 2.0.28.

    Only a condition that is constant as a whole needs a constant matcher; it is written on
    the ``anchor`` field, which every fact must then carry: always = ``{"$ex": {anchor: 1}}``,
    never = a contradiction on it. (Conditions on ``id``/``sid`` hang the engine, so those
    cannot serve.)

    Engine notes (2.0.28): an ``$or`` matcher fires its rule once per matching branch, so
    count a (fact, rule) pair once; a pattern holds at most 15 ``$and``/``$or`` (a larger
    condition is an :class:`ExprError` here rather than error 113 from the engine); text must
    only be compared with text and numbers with numbers (the engine's mixed-type comparisons
    are meaningless, and the evaluators here raise :class:`ExprError` for them).
    """
    tri = _tri(node)
    for part in (tri.t, tri.f, tri.u):
        used = _connectives(part)
        if used > DURABLE_MAX_CONNECTIVES:
            raise ExprError(f"condition too complex for durable-rules ({used} $and/$or, the "
                            f"limit is {DURABLE_MAX_CONNECTIVES}); split it into several rules: {node}")

    def final(c: _Cond) -> dict:
        if c is _TRUE:
            return {"$ex": {anchor: 1}}
        if c is _FALSE:
            return {"$and": [{anchor: ""}, {"$neq": {anchor: ""}}]}
        return c

    return final(tri.t), final(tri.f), final(tri.u)
