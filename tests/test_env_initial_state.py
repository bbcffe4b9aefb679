"""Explicit initial states through ``reset(options={"initial_state": ...})``, and scripted situations."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import envs.deception.deception_v0 as deception_v0
from envs.deception.config import make_config
from envs.deception.core import BLUE_INDEX, RED_INDEX, DeceptionCore, InitialState
from envs.deception.layout import BLUE, RED, layout_for
from envs.deception.parallel import DeceptionParallelEnv

StateFactory = Callable[..., dict[str, Any]]
ZERO = np.zeros(2, dtype=np.float32)
STILL = {RED: ZERO, BLUE: ZERO}


def start(state: dict[str, Any], **kwargs: Any) -> tuple[DeceptionParallelEnv, dict[str, np.ndarray]]:
    """A ParallelEnv reset to ``state``."""
    env = deception_v0.parallel_env(**kwargs)
    obs, _ = env.reset(seed=0, options={"initial_state": state})
    return env, obs


def obs_slot(obs: np.ndarray, agent: str, name: str, num_landmarks: int = 2) -> np.ndarray:
    return obs[..., layout_for(agent, num_landmarks).slice(name)]


def test_env_starts_exactly_at_the_given_state(make_state: StateFactory) -> None:
    state = make_state(red_pos=[0.3, -0.2], blue_pos=[-0.4, 0.5], landmarks=[[0.9, 0.1], [-0.7, -0.8]], goal_index=1)
    env, obs = start(state)
    core = env.core
    np.testing.assert_array_equal(core.pos[0, RED_INDEX], state["red_pos"])
    np.testing.assert_array_equal(core.pos[0, BLUE_INDEX], state["blue_pos"])
    np.testing.assert_array_equal(core.landmarks[0], state["landmarks"])
    assert core.goal_index[0] == 1 and core.t[0] == 0 and not core.trapped[0]
    np.testing.assert_array_equal(core.vel[0], 0.0)
    np.testing.assert_array_equal(obs_slot(obs[RED], RED, "self_pos"), np.float32(state["red_pos"]))
    np.testing.assert_allclose(obs_slot(obs[BLUE], BLUE, "goal_rel"), np.subtract([-0.7, -0.8], [-0.4, 0.5]), atol=1e-6)


def test_initial_state_overrides_the_seed(make_state: StateFactory) -> None:
    """Two seeds, one explicit state: identical episodes (what paired evaluations rely on)."""
    first = start(make_state())[0].reset(seed=1, options={"initial_state": make_state()})[0]
    second = start(make_state())[0].reset(seed=2, options={"initial_state": make_state()})[0]
    for agent in (RED, BLUE):
        np.testing.assert_array_equal(first[agent], second[agent])


@pytest.mark.parametrize("fake_index", [0, 1])
def test_red_next_to_fake_landmark_is_trapped_at_once(make_state: StateFactory, fake_index: int) -> None:
    landmarks = [[0.5, 0.5], [-0.5, -0.5]]
    red = np.add(landmarks[fake_index], [0.1, 0.0])
    env, obs = start(make_state(red_pos=red, blue_pos=[0.0, 0.9], landmarks=landmarks, goal_index=1 - fake_index))
    assert obs_slot(obs[BLUE], BLUE, "red_trapped") == 1 and obs_slot(obs[RED], RED, "red_trapped") == 1
    full_thrust = {RED: np.ones(2, dtype=np.float32), BLUE: ZERO}
    obs, rewards, *_ = env.step(full_thrust)
    np.testing.assert_array_equal(obs_slot(obs[RED], RED, "self_pos"), np.float32(red))
    blue_to_goal = np.linalg.norm(np.subtract(landmarks[1 - fake_index], [0.0, 0.9]))  # blue did not move
    assert rewards[BLUE] == pytest.approx(env.config.trap_reward - env.config.shaping_coef * blue_to_goal)


def test_red_next_to_goal_is_not_trapped(make_state: StateFactory) -> None:
    _, obs = start(make_state(red_pos=[0.55, 0.55], blue_pos=[0.0, 0.9]))
    assert obs_slot(obs[BLUE], BLUE, "red_trapped") == 0


def test_red_walking_onto_fake_gets_trapped(make_state: StateFactory) -> None:
    """Red starts 0.25 above the fake landmark (trap radius 0.16) and walks down onto it: 0.05, then 0.0875."""
    landmarks = [[0.5, 0.5], [-0.5, -0.5]]
    env, _ = start(make_state(red_pos=[-0.5, -0.25], blue_pos=[0.0, 0.9], landmarks=landmarks, goal_index=0))
    down = {RED: np.array([0.0, -1.0], dtype=np.float32), BLUE: ZERO}
    trapped = [bool(obs_slot(env.step(down)[0][BLUE], BLUE, "red_trapped")[0]) for _ in range(4)]
    assert trapped == [False, True, True, True]
    np.testing.assert_allclose(env.core.pos[0, RED_INDEX], [-0.5, -0.25 - 0.05 - 0.0875])


@pytest.mark.parametrize(
    ("reward_mode", "red_on_fake", "expected_blue"),
    [("honest", False, 5.0), ("deceptive", False, 5.0), ("honest", True, 5.0), ("deceptive", True, 15.0)],
)
def test_blue_on_goal_gets_goal_reward(
    make_state: StateFactory, reward_mode: str, red_on_fake: bool, expected_blue: float
) -> None:
    red = [-0.5, -0.5] if red_on_fake else [0.0, -0.9]
    env, _ = start(make_state(red_pos=red, blue_pos=[0.6, 0.6]), preset="paper", reward_mode=reward_mode)
    for _ in range(3):
        _, rewards, *_ = env.step(STILL)
        assert rewards[BLUE] == expected_blue


def test_red_reward_for_following_and_goal(make_state: StateFactory) -> None:
    """Red: +1 while blue is within red's radius, +5 more at the goal."""
    env, _ = start(make_state(red_pos=[0.6, 0.6], blue_pos=[0.6, 0.5]), preset="paper", red_radius=0.2)
    assert env.step(STILL)[1][RED] == 6.0
    env, _ = start(make_state(red_pos=[0.6, 0.6], blue_pos=[0.6, 0.2]), preset="paper", red_radius=0.2)
    assert env.step(STILL)[1][RED] == 5.0


