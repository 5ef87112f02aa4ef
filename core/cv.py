"""Inter-school coefficient of variation (差异系数), data-dictionary §4.

The published method weights every school by its pupils: the county mean is total resource over
total pupils, the standard deviation is the enrolment-weighted *population* form (no n − 1), and
the CV is their ratio. The plain and the n − 1 forms do not reproduce the published figures, so
only the weighted form lives here. Values are returned unrounded: a CV of 0.5018 fails ≤ 0.50.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

__all__ = ["weighted_cv", "grouped_cv", "grouped_cvs"]


def _check(values: np.ndarray, pupils: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    values = np.asarray(values, dtype=float)
    pupils = np.asarray(pupils, dtype=float)
    if values.shape != pupils.shape or values.ndim != 1:
        raise ValueError(f"values and pupils must be 1-D arrays of one length, "
                         f"got {values.shape} and {pupils.shape}")
    if np.any(pupils < 0):
        raise ValueError("pupils must not be negative")
    return values, pupils


def weighted_cv(values: np.ndarray, pupils: np.ndarray) -> float:
    """Enrolment-weighted CV of per-pupil ``values`` over schools with ``pupils``.

    Schools with 0 pupils carry no weight (their per-pupil value does not exist). Returns
    ``0.0`` for one weighted school or when every school has the same value (0 included: nobody
    has the resource), ``NaN`` when there are no pupils or a weighted school lacks its value.
    """
    values, pupils = _check(values, pupils)
    if np.isnan(pupils).any():
        return float("nan")
    w = pupils > 0
    if not w.any():
        return float("nan")
    x, p = values[w], pupils[w]
    if np.isnan(x).any():
        return float("nan")
    if x.min() == x.max():                 # one school, or all equal: exactly 0, no rounding noise
        return 0.0
    total = p.sum()
    mean = float((p * x).sum() / total)
    if mean == 0.0:                        # values of both signs cancelling: CV undefined
        return float("nan")
    s = float(np.sqrt((p / total * (x - mean) ** 2).sum()))
    return s / mean


def grouped_cv(group: np.ndarray, values: np.ndarray, pupils: np.ndarray,
               n_groups: int) -> np.ndarray:
    """:func:`weighted_cv` of every group at once (``np.bincount``, no loop per group).

    ``group[i]`` is the group of school ``i`` in ``range(n_groups)``, or negative for a school
    out of scope. A group gets ``NaN`` when it has no pupils, or when any school of it that has
    pupils lacks its value (the CV of the remaining subset would be a different, wrong number).
    """
    return grouped_cvs(group, [values], pupils, n_groups)[0]


def grouped_cvs(group: np.ndarray, columns: Sequence[np.ndarray], pupils: np.ndarray,
                n_groups: int) -> list[np.ndarray]:
    """:func:`grouped_cv` of several value columns over the same groups and pupils.

    What depends only on the groups and the pupils (who carries weight, the total pupils of each
    group) is worked out once for all columns: a county table has fifteen CVs per scope.
    """
    pupils = np.asarray(pupils, dtype=float)
    group = np.asarray(group)
    checked = [np.asarray(values, dtype=float) for values in columns]
    for values in checked or [np.zeros(pupils.shape)]:
        if values.shape != pupils.shape or values.ndim != 1:
            _check(values, pupils)                     # raises, with the shapes
    _check(pupils, pupils)                             # negative pupils
    if group.shape != pupils.shape:
        raise ValueError("group must have one entry per school")
    if not np.issubdtype(group.dtype, np.integer):
        raise ValueError("group must hold integers")
    if n_groups < 0 or (group.size and group.max(initial=-1) >= n_groups):
        raise ValueError("group index out of range(n_groups)")

    in_scope = group >= 0
    weighted = in_scope & (pupils > 0)                 # NaN pupils compare False
    g = group[weighted]
    p = pupils[weighted]
    # A group is spoilt by a school of unknown pupils, or by one with pupils but no value. The
    # sums below run over every school with pupils: a lacking value (NaN) can only reach the
    # sums of its own group, which is spoilt anyway, so the others are the sums over the
    # schools that have values, term for term.
    total = np.bincount(g, weights=p, minlength=n_groups)
    n_schools = np.bincount(g, minlength=n_groups)
    spoilt = (np.bincount(group[in_scope & np.isnan(pupils)], minlength=n_groups) > 0) | (total <= 0)
    out = []
    for values in checked:
        x = values[weighted]
        lacking = np.isnan(x)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.bincount(g, weights=p * x, minlength=n_groups) / total
            dev = x - mean[g]
            var = np.bincount(g, weights=p * dev * dev, minlength=n_groups) / total
            cv = np.sqrt(var) / mean
        # Groups whose schools all hold one value: exactly 0 (also covers one school, and mean
        # 0). Any school's value stands for its group; "all equal" is "none differs from it".
        some = np.empty(n_groups)
        some[g] = x
        differs = np.bincount(g, weights=x != some[g], minlength=n_groups) > 0
        cv = np.where((n_schools > 0) & ~differs, 0.0, cv)
        cv = np.where((n_schools > 0) & differs & (mean == 0.0), np.nan, cv)
        cv[spoilt | (np.bincount(g, weights=lacking, minlength=n_groups) > 0)] = np.nan
        out.append(cv)
    return out
