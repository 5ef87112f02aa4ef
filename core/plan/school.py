"""Per-school plans: the least additions that make a school's failing rules pass.

The search works on every school of a rule set at once (one batch of variants per step):

1. *grow* — while a target rule fails, raise the lever of its measure (the first field of the
   measure that can make it pass) by the least number of units that does, found by doubling
   and bisection over the real verdicts (:mod:`.probe`);
2. *trim* — for each field in turn, lower its addition to the least that keeps every target
   passing. Rules share inputs (new teachers count in several ratios, a new room brings floor
   area), so an addition made early may be more than the final plan needs; after trimming,
   taking one unit off any single addition makes a target rule fail again.

For the 6-of-7 rule every choice is solved — every failing indicator raised to its threshold,
or one left at the share of its threshold the rule allows — and the cheapest is kept.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from ..model import FAIL, MISSING_DATA, PASS, RuleSet
from .levers import amount, candidate_levers, materialise, room_areas
from .probe import Probe, meets

#: The first search probes 4**0 … 4**MAX_POWER units (0.01 m² → 10¹¹ m²): more than any rule asks.
MAX_POWER = 22

Target = tuple[int, str]          # (rule row in the probe, mode)


@dataclass
class Row:
    """One school record under one choice of targets."""

    record: dict[str, Any]
    targets: list[Target]
    adds: dict[str, int] = field(default_factory=dict)          # field -> units
    unfixable: set[int] = field(default_factory=set)
    county: dict[str, int] = field(default_factory=dict)          # units added for county CVs
    county_rules: dict[str, set[str]] = field(default_factory=dict)

    def amounts(self) -> dict[str, float]:
        return {f: amount(f, u) for f, u in self.adds.items() if u}


class SchoolSolver:
    """Least additions for rows of one rule set (see the module docstring)."""

    def __init__(self, ev: Any, ruleset: RuleSet, records: Sequence[Mapping[str, Any]] = ()):
        self.ruleset = ruleset
        self.probe = Probe(ev, ruleset, records)
        self.rules = self.probe.rules
        self._areas: dict[str, dict[str, float]] = {}
        self._cached: Any = None
        self._met: dict[Target, np.ndarray] = {}
        self.levers = [candidate_levers(ruleset, r) for r in self.rules]
        #: Told each step of the search (a round, a trim), for a progress line.
        self.on_step: Callable[[str], None] = lambda step: None
        # the share of its threshold an indicator of a 6-of-7 rule may stop at
        self.min_ratio = {self.probe.index[i]: c.min_ratio for c in self.rules if c.kind == "count_met"
                          for i in c.of if i in self.probe.index}

    def areas(self, stage: str) -> dict[str, float]:
        if stage not in self._areas:
            self._areas[stage] = room_areas(self.ruleset, stage)
        return self._areas[stage]

    def build(self, row: Row, adds: Mapping[str, int] | None = None) -> dict[str, Any]:
        adds = row.adds if adds is None else adds
        amounts = {f: amount(f, u) for f, u in adds.items() if u}
        return materialise(row.record, amounts, self.areas(row.record["stage"]))

    def ok(self, results, j: int, target: Target) -> bool:
        k, mode = target
        if self._cached is not results:
            self._cached, self._met = results, {}
        met = self._met.get(target)
        if met is None:
            met = self._met[target] = meets(results, k, mode, self.min_ratio.get(k))
        return bool(met[j])

    def claim(self, k: int, mode: str) -> str:
        """The rule a target stands for: an indicator left short stands for its 6-of-7 rule."""
        if mode.startswith("ratio"):
            for rule in self.rules:
                if rule.kind == "count_met" and self.rules[k].id in rule.of:
                    return rule.id
        return self.rules[k].id

    def meets_all(self, results, j: int, row: Row) -> bool:
        return all(self.ok(results, j, t) for t in row.targets if t[0] not in row.unfixable)

    # -- the two phases ------------------------------------------------------------------------
    def solve(self, rows: Sequence[Row]) -> None:
        self.grow(rows)
        for k in range(3):
            self.on_step(f"精简 trimming {k + 1}/3")
            if not self.trim(rows):
                break

    def grow(self, rows: Sequence[Row], rounds: int = 12) -> None:
        for round_ in range(rounds):
            results = self.probe([self.build(r) for r in rows])
            failing = [(i, t) for i, r in enumerate(rows) for t in r.targets
                       if t[0] not in r.unfixable and not self.ok(results, i, t)]
            if not failing:
                return
            self.on_step(f"第 {round_ + 1} 轮 round {round_ + 1}, 尚缺 {len(failing):,} 项 unmet")
            raised = self._least_extra(rows, failing)
            for (i, (k, _)), found in zip(failing, raised):
                if found is None:
                    rows[i].unfixable.add(k)
                    continue
                f, extra = found
                rows[i].adds[f] = rows[i].adds.get(f, 0) + extra
        # Rounds exhausted: whatever still fails is reported as not fixed by additions.
        results = self.probe([self.build(r) for r in rows])
        for i, r in enumerate(rows):
            for t in r.targets:
                if not self.ok(results, i, t):
                    r.unfixable.add(t[0])

    def _least_extra(self, rows: Sequence[Row], failing: list[tuple[int, Target]]
                     ) -> list[tuple[str, int] | None]:
        """For each failing (row, target): (lever, least extra units) or None if no lever works."""
        out: list[tuple[str, int] | None] = [None] * len(failing)
        todo = list(range(len(failing)))
        depth = 0
        while todo:
            todo = [p for p in todo if depth < len(self.levers[failing[p][1][0]])]
            if not todo:
                break
            # gallop: 1, 4, 16 … units, each pair until its first pass (one variant per pair a probe)
            first: dict[int, int] = {}
            pending = list(todo)
            for e in range(MAX_POWER + 1):
                if not pending:
                    break
                variants = []
                for p in pending:
                    i, (k, _) = failing[p]
                    f = self.levers[k][depth]
                    adds = dict(rows[i].adds)
                    adds[f] = adds.get(f, 0) + 4 ** e
                    variants.append(self.build(rows[i], adds))
                results = self.probe(variants)
                passed = [p for j, p in enumerate(pending) if self.ok(results, j, failing[p][1])]
                for p in passed:
                    first[p] = 4 ** e
                pending = [p for p in pending if p not in first]
            found = self._bisect_all(rows, failing, {p: (self.levers[failing[p][1][0]][depth], s)
                                                     for p, s in first.items()})
            for p, extra in found.items():
                out[p] = (self.levers[failing[p][1][0]][depth], extra)
            todo = [p for p in todo if p not in first]
            depth += 1
        return out

    def _bisect_all(self, rows: Sequence[Row], failing: list[tuple[int, Target]],
                    start: dict[int, tuple[str, int]]) -> dict[int, int]:
        """Least extra units in (hi/4, hi] for each pair, all pairs bisected together."""
        lo = {p: (s // 4) + 1 if s > 1 else 1 for p, (_, s) in start.items()}
        hi = {p: s for p, (_, s) in start.items()}
        while any(lo[p] < hi[p] for p in start):
            open_ = [p for p in start if lo[p] < hi[p]]
            variants = []
            for p in open_:
                i, _ = failing[p]
                f = start[p][0]
                adds = dict(rows[i].adds)
                adds[f] = adds.get(f, 0) + (lo[p] + hi[p]) // 2
                variants.append(self.build(rows[i], adds))
            results = self.probe(variants)
            for j, p in enumerate(open_):
                mid = (lo[p] + hi[p]) // 2
                if self.ok(results, j, failing[p][1]):
                    hi[p] = mid
                else:
                    lo[p] = mid + 1
        return hi

    def trim(self, rows: Sequence[Row]) -> bool:
        """Lower each field's addition to the least that keeps every target met; True if any fell."""
        changed = False
        fields = sorted({f for r in rows for f, u in r.adds.items() if u})
        for f in fields:
            hi = {i: r.adds[f] for i, r in enumerate(rows) if r.adds.get(f)}
            # most additions are least already: one probe of a unit less settles them
            variants = []
            for i in hi:
                adds = dict(rows[i].adds)
                adds[f] -= 1
                variants.append(self.build(rows[i], adds))
            results = self.probe(variants)
            lo = {i: (0 if self.meets_all(results, j, rows[i]) else hi[i]) for j, i in enumerate(list(hi))}
            hi = {i: (hi[i] - 1 if lo[i] == 0 else hi[i]) for i in hi}
            while any(lo[i] < hi[i] for i in lo):
                open_ = [i for i in lo if lo[i] < hi[i]]
                variants = []
                for i in open_:
                    adds = dict(rows[i].adds)
                    adds[f] = (lo[i] + hi[i]) // 2
                    variants.append(self.build(rows[i], adds))
                results = self.probe(variants)
                for j, i in enumerate(open_):
                    mid = (lo[i] + hi[i]) // 2
                    if self.meets_all(results, j, rows[i]):
                        hi[i] = mid
                    else:
                        lo[i] = mid + 1
            for i, least in hi.items():
                if least < rows[i].adds[f]:
                    changed = True
                    rows[i].adds[f] = least
        return changed

    def reasons(self, rows: Sequence[Row]) -> list[dict[str, list[str]]]:
        """Per row and field: the target rules that fail when one unit of that addition is taken off."""
        variants, where = [], []
        for i, r in enumerate(rows):
            for f, u in r.adds.items():
                if u:
                    adds = dict(r.adds)
                    adds[f] = u - 1
                    variants.append(self.build(r, adds))
                    where.append((i, f))
        out: list[dict[str, list[str]]] = [{} for _ in rows]
        if not variants:
            return out
        results = self.probe(variants)
        for j, (i, f) in enumerate(where):
            out[i][f] = sorted({self.claim(k, mode) for k, mode in rows[i].targets
                                if k not in rows[i].unfixable and not self.ok(results, j, (k, mode))})
        return out


