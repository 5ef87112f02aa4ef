"""The project's own compiled rule model: what a rule pack becomes before any back end runs it.

Rule packs (YAML) are validated and merged by :mod:`edubalance.rulepack`, then compiled into a
:class:`RuleSet` for one province and one year. The back ends (:mod:`edubalance.engines`) only
ever see this model, never YAML, so a new back end has one small thing to learn.
"""
from __future__ import annotations

from copy import deepcopy
from dataclasses import dataclass, field, fields, replace
from typing import Any, Callable, Protocol, TypeVar

import numpy as np

from .expr import Node, names

T = TypeVar("T")


class _MadeForRules(Protocol):
    @property
    def rules(self) -> list[Rule]: ...


#: A value made for a list of rules, which it keeps (see :meth:`RuleSet.kept_for`).
K = TypeVar("K", bound=_MadeForRules)
#: A run of expression measures computed together: (name, node, names read), none of which
#: reads a measure of its own run.
MeasureRun = list[tuple[str, Node, tuple[str, ...]]]

# Verdict codes, in the order of data-dictionary §6.
PASS, FAIL, NOT_APPLICABLE, MISSING_DATA = 0, 1, 2, 3
STATUS_NAMES = ("pass", "fail", "not_applicable", "missing_data")

DIMENSIONS = ("facilities", "staffing", "funding", "access", "quality", "governance", "balance")


@dataclass(frozen=True)
class Rule:
    """One check: ``measure operator threshold[stage]`` for records in ``scope``.

    ``kind`` is ``check`` for a plain comparison, or ``count_met`` for a rule over other
    rules' verdicts (the 2017 "6 of 7, the seventh at ≥ 85 %" rule): it counts how many of
    ``of`` pass and requires every failed one to reach ``min_ratio`` of its threshold.
    """

    id: str
    pack: str
    pack_revision: str
    title_zh: str
    title_en: str
    dimension: str
    severity: str
    weight: float
    measure: str
    operator: str
    thresholds: dict[str, float]            # stage -> threshold
    unit: str
    scope: Node | None                      # compiled scope (stages excluded), None = always
    scope_text: str                         # the scope as the user reads it
    threshold_status: str                   # confirmed / provisional
    source: dict[str, str]                  # {document, clause}
    effective_from: int | None = None
    effective_to: int | None = None
    threshold_measure: str | None = None    # compare against another measure instead
    kind: str = "check"
    of: tuple[str, ...] = ()
    min_ratio: float | None = None
    programme: tuple[str, ...] = ()         # county rules: basic_2012 / quality_2017
    note: str = ""
    standard: str = ""                      # "basic": part of the province's 办学基本标准
    #: A 0/1 measure: where it is 1 the verdict rests on a provisional value (a funding
    #: parameter) even though the rule's own threshold is confirmed.
    provisional_when: str | None = None

    def threshold_for(self, stage: str) -> float | None:
        return self.thresholds.get(stage)

    def in_force(self, year: int) -> bool:
        return ((self.effective_from is None or year >= self.effective_from)
                and (self.effective_to is None or year <= self.effective_to))

    def describe(self) -> dict[str, Any]:
        """The static part of every verdict this rule gives."""
        return {
            "rule_id": self.id,
            "title": {"zh": self.title_zh, "en": self.title_en},
            "measure": self.measure,
            "operator": self.operator,
            "severity": self.severity,
            "dimension": self.dimension,
            "weight": self.weight,
            "unit": self.unit,
            "source": dict(self.source),
            "threshold_status": self.threshold_status,
            "pack": {"id": self.pack, "revision": self.pack_revision},
            **({"programme": list(self.programme)} if self.programme else {}),
            **({"standard": self.standard} if self.standard else {}),
            **({"provisional_when": self.provisional_when} if self.provisional_when else {}),
        }


