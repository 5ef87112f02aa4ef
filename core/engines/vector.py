"""The columnar back end: a rule list is a handful of NumPy operations over whole columns.

The rules of a list are judged together, as ``[rules, records]`` matrices built from a
:class:`RulePlan` made once per list, so the cost hardly depends on how many rules or records
there are; a national file is judged in blocks of records, to bound the temporaries.
"""
from __future__ import annotations

import operator as op

import numpy as np

from .. import expr
from ..model import FAIL, MISSING_DATA, NOT_APPLICABLE, PASS, Rule, RuleResults
from ..table import Table
from . import stage_thresholds, values_and_thresholds

COMPARE = {"<": op.lt, "<=": op.le, ">": op.gt, ">=": op.ge, "==": op.eq, "!=": op.ne}
#: The same comparisons as ufuncs, which can write into a slice of a matrix.
UFUNCS = {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal, "==": np.equal,
          "!=": np.not_equal}


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


class RulePlan:
    """What one rule list needs that does not depend on the records, built once per list.

    A threshold table ``[rules, stages]`` (the last column: a stage no rule names), the runs of
    rules that share an operator and the distinct scopes, so that a whole
    rule list is judged in a few NumPy operations on ``[rules, records]`` matrices: a lone
    record costs about as much as a file of a thousand.
    """

    def __init__(self, rules: list[Rule]):
        self.rules = list(rules)
        self.stages = sorted({s for r in rules for s in r.thresholds})
        self.stage_column = {s: j for j, s in enumerate(self.stages)}    # a stage's column in the thresholds
        width = len(self.stages) + 1
        self.thresholds = np.full((len(rules), width), np.nan)
        self.has = np.zeros((len(rules), width), dtype=bool)
        for k, rule in enumerate(rules):
            for s, value in rule.thresholds.items():
                j = self.stages.index(s)
                self.thresholds[k, j] = value
                self.has[k, j] = True
        self.measures = [r.measure for r in rules]
        self.threshold_measures = [(k, r.threshold_measure) for k, r in enumerate(rules) if r.threshold_measure]
        #: (comparison, slice): runs of consecutive rules with the same operator
        self.runs: list[tuple[np.ufunc, slice]] = []
        for k, rule in enumerate(rules):
            if self.runs and self.runs[-1][0] is UFUNCS[rule.operator]:
                self.runs[-1] = (self.runs[-1][0], slice(self.runs[-1][1].start, k + 1))
            else:
                self.runs.append((UFUNCS[rule.operator], slice(k, k + 1)))
        self.scopes: list = []                 # distinct scopes; nodes are frozen: equal scopes, one evaluation
        scope_of = []
        for rule in rules:
            if rule.scope is not None and rule.scope not in self.scopes:
                self.scopes.append(rule.scope)
        for rule in rules:
            scope_of.append(len(self.scopes) if rule.scope is None else self.scopes.index(rule.scope))
        #: each rule's row in the stacked scope results (the last row: no scope, always true)
        self.scope_of = np.array(scope_of, dtype=np.intp)

    def stage_codes(self, table: Table) -> np.ndarray:
        """Each record's column in the threshold table."""
        stage = table.get("stage")
        if table.n <= 16:                      # a few records: a dict look-up beats array compares
            known = self.stage_column
            return np.array([known.get(s, len(self.stages)) for s in stage.tolist()], dtype=np.intp)
        codes = np.full(table.n, len(self.stages), dtype=np.intp)
        for j, s in enumerate(self.stages):
            codes[stage == s] = j
        return codes

    def evaluate(self, table: Table) -> RuleResults:
        n, k = table.n, len(self.rules)
        columns = [table.get(m) for m in self.measures]
        if k == 0 or object in {c.dtype for c in columns}:
            return _rule_by_rule(self.rules, table)
        codes = self.stage_codes(table)
        thr = self.thresholds[:, codes]
        has = self.has[:, codes]
        measure = np.concatenate(columns).reshape(k, n)
        present = ~np.isnan(measure)
        undefined = np.zeros((k, n), dtype=bool)
        if table.undefined:
            for row, name in enumerate(self.measures):
                mask = table.undefined.get(name)
                if mask is not None:
                    undefined[row] = mask
        for row, name in self.threshold_measures:
            other = table.get(name)
            thr[row] = np.where(has[row], other, np.nan)
            undefined[row] |= table.is_undefined(name)
            present[row] &= table.present(name)
        truth, falsity = expr.evaluate_conditions(self.scopes, table)
        scope_t = np.concatenate([truth, np.ones((1, n), dtype=bool)])[self.scope_of]
        scope_f = np.concatenate([falsity, np.zeros((1, n), dtype=bool)])[self.scope_of]
        not_f = ~scope_f
        candidate = has & not_f & ~undefined
        status = np.full((k, n), NOT_APPLICABLE, dtype=np.int8)
        status[candidate & ((~scope_t & not_f) | ~present)] = MISSING_DATA
        judged = candidate & scope_t & present
        ok = np.empty((k, n), dtype=bool)
        with np.errstate(invalid="ignore"):
            for compare, rows in self.runs:
                compare(measure[rows], thr[rows], out=ok[rows])
        status[judged & ok] = PASS
        status[judged & ~ok] = FAIL
        return RuleResults(list(self.rules), status, np.where(has, measure, np.nan), thr)


def _rule_by_rule(rules: list[Rule], table: Table) -> RuleResults:
    """One rule at a time (a rule on a text column, which the matrices cannot hold)."""
    results = RuleResults.empty(rules, table.n)
    scopes: dict = {}
    stage_masks: dict = {}
    for k, rule in enumerate(rules):
        thr, has = stage_thresholds(rule, table, stage_masks)
        results.status[k] = rule_status(rule, table, scopes, (thr, has))
        results.value[k], results.threshold[k] = values_and_thresholds(rule, table, (thr, has))
    return results


def _rows(table: Table, block: slice) -> Table:
    """Records ``block`` of ``table`` as views (no column is copied)."""
    sub = Table(block.stop - block.start)
    sub.columns = {k: v[block] for k, v in table.columns.items()}
    sub.undefined = {k: v[block] for k, v in table.undefined.items()}
    return sub


class VectorEngine:
    name = "vector"

    #: Records judged per block of matrices: bounds the temporaries of a national file.
    BLOCK = 1 << 14

    def __init__(self) -> None:
        self._plans: dict[tuple[int, ...], RulePlan] = {}

    def plan(self, rules: list[Rule]) -> RulePlan:
        """The rule list's plan, cached by the rules' identities (the plan holds the rules,
        so an identity cannot be reused while its entry lives)."""
        key = tuple(map(id, rules))
        found = self._plans.get(key)
        if found is None:
            if len(self._plans) >= 64:
                self._plans.clear()
            found = self._plans[key] = RulePlan(rules)
        return found

    def evaluate(self, rules: list[Rule], table: Table, progress=None) -> RuleResults:
        plan = self.plan(rules)
        if table.n <= self.BLOCK:
            results = plan.evaluate(table)
        else:
            k, n = len(rules), table.n        # every column is filled below, block by block
            results = RuleResults(list(rules), np.empty((k, n), dtype=np.int8), np.empty((k, n)), np.empty((k, n)))
            for start in range(0, table.n, self.BLOCK):
                block = slice(start, min(start + self.BLOCK, table.n))
                part = plan.evaluate(_rows(table, block))
                results.status[:, block] = part.status
                results.value[:, block] = part.value
                results.threshold[:, block] = part.threshold
        if progress:
            progress(table.n)
        return results
