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
#: What the parser expects after a whole expression (中文, English).
_OPERATOR_OR_END = ("运算符或表达式结尾", "an operator or the end of the expression")
_PY_KEYWORD = ("规则语言不支持 Python 关键字", "Python keywords are not part of the rule language")


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

# Characters people may try, with the reason they are refused (中文, English).
_CHAR_HINTS = {
    ".": ("规则语言不支持属性访问", "attribute access is not part of the rule language"),
    ";": ("条件只能是一个表达式", "a condition is a single expression"),
    "=": ("比较相等请用 '=='", "use '==' to compare"),
    "!": ("请用 'not'（或 '!='）", "use 'not' (or '!=')"),
    "&": ("请用 'and'", "use 'and'"),
    "|": ("请用 'or'", "use 'or'"),
    ":": ("规则语言不支持 lambda、切片和字典", "lambdas, slices and dictionaries are not part of the rule language"),
    "%": ("运算符只有 + - * /", "the operators are + - * /"),
    "@": ("运算符只有 + - * /", "the operators are + - * /"),
    "{": ("值的列表请在 'in' 之后写作 [...]", "use [...] after 'in' for a list of values"),
    "}": ("值的列表请在 'in' 之后写作 [...]", "use [...] after 'in' for a list of values"),
}
_NOT_IN_LANGUAGE = ("规则语言不支持此字符", "this character is not part of the rule language")


def _describe_char(ch: str, zh: bool = False) -> str:
    if ch.isprintable():
        return repr(ch)
    return f"字符 U+{ord(ch):04X}" if zh else f"character U+{ord(ch):04X}"


def _unexpected(what: str, col: int, zh: str, en: str) -> ExprError:
    """``unexpected <what> at column <col>: <en>``, Chinese first."""
    return ExprError(f"第 {col} 列出现意外的 {what}：{zh}", f"unexpected {what} at column {col}: {en}")


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
                err = ExprError(f"第 {col} 列起的文字缺少结尾的 {ch}",
                                f"unterminated text starting at column {col}: expected a closing {ch}")
            elif ch == "." and text[pos + 1:pos + 2].isdigit():
                err = _unexpected("'.'", col, "数字须以数字开头（写作 0.5）",
                                  "write numbers with a leading digit (0.5)")
            else:
                hint_zh, hint = _CHAR_HINTS.get(ch, _NOT_IN_LANGUAGE)
                err = ExprError(f"第 {col} 列出现意外的 {_describe_char(ch, zh=True)}：{hint_zh}",
                                f"unexpected {_describe_char(ch)} at column {col}: {hint}")
            toks.append(_Tok("err", ch, col, err))
            return toks
        kind, tok = m.lastgroup, m.group()
        pos = m.end()
        if kind == "ws":
            continue
        if kind == "num":
            if pos < len(text) and (text[pos].isalnum() or text[pos] in "._"):
                bad = text[pos]
                toks.append(_Tok("err", tok, col, ExprError(
                    f"第 {col} 列的数字有误：第 {pos + 1} 列出现意外的 {_describe_char(bad, zh=True)}",
                    f"malformed number at column {col}: unexpected {_describe_char(bad)} at column {pos + 1}")))
                return toks
            value = float(tok)
            if not math.isfinite(value):
                toks.append(_Tok("err", tok, col, ExprError(f"第 {col} 列的数字超出范围",
                                                            f"number out of range at column {col}")))
                return toks
            toks.append(_Tok("num", tok, col, value))
        elif kind == "name":
            toks.append(_Tok("kw" if tok in KEYWORDS else "name", tok, col))
        elif kind == "str":
            toks.append(_Tok("str", tok, col, tok[1:-1]))
        elif tok == "**":
            toks.append(_Tok("err", tok, col, _unexpected("'**'", col, "规则语言没有乘方",
                                                          "powers are not part of the rule language")))
            return toks
        else:
            toks.append(_Tok("op", tok, col))
    toks.append(_Tok("eof", "", len(text) + 1))
    return toks