def test_more_landmarks(make_state: StateFactory) -> None:
    landmarks = [[0.5, 0.5], [-0.5, -0.5], [0.5, -0.5]]
    _, obs = start(make_state(landmarks=landmarks, goal_index=2), num_landmarks=3)
    np.testing.assert_allclose(obs_slot(obs[BLUE], BLUE, "landmarks_rel", 3), np.subtract(landmarks, [0.05, 0]).ravel())


def test_vec_env_initial_state_applies_to_the_next_reset_only(make_state: StateFactory) -> None:
    state = make_state(red_pos=[0.2, 0.3], blue_pos=[0.25, 0.3])
    venv = deception_v0.make_vec_env(num_envs=4, seed=0, max_cycles=3)
    venv.set_options({"initial_state": state})
    obs = venv.reset()
    np.testing.assert_array_equal(obs_slot(obs, BLUE, "self_pos"), np.tile(np.float32([0.25, 0.3]), (4, 1)))
    for _ in range(3):
        obs, *_ = venv.step(np.zeros((4, 2), dtype=np.float32))
    assert len({tuple(row) for row in obs_slot(obs, BLUE, "self_pos")}) == 4, "auto-resets draw random states"


def test_vec_env_initial_state_per_env(make_state: StateFactory) -> None:
    venv = deception_v0.make_vec_env(num_envs=2, seed=0, learner=RED)
    venv.set_options([{"initial_state": make_state(red_pos=[x, 0.0])} for x in (-0.3, 0.3)])
    np.testing.assert_array_equal(obs_slot(venv.reset(), RED, "self_pos"), np.float32([[-0.3, 0.0], [0.3, 0.0]]))


def test_core_batch_initial_state(make_state: StateFactory) -> None:
    """A batched mapping (leading dimension N) reaches a ParallelEnv-free core too."""
    single = make_state()
    batch = {key: np.stack([np.asarray(value)] * 3) for key, value in single.items()}
    batch["goal_index"] = np.array([0, 1, 0])
    core = DeceptionCore(make_config(), 3, seed=0)
    core.reset(initial_state=InitialState.from_mapping(batch, 2))
    np.testing.assert_array_equal(core.goal_index, [0, 1, 0])
    np.testing.assert_array_equal(core.pos[:, RED_INDEX], np.tile(single["red_pos"], (3, 1)))


def test_infos_carry_the_outcome_at_the_last_step_only(make_state: StateFactory) -> None:
    landmarks = [[0.5, 0.5], [-0.5, -0.5]]
    state = make_state(red_pos=[-0.4, -0.5], blue_pos=[0.5, 0.45], landmarks=landmarks, goal_index=0)
    env, _ = start(state, max_cycles=3)
    for step in range(3):
        *_, infos = env.step({RED: ZERO, BLUE: ZERO})
        if step < 2:
            assert infos == {RED: {}, BLUE: {}}
    expected = {"trapped": True, "blue_at_goal": True, "red_at_goal": False, "red_absent": False}
    assert infos == {RED: expected, BLUE: expected}
