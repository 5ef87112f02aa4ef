"""The enrolment-weighted inter-school CV (data-dictionary §4, standards reference §8)."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edubalance.cv import grouped_cv, grouped_cvs, weighted_cv

# data-dictionary §4: four junior schools, resource = teaching and auxiliary area.
PUPILS = np.array([120.0, 300.0, 480.0, 100.0])
AREA = np.array([800.0, 1500.0, 3000.0, 900.0])
PER_PUPIL = AREA / PUPILS


def test_dictionary_example_weighted_form():
    assert round(weighted_cv(PER_PUPIL, PUPILS), 6) == 0.179847
    assert weighted_cv(PER_PUPIL, PUPILS) == pytest.approx(1.11505 / 6.2, abs=1e-6)


def test_dictionary_example_is_not_the_unweighted_or_sample_form():
    unweighted = np.std(PER_PUPIL) / np.mean(PER_PUPIL)
    sample = np.std(PER_PUPIL, ddof=1) / np.mean(PER_PUPIL)
    assert round(unweighted, 4) == 0.2151
    assert round(sample, 4) == 0.2484
    cv = weighted_cv(PER_PUPIL, PUPILS)
    assert abs(cv - unweighted) > 0.03 and abs(cv - sample) > 0.06


def test_mean_is_total_resource_over_total_pupils():
    # The weighted mean is 6.2 (6200 / 1000), not the plain mean of the per-pupil values (6.729).
    cv = weighted_cv(PER_PUPIL, PUPILS)
    s = math.sqrt(sum(p / 1000 * (x - 6.2) ** 2 for p, x in zip(PUPILS, PER_PUPIL)))
    assert cv == pytest.approx(s / 6.2, rel=1e-12)


def test_unrounded_value_is_returned():
    cv = weighted_cv(PER_PUPIL, PUPILS)
    assert cv != round(cv, 6)


def test_single_school_is_zero():
    assert weighted_cv(np.array([3.7]), np.array([45.0])) == 0.0
    # One weighted school among empty ones is still a single school.
    assert weighted_cv(np.array([3.7, np.nan]), np.array([45.0, 0.0])) == 0.0


def test_zero_pupil_school_carries_no_weight():
    with_empty = weighted_cv(np.r_[PER_PUPIL, 50.0], np.r_[PUPILS, 0.0])
    assert with_empty == weighted_cv(PER_PUPIL, PUPILS)
    # Its per-pupil value does not exist (NaN) and must not make the CV missing either.
    assert weighted_cv(np.r_[PER_PUPIL, np.nan], np.r_[PUPILS, 0.0]) == weighted_cv(PER_PUPIL, PUPILS)


def test_no_pupils_is_nan():
    assert math.isnan(weighted_cv(np.array([1.0, 2.0]), np.array([0.0, 0.0])))
    assert math.isnan(weighted_cv(np.array([]), np.array([])))


def test_missing_value_of_a_weighted_school_is_nan():
    assert math.isnan(weighted_cv(np.r_[PER_PUPIL[:3], np.nan], PUPILS))
    assert math.isnan(weighted_cv(PER_PUPIL, np.r_[PUPILS[:3], np.nan]))


def test_nobody_has_the_resource_is_zero():
    assert weighted_cv(np.zeros(3), np.array([10.0, 20.0, 30.0])) == 0.0


def test_bad_input():
    with pytest.raises(ValueError):
        weighted_cv(np.array([1.0, 2.0]), np.array([10.0]))
    with pytest.raises(ValueError):
        weighted_cv(np.array([1.0, 2.0]), np.array([10.0, -1.0]))


def test_weighted_differs_from_unweighted():
    # A big school far from a small one: weights change the answer.
    values, pupils = np.array([1.0, 3.0]), np.array([300.0, 100.0])
    # mean 600 / 400 = 1.5; variance 0.75 · 0.25 + 0.25 · 2.25 = 0.75
    assert weighted_cv(values, pupils) == pytest.approx(math.sqrt(0.75) / 1.5)
    assert np.std(values) / np.mean(values) == pytest.approx(0.5)
    assert weighted_cv(values, pupils) != pytest.approx(0.5)


def test_cv_limit_compares_unrounded():
    # Two equal-sized schools at 1 and x: CV = (x − 1) / (x + 1); pick x so that CV ≈ 0.5018.
    x = (1 + 0.5018) / (1 - 0.5018)
    cv = weighted_cv(np.array([1.0, x]), np.array([100.0, 100.0]))
    assert round(cv, 2) == 0.50 and cv > 0.50


per_pupil = st.floats(min_value=0.01, max_value=1e5, allow_nan=False, allow_infinity=False)
pupils_st = st.integers(min_value=1, max_value=5000)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(per_pupil, pupils_st), min_size=2, max_size=30),
       st.floats(min_value=1e-3, max_value=1e3))
def test_scaling_every_resource_leaves_cv_unchanged(schools, k):
    values = np.array([v for v, _ in schools])
    pupils = np.array([float(p) for _, p in schools])
    assert weighted_cv(values * k, pupils) == pytest.approx(weighted_cv(values, pupils), rel=1e-9, abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(per_pupil, st.lists(pupils_st, min_size=1, max_size=30))
def test_equal_per_pupil_values_give_zero(value, pupils):
    p = np.array(pupils, dtype=float)
    assert weighted_cv(np.full(len(p), value), p) == 0.0
    assert grouped_cv(np.zeros(len(p), dtype=int), np.full(len(p), value), p, 1)[0] == 0.0


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), per_pupil, st.integers(0, 3000)), min_size=1, max_size=60))
def test_grouped_equals_per_group_weighted_cv(rows):
    group = np.array([g for g, _, _ in rows])
    values = np.array([v for _, v, _ in rows])
    pupils = np.array([float(p) for _, _, p in rows])
    got = grouped_cv(group, values, pupils, 5)
    for g in range(5):
        want = weighted_cv(values[group == g], pupils[group == g])
        if math.isnan(want):
            assert math.isnan(got[g])
        else:
            assert got[g] == pytest.approx(want, rel=1e-9, abs=1e-12)


def test_grouped_dictionary_example_and_out_of_scope_rows():
    group = np.array([0, 0, 0, 0, 1, 1, -1])
    values = np.r_[PER_PUPIL, 2.0, 2.0, 999.0]
    pupils = np.r_[PUPILS, 10.0, 30.0, 5.0]
    got = grouped_cv(group, values, pupils, 3)
    assert round(got[0], 6) == 0.179847
    assert got[1] == 0.0
    assert math.isnan(got[2])               # a group with no schools has no pupils


def test_grouped_missing_value_spoils_only_its_group():
    group = np.array([0, 0, 1, 1])
    values = np.array([1.0, np.nan, 1.0, 2.0])
    pupils = np.array([10.0, 10.0, 10.0, 10.0])
    got = grouped_cv(group, values, pupils, 2)
    assert math.isnan(got[0])
    assert got[1] == pytest.approx(weighted_cv(values[2:], pupils[2:]))


def test_grouped_zero_pupil_school_with_no_value_is_ignored():
    got = grouped_cv(np.array([0, 0, 0]), np.array([1.0, 3.0, np.nan]), np.array([900.0, 100.0, 0.0]), 1)
    assert got[0] == pytest.approx(0.5)


def test_grouped_bad_input():
    with pytest.raises(ValueError):
        grouped_cv(np.array([0, 2]), np.array([1.0, 2.0]), np.array([1.0, 1.0]), 2)
    with pytest.raises(ValueError):
        grouped_cv(np.array([0.0, 1.0]), np.array([1.0, 2.0]), np.array([1.0, 1.0]), 2)


def test_grouped_is_vectorised_at_national_size():
    rng = np.random.default_rng(0)
    n, groups = 200_000, 2_850
    group = rng.integers(0, groups, n)
    pupils = rng.integers(0, 2000, n).astype(float)
    values = rng.uniform(1, 10, n)
    got = grouped_cv(group, values, pupils, groups)
    assert got.shape == (groups,) and np.isfinite(got).all()


def reference_grouped_cv(group, values, pupils, n_groups):
    """The plain form: sums over exactly the schools that have pupils and a value, min == max."""
    in_scope = group >= 0
    weighted = in_scope & (pupils > 0)
    lacking = weighted & np.isnan(values)
    usable = weighted & ~lacking
    g, p, x = group[usable], pupils[usable], values[usable]
    total = np.bincount(g, weights=p, minlength=n_groups)
    n_schools = np.bincount(g, minlength=n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.bincount(g, weights=p * x, minlength=n_groups) / total
        dev = x - mean[g]
        cv = np.sqrt(np.bincount(g, weights=p * dev * dev, minlength=n_groups) / total) / mean
    lo, hi = np.full(n_groups, np.inf), np.full(n_groups, -np.inf)
    np.minimum.at(lo, g, x)
    np.maximum.at(hi, g, x)
    cv = np.where((n_schools > 0) & (lo == hi), 0.0, cv)
    cv = np.where((n_schools > 0) & (lo != hi) & (mean == 0.0), np.nan, cv)
    bad = (np.bincount(group[lacking], minlength=n_groups) > 0) \
        | (np.bincount(group[in_scope & np.isnan(pupils)], minlength=n_groups) > 0) | (total <= 0)
    cv[bad] = np.nan
    return cv


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(-1, 4), per_pupil, per_pupil, st.integers(0, 3000), st.booleans()),
                min_size=1, max_size=60))
def test_several_columns_at_once_equal_one_at_a_time(rows):
    group = np.array([g for g, *_ in rows])
    a = np.array([v for _, v, *_ in rows])
    b = np.array([np.nan if lack else v for _, _, v, _, lack in rows])   # some lack their value
    pupils = np.array([float(p) for *_, p, _ in rows])
    got = grouped_cvs(group, [a, b, a], pupils, 5)
    assert len(got) == 3
    for col, values in zip(got, (a, b, a)):
        np.testing.assert_array_equal(col, grouped_cv(group, values, pupils, 5))
        np.testing.assert_array_equal(col, reference_grouped_cv(group, values, pupils, 5))   # bit for bit
        for g in range(5):
            want = weighted_cv(values[group == g], pupils[group == g])
            assert (math.isnan(col[g]) and math.isnan(want)) or col[g] == pytest.approx(want, rel=1e-9, abs=1e-12)


def test_several_columns_share_the_unknown_pupils_but_not_the_lacking_values():
    group = np.array([0, 0, 1, 1, 2, 2])
    pupils = np.array([10.0, 30.0, 10.0, np.nan, 10.0, 0.0])
    full = np.array([1.0, 2.0, 1.0, 2.0, 3.0, np.nan])
    lacking = np.array([1.0, np.nan, 1.0, 2.0, 3.0, 4.0])
    got_full, got_lacking = grouped_cvs(group, [full, lacking], pupils, 3)
    assert got_full[0] == pytest.approx(weighted_cv(full[:2], pupils[:2]))
    assert math.isnan(got_lacking[0])                 # only the column that lacks a value
    assert math.isnan(got_full[1]) and math.isnan(got_lacking[1])    # unknown pupils: every column
    assert got_full[2] == 0.0 and got_lacking[2] == 0.0              # 0 pupils: no weight, value ignored
    assert grouped_cvs(group, [], pupils, 3) == []


def test_several_columns_bad_input():
    group, pupils = np.array([0, 1]), np.array([1.0, 1.0])
    with pytest.raises(ValueError, match="1-D arrays of one length"):
        grouped_cvs(group, [np.array([1.0, 2.0]), np.array([1.0])], pupils, 2)
    with pytest.raises(ValueError, match="negative"):
        grouped_cvs(group, [np.array([1.0, 2.0])], np.array([1.0, -1.0]), 2)
    with pytest.raises(ValueError, match="negative"):
        grouped_cvs(group, [], np.array([1.0, -1.0]), 2)
    with pytest.raises(ValueError, match="range"):
        grouped_cvs(np.array([0, 2]), [np.array([1.0, 2.0])], pupils, 2)
    with pytest.raises(ValueError, match="integers"):
        grouped_cvs(np.array([0.0, 1.0]), [np.array([1.0, 2.0])], pupils, 2)
