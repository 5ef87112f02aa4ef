"""The unified score: the weighted share of applicable rules passed, 0–100.

For one school (or county): ``100 × Σ weight(pass) / Σ weight(pass, fail, missing_data)``,
overall and per dimension. ``not_applicable`` verdicts are left out; ``missing_data`` counts as
not passed (and is counted separately in the report). The status does not follow the score:
any failed ``veto`` or ``required`` rule makes it ``fail``; failing that, missing data on one
makes it ``incomplete``; otherwise ``pass`` — or ``not_applicable`` when no rule applies at all
(a school with 0 pupils). ``scored`` rules move only the score.
"""
from __future__ import annotations

import numpy as np

from .model import DIMENSIONS, FAIL, MISSING_DATA, NOT_APPLICABLE, PASS, Rule, RuleSet
from .table import filled


class ScoreLayout:
    """What scoring needs of a rule list: weights, dimension rows, binding rows, basic-standard
    rows. A rule set's school rules have theirs made once (``ruleset.once(ScoreLayout.of)``)."""

    def __init__(self, rules: list[Rule]):
        self.rules = list(rules)
        self.weights = np.array([r.weight for r in rules], dtype=float)
        #: (dimension, its rows as a slice of the rows reordered by ``order``), in DIMENSIONS order
        self.by_dim = []
        order: list[int] = []
        for dim in DIMENSIONS:
            rows = [k for k, r in enumerate(rules) if r.dimension == dim]
            if rows:
                self.by_dim.append((dim, slice(len(order), len(order) + len(rows))))
                order.extend(rows)
        self.order = np.array(order, dtype=np.intp)
        self.binding = [k for k, r in enumerate(rules) if r.severity in ("veto", "required")]
        self.basic = basic_rows(rules)

    @classmethod
    def of(cls, ruleset: RuleSet) -> "ScoreLayout":
        return cls(ruleset.school_rules)


def score(status: np.ndarray, rules: list[Rule], layout: ScoreLayout | None = None
          ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(overall score per record, {dimension: score per record}); NaN where nothing applies.

    Each share is ``Σ weight × (verdict is pass) / Σ weight × (verdict applies)`` over its rows.
    ``layout``: the rules' :class:`ScoreLayout`, if the caller has it already (as for all three below).
    """
    n = status.shape[1]
    if not len(rules):
        return np.full(n, np.nan), {}
    layout = layout or ScoreLayout(rules)
    w = layout.weights[:, None]
    # A dimension's rows are a slice (a view) of the rows put in dimension order; every share
    # is divided in one call at the end.
    ordered, w_ordered = status[layout.order], w[layout.order]
    applicable_sums = [(w * (status != NOT_APPLICABLE)).sum(0)]
    passed_sums = [(w * (status == PASS)).sum(0)]
    for _, rows in layout.by_dim:
        applicable_sums.append((w_ordered[rows] * (ordered[rows] != NOT_APPLICABLE)).sum(0))
        passed_sums.append((w_ordered[rows] * (ordered[rows] == PASS)).sum(0))
    groups = len(applicable_sums)
    applicable = np.concatenate(applicable_sums).reshape(groups, n)
    passed = np.concatenate(passed_sums).reshape(groups, n)
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = np.where(applicable > 0, 100.0 * passed / applicable, np.nan)
    return shares[0], {dim: shares[k + 1] for k, (dim, _) in enumerate(layout.by_dim)}


def status_of(status: np.ndarray, rules: list[Rule], layout: ScoreLayout | None = None) -> np.ndarray:
    """'pass' / 'fail' / 'incomplete' / 'not_applicable' per record (see module doc)."""
    n = status.shape[1]
    binding = (layout or ScoreLayout(rules)).binding
    out = filled(n, "pass")
    out[(status == NOT_APPLICABLE).all(0)] = "not_applicable"
    if binding:
        s = status[binding]
        out[(s == MISSING_DATA).any(0)] = "incomplete"
        out[(s == FAIL).any(0)] = "fail"
    return out


def mark_unjudged_counties(counties: list[dict]) -> None:
    """A county judged in a year before either recognition (neither the 2012 basic nor the 2017
    high-quality balance in force) is ``not_applicable``, as a school is, rather than a ``pass``:
    a province's scored items alone do not make a balance evaluation."""
    for county in counties:
        assessments = [county.get(k) or {} for k in ("basic_balance", "quality_balance")]
        if county.get("status") == "pass" and all(a.get("status", "not_applicable") == "not_applicable"
                                                  for a in assessments):
            county["status"] = "not_applicable"


def basic_standard_status(status: np.ndarray, rules: list[Rule], layout: ScoreLayout | None = None) -> np.ndarray:
    """Whether each school meets its province's basic school-running standard (办学基本标准):
    'fail' if a rule marked ``standard: basic`` fails, else 'incomplete' if one lacks data,
    else 'pass' if one was judged, else 'not_applicable' (no such rule applies).

    Severity does not matter here: the pack's marking does. Funding and the 2017 resource
    rule are not part of the basic standard, so they never enter the 2012 county gate.
    """
    n = status.shape[1]
    rows = layout.basic if layout else basic_rows(rules)
    out = filled(n, "not_applicable")
    if not rows:
        return out
    s = status[rows]
    out[((s == PASS) | (s == FAIL) | (s == MISSING_DATA)).any(0)] = "pass"
    out[(s == MISSING_DATA).any(0)] = "incomplete"
    out[(s == FAIL).any(0)] = "fail"
    return out


def basic_rows(rules: list[Rule]) -> list[int]:
    """The rows of the rules marked ``standard: basic``."""
    return [k for k, r in enumerate(rules) if r.standard == "basic"]


def meets_basic_standard(basic_status: np.ndarray) -> np.ndarray:
    """1 / 0 per school from :func:`basic_standard_status`; NaN where it is unknown or no
    basic-standard rule applies (the report writes true / false / null)."""
    out = np.full(len(basic_status), np.nan)
    out[basic_status == "pass"] = 1.0
    out[basic_status == "fail"] = 0.0
    return out
