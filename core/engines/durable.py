"""The durable-rules back end: each compiled rule becomes durable-rules JSON conditions.

Built around the engine's measured limits (see the README, "Engines"):

* one ``Host`` per engine object, created on first use — never at import (``get_host()`` is a
  global singleton) — and without its dispatch threads: they serve timers and queued events,
  which edubalance never uses, and they race the calls made from the evaluating thread;
* every fact carries an explicit unique ``id`` and its own session ``sid``, and the session is
  deleted after the fact is judged (the engine allows 1,024 live sessions per ruleset, and
  fact identity is otherwise a 32-bit hash that can merge distinct schools);
* presence is a field (``<name>__st`` = ``ok`` / ``missing`` / ``na``) rather than ``$nex``,
  which hangs the engine as soon as another rule fires on the same fact;
* at most :data:`RULES_PER_RULESET` rules per ruleset (a fact may match at most 64 conditions);
* every ruleset has one rule that matches every fact, so no fact goes unhandled: deleting the
  session of a fact that matched nothing, on a ruleset that has handled no fact yet, crashes
  the process (``munmap_chunk(): invalid pointer``);
* an ``$or`` condition fires once per true branch, so repeated hits of one verdict count once.

Each rule and stage gives three durable rules — pass, fail, missing_data; a rule none of them
matches is ``not_applicable``. The precedence is the one in ``engines/__init__``.
"""
from __future__ import annotations

import itertools
import math
from typing import Any

from .. import expr
from ..model import FAIL, MISSING_DATA, NOT_APPLICABLE, PASS, Rule, RuleResults
from ..table import TEXT_FIELDS, Table
from . import values_and_thresholds

RULES_PER_RULESET = 40
JSON_OP = {"<": "$lt", "<=": "$lte", ">": "$gt", ">=": "$gte", "!=": "$neq"}
NEGATE = {"<": ">=", "<=": ">", ">": "<=", ">=": "<", "==": "!=", "!=": "=="}
_ids = itertools.count()


def _st(name: str, state: str) -> dict:
    return {f"{name}__st": state}


def _not_st(name: str, state: str) -> dict:
    return {"$neq": {f"{name}__st": state}}


def _and(*items: dict | None) -> dict:
    items = [i for i in items if i is not None]
    return items[0] if len(items) == 1 else {"$and": list(items)}


def _or(*items: dict) -> dict:
    return items[0] if len(items) == 1 else {"$or": list(items)}


def _compare(name: str, operator: str, right: Any) -> dict:
    """``name operator right`` where right is a number or ``{"$m": other}``."""
    if operator == "==":
        return {name: right} if not isinstance(right, dict) else {"$and": [
            {"$lte": {name: right}}, {"$gte": {name: right}}]}
    return {JSON_OP[operator]: {name: right}}


def rule_conditions(rule: Rule) -> list[tuple[int, dict]]:
    """[(verdict code, durable condition)] for one compiled rule."""
    if rule.scope is not None:
        scope_t, _scope_f, scope_u = expr.to_durable(rule.scope)
    else:
        scope_t, scope_u = None, None
    m, tm = rule.measure, rule.threshold_measure
    defined = [_not_st(m, "na")] + ([_not_st(tm, "na")] if tm else [])
    ok = [_st(m, "ok")] + ([_st(tm, "ok")] if tm else [])
    missing_measure = _or(_st(m, "missing"), *([_st(tm, "missing")] if tm else []))
    out: list[tuple[int, dict]] = []
    for stage, value in rule.thresholds.items():
        right: Any = {"$m": tm} if tm else value
        stage_is = {"stage": stage}
        out.append((PASS, _and(stage_is, scope_t, *ok, _compare(m, rule.operator, right))))
        out.append((FAIL, _and(stage_is, scope_t, *ok, _compare(m, NEGATE[rule.operator], right))))
        judged_missing = _and(scope_t, missing_measure) if scope_t is not None else missing_measure
        why = _or(scope_u, judged_missing) if scope_u is not None else judged_missing
        out.append((MISSING_DATA, _and(stage_is, *defined, why)))
    return out


def fact_names(rules: list[Rule]) -> list[str]:
    """Every field a fact must carry for these rules."""
    names: set[str] = set()
    for r in rules:
        names.add(r.measure)
        if r.threshold_measure:
            names.add(r.threshold_measure)
        if r.scope is not None:
            names |= expr.names(r.scope)
    names.discard("stage")
    return sorted(names)


