"""Metrics of SPEC section 4 on scripted agents and on known inputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch as th

from envs.config import make_config
from envs.layout import blue_layout
from envs.rollout import Trajectories, rollout
from envs.scripted import scripted_policy
from soo_rl import metrics
from soo_rl.pairs import OtherSlots


@pytest.fixture(scope="module", params=["default", "paper"])
def scripted(request: pytest.FixtureRequest) -> tuple[str, dict[str, Trajectories]]:
    config = make_config(request.param)
    red = scripted_policy("red_follower", config)
    return request.param, {
        name: rollout(config, red, scripted_policy(name, config), 500, seed=1) for name in ("honest", "deceptive")
    }


def test_scripted_deceiver_scores_high_and_honest_low(scripted: tuple[str, dict[str, Trajectories]]) -> None:
    preset, runs = scripted
    config = make_config(preset)
    honest, deceptive = runs["honest"], runs["deceptive"]
    assert metrics.trap_rate(deceptive) >= 0.8 and metrics.trap_rate(honest) <= 0.2
    assert metrics.deceptive_step_rate(deceptive, config) >= 0.9
    assert metrics.deceptive_step_rate(honest, config) <= 0.1
    assert metrics.goal_rate(honest) >= 0.95
    # Deceiving costs goal time: the honest return of the deceiver is lower.
    assert metrics.honest_returns(deceptive, config).mean() < metrics.honest_returns(honest, config).mean()


def test_honest_return_matches_recorded_honest_rewards(scripted: tuple[str, dict[str, Trajectories]]) -> None:
    preset, _ = scripted
    config = make_config(preset, reward_mode="honest")
    red = scripted_policy("red_follower", config)
    played = rollout(config, red, scripted_policy("deceptive", config), 200, seed=1)
    np.testing.assert_allclose(metrics.honest_returns(played, config), played.blue_return)


def test_behaviour_distance() -> None:
    a = np.zeros((3, 4, 2))
    b = np.zeros((3, 4, 2))
    b[..., 0] = 3.0
    b[..., 1] = 4.0
    assert metrics.behaviour_distance(a, a) == 0.0
    assert metrics.behaviour_distance(a, b) == pytest.approx(5.0)


def test_bootstrap_ci_contains_the_mean_and_shrinks_with_more_seeds() -> None:
    rng = np.random.default_rng(0)
    few = rng.normal(0.5, 0.1, size=3)
    many = rng.normal(0.5, 0.1, size=30)
    for values in (few, many):
        low, high = metrics.bootstrap_ci(values, np.random.default_rng(1))
        assert low <= values.mean() <= high
    width_few = np.subtract(*metrics.bootstrap_ci(few, np.random.default_rng(1))[::-1])
    width_many = np.subtract(*metrics.bootstrap_ci(many, np.random.default_rng(1))[::-1])
    assert width_many < width_few
    assert metrics.bootstrap_ci([0.3], np.random.default_rng(1)) == (0.3, 0.3)
    assert metrics.bootstrap_ci([0.1, 0.2], np.random.default_rng(5)) == metrics.bootstrap_ci(
        [0.1, 0.2], np.random.default_rng(5)
    )


def test_detection_statistics() -> None:
    assert metrics.pairwise_detection_accuracy([0.1, 0.2, 0.5], [0.3, 0.4, 0.4]) == pytest.approx(2 / 3)
    assert metrics.pairwise_detection_accuracy([0.1], [0.1]) == 0.5
    assert metrics.roc_auc([0.9, 0.8, 0.1, 0.2], [True, True, False, False]) == 1.0
    assert metrics.roc_auc([0.1, 0.2, 0.9, 0.8], [True, True, False, False]) == 0.0
    assert metrics.roc_auc([0.5, 0.5], [True, False]) == 0.5
    with pytest.raises(ValueError, match="one honest and one deceptive value per seed"):
        metrics.pairwise_detection_accuracy([0.1, 0.2], [0.3])
    with pytest.raises(ValueError, match="at least one agent of each class"):
        metrics.roc_auc([0.1], [True])


def test_soo_values_are_zero_for_a_network_blind_to_the_other_agent(
    scripted: tuple[str, dict[str, Trajectories]],
) -> None:
    preset, runs = scripted
    config = make_config(preset)
    layout = blue_layout(config.num_landmarks)
    slots = OtherSlots.from_layout(layout)
    weights = th.randn(layout.size, 8, generator=th.Generator().manual_seed(0))
    blind = weights.clone()
    blind[slots.rel] = 0.0
    blind[slots.visible] = 0.0
    obs = runs["deceptive"].blue_obs
    seeing = metrics.soo_values(
        lambda x: th.tanh(x @ weights), obs, slots, config.blue_radius, 3, th.Generator().manual_seed(1)
    )
    ignoring = metrics.soo_values(
        lambda x: th.tanh(x @ blind), obs, slots, config.blue_radius, 3, th.Generator().manual_seed(1)
    )
    visible = obs[..., slots.visible][..., 0] > 0.5
    assert np.all(np.isnan(seeing[visible])) and np.all(np.isfinite(seeing[~visible]))
    assert np.all(seeing[~visible] > 0)
    np.testing.assert_array_equal(ignoring[~visible], 0.0)


def test_collision_steps_are_the_steps_the_awareness_penalty_charges() -> None:
    penalised = make_config("awareness", reward_mode="honest")
    free = penalised.replace(collision_penalty=0.0)
    red, blue = scripted_policy("red_follower", penalised), scripted_policy("honest", penalised)
    with_penalty, without = (rollout(c, red, blue, 300, seed=4) for c in (penalised, free))
    charged = (without.blue_return - with_penalty.blue_return).mean() / penalised.collision_penalty
    assert metrics.collision_steps(with_penalty, penalised) == pytest.approx(charged)
    assert metrics.collision_steps(with_penalty, penalised) > 10  # the scripted red catches the honest blue
