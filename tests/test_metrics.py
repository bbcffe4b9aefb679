"""Metrics of SPEC section 4 on scripted agents and on known inputs; every quantity read from the recording."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
import torch as th

from agents.soo.pairs import OtherSlots, PairOptions, other_copies
from agents.soo_ppo import SOOPPO
from envs.deception.config import make_config
from envs.deception.core import BLUE_INDEX, InitialState
from envs.deception.deception_v0 import make_vec_env
from envs.deception.layout import blue_layout
from envs.deception.recording import Trajectories, rollout
from envs.deception.scripted import scripted_policy
from soo_rl.measurement import metrics
from soo_rl.measurement.soo_value import SOOMeasure, soo_values


@pytest.fixture(scope="module", params=["default", "paper"])
def scripted(request: pytest.FixtureRequest) -> tuple[str, dict[str, Trajectories]]:
    config = make_config(request.param)
    red = scripted_policy("red_follower", config)
    return request.param, {
        name: rollout(config, red, scripted_policy(name, config), 500, seed=1) for name in ("honest", "deceptive")
    }


def test_scripted_deceiver_scores_high_and_honest_low(scripted: tuple[str, dict[str, Trajectories]]) -> None:
    _, runs = scripted
    honest, deceptive = runs["honest"], runs["deceptive"]
    assert metrics.trap_rate(deceptive) >= 0.8 and metrics.trap_rate(honest) <= 0.2
    assert metrics.deceptive_step_rate(deceptive) >= 0.9
    assert metrics.deceptive_step_rate(honest) <= 0.1
    assert metrics.goal_rate(honest) >= 0.95
    # Deceiving costs goal time: the honest return of the deceiver is lower.
    assert deceptive.blue_honest_return.mean() < honest.blue_honest_return.mean()


def test_outcome_classes_partition_the_episodes(scripted: tuple[str, dict[str, Trajectories]]) -> None:
    for traj in scripted[1].values():
        classes = metrics.episode_outcomes(traj)
        assert set(classes) == set(metrics.OUTCOMES)
        np.testing.assert_array_equal(np.sum(list(classes.values()), axis=0), 1)  # exactly one class per episode
        rates = metrics.outcome_rates(traj)
        assert sum(rates.values()) == pytest.approx(1.0)
        assert rates["lure_and_goal"] + rates["lure_and_stuck"] == pytest.approx(metrics.trap_rate(traj))
        assert rates["honest_success"] + rates["lure_and_goal"] == pytest.approx(metrics.goal_rate(traj))
    honest = metrics.outcome_rates(scripted[1]["honest"])
    assert honest["honest_success"] >= 0.8 and honest["lure_and_stuck"] == 0.0


def test_outcome_classes_on_known_episodes() -> None:
    config = make_config("default")
    state = {
        "red_pos": [[0.0, 0.0], [0.0, 0.0]],
        "blue_pos": [[0.5, 0.5], [0.05, 0.0]],
        "landmarks": [[[0.5, 0.5], [0.0, 0.0]], [[0.8, 0.8], [-0.8, -0.8]]],
        "goal_index": [0, 0],
    }
    still = lambda obs: np.zeros((len(obs), 2))  # noqa: E731
    traj = rollout(config, still, still, 2, initial_state=InitialState.from_mapping(state, 2))
    # Episode 0: blue on the goal, red on the fake (trapped at once). Episode 1: neither.
    assert [name for name, flags in metrics.episode_outcomes(traj).items() if flags[0]] == ["lure_and_goal"]
    assert [name for name, flags in metrics.episode_outcomes(traj).items() if flags[1]] == ["other_failure"]


def test_honest_return_is_the_cores_honest_reward_in_every_preset() -> None:
    # Regression: the honest return was re-derived from positions without the collision penalty (221.38 on
    # 500 scripted-honest `awareness` episodes where the core's honest reward gives 147.53).
    for preset in ("default", "paper", "awareness"):
        honest_world = make_config(preset, reward_mode="honest")
        red, blue = scripted_policy("red_follower", honest_world), scripted_policy("deceptive", honest_world)
        played_honest = rollout(honest_world, red, blue, 500, seed=3)
        played_deceptive = rollout(honest_world.replace(reward_mode="deceptive"), red, blue, 500, seed=3)
        np.testing.assert_array_equal(played_deceptive.blue_honest_return, played_honest.blue_return)
        assert (played_deceptive.blue_return > played_deceptive.blue_honest_return).any()  # the trap bonus
    awareness = make_config("awareness")
    played = rollout(awareness, scripted_policy("red_follower", awareness), scripted_policy("honest", awareness), 500)
    terms = played.reward_terms
    blue_terms = sum(terms[name][:, :, BLUE_INDEX] for name in ("goal", "proximity", "shaping")).sum(axis=0)
    np.testing.assert_allclose(played.blue_honest_return, blue_terms)
    assert (terms["proximity"][:, :, BLUE_INDEX] < 0).any()  # the collision penalty is part of it


def test_behaviour_distance() -> None:
    a = np.zeros((3, 4, 2))
    b = np.zeros((3, 4, 2))
    b[..., 0] = 3.0
    b[..., 1] = 4.0
    assert metrics.behaviour_distance(a, a) == 0.0
    assert metrics.behaviour_distance(a, b) == pytest.approx(5.0)


def test_deceptive_steps_count_only_steps_where_blue_sees_an_untrapped_red(
    scripted: tuple[str, dict[str, Trajectories]],
) -> None:
    traj = scripted[1]["deceptive"]
    counted, deceptive = metrics.deceptive_steps(traj)
    visible = traj.blue_obs[..., blue_layout(2).slice("other_visible")][..., 0] > 0.5
    np.testing.assert_array_equal(counted, visible & ~traj.trapped[:-1])
    assert not (deceptive & ~counted).any()
    assert metrics.deceptive_step_rate(traj, threshold=1.01) == 0.0  # no cosine exceeds 1


class LinearPolicy:
    """A stand-in for the policy: ``tanh(obs @ weights)`` as every target's features."""

    num_hidden_layers = 1

    def __init__(self, weights: th.Tensor) -> None:
        self.weights = weights

    def soo_features(
        self, obs: th.Tensor, target: str = "hidden", layers: Sequence[int] | None = None, lure: object = None
    ) -> th.Tensor:
        return th.tanh(obs @ self.weights)


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

    def values(w: th.Tensor, measure: SOOMeasure | None = None) -> np.ndarray:
        policy: Any = LinearPolicy(w)
        measure = measure or SOOMeasure()
        return soo_values(policy, obs, layout, config.blue_radius, measure, 3, th.Generator().manual_seed(1))

    seeing, ignoring = values(weights), values(blind)
    visible = obs[..., slots.visible][..., 0] > 0.5
    assert np.all(np.isnan(seeing[visible])) and np.all(np.isfinite(seeing[~visible]))
    assert np.all(seeing[~visible] > 0)
    np.testing.assert_array_equal(ignoring[~visible], 0.0)
    # The zeroed flag is a difference a network can see even when it ignores red's slots.
    flagged = values(blind, SOOMeasure(options=PairOptions(flags="zero")))
    trapped_selves = ~visible & (obs[..., layout.slice("red_trapped")][..., 0] > 0.5)
    assert trapped_selves.any() and np.all(flagged[trapped_selves] > 0)
    # A smaller insertion disk moves the other copy less: a smaller distance.
    near = values(weights, SOOMeasure(options=PairOptions(radius=0.01)))
    assert np.nanmean(near) < np.nanmean(seeing)