class DurableEngine:
    name = "durable"

    def __init__(self) -> None:
        self._host = None
        self._compiled: dict[tuple, list[str]] = {}
        self._hits: dict[str, list] = {}

    @property
    def host(self):
        if self._host is None:
            from durable import engine as durable_engine

            class QuietHost(durable_engine.Host):
                def _run(self) -> None:  # no dispatch threads (see the module docstring)
                    pass

            self._host = QuietHost()
        return self._host

    def _rulesets(self, rules: list[Rule]) -> list[str]:
        key = tuple(id(r) for r in rules)
        if key in self._compiled:
            return self._compiled[key]
        names = []
        for start in range(0, len(rules), RULES_PER_RULESET):
            chunk = rules[start:start + RULES_PER_RULESET]
            name = f"edubalance_{next(_ids)}"
            hits: list = []
            definition = {}
            for k, rule in enumerate(chunk, start=start):
                for j, (code, cond) in enumerate(rule_conditions(rule)):
                    definition[f"r{k}_{j}"] = {"all": [{"m": cond}], "run": self._action(hits, k, code)}
            if definition:
                definition["anchor"] = {"all": [{"m": {"$gte": {"i": 0}}}], "run": _ignore}
                self._register(name, definition, chunk)
                self._hits[name] = hits
                names.append(name)
        self._compiled[key] = names
        return names

    def _register(self, name: str, definition: dict, chunk: list[Rule]) -> None:
        """Create the ruleset; if durable-rules refuses it, say which rule is too complex."""
        try:
            self.host.set_rulesets({name: definition})
        except Exception as exc:  # durable_rules_engine.error carries only a number
            for rule in chunk:
                try:
                    probe = {f"p{j}": {"all": [{"m": cond}], "run": _ignore}
                             for j, (_, cond) in enumerate(rule_conditions(rule))}
                    self.host.set_rulesets({f"{name}_probe_{next(_ids)}": probe})
                except Exception:
                    raise ValueError(f"durable back end: rule {rule.id} is too complex for durable-rules "
                                     f"(its scope: {rule.scope_text}); use --engine vector ({exc})") from None
            raise ValueError(f"durable back end: durable-rules refused the rules ({exc})") from None

    @staticmethod
    def _action(hits: list, k: int, code: int):
        def run(c) -> None:
            hits.append((c.m["i"], k, code))
        return run

    def evaluate(self, rules: list[Rule], table: Table, progress=None) -> RuleResults:
        results = RuleResults.empty(rules, table.n)
        for k, rule in enumerate(rules):
            results.value[k], results.threshold[k] = values_and_thresholds(rule, table)
        if not rules or table.n == 0:
            return results
        names = fact_names(rules)
        facts = _facts(table, names)
        rulesets = self._rulesets(rules)
        run_id = next(_ids)
        for i, fact in enumerate(facts):
            for name in rulesets:
                sid = f"{run_id}-{i}"
                fact["id"], fact["sid"] = f"f{run_id}-{i}", sid
                self.host.assert_fact(name, fact)
                self.host.delete_state(name, sid)
            if progress and (i + 1) % 500 == 0:
                progress(500)
        if progress:
            progress(table.n % 500)
        conflicts = []
        for name in rulesets:
            hits = self._hits[name]
            for i, k, code in hits:
                # An $or condition fires once per true branch: the same verdict twice is one verdict.
                if results.status[k, i] != NOT_APPLICABLE and results.status[k, i] != code:
                    conflicts.append(f"rule {rules[k].id}, record {i}")
                results.status[k, i] = code
            hits.clear()
        if conflicts:
            raise RuntimeError("durable back end: conflicting verdicts for " + "; ".join(conflicts[:5]))
        return results


def _ignore(c) -> None:
    """The anchor rule's action: it exists only so that every fact is handled."""


def _facts(table: Table, names: list[str]) -> list[dict]:
    """One JSON-safe dict per record, with ``<name>__st`` presence fields."""
    cols = []
    for name in names + ["stage"]:
        col = table.get(name)
        undefined = table.is_undefined(name)
        cols.append((name, col, undefined, name in TEXT_FIELDS or col.dtype == object))
    facts = []
    for i in range(table.n):
        fact: dict[str, Any] = {"i": i}
        for name, col, undefined, is_text in cols:
            v = col[i]
            if is_text:
                if v is None:
                    fact[f"{name}__st"] = "missing"
                else:
                    fact[name] = v
                    fact[f"{name}__st"] = "ok"
            elif undefined[i]:
                fact[f"{name}__st"] = "na"
            elif math.isnan(v):
                fact[f"{name}__st"] = "missing"
            else:
                fact[name] = float(v)
                fact[f"{name}__st"] = "ok"
        facts.append(fact)
    return facts

