"""The columnar back end: every rule is a handful of NumPy operations over whole columns."""
from __future__ import annotations

import operator as op

import numpy as np

from .. import expr
from ..model import FAIL, MISSING_DATA, NOT_APPLICABLE, PASS, Rule, RuleResults
from ..table import Table
from . import stage_thresholds, values_and_thresholds

COMPARE = {"<": op.lt, "<=": op.le, ">": op.gt, ">=": op.ge, "==": op.eq, "!=": op.ne}


def rule_status(rule: Rule, table: Table) -> np.ndarray:
    """Verdict codes of one rule over the table, in the precedence of engines/__init__."""
    n = table.n
    thr, has_thr = stage_thresholds(rule, table)
    if rule.scope is not None:
        scope_t, scope_f = expr.evaluate_columns(rule.scope, table)
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
        for k, rule in enumerate(rules):
            results.status[k] = rule_status(rule, table)
            results.value[k], results.threshold[k] = values_and_thresholds(rule, table)
        if progress:
            progress(table.n)
        return results