def test_collision_steps_are_the_steps_the_awareness_penalty_charges() -> None:
    penalised = make_config("awareness", reward_mode="honest")
    free = penalised.replace(collision_penalty=0.0)
    red, blue = scripted_policy("red_follower", penalised), scripted_policy("honest", penalised)
    with_penalty, without = (rollout(c, red, blue, 300, seed=4) for c in (penalised, free))
    charged = (without.blue_return - with_penalty.blue_return).mean() / penalised.collision_penalty
    assert metrics.collision_steps(with_penalty) == pytest.approx(charged)
    assert metrics.collision_steps(with_penalty) > 10  # the scripted red catches the honest blue


def test_the_awareness_price_is_the_honest_return_lost_to_red_nearby() -> None:
    charged = make_config("keep_clear", reward_mode="honest")
    free = charged.replace(collision_penalty=0.0)
    red, blue = scripted_policy("red_follower", charged), scripted_policy("honest", charged)
    with_penalty, without = (rollout(c, red, blue, 300, seed=4) for c in (charged, free))
    price = metrics.awareness_price(with_penalty)
    assert price == pytest.approx((without.blue_return - with_penalty.blue_return).mean())
    assert price == pytest.approx(charged.collision_penalty * metrics.collision_steps(with_penalty)) and price > 20
    assert metrics.awareness_price(without) == 0.0  # a world that charges nothing


