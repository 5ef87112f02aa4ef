"""Rules over other rules' verdicts: the 2017 "6 of 7" per-school resource rule.

A ``count_met`` rule passes when at least ``threshold`` of its ``of`` rules pass and every one
that fails still reaches ``min_ratio`` of its own threshold (the 2017 method: at least 6 of the
7 indicators met, the seventh at ≥ 85 % of its requirement). It is computed from the verdicts
the back end gave, so both back ends share it. Missing data makes it ``missing_data`` only when
the missing indicators could change the answer.
"""
from __future__ import annotations

import numpy as np

from . import expr
from .model import FAIL, MISSING_DATA, NOT_APPLICABLE, PASS, Rule, RuleResults, RuleSet
from .table import Table
from .engines import stage_thresholds


def evaluate_composites(composites: list[Rule], base: RuleResults, table: Table,
                        inputs: list[tuple[np.ndarray, np.ndarray]] | None = None) -> RuleResults:
    """The verdicts of ``composites`` over the verdicts ``base``; ``inputs``: each composite's
    :func:`composite_inputs` in ``base.rules`` if the caller has them already (a rule set's)."""
    out = RuleResults.empty(composites, table.n)
    if inputs is None:
        inputs = [composite_inputs(rule, base.rules) for rule in composites]
    for k, rule in enumerate(composites):
        rows, rising = inputs[k]
        status = base.status[rows]
        n_pass = (status == PASS).sum(0)
        n_missing = (status == MISSING_DATA).sum(0)
        n_applicable = (status != NOT_APPLICABLE).sum(0)
        value, threshold = base.value[rows], base.threshold[rows]
        with np.errstate(divide="ignore", invalid="ignore"):    # how far each value goes toward its requirement (1.0 = met exactly)
            ratios = np.where(rising, value / threshold, threshold / value)
        failed_low = ((status == FAIL) & ~(ratios >= (rule.min_ratio or 0.0))).any(0)
        thr, has_thr = stage_thresholds(rule, table)
        if rule.scope is not None:
            scope_t, scope_f = expr.evaluate_columns(rule.scope, table)
        else:
            scope_t, scope_f = np.ones(table.n, bool), np.zeros(table.n, bool)
        candidate = has_thr & ~scope_f & (n_applicable > 0)
        can_still_pass = (n_pass + n_missing) >= thr
        fails = ~can_still_pass | failed_low
        passes = (n_pass >= thr) & (n_missing == 0) & ~failed_low
        s = np.full(table.n, NOT_APPLICABLE, dtype=np.int8)
        s[candidate] = MISSING_DATA
        s[candidate & scope_t & fails] = FAIL
        s[candidate & scope_t & passes & ~fails] = PASS
        out.status[k] = s
        out.value[k] = np.where(candidate, n_pass.astype(float), np.nan)
        out.threshold[k] = np.where(candidate, thr, np.nan)
    return out


def composite_inputs(rule: Rule, rules: list[Rule]) -> tuple[np.ndarray, np.ndarray]:
    """(rows of ``rule.of`` in ``rules``, [rows, 1] mask: does the rule require a value *above*
    its threshold)."""
    ids = [r.id for r in rules]
    rows = []
    for i in rule.of:
        if i not in ids:
            raise KeyError(i)
        rows.append(ids.index(i))
    rising = np.array([[rules[r].operator in (">", ">=")] for r in rows], dtype=bool).reshape(len(rows), 1)
    return np.array(rows, dtype=np.intp), rising


def ruleset_composite_inputs(ruleset: RuleSet) -> list[tuple[np.ndarray, np.ndarray]]:
    """Each composite's :func:`composite_inputs` among the rule set's check rules, made once
    per rule set (``ruleset.once(ruleset_composite_inputs)``)."""
    return [composite_inputs(rule, ruleset.rules) for rule in ruleset.composites]
