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
Kleene's three-valued tables. The same semantics are implemented three times — one row
(:mod:`.scalar`), whole columns (:func:`evaluate_columns`) and as durable-rules JSON
(:func:`to_durable`) — and a test demands they agree on random conditions and records.
A compiled rule's names have types (number or text), checked before anything runs
(:func:`check_types`), so both back ends refuse the same rules.

One job per module: :mod:`.nodes` (the tree and its text), :mod:`.parser` (text to tree),
:mod:`.types` (type checking), :mod:`.lift` (arithmetic out of conditions), :mod:`.scalar`
(one row), :mod:`.columns` (whole columns), :mod:`.durable` (durable-rules JSON).
"""
from __future__ import annotations

from .columns import evaluate_columns, evaluate_conditions
from .durable import DURABLE_MAX_CONNECTIVES, STATUS_OK, STATUS_SUFFIX, to_durable
from .lift import lift_arithmetic
from .nodes import And, Arith, Compare, ExprError, In, Name, Neg, Node, Not, Num, Or, Str, names
from .parser import MAX_DEPTH, MAX_LENGTH, MAX_NESTING, parse, parse_condition, parse_value
from .types import NUMBER, TEXT, check_types

__all__ = [
    "ExprError", "Node", "Num", "Str", "Name", "Arith", "Neg", "Compare", "In", "And", "Or",
    "Not", "parse", "parse_condition", "parse_value", "names", "evaluate_columns",
    "evaluate_conditions", "check_types", "NUMBER", "TEXT",
    "lift_arithmetic", "to_durable", "MAX_LENGTH", "MAX_NESTING", "MAX_DEPTH",
    "STATUS_SUFFIX", "STATUS_OK", "DURABLE_MAX_CONNECTIVES",
]