def targets_of(solver: SchoolSolver, status: np.ndarray, j: int) -> tuple[list[Target], list[list[Target]]]:
    """The targets of record ``j`` (failing required and veto rules a lever can move), and the
    choices for its failing 6-of-7 rule(s): a list of target lists, cheapest to be picked."""
    base: list[Target] = []
    composite_choices: list[list[Target]] = [[]]
    for k, rule in enumerate(solver.rules):
        if status[k, j] != FAIL or rule.severity == "scored":
            continue
        if rule.kind == "count_met":
            members = [solver.probe.index[i] for i in rule.of if i in solver.probe.index]
            usable = [m for m in members if status[m, j] != MISSING_DATA]
            # With an indicator lacking, the rule stays undecided whatever is added ("ratio?"
            # claims nothing): the plan raises the others as if the lacking one were met.
            short = "ratio" if len(usable) == len(members) else "ratio?"
            failing = [m for m in usable if status[m, j] == FAIL]
            everything = [(m, "pass") for m in usable]
            options = [everything] + [[(m, short if m == left else "pass") for m in usable] for left in failing]
            composite_choices = [a + b for a in composite_choices for b in options]
        elif solver.levers[k]:
            base.append((k, "pass"))
    return base, composite_choices


def pick(rows: Sequence[Row], cost: Callable[[Row], float]) -> Row:
    """The cheapest row (ties: fewer units added, then the first)."""
    return min(rows, key=lambda r: (len(r.unfixable), cost(r), sum(r.adds.values())))


__all__ = ["Row", "SchoolSolver", "targets_of", "pick", "PASS"]
