"""Text to tree: the tokeniser and the recursive-descent parser of the rule language.

No ``eval``, no Python ``compile``: anything outside the grammar (see the package docstring) is
an :class:`ExprError` naming the column and what was expected; the text's length, nesting and
tree depth are bounded so that a rule file cannot make parsing expensive.
"""
from __future__ import annotations

import difflib
import keyword
import math
import re
from typing import Any, Callable, Collection, NamedTuple

from .nodes import (
    BOOL_NODES, COMPARE_OPS, NUMERIC_NODES, ORDERING_OPS, And, Arith, Compare, ExprError, In, Name, Neg,
    Node, Not, Num, Or, Str, as_condition, children, describe,
)

#: Longest accepted expression text, so a rule file cannot make parsing expensive.
MAX_LENGTH = 2000
#: Deepest nesting of parentheses, ``not`` and unary minus in the text (bounds recursion).
MAX_NESTING = 50
#: Deepest accepted tree (long ``a + b + c …`` chains nest to the left).
MAX_DEPTH = 100

KEYWORDS = frozenset({"and", "or", "not", "in", "true", "false"})


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



def _as_value(node: Node, col: int | None = None, numeric: bool = False) -> Node:
    where = f" at column {col}" if col else ""
    if isinstance(node, BOOL_NODES):
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
        self.known_sorted = [] if self.known is None else sorted(self.known)   # read only when known is given

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
        return cls(tuple(as_condition(n, c) for n, c in items))

    def not_(self) -> Node:
        if self.at("kw", "not"):
            tok = self.take()
            self.enter(tok)
            col = self.peek().col
            item = self.not_()
            self.leave()
            return Not(as_condition(item, col))
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



def _check_depth(node: Node) -> None:
    stack = [(node, 1)]
    while stack:
        n, d = stack.pop()
        if d > MAX_DEPTH:
            raise ExprError(f"expression nested deeper than {MAX_DEPTH} levels "
                            "(split long chains into computed measures)")
        stack.extend((c, d + 1) for c in children(n))


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
    return as_condition(parse(text, known_names), 1)


def parse_value(text: str, known_names: Collection[str] | None = None) -> Node:
    """Parse a numeric value (a computed measure)."""
    node = parse(text, known_names)
    if not isinstance(node, NUMERIC_NODES):
        raise ExprError(f"expected a numeric value, got {describe(node)}")
    return node

