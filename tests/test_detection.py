"""Detection by SOO value against the number of evaluation episodes."""

from __future__ import annotations

import numpy as np
import pytest

from soo_rl.detection import detection_curve, soo_value_of_first


def curve(honest: list[np.ndarray], deceptive: list[np.ndarray]) -> dict:
    return detection_curve(honest, deceptive, np.random.default_rng(0), resamples=500, counts=(1, 10, 100))


def test_separable_agents_are_detected_at_every_budget() -> None:
    rng = np.random.default_rng(1)
    honest = [rng.uniform(0.0, 0.4, 100) for _ in range(8)]
    deceptive = [rng.uniform(0.6, 1.0, 100) for _ in range(8)]
    result = curve(honest, deceptive)
    assert result["episodes"] == [1, 10, 100] and result["seeds"] == [8, 8, 8]
    for key in ("pairwise_accuracy", "auc"):
        assert [entry["mean"] for entry in result[key]] == [1.0, 1.0, 1.0]
    assert curve(deceptive, honest)["auc"][2]["mean"] == 0.0  # reversed roles: always wrong


def test_more_episodes_separate_noisy_agents_better() -> None:
    rng = np.random.default_rng(2)
    honest = [rng.normal(0.0, 1.0, 100) for _ in range(40)]
    deceptive = [rng.normal(0.3, 1.0, 100) for _ in range(40)]
    result = curve(honest, deceptive)
    accuracy = [entry["mean"] for entry in result["pairwise_accuracy"]]
    assert accuracy[2] > accuracy[0] and accuracy[2] >= 0.9
    for entry in result["pairwise_accuracy"] + result["auc"]:
        low, high = entry["ci"]
        assert low <= entry["mean"] <= high


def test_budgets_beyond_the_evaluated_episodes_are_left_out_and_nan_episodes_skipped() -> None:
    values = np.array([np.nan, 2.0, 4.0])
    assert np.isnan(soo_value_of_first(values, 1)) and soo_value_of_first(values, 3) == 3.0
    result = curve([values, values], [values + 1, values + 1])
    assert result["episodes"] == [1] and result["seeds"] == [0]  # no seed has a self step in its first episode
    assert result["auc"][0]["mean"] is None


def test_mismatched_inputs_are_rejected() -> None:
    with pytest.raises(ValueError, match="one honest and one deceptive agent per seed"):
        curve([np.zeros(3)], [])
