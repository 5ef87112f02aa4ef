"""Judge candidate records quickly while a plan is searched for.

The search tries many variants of a school (one more teacher, 0.01 m² less…). Each batch of
variants goes through the evaluator's own stages — derive measures, the school rules, the
6-of-7 rule — on the columnar back end, so a variant passes here exactly when it passes in a
report; the finished plan is then checked once more through the evaluator's chosen back end.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from ..composite import evaluate_composites
from ..fields import SCHOOL_FIELDS
from ..model import FAIL, MISSING_DATA, NOT_APPLICABLE, PASS, RuleResults, RuleSet
from ..table import TEXT_FIELDS, Table

_NUMERIC = [f for f in SCHOOL_FIELDS if f not in TEXT_FIELDS]


class Probe:
    """Verdicts of every school rule of one rule set over a batch of records."""

    def __init__(self, ev: Any, ruleset: RuleSet):
        self.ev = ev
        self.ruleset = ruleset
        self.engine = ev.engines["vector"]()
        self.rules = ruleset.rules + ruleset.composites
        self.index = {r.id: k for k, r in enumerate(self.rules)}

    def __call__(self, records: Sequence[Mapping[str, Any]]) -> RuleResults:
        table = Table.from_records(records, _NUMERIC)
        self.ev.pm.hook.edubalance_derive_measures(table=table, ruleset=self.ruleset)
        base = self.ev.pm.hook.edubalance_evaluate_school_rules(
            rules=self.ruleset.rules, table=table, engine=self.engine, progress=None)
        return base.extend(evaluate_composites(self.ruleset.composites, base, table))


def meets(results: RuleResults, k: int, mode: str, min_ratio: float | None = None) -> np.ndarray:
    """Does rule row ``k`` meet the plan's target on each record?

    ``pass``: not failed and not lacking data (passing, or not applicable); ``ratio`` (and
    ``ratio?``, the same with the 6-of-7 rule undecided): passing, or reaching ``min_ratio`` of
    the threshold — the one indicator the 6-of-7 rule lets fall short.
    """
    status = results.status[k]
    if mode == "pass":
        return (status != FAIL) & (status != MISSING_DATA)
    rule = results.rules[k]
    value, thr = results.value[k], results.threshold[k]
    with np.errstate(divide="ignore", invalid="ignore"):
        reach = np.where(rule.operator in (">", ">="), value / thr, thr / value) >= (min_ratio or 0.0)
    return (status == PASS) | ((status == FAIL) & reach) | (status == NOT_APPLICABLE)