def _as_value(node: Node, col: int | None = None, numeric: bool = False) -> Node:
    where_zh, where = (f"第 {col} 列", f" at column {col}") if col else ("", "")
    if isinstance(node, BOOL_NODES):
        raise ExprError(f"{where_zh}应为数值，却是条件", f"expected a value{where}, got a condition")
    if numeric and isinstance(node, Str):
        raise ExprError(f"{where_zh}文字不能参与算术运算", f"text cannot be used in arithmetic{where}")
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
            raise tok.value
        return tok

    def take(self) -> _Tok:
        tok = self.peek()
        self.i += 1
        return tok

    def at(self, kind: str, text: str | None = None) -> bool:
        tok = self.peek()
        return tok.kind == kind and (text is None or tok.text == text)

    def fail(self, tok: _Tok, expected: tuple[str, str]) -> ExprError:
        """The error for ``tok`` where ``expected`` (中文, English) was."""
        prev = self.toks[self.i - 1] if self.i > 0 else None
        if tok.kind == "eof":
            return ExprError(f"第 {tok.col} 列处表达式意外结束：应为{expected[0]}",
                             f"unexpected end of input at column {tok.col}: expected {expected[1]}")
        what = f"'{tok.text}'"
        if prev is not None and (prev.kind == "name" or prev.text == ")"):
            if tok.text == "(":
                return _unexpected("'('", tok.col, "规则语言没有函数", "functions are not part of the rule language")
            if tok.text == "[":
                return _unexpected("'['", tok.col, "规则语言不支持下标", "indexing is not part of the rule language")
        if tok.text in COMPARE_OPS and expected == _OPERATOR_OR_END:
            return _unexpected(what, tok.col, "比较不能连写，请用 'and' 连接",
                               "comparisons cannot be chained; join them with 'and'")
        if tok.text == "[":
            return _unexpected("'['", tok.col, "列表只能写在 'in' 之后", "lists are only allowed after 'in'")
        if tok.kind == "name" and keyword.iskeyword(tok.text):
            return _unexpected(what, tok.col, _PY_KEYWORD[0], _PY_KEYWORD[1])
        return _unexpected(what, tok.col, f"应为{expected[0]}", f"expected {expected[1]}")

    def enter(self, tok: _Tok) -> None:
        self.nesting += 1
        if self.nesting > MAX_NESTING:
            raise ExprError(f"第 {tok.col} 列处表达式嵌套超过 {MAX_NESTING} 层",
                            f"expression nested deeper than {MAX_NESTING} levels at column {tok.col}")

    def leave(self) -> None:
        self.nesting -= 1

    # grammar
    def parse(self) -> Node:
        node = self.or_()
        if not self.at("eof"):
            raise self.fail(self.peek(), _OPERATOR_OR_END)
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
                raise ExprError(f"文字只能用 '==' 或 '!=' 比较（第 {tok.col} 列的 '{tok.text}'）",
                                f"text can only be compared with '==' or '!=' ('{tok.text}' at column {tok.col})")
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
            raise _unexpected("'not'", tok.col, "'not' 之后应为 'in'（否定条件时 'not' 写在条件之前）",
                              "expected 'in' after 'not' (write 'not' before a condition)")
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
                raise self.fail(self.peek(), (f"闭合第 {tok.col} 列 '(' 的 ')'",
                                              f"')' to close the '(' at column {tok.col}"))
            self.take()
            self.leave()
            return node
        raise self.fail(tok, ("值（数字、'文字'、名称、true、false 或 '('）",
                              "a value (number, 'text', name, true, false or '(')"))

    def _check_name(self, tok: _Tok) -> str:
        name = tok.text
        if name in ("True", "False"):
            raise _unexpected(repr(name), tok.col, f"请写 {name.lower()!r}", f"write {name.lower()!r}")
        if name == "None":
            raise _unexpected("'None'", tok.col, "缺失值由规则引擎处理，不写在条件中",
                              "missing values are handled by the rule engine, not written in conditions")
        if keyword.iskeyword(name):
            raise _unexpected(repr(name), tok.col, _PY_KEYWORD[0], _PY_KEYWORD[1])
        if self.known is not None and name not in self.known:
            close = difflib.get_close_matches(name, self.known_sorted, n=1)
            hint_zh, hint = (f"；是否想写 {close[0]!r}？", f"; did you mean {close[0]!r}?") if close else ("", "")
            raise ExprError(f"第 {tok.col} 列的名称 {name!r} 未知{hint_zh}",
                            f"unknown name {name!r} at column {tok.col}{hint}")
        return name

    def list_(self) -> tuple:
        open_tok = self.peek()
        if not self.at("op", "["):
            what = self._tok_text(open_tok)
            raise ExprError(f"第 {open_tok.col} 列出现意外的 {self._tok_text(open_tok, zh=True)}："
                            "'in' 之后应为列表 '[...]'",
                            f"unexpected {what} at column {open_tok.col}: expected a list '[...]' after 'in'")
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
            raise self.fail(self.peek(), ("列表中的 ',' 或 ']'", "',' or ']' in the list"))
        if len({isinstance(v, str) for v in values}) > 1:
            raise ExprError(f"第 {open_tok.col} 列的列表混有数字和文字",
                            f"the list at column {open_tok.col} mixes numbers and text")
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
        raise self.fail(tok, ("列表中的数字、'文字'、true 或 false", "a number, 'text', true or false in the list"))

    @staticmethod
    def _tok_text(tok: _Tok, zh: bool = False) -> str:
        if tok.kind == "eof":
            return "表达式结尾" if zh else "end of input"
        return f"'{tok.text}'"



def _check_depth(node: Node) -> None:
    stack = [(node, 1)]
    while stack:
        n, d = stack.pop()
        if d > MAX_DEPTH:
            raise ExprError(f"表达式嵌套超过 {MAX_DEPTH} 层（长的连加、连乘请拆成计算指标）",
                            f"expression nested deeper than {MAX_DEPTH} levels (split long chains into computed measures)")
        stack.extend((c, d + 1) for c in children(n))


def parse(text: str, known_names: Collection[str] | None = None) -> Node:
    """Parse ``text``; with ``known_names``, every NAME must be one of them."""
    if not isinstance(text, str):
        raise ExprError(f"表达式须为文字，而不是 {type(text).__name__}",
                        f"an expression must be text, not {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ExprError(f"表达式长 {len(text)} 个字符，上限为 {MAX_LENGTH}",
                        f"expression is {len(text)} characters long; the limit is {MAX_LENGTH}")
    if not text.strip():
        raise ExprError("表达式为空", "empty expression")
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
        raise ExprError(f"应为数值，却是{describe(node, zh=True)}", f"expected a numeric value, got {describe(node)}")
    return node

