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

from .model import DIMENSIONS, FAIL, MISSING_DATA, NOT_APPLICABLE, PASS, Rule


def _share(status: np.ndarray, weights: np.ndarray) -> np.ndarray:
    w = weights[:, None]
    applicable = (w * (status != NOT_APPLICABLE)).sum(0)
    passed = (w * (status == PASS)).sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(applicable > 0, 100.0 * passed / applicable, np.nan)


def score(status: np.ndarray, rules: list[Rule]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(overall score per record, {dimension: score per record}); NaN where nothing applies."""
    weights = np.array([r.weight for r in rules], dtype=float)
    overall = _share(status, weights) if len(rules) else np.full(status.shape[1], np.nan)
    by_dim = {}
    for dim in DIMENSIONS:
        rows = [k for k, r in enumerate(rules) if r.dimension == dim]
        if rows:
            by_dim[dim] = _share(status[rows], weights[rows])
    return overall, by_dim


def status_of(status: np.ndarray, rules: list[Rule]) -> np.ndarray:
    """'pass' / 'fail' / 'incomplete' / 'not_applicable' per record (see module doc)."""
    n = status.shape[1]
    binding = [k for k, r in enumerate(rules) if r.severity in ("veto", "required")]
    out = np.full(n, "pass", dtype=object)
    out[(status == NOT_APPLICABLE).all(0)] = "not_applicable"
    if binding:
        s = status[binding]
        out[(s == MISSING_DATA).any(0)] = "incomplete"
        out[(s == FAIL).any(0)] = "fail"
    return out


def vetoed(status: np.ndarray, rules: list[Rule]) -> np.ndarray:
    rows = [k for k, r in enumerate(rules) if r.severity == "veto"]
    if not rows:
        return np.zeros(status.shape[1], bool)
    return (status[rows] == FAIL).any(0)
