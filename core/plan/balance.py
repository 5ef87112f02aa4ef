"""County balance: the least additions that bring an inter-school CV under its limit.

For a total addition T to one resource, the enrolment-weighted CV is smallest when T goes to the
schools with the least per pupil, lifting them to one common level ("water-filling"): with the
county mean fixed by T, the CV falls with Σ Rᵢ²/Pᵢ, a convex sum whose minimum under Σ aᵢ = T
puts every school that receives anything at the same Rᵢ/Pᵢ. The CV after filling to level L
falls as L rises (its derivative is −2 w (E[X²] − L·E[X]) / mean³ ≤ 0, w the filled schools'
share of pupils), so the least level that meets the limit is found by bisection, and with it
the least total. Whole units (teachers, rooms) are given one at a time in the order of that
same sum's marginal cost, (2(Rᵢ + k) + 1) / Pᵢ, which is exact for a separable convex sum.
"""
from __future__ import annotations

import math
from typing import Callable, Sequence, SupportsFloat

import numpy as np

from ..cv import weighted_cv

#: Aim a hair under the limit, so that the engine's own arithmetic (which may multiply by 100
#: first) cannot land on the wrong side of it.
SAFETY = 1e-9


def finite(value: SupportsFloat | None) -> float | None:
    """A number for JSON: ``None`` for a missing or non-finite value (JSON has no NaN)."""
    if value is None:
        return None
    v = float(value)
    return v if np.isfinite(v) else None


def cv_of(resource: np.ndarray, pupils: np.ndarray) -> float:
    with np.errstate(divide="ignore", invalid="ignore"):
        return weighted_cv(np.where(pupils > 0, resource / pupils, np.nan), pupils)


def fill_level(resource: np.ndarray, pupils: np.ndarray, limit: float) -> float | None:
    """The least per-pupil level whose filling brings the CV to ``limit`` or under (None: none needed)."""
    x = resource / pupils
    if cv_of(resource, pupils) <= limit:
        return None
    lo, hi = float(x.min()), float(x.max())
    for _ in range(200):
        mid = (lo + hi) / 2
        if cv_of(np.maximum(resource, mid * pupils), pupils) <= limit:
            hi = mid
        else:
            lo = mid
        if hi - lo <= 1e-15 * max(1.0, abs(hi)):
            break
    return hi


def fill_continuous(resource: np.ndarray, pupils: np.ndarray, limit: float, step: float) -> np.ndarray:
    """Additions (multiples of ``step``) that bring the CV to ``limit`` or under, least total."""
    target = limit * (1 - SAFETY)
    adds = np.zeros(resource.size)
    for _ in range(50):
        level = fill_level(resource, pupils, target)
        if level is None:
            return adds
        need = np.maximum(level * pupils - resource, 0.0)
        adds = np.where(need > 0, np.ceil(np.round(need / step, 6)) * step, 0.0)
        if cv_of(resource + adds, pupils) <= limit * (1 - SAFETY / 2):
            return np.round(adds, 2)
        target *= 1 - 1e-7
    return np.round(adds, 2)


def fill_integer(resource: np.ndarray, pupils: np.ndarray, limit: float) -> np.ndarray:
    """Whole-unit additions that bring the CV to ``limit`` or under, least total (see module)."""
    target = limit * (1 - SAFETY)
    if cv_of(resource, pupils) <= target:
        return np.zeros(resource.size, dtype=np.int64)

    def prefix(lam: float) -> np.ndarray:
        # every unit whose marginal cost (2(R + k) + 1) / P is at most lam
        k = np.floor((lam * pupils - 1) / 2 - resource) + 1
        return np.maximum(k, 0).astype(np.int64)

    lo, hi = 0.0, 1.0
    while cv_of(resource + prefix(hi), pupils) > target:
        hi *= 2
        if hi > 1e18:
            raise ValueError("no addition brings this CV under its limit")
    for _ in range(200):
        mid = (lo + hi) / 2
        if cv_of(resource + prefix(mid), pupils) <= target:
            hi = mid
        else:
            lo = mid
        if hi - lo <= 1e-12 * hi:
            break
    adds = prefix(hi)
    # walk back the dearest units while the limit still holds (ties share one marginal cost)
    while adds.sum():
        last = np.where(adds > 0, (2 * (resource + adds - 1) + 1) / pupils, -np.inf)
        i = int(np.argmax(last))
        adds[i] -= 1
        if cv_of(resource + adds, pupils) > target:
            adds[i] += 1
            break
    return adds


def fill(resource: np.ndarray, pupils: np.ndarray, limit: float, step: float, whole: bool) -> np.ndarray:
    return (fill_integer(resource, pupils, limit).astype(float) if whole
            else fill_continuous(resource, pupils, limit, step))


def composite_targets(cvs: Sequence[float], limit: float, cost_to: Callable[[int, float], float],
                      step: float = 0.005) -> list[float]:
    """Per-indicator CV targets whose mean is at most ``limit``, cheapest first.

    ``cost_to(k, t)`` prices bringing indicator ``k`` to CV ``t``. The mean falls by lowering
    whichever CV lowers it most cheaply, ``step`` at a time (the cost of each CV is convex in its
    target, so the cheapest steps are taken in order).
    """
    targets = list(cvs)
    n = len(targets)
    goal = n * limit * (1 - SAFETY)
    current = {k: cost_to(k, t) for k, t in enumerate(targets)}
    while sum(targets) > goal:
        excess = sum(targets) - goal
        best, best_rate = None, math.inf
        for k, t in enumerate(targets):
            d = min(step, t, excess)
            if d <= 0:
                continue
            rate = (cost_to(k, t - d) - current[k]) / d
            if rate < best_rate:
                best, best_rate = k, rate
        if best is None:
            break
        d = min(step, targets[best], excess)
        targets[best] -= d
        current[best] = cost_to(best, targets[best])
    return targets
