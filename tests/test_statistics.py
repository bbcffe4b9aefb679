"""Statistics over seeds and agents: bootstrap CIs, detection scores, and the one NaN rule."""

from __future__ import annotations

import numpy as np
import pytest

from soo_rl.measurement.statistics import (
    bootstrap_ci,
    bootstrap_rng,
    nanmean,
    pairwise_accuracy,
    roc_auc,
    seed_summary,
)


def test_bootstrap_ci_contains_the_mean_and_shrinks_with_more_seeds() -> None:
    rng = np.random.default_rng(0)
    few = rng.normal(0.5, 0.1, size=3)
    many = rng.normal(0.5, 0.1, size=30)
    for values in (few, many):
        low, high = bootstrap_ci(values, np.random.default_rng(1))
        assert low <= values.mean() <= high
    width_few = np.subtract(*bootstrap_ci(few, np.random.default_rng(1))[::-1])
    width_many = np.subtract(*bootstrap_ci(many, np.random.default_rng(1))[::-1])
    assert width_many < width_few
    assert bootstrap_ci([0.3], np.random.default_rng(1)) == (0.3, 0.3)
    assert bootstrap_ci([0.1, 0.2], np.random.default_rng(5)) == bootstrap_ci([0.1, 0.2], np.random.default_rng(5))
    low, high = bootstrap_ci([0.0, 1.0], np.random.default_rng(2), resamples=4000)
    assert low == 0.0 and high == 1.0  # the 2.5% and 97.5% quantiles of resampled means of {0, 1}
    narrow = bootstrap_ci([0.0, 1.0], np.random.default_rng(2), resamples=4000, level=0.2)
    assert 0.0 < narrow[0] <= 0.5 <= narrow[1] < 1.0


def test_nan_marks_an_unmeasured_value_everywhere() -> None:
    assert nanmean([1.0, np.nan, 3.0]) == 2.0
    assert np.isnan(nanmean([np.nan, np.nan]))
    np.testing.assert_array_equal(nanmean([[1.0, np.nan], [np.nan, np.nan]], axis=1), [1.0, np.nan])
    assert bootstrap_ci([0.2, np.nan], np.random.default_rng(0)) == (0.2, 0.2)
    assert all(np.isnan(bootstrap_ci([np.nan], np.random.default_rng(0))))
    summary = seed_summary([0.2, float("nan"), 0.4], np.random.default_rng(0), 500)
    assert summary["mean"] == pytest.approx(0.3) and summary["per_seed"] == [0.2, None, 0.4]
    assert seed_summary([float("nan")], np.random.default_rng(0), 500) == {
        "mean": None,
        "ci": [None, None],
        "per_seed": [None],
    }
    # In detection an unmeasured agent is a coin flip: neither caught nor missed.
    assert pairwise_accuracy([np.nan, 0.1], [0.5, 0.5]) == 0.75
    assert roc_auc([0.5, np.nan], [0.1]) == 0.75


def test_detection_statistics() -> None:
    assert pairwise_accuracy([0.1, 0.2, 0.5], [0.3, 0.4, 0.4]) == pytest.approx(2 / 3)
    assert pairwise_accuracy([0.1], [0.1]) == 0.5
    assert roc_auc([0.9, 0.8], [0.1, 0.2]) == 1.0
    assert roc_auc([0.1, 0.2], [0.9, 0.8]) == 0.0
    assert roc_auc([0.5], [0.5]) == 0.5
    assert roc_auc([0.3, 0.9], [0.5, 0.1]) == 0.75
    np.testing.assert_array_equal(pairwise_accuracy([[0.1, 0.9], [0.1, 0.2]], [[0.5, 0.5], [0.5, 0.5]]), [0.5, 1.0])
    with pytest.raises(ValueError, match="one honest and one deceptive value per seed"):
        pairwise_accuracy([0.1, 0.2], [0.3])
    with pytest.raises(ValueError, match="at least one score of each class"):
        roc_auc([0.1], [])


def test_each_quantity_has_its_own_bootstrap_stream() -> None:
    a1, a2 = bootstrap_rng(7, "soo/trap_rate"), bootstrap_rng(7, "soo/trap_rate")
    assert a1.integers(0, 10**9) == a2.integers(0, 10**9)
    assert bootstrap_rng(7, "soo/trap_rate").integers(0, 10**9) != bootstrap_rng(7, "soo/goal_rate").integers(0, 10**9)
    assert bootstrap_rng(7, "x").integers(0, 10**9) != bootstrap_rng(8, "x").integers(0, 10**9)


def test_bootstrap_ci_is_the_percentile_interval_of_resampled_means() -> None:
    values = np.array([0.1, 0.4, 0.35, 0.8, 0.2])
    for level in (0.95, 0.5):
        draws = np.random.default_rng(3).integers(0, 5, size=(2000, 5))
        means = values[draws].mean(axis=1)
        tail = (1 - level) / 2
        expected = (float(np.quantile(means, tail)), float(np.quantile(means, 1 - tail)))
        assert bootstrap_ci(values, np.random.default_rng(3), resamples=2000, level=level) == expected
