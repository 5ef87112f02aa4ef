"""Scores: the weighted share of applicable rules passed, overall and per dimension."""
from __future__ import annotations

import pytest


@pytest.mark.parametrize("copies", [1, 300])
def test_weighted_scores_by_dimension_hand_worked(copies):
    """Weights 2, 1, 0.5 and 4 over two dimensions; a not-applicable rule is left out of both sums.
    One record and a file's worth of copies give the same hand-worked shares."""
    from edubalance.model import FAIL, MISSING_DATA, NOT_APPLICABLE, PASS, Rule
    from edubalance.scoring import score
    import numpy as np

    def rule(i, dimension, weight):
        return Rule(id=f"x.r{i}", pack="x", pack_revision="1", title_zh="t", title_en="t", dimension=dimension,
                    severity="scored", weight=weight, measure="m", operator=">=", thresholds={"primary": 1.0},
                    unit="", scope=None, scope_text="", threshold_status="confirmed", source={"document": "d"})
    rules = [rule(0, "staffing", 2.0), rule(1, "facilities", 1.0), rule(2, "staffing", 0.5), rule(3, "facilities", 4.0)]
    one = np.array([[PASS, NOT_APPLICABLE], [FAIL, NOT_APPLICABLE], [MISSING_DATA, NOT_APPLICABLE],
                    [NOT_APPLICABLE, NOT_APPLICABLE]], dtype=np.int8)
    status = np.tile(one, (1, copies))
    overall, by_dim = score(status, rules)
    # record 0: passed 2 of applicable 2 + 1 + 0.5 = 3.5; staffing 2 / 2.5; facilities 0 / 1
    assert overall[0::2].tolist() == [100 * 2 / 3.5] * copies
    assert by_dim["staffing"][0::2].tolist() == [80.0] * copies
    assert by_dim["facilities"][0::2].tolist() == [0.0] * copies
    # record 1: nothing applies
    assert np.isnan(overall[1::2]).all() and np.isnan(by_dim["staffing"][1::2]).all()
    assert list(by_dim) == ["facilities", "staffing"]
