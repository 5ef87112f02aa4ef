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
from ..model import FAIL, NOT_APPLICABLE, PASS, RuleResults, RuleSet
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


def meets(results: RuleResults, k: int, mode: str, near: float = 0.0,
          min_ratio: float | None = None) -> np.ndarray:
    """Does rule row ``k`` meet the plan's target on each record?

    ``pass``: not failed (passing or not applicable); ``ratio``: passing, or reaching
    ``min_ratio`` of the threshold (the one indicator the 6-of-7 rule lets fall short);
    ``margin``: passing with ``near`` (a share of the threshold) to spare.
    """
    status = results.status[k]
    rule = results.rules[k]
    ok = status != FAIL
    if mode == "pass":
        return ok & (status != 3)
    value, thr = results.value[k], results.threshold[k]
    rising = rule.operator in (">", ">=")
    with np.errstate(divide="ignore", invalid="ignore"):
        if mode in ("ratio", "ratio?"):
            reach = np.where(rising, value / thr, thr / value) >= (min_ratio or 0.0)
            return (status == PASS) | ((status == FAIL) & reach) | (status == NOT_APPLICABLE)
        # margin
        if rising:
            spare = value >= thr * (1 + near)
        else:
            spare = value <= thr * (1 - near)
    return (status == NOT_APPLICABLE) | ((status == PASS) & spare)