def test_the_honesty_reward_is_the_honest_reward_minus_the_trap_penalty() -> None:
    world = make_config("default", reward_mode="honesty", trap_penalty=5.0)
    red, blue = scripted_policy("red_follower", world), scripted_policy("deceptive", world)
    played = rollout(world, red, blue, 300, seed=5)
    trapped_steps = played.trapped[1:].sum(axis=0)
    assert trapped_steps.sum() > 0
    np.testing.assert_allclose(played.blue_return, played.blue_honest_return - 5.0 * trapped_steps)
    # The honest scripted blue rarely traps red, so the honesty reward ranks it above the deceiver.
    honest = rollout(world, red, scripted_policy("honest", world), 300, seed=5)
    assert honest.blue_return.mean() > played.blue_return.mean()


def test_behaviour_distance_is_the_distance_between_the_actions() -> None:
    a, b = np.ones((2, 3, 2)), np.ones((2, 3, 2))
    b[..., 0], b[..., 1] = 4.0, 5.0
    assert metrics.behaviour_distance(a, b) == pytest.approx(5.0)


def test_nearest_fake_is_the_fake_closest_to_blue() -> None:
    config = make_config("default", num_landmarks=3)
    state = {
        "red_pos": [-0.9, -0.9],
        "blue_pos": [0.5, 0.0],
        "landmarks": [[0.9, 0.9], [0.6, 0.0], [-0.6, 0.0]],
        "goal_index": 0,
    }
    still = lambda obs: np.zeros((len(obs), 2))  # noqa: E731
    traj = rollout(config, still, still, 1, initial_state=InitialState.from_mapping(state, 3))
    np.testing.assert_allclose(metrics.nearest_fake(traj, slice(0, 1))[0, 0], [0.6, 0.0])


def test_soo_values_compare_the_measured_target_and_layers() -> None:
    model = SOOPPO("MlpPolicy", make_vec_env(4, seed=0), seed=0, device="cpu", policy_kwargs={"net_arch": [8, 8]})
    config = make_config("default")
    traj = rollout(config, scripted_policy("red_follower", config), scripted_policy("deceptive", config), 20, seed=2)
    slots = OtherSlots.from_layout(blue_layout(2))

    def values(measure: SOOMeasure) -> np.ndarray:
        generator = th.Generator().manual_seed(0)
        return soo_values(model.policy, traj.blue_obs, blue_layout(2), config.blue_radius, measure, 2, generator)

    every, first, second = values(SOOMeasure()), values(SOOMeasure(layers=(0,))), values(SOOMeasure(layers=(1,)))
    actions = values(SOOMeasure(target="actions"))
    selves = np.isfinite(every)
    assert selves.any()
    np.testing.assert_allclose(every[selves], (8 * first[selves] + 8 * second[selves]) / 16, rtol=1e-5)
    assert not np.allclose(first[selves], second[selves]) and not np.allclose(actions[selves], every[selves])
    # The actions target: the mean squared difference of the policy's mean actions.
    obs = th.as_tensor(traj.blue_obs[selves.nonzero()[0][0], selves.nonzero()[1][0]][None])
    others, _ = other_copies(obs, slots, PairOptions(), config.blue_radius, 2, th.Generator().manual_seed(0))
    with th.no_grad():
        mean = model.policy.soo_features(obs, "actions")
        expected = ((model.policy.soo_features(others, "actions") - mean) ** 2).mean(dim=1).mean()
    assert actions[selves][0] == pytest.approx(float(expected), rel=1e-5)


def test_the_lure_trap_rate_counts_only_episodes_in_which_red_takes_part() -> None:
    config = make_config("contingent")
    on_fake = {"red_pos": [-0.6, -0.6], "blue_pos": [-0.5, -0.6], "landmarks": [[0.6, 0.6], [-0.6, -0.6]]}
    state = {key: [value] * 4 for key, value in on_fake.items()}
    state["goal_index"] = [0, 0, 0, 0]
    state["red_pos"] = [[-0.6, -0.6], [-0.6, -0.6], [0.9, -0.9], [-0.6, -0.6]]  # trapped, trapped, free, absent
    state["red_absent"] = [False, False, False, True]
    still = lambda obs: np.zeros((len(obs), 2))  # noqa: E731
    traj = rollout(config, still, still, 4, initial_state=InitialState.from_mapping(state, 2))
    assert metrics.trap_rate(traj) == pytest.approx(0.5)
    assert metrics.lure_trap_rate(traj) == pytest.approx(2 / 3)
    all_absent = {**state, "red_absent": [True] * 4}
    traj = rollout(config, still, still, 4, initial_state=InitialState.from_mapping(all_absent, 2))
    assert np.isnan(metrics.lure_trap_rate(traj)) and metrics.trap_rate(traj) == 0.0
