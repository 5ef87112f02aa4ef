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

* its JSON reader refuses a number written with an exponent but no fraction (``1e+20``: "Could
  not assert fact, error code 204") and non-finite numbers (error 202), so facts and rulesets
  are written by :func:`durable_json` (``1.0e+20``; ±infinity as the largest finite double,
  which compares the same with any finite threshold);
* rulesets live until they are deleted: an engine object compiles each rule list once and
  reuses it, keeps at most :data:`CACHED_RULE_LISTS` of them (the least recently used are
  deleted) and deletes its rulesets when it is dropped, so a long-lived process — one
  ``Evaluator`` judging records one at a time, or a new ``Evaluator`` per request — keeps
  flat memory (about 1.8 MB per ruleset otherwise never freed).

Each rule and stage gives three durable rules — pass, fail, missing_data; a rule none of them
matches is ``not_applicable``. The precedence is the one in ``engines/__init__``.
"""
from __future__ import annotations

import gc
import itertools
import json
import math
import re
import sys
import weakref
from collections import OrderedDict
from typing import Any

from .. import expr
from ..model import FAIL, MISSING_DATA, NOT_APPLICABLE, PASS, Rule, RuleResults
from ..progress import Progress
from ..table import TEXT_FIELDS, Table
from . import values_and_thresholds

RULES_PER_RULESET = 40
#: Rule lists an engine object keeps compiled (a province and a year each); older ones are deleted.
CACHED_RULE_LISTS = 32
#: Rulesets alive at once in one process, all engine objects together (about 1.8 MB each in the
#: engine's own memory): beyond it ``auto`` picks the columnar back end and ``durable`` refuses.
MAX_LIVE_RULESETS = 1000
#: With the collector off, the facts judged between collections of the generation their young
#: survivors go to (each fact's own cycles are collected after it, as the collector would).
SWEEP_OLDER = 10
#: Handles of every live ruleset of the process: the engine's memory is per process, not per object.
_LIVE: dict[str, Any] = {}
JSON_OP = {"<": "$lt", "<=": "$lte", ">": "$gt", ">=": "$gte", "!=": "$neq"}
NEGATE = {"<": ">=", "<=": ">", ">": "<=", ">=": "<", "==": "!=", "!=": "=="}
_ids = itertools.count()


def _st(name: str, state: str) -> dict:
    return {f"{name}__st": state}


def _not_st(name: str, state: str) -> dict:
    return {"$neq": {f"{name}__st": state}}


def _and(*items: dict | None) -> dict:
    given = [i for i in items if i is not None]
    return given[0] if len(given) == 1 else {"$and": list(given)}


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

    @staticmethod
    def has_room() -> bool:
        """Whether this process may create rulesets still (see :data:`MAX_LIVE_RULESETS`)."""
        return len(_LIVE) < MAX_LIVE_RULESETS

    def __init__(self) -> None:
        self._host: Any = None          # a durable-rules Host (the library has no types)
        #: id(rule) tuple -> (the rules, their ruleset names); the rules are held so that an id
        #: cannot be reused by another rule while its entry lives.
        self._compiled: OrderedDict[tuple, tuple[list[Rule], list[str]]] = OrderedDict()
        self._hits: dict[str, list] = {}
        #: ruleset name -> engine handle, shared with the finaliser that deletes them.
        self._handles: dict[str, Any] = {}
        # not at exit: the process's memory goes with it, and the engine may be torn down already
        weakref.finalize(self, _delete_rulesets, self._handles).atexit = False

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
        found = self._compiled.get(key)
        if found is not None:
            self._compiled.move_to_end(key)
            return found[1]
        names = []
        try:
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
        except BaseException:
            self._forget(names)
            raise
        self._compiled[key] = (list(rules), names)
        while len(self._compiled) > CACHED_RULE_LISTS:
            _, (_, old) = self._compiled.popitem(last=False)
            self._forget(old)
        return names

    def _register(self, name: str, definition: dict, chunk: list[Rule]) -> None:
        """Create the ruleset; if durable-rules refuses it, say which rule is too complex."""
        if not self.has_room():
            raise ValueError(f"durable back end: {len(_LIVE)} rulesets are alive in this process, the limit "
                             f"is {MAX_LIVE_RULESETS} (each holds about 1.8 MB until its Evaluator is "
                             "dropped); use --engine vector")
        try:
            self._create(name, definition)
        except Exception as exc:  # durable_rules_engine.error carries only a number
            for rule in chunk:
                probe_name = f"{name}_probe_{next(_ids)}"
                try:
                    probe = {f"p{j}": {"all": [{"m": cond}], "run": _ignore}
                             for j, (_, cond) in enumerate(rule_conditions(rule))}
                    self._create(probe_name, probe)
                except Exception:
                    raise ValueError(f"durable back end: rule {rule.id} is too complex for durable-rules "
                                     f"(its scope: {rule.scope_text}); use --engine vector ({exc})") from None
                finally:
                    self._forget([probe_name])
            raise ValueError(f"durable back end: durable-rules refused the rules ({exc})") from None

    def _create(self, name: str, definition: dict) -> None:
        """Register a ruleset written by :func:`durable_json` (see the module docstring)."""
        ruleset = _text_ruleset_class()(name, self.host, definition)
        self._handles[name] = _LIVE[name] = ruleset._handle
        self.host._ruleset_directory[name] = ruleset
        self.host._ruleset_list.append(ruleset)

    def _forget(self, names: list[str]) -> None:
        """Delete rulesets: the engine frees them only when asked."""
        for name in names:
            handle = self._handles.pop(name, None)
            self._hits.pop(name, None)
            if self._host is not None:
                ruleset = self._host._ruleset_directory.pop(name, None)
                if ruleset is not None:
                    self._host._ruleset_list.remove(ruleset)
            if handle is not None:
                _delete_rulesets({name: handle})

    @staticmethod
    def _action(hits: list, k: int, code: int):
        def run(c) -> None:
            hits.append((c.m["i"], k, code))
        return run

    def evaluate(self, rules: list[Rule], table: Table, progress: Progress | None = None
                 ) -> RuleResults:
        results = RuleResults.empty(rules, table.n)
        for k, rule in enumerate(rules):
            results.value[k], results.threshold[k] = values_and_thresholds(rule, table)
        if not rules or table.n == 0:
            return results
        names = fact_names(rules)
        facts = _facts(table, names)
        rulesets = self._rulesets(rules)
        run_id = next(_ids)
        # durable-rules leaves ~220 objects in cycles per fact: with the collector off (paused, or
        # the command's), the young ones are collected as we go, without touching its switch.
        sweep = not gc.isenabled()
        try:
            for i, fact in enumerate(facts):
                for name in rulesets:
                    sid = f"{run_id}-{i}"
                    fact["id"], fact["sid"] = f"f{run_id}-{i}", sid
                    try:
                        self.host.assert_fact(name, fact)
                    except Exception as exc:  # durable_rules_engine.error carries only a number
                        raise ValueError(f"durable back end: durable-rules could not judge record {i + 1} "
                                         f"({exc}); use --engine vector") from None
                    finally:
                        self.host.delete_state(name, sid)
                if sweep:
                    gc.collect(0 if i % SWEEP_OLDER else 1)
                if progress and (i + 1) % 500 == 0:
                    progress(500)
        except BaseException:
            for name in rulesets:            # a half-judged run leaves no verdicts behind
                self._hits[name].clear()
            raise
        finally:
            if sweep:              # the young cycles left now (a full collection: 15 ms a record)
                gc.collect(1)
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



#: Largest finite double: what an infinite value becomes in a fact (see :func:`durable_json`).
_FLOAT_MAX = sys.float_info.max
_SURROGATE = re.compile("[\ud800-\udfff]")
#: What ``json.dumps`` may write that the engine cannot read: an exponent, a non-finite number,
#: a lone surrogate, an integer past 2**53 (text that merely looks like one takes the careful path too).
_RISKY = re.compile("[0-9][eE]|(?<![0-9.])[0-9]{16}|Infinity|NaN|[\ud800-\udfff]")


def durable_json(value: Any) -> str:
    """JSON as durable-rules 2.0.28 reads it: a number with an exponent always has a fraction
    (``1.0e+20``: ``1e+20`` is refused), ±infinity is the largest finite double (the same answer
    against any finite threshold; NaN never reaches a fact, it is missing data), and a lone
    surrogate is written as its escape (the engine reads text as UTF-8 and compares it as bytes,
    so a condition and a fact holding the same text still match)."""
    text = json.dumps(value, ensure_ascii=False)
    return text if _RISKY.search(text) is None else _careful_json(value)


def _careful_json(value: Any) -> str:
    """:func:`durable_json` value by value (for the rare document that needs it)."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_text(str(k))}: {_careful_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_careful_json(v) for v in value) + "]"
    if isinstance(value, str):
        return _text(value)
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, int) and abs(value) < 2 ** 53:
        return str(value)
    number = float(value)
    if math.isnan(number):
        raise ValueError("durable back end: NaN cannot be written in a fact")
    if math.isinf(number):
        number = math.copysign(_FLOAT_MAX, number)
    text = repr(number)
    mantissa, e, exponent = text.partition("e")
    return f"{mantissa}.0e{exponent}" if e and "." not in mantissa else text


