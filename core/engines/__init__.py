"""Rule back ends: each turns compiled rules and a Table into :class:`~edubalance.model.RuleResults`.

``vector`` (NumPy, columnar) and ``durable`` (durable-rules) run the same compiled model and must
give identical verdicts; ``tests/test_differential.py`` holds them to it. The order of precedence
every back end follows, per rule and record:

1. the record's stage has no threshold          → not_applicable
2. the scope is false                           → not_applicable
3. the measure (or threshold measure) is undefined (0 pupils, 0 boarders) → not_applicable
4. the scope is unknown (missing data in it)    → missing_data
5. the measure or threshold measure is missing  → missing_data
6. the comparison holds                         → pass, else fail
"""
from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from ..model import Rule, RuleResults
from ..progress import Progress
from ..table import Table

#: Above this many records, ``--engine auto`` picks the columnar back end.
AUTO_DURABLE_MAX = 200


@runtime_checkable
class Engine(Protocol):
    """A rule back end, as an :func:`~edubalance.hookspecs.edubalance_engines` factory makes it."""

    #: The name the report's ``engine`` gives and ``--engine`` picks.
    name: str

    def evaluate(self, rules: list[Rule], table: Table,
                 progress: Progress | None = None) -> RuleResults:
        """Every rule's verdict, value and threshold for every row of ``table``, in the order of
        precedence above; ``progress`` is told how many rows are done."""
        ...


def stage_thresholds(rule: Rule, table: Table, stage_masks: dict | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(threshold per record, stage-has-threshold mask).

    ``stage_masks`` caches ``stage == s`` for one table across the rules of one evaluation.
    """
    stage = table.get("stage")
    if table.n <= 16 and stage.dtype == object:       # a few records: dict look-ups beat array compares
        stages = stage.tolist()
        thr = np.array([rule.thresholds.get(s, np.nan) for s in stages], dtype=float)
        has = np.array([s in rule.thresholds for s in stages], dtype=bool)
    else:
        thr, has = _stage_thresholds(rule, stage, table.n, stage_masks)
    if rule.threshold_measure:
        thr = np.where(has, table.get(rule.threshold_measure), np.nan)
    return thr, has


def _stage_thresholds(rule: Rule, stage: np.ndarray, n: int, stage_masks: dict | None) -> tuple[np.ndarray, np.ndarray]:
    """:func:`stage_thresholds` by whole-column compares, one per stage the rule names."""
    thr = np.full(n, np.nan)
    has = np.zeros(n, dtype=bool)
    for s, value in rule.thresholds.items():
        if stage_masks is None:
            mask = stage == s
        else:
            mask = stage_masks.get(s)
            if mask is None:
                mask = stage_masks[s] = stage == s
        thr[mask] = value
        has |= mask
    return thr, has


def values_and_thresholds(rule: Rule, table: Table,
                          thresholds: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """What every verdict reports beside its status: the measured value and the threshold.

    ``thresholds`` is the rule's :func:`stage_thresholds` if the caller has it already.
    """
    thr, has = thresholds if thresholds is not None else stage_thresholds(rule, table)
    return np.where(has, table.get(rule.measure), np.nan), thr

