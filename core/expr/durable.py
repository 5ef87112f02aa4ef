"""The rule language as durable-rules JSON conditions (true / false / unknown matchers).

The engine has no three-valued logic and no ``$nex`` that works beside other rules, so every
fact carries a presence field per name and each condition becomes three matchers; see
:func:`to_durable` for the engine's limits this shapes.
"""
from __future__ import annotations

import json
import math
from typing import Any, NamedTuple

from .nodes import (
    ORDERING_OPS, VALUE_NODES, And, Arith, Compare, ExprError, In, Name, Neg, Node, Not, Num, Or, Str,
    as_condition, describe,
)
from .scalar import eval_bool

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
_Cond = dict      # a durable-rules condition, or _TRUE / _FALSE

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
        raise ExprError(f"数字 {value!r} 无法写入 durable-rules JSON", f"the number {value!r} cannot be written in durable-rules JSON")
    return int(value) if float(value).is_integer() and abs(value) < 2 ** 53 else float(value)


def _field(node: Name) -> str:
    if node.name in RESERVED_FIELDS:
        raise ExprError(f"名称 {node.name!r} 为 durable-rules 保留", f"the name {node.name!r} is reserved by durable-rules")
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
            raise ExprError(f"算术式须先提出再转换（{node}），请用 lift_arithmetic",
                            f"arithmetic must be lifted before translation ({node}); use lift_arithmetic")
        if not isinstance(side, VALUE_NODES):
            raise ExprError(f"应为数值，却是{describe(side, zh=True)}（{node}）",
                            f"expected a value, got {describe(side)} in ({node})")
    if not isinstance(left, Name) and not isinstance(right, Name):
        return _const_tri(bool(eval_bool(node, {})))
    op = node.op
    if not isinstance(left, Name):
        left, right, op = right, left, _FLIP[op]
    assert isinstance(left, Name)       # one side is a name (both constant returned above)
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
            raise ExprError(f"文字只能用 '==' 或 '!=' 比较（{node}）", f"text can only be compared with '==' or '!=' ({node})")
        assert isinstance(right, (Num, Str))    # the value nodes left once names and arithmetic are out
        present, absent = [_ok(x)], [_not_ok(x)]
        value = _literal_json(right.value)
    yes, no = _test(op, x, value), _test(_NEGATE[op], x, value)
    return _Tri(_all(present + [yes]), _all(present + [no]), _any(absent),
                _any(absent + [no]), _any(absent + [yes]))


def _tri_in(node: In) -> _Tri:
    operand = node.operand
    if isinstance(operand, (Arith, Neg)):
        raise ExprError(f"算术式须先提出再转换（{node}），请用 lift_arithmetic",
                        f"arithmetic must be lifted before translation ({node}); use lift_arithmetic")
    if not isinstance(operand, Name) or not node.values:
        tri = _const_tri(bool(eval_bool(In(operand, node.values, False), {})))
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
        raise ExprError(f"应为条件，却是算术式（{node}）", f"expected a condition, got arithmetic ({node})")
    return _tri(as_condition(node))


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
            raise ExprError(f"条件对 durable-rules 过于复杂（{used} 个 $and/$or，上限为 {DURABLE_MAX_CONNECTIVES}），"
                            f"请拆成几条规则：{node}",
                            f"condition too complex for durable-rules ({used} $and/$or, the "
                            f"limit is {DURABLE_MAX_CONNECTIVES}); split it into several rules: {node}")

    def final(c: _Cond) -> dict:
        if c is _TRUE:
            return {"$ex": {anchor: 1}}
        if c is _FALSE:
            return {"$and": [{anchor: ""}, {"$neq": {anchor: ""}}]}
        return c

    return final(tri.t), final(tri.f), final(tri.u)