@dataclass
class RuleSet:
    """Everything in force for one province in one year, with its base packs merged in.

    A compiled rule set is not changed after :func:`edubalance.rulepack.compile_ruleset` makes
    it, so what the stages derive from the rules alone (the measure runs, the entries' rule
    columns, the funding plan) is made once, on first use, and kept here with it: a call that
    judges one school then does only that school's work.
    """

    province: str
    year: int | None                            # None: compiled for every year
    packs: list[dict[str, str]]                 # [{id, revision}], base first
    rules: list[Rule]                           # kind == "check", in pack order
    composites: list[Rule]                      # kind == "count_met"
    county_rules: list[Rule]                    # rules on county-level measures
    parameters: dict[str, Any] = field(default_factory=dict)
    measures: dict[str, Node] = field(default_factory=dict)   # measure name -> expression
    _kept: dict[Callable, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def school_rules(self) -> list[Rule]:
        return self.rules + self.composites

    @property
    def measure_runs(self) -> list[MeasureRun]:
        """The expression measures as runs computed together (see :func:`measure_runs`)."""
        return self.once(_measure_runs_of)

    def __copy__(self) -> "RuleSet":
        """A copy keeps nothing made from the original: it may be given other rules or a year."""
        return replace(self)

    def __deepcopy__(self, memo: dict) -> "RuleSet":
        return replace(self, **{f.name: deepcopy(getattr(self, f.name), memo) for f in fields(self) if f.init})

    def once(self, make: Callable[["RuleSet"], T]) -> T:
        """``make(self)``, made on the first call with this ``make`` and kept with the rule set."""
        try:
            return self._kept[make]
        except KeyError:
            found = self._kept[make] = make(self)
            return found

    def kept_for(self, rules: list[Rule], make: Callable[["RuleSet"], K], otherwise: Callable[[list[Rule]], K]) -> K:
        """What :meth:`once` keeps for ``make`` (a value with the ``rules`` it was made for), when
        ``rules`` are those; else ``otherwise(rules)``, made for verdicts of other rules."""
        kept = self.once(make)
        return kept if same_rules(rules, kept.rules) else otherwise(rules)

    def rule(self, rule_id: str) -> Rule:
        for r in self.rules + self.composites + self.county_rules:
            if r.id == rule_id:
                return r
        raise KeyError(rule_id)


def same_rules(a: list[Rule], b: list[Rule]) -> bool:
    """Whether two rule lists hold the same rules in the same order: verdicts over ``a`` may use
    what was made once for ``b``."""
    return len(a) == len(b) and all(x is y for x, y in zip(a, b))


def _measure_runs_of(ruleset: RuleSet) -> list[MeasureRun]:
    return measure_runs(ruleset.measures)


def measure_runs(measures: dict[str, Node]) -> list[MeasureRun]:
    """The measures in order as runs of (name, node, names read) that read no measure of their
    own run: each run is computed together, after the runs it may read."""
    found: list[MeasureRun] = []
    run: MeasureRun = []
    made: set[str] = set()
    for name, node in measures.items():
        used = tuple(sorted(names(node)))
        if made.intersection(used) or name in made:
            found.append(run)
            run, made = [], set()
        run.append((name, node, used))
        made.add(name)
    if run:
        found.append(run)
    return found


@dataclass
class RuleResults:
    """Verdicts of a list of rules over a table: row ``k`` of each array belongs to ``rules[k]``."""

    rules: list[Rule]
    status: np.ndarray       # int8  [len(rules), n]
    value: np.ndarray        # float [len(rules), n], NaN where there is no value
    threshold: np.ndarray    # float [len(rules), n], NaN where none applies

    @classmethod
    def empty(cls, rules: list[Rule], n: int) -> "RuleResults":
        k = len(rules)
        return cls(list(rules), np.full((k, n), NOT_APPLICABLE, dtype=np.int8),
                   np.full((k, n), np.nan), np.full((k, n), np.nan))

    def index(self, rule_id: str) -> int:
        for k, r in enumerate(self.rules):
            if r.id == rule_id:
                return k
        raise KeyError(rule_id)

    def extend(self, other: "RuleResults") -> "RuleResults":
        """These verdicts followed by ``other``'s (``self`` itself when ``other`` has no rules: a
        rule set without composites copies nothing, ~25 MB per 66,000 schools)."""
        if not other.rules:
            return self
        return RuleResults(self.rules + other.rules,
                           np.concatenate([self.status, other.status]),
                           np.concatenate([self.value, other.value]),
                           np.concatenate([self.threshold, other.threshold]))
