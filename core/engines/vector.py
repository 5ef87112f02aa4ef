"""The columnar back end: every rule is a handful of NumPy operations over whole columns."""
from __future__ import annotations

import operator as op

import numpy as np

from .. import expr
from ..model import FAIL, MISSING_DATA, NOT_APPLICABLE, PASS, Rule, RuleResults
from ..table import Table
from . import stage_thresholds, values_and_thresholds

COMPARE = {"<": op.lt, "<=": op.le, ">": op.gt, ">=": op.ge, "==": op.eq, "!=": op.ne}


def rule_status(rule: Rule, table: Table, scopes: dict | None = None,
                thresholds: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Verdict codes of one rule over the table, in the precedence of engines/__init__.

    ``scopes`` caches evaluated scopes for one table: many rules share one scope
    (the seven 2017 indicators all apply to the same school types). ``thresholds`` is the
    rule's ``stage_thresholds`` if the caller has it already.
    """
    n = table.n
    thr, has_thr = thresholds if thresholds is not None else stage_thresholds(rule, table)
    if rule.scope is not None:
        if scopes is None:
            scope_t, scope_f = expr.evaluate_columns(rule.scope, table)
        else:
            found = scopes.get(rule.scope)        # nodes are frozen: equal scopes, one key
            if found is None:
                found = scopes[rule.scope] = expr.evaluate_columns(rule.scope, table)
            scope_t, scope_f = found
    else:
        scope_t, scope_f = np.ones(n, bool), np.zeros(n, bool)
    scope_u = ~scope_t & ~scope_f
    undefined = table.is_undefined(rule.measure)
    present = table.present(rule.measure)
    if rule.threshold_measure:
        undefined = undefined | table.is_undefined(rule.threshold_measure)
        present = present & table.present(rule.threshold_measure)
    candidate = has_thr & ~scope_f & ~undefined
    status = np.full(n, NOT_APPLICABLE, dtype=np.int8)
    status[candidate & (scope_u | ~present)] = MISSING_DATA
    judged = candidate & scope_t & present
    with np.errstate(invalid="ignore"):
        ok = COMPARE[rule.operator](table.get(rule.measure), thr)
    status[judged & ok] = PASS
    status[judged & ~ok] = FAIL
    return status


class VectorEngine:
    name = "vector"

    def evaluate(self, rules: list[Rule], table: Table, progress=None) -> RuleResults:
        results = RuleResults.empty(rules, table.n)
        scopes: dict = {}
        stage_masks: dict = {}
        for k, rule in enumerate(rules):
            thr, has = stage_thresholds(rule, table, stage_masks)
            results.status[k] = rule_status(rule, table, scopes, (thr, has))
            results.value[k], results.threshold[k] = values_and_thresholds(rule, table, (thr, has))
        if progress:
            progress(table.n)
        return results
