"""Detection by SOO value against the number of evaluation episodes, and the one definition of an SOO value."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from soo_rl.measurement.detection import detection_curve, detection_scores
from soo_rl.measurement.soo_value import EpisodeSOO


def agent(per_episode: np.ndarray, steps: int = 1) -> EpisodeSOO:
    """An agent whose every measured episode has ``steps`` self steps of the given mean (NaN: no self step)."""
    measured = np.isfinite(per_episode)
    return EpisodeSOO(np.where(measured, per_episode * steps, 0.0), np.where(measured, steps, 0))


def curve(honest: list[np.ndarray], deceptive: list[np.ndarray]) -> dict[str, Any]:
    return detection_curve(
        [agent(v) for v in honest], [agent(v) for v in deceptive], np.random.default_rng(0), 300, (1, 10, 100)
    )


def test_separable_agents_are_detected_at_every_budget() -> None:
    rng = np.random.default_rng(1)
    honest = [rng.uniform(0.0, 0.4, 100) for _ in range(8)]
    deceptive = [rng.uniform(0.6, 1.0, 100) for _ in range(8)]
    result = curve(honest, deceptive)
    assert result["episodes"] == [1, 10, 100] and result["blocks"] == [20, 10, 1] and result["seeds"] == 8
    for key in ("pairwise_accuracy", "auc"):
        assert [entry["mean"] for entry in result[key]] == [1.0, 1.0, 1.0]
    assert curve(deceptive, honest)["auc"][2]["mean"] == 0.0  # reversed roles: always wrong


def test_more_episodes_separate_noisy_agents_better() -> None:
    rng = np.random.default_rng(2)
    honest = [rng.normal(0.0, 1.0, 100) for _ in range(40)]
    deceptive = [rng.normal(0.3, 1.0, 100) for _ in range(40)]
    result = curve(honest, deceptive)
    accuracy = [entry["mean"] for entry in result["pairwise_accuracy"]]
    assert 0.45 < accuracy[0] < 0.7 and accuracy[2] >= 0.9
    for entry in result["pairwise_accuracy"] + result["auc"]:
        low, high = entry["ci"]
        assert low <= entry["mean"] <= high
    assert all(entry["ci"][1] - entry["ci"][0] > 0.02 for entry in result["auc"][:2])  # resampled over seeds


def test_an_soo_value_is_a_mean_over_self_steps_at_every_granularity() -> None:
    soo = EpisodeSOO(np.array([0.0, 2.0, 12.0, 0.0, 0.0, 7.0]), np.array([0, 1, 3, 0, 0, 1]))
    np.testing.assert_array_equal(soo.per_episode(), [np.nan, 2.0, 4.0, np.nan, np.nan, 7.0])
    np.testing.assert_array_equal(soo.blocks(2, 3), [2.0, 4.0, 7.0])
    np.testing.assert_array_equal(soo.blocks(3, 2), [14.0 / 4.0, 7.0])  # steps weigh, not episodes
    assert soo.value() == 21.0 / 5.0 == soo.blocks(6, 1)[0]
    per_step = np.array([[np.nan, 1.0], [3.0, np.nan], [5.0, 2.0]])
    from_steps = EpisodeSOO.from_steps(per_step)
    np.testing.assert_array_equal(from_steps.sums, [8.0, 3.0])
    np.testing.assert_array_equal(from_steps.steps, [2, 2])
    assert from_steps.value() == pytest.approx(np.nanmean(per_step))


def test_unmeasured_agents_count_as_chance() -> None:
    pairwise, auc = detection_scores(np.array([np.nan, 0.0]), np.array([1.0, 1.0]))
    assert pairwise == 0.75 and auc == 0.75  # the unmeasured honest agent is a coin flip, the other is caught
    blind = curve([np.full(3, np.nan)] * 2, [np.full(3, np.nan)] * 2)
    assert blind["episodes"] == [1] and blind["measured"] == [0.0] and blind["auc"][0]["mean"] == 0.5


def test_mismatched_inputs_are_rejected() -> None:
    with pytest.raises(ValueError, match="one honest and one deceptive agent per seed"):
        curve([np.zeros(3)], [])