def _text(value: str) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text) if _SURROGATE.search(text) else text


def _delete_rulesets(handles: dict[str, Any]) -> None:
    """Free rulesets in the engine (also when their engine object is collected)."""
    import durable_rules_engine

    for name in list(handles):
        handle = handles.pop(name)
        _LIVE.pop(name, None)
        try:
            durable_rules_engine.delete_ruleset(handle)
        except Exception:  # an engine being torn down at exit
            pass


_TEXT_RULESET = None


def _text_ruleset_class():
    """durable-rules' Ruleset, written and fed through :func:`durable_json` instead of ``json.dumps``
    (made on first use: durable-rules is imported only when the back end runs)."""
    global _TEXT_RULESET
    if _TEXT_RULESET is None:
        import durable_rules_engine
        from durable import engine as durable_engine

        class TextRuleset(durable_engine.Ruleset):
            def __init__(self, name: str, host: Any, definition: dict) -> None:
                self._actions = {rule: durable_engine.Promise(body.pop("run")) for rule, body in definition.items()}
                self._name, self._host, self._definition = name, host, definition
                self._handle = durable_rules_engine.create_ruleset(name, durable_json(definition))

            def assert_fact(self, fact: dict) -> Any:
                return self._handle_result(durable_rules_engine.assert_fact(self._handle, durable_json(fact)), fact)

        _TEXT_RULESET = TextRuleset
    return _TEXT_RULESET
