"""Judge candidate records quickly while a plan is searched for.

The search tries many variants of a school (one more teacher, 0.01 m² less…). Each batch of
variants goes through the evaluator's own school stage (:meth:`Evaluator.school_results`:
derived measures, the school rules, the 6-of-7 rule) on the columnar back end, so a variant
passes here exactly when it passes in a report; the finished plan is then checked once more
through the evaluator's chosen back end.
"""
from __future__ import annotations

import copy
from collections import defaultdict
from typing import Any, Mapping, Sequence

import numpy as np

from ..fields import school_fields
from ..model import FAIL, MISSING_DATA, NOT_APPLICABLE, PASS, RuleResults, RuleSet
from ..table import TEXT_FIELDS, Table



class Probe:
    """Verdicts of every school rule of one rule set over a batch of records.

    A batch holds many variants of one school, so the pupils of the whole school are not summed
    over the batch: each variant counts its own pupils and those of its school's other stages
    in ``records`` (the input), as the report does."""

    def __init__(self, ev: Any, ruleset: RuleSet, records: Sequence[Mapping[str, Any]] = ()):
        self.ev = ev
        self.ruleset = ruleset
        self.engine = ev.engines["vector"]()
        self.rules = ruleset.rules + ruleset.composites
        self.index = {r.id: k for k, r in enumerate(self.rules)}
        self.siblings = _siblings(records)

    def for_records(self, records: Sequence[Mapping[str, Any]]) -> "Probe":
        """This probe with the schools of ``records`` (e.g. every school with more pupils)."""
        other = copy.copy(self)
        other.siblings = _siblings(records)
        return other

    def __call__(self, records: Sequence[Mapping[str, Any]]) -> RuleResults:
        table = Table.from_records(records, [f for f in school_fields() if f not in TEXT_FIELDS])
        self._whole_school(table)
        return self.ev.school_results(self.ruleset, table, self.engine, timed=False)

    def _whole_school(self, table: Table) -> None:
        """Each variant's whole school, given to the derive stage as its input: the variant's
        pupils and those of its school's other stages (derive would sum the batch instead)."""
        ids, years, stages = table.get("school_id"), table.get("year"), table.get("stage")
        other = np.array([self.siblings.get((str(i), int(y), s), 0.0) if np.isfinite(y) else np.nan
                          for i, y, s in zip(ids, years, stages)])
        table.set_measure("school_total_students", table.get("students") + other)


def _siblings(records: Sequence[Mapping[str, Any]]) -> dict[tuple[str, int, str], float]:
    """(school, year, stage) -> pupils of the school's other stages in ``records``."""
    stages: dict[tuple[str, int], dict[str, float]] = defaultdict(dict)
    for rec in records:
        students = rec.get("students")
        stages[(str(rec["school_id"]), int(rec["year"]))][rec["stage"]] = (
            float("nan") if students is None else float(students))
    return {(*school, stage): sum(p for s, p in found.items() if s != stage)
            for school, found in stages.items() for stage in found}


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
