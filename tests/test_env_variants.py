"""Held-out scenario variants and the awareness preset: registry, layout, placement, seeding and rewards."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from pettingzoo.test import parallel_api_test

import envs.deception.deception_v0 as deception_v0
from envs.deception.config import PRESETS, DeceptionConfig, make_config, variant_config
from envs.deception.core import BLUE_INDEX, RED_INDEX, DeceptionCore
from envs.deception.layout import AGENTS, BLUE
from envs.deception.parallel import observation_space
from envs.deception.recording import rollout
from envs.deception.scripted import scripted_policy
from envs.deception.variants import HELD_OUT_VARIANTS, VARIANTS

EPISODES = 2000
SCENARIOS = (*HELD_OUT_VARIANTS, "awareness")


def initial_state(config: DeceptionConfig, seed: int, num_envs: int = EPISODES) -> dict[str, np.ndarray]:
    """The initial states a core seeded with ``seed`` starts ``num_envs`` episodes from."""
    core = DeceptionCore(config, num_envs, seed=seed)
    core.reset()
    return {
        "red": core.pos[:, RED_INDEX],
        "blue": core.pos[:, BLUE_INDEX],
        "landmarks": core.landmarks,
        "goal": core.goal_index,
    }


def test_registry() -> None:
    """At least five held-out variants, each registered as a preset: ``default`` plus its overrides."""
    assert len(HELD_OUT_VARIANTS) >= 5
    assert set(HELD_OUT_VARIANTS) == set(VARIANTS) <= set(PRESETS)
    assert "awareness" in PRESETS and "awareness" not in HELD_OUT_VARIANTS
    for name, changes in VARIANTS.items():
        assert changes
        assert variant_config(name) == make_config(name) == make_config("default").replace(**changes)
    assert variant_config("fast_red", reward_mode="honest").reward_mode == "honest"


@pytest.mark.parametrize("name", HELD_OUT_VARIANTS)
def test_variant_passes_parallel_api(name: str) -> None:
    parallel_api_test(deception_v0.parallel_env(preset=name), num_cycles=10)


@pytest.mark.parametrize("name", SCENARIOS)
def test_default_observation_layout(name: str) -> None:
    """Same slots and sizes as ``default``; blue's observation space (the learner's) is identical."""
    default, config = make_config("default"), make_config(name)
    base, core = DeceptionCore(default), DeceptionCore(config)
    assert core.blue_layout == base.blue_layout and core.red_layout == base.red_layout
    assert observation_space(config, BLUE) == observation_space(default, BLUE)
    venv = deception_v0.make_vec_env(2, preset=name, seed=0)
    assert venv.observation_space == observation_space(default, BLUE)
    obs, _ = deception_v0.parallel_env(preset=name).reset(seed=0)
    assert {agent: o.shape for agent, o in obs.items()} == {
        agent: observation_space(default, agent).shape for agent in AGENTS
    }


@pytest.mark.parametrize("num_landmarks", [2, 3])
def test_fake_between_lies_between_blue_and_goal(num_landmarks: int) -> None:
    """Every fake projects inside the blue->goal segment and is closer to blue than the goal is."""
    state = initial_state(make_config("fake_between", num_landmarks=num_landmarks), seed=0)
    rows = np.arange(EPISODES)
    to_goal = state["landmarks"][rows, state["goal"]] - state["blue"]
    to_landmarks = state["landmarks"] - state["blue"][:, None]
    along = (to_landmarks * to_goal[:, None]).sum(axis=2) / (to_goal * to_goal).sum(axis=1)[:, None]
    closer = np.linalg.norm(to_landmarks, axis=2) < np.linalg.norm(to_goal, axis=1)[:, None]
    fake = np.arange(num_landmarks) != state["goal"][:, None]
    assert np.all((along > 0) & (along < 1) & closer | ~fake)
    assert np.all(np.abs(state["landmarks"]) <= 1.0)
    # Still a spread of positions, not one point per segment.
    assert np.ptp(along[fake]) > 0.3


def test_far_red_starts_out_of_sight() -> None:
    config = make_config("far_red")
    state = initial_state(config, seed=0)
    dist = np.linalg.norm(state["blue"] - state["red"], axis=1)
    assert np.all((dist >= config.blue_spawn_min_radius - 1e-12) & (dist <= config.blue_spawn_radius + 1e-12))
    assert np.all(dist > max(config.blue_radius, config.red_radius))
    assert np.all(np.abs(state["blue"]) <= 1.0)


@pytest.mark.parametrize("name", SCENARIOS)
def test_same_seed_same_initial_states(name: str) -> None:
    config = make_config(name)
    first, again, other = initial_state(config, 5, 64), initial_state(config, 5, 64), initial_state(config, 6, 64)
    for key in first:
        np.testing.assert_array_equal(first[key], again[key])
    assert not np.array_equal(first["landmarks"], other["landmarks"])
    env = deception_v0.parallel_env(preset=name)
    obs_first, _ = env.reset(seed=3)
    obs_again, _ = env.reset(seed=3)
    for agent in AGENTS:
        np.testing.assert_array_equal(obs_first[agent], obs_again[agent])


@pytest.mark.parametrize("reward_mode", ["honest", "deceptive"])
@pytest.mark.parametrize("distance", [0.0, 0.06, 0.099, 0.101, 0.2, 0.5])
def test_awareness_penalty_scripted_state(
    make_state: Callable[..., dict[str, Any]], reward_mode: str, distance: float
) -> None:
    """Blue pays ``collision_penalty`` exactly while red is within ``collision_radius``; red's reward is unchanged."""
    state = {"initial_state": make_state(red_pos=[0.0, 0.0], blue_pos=[0.0, distance])}
    rewards = {}
    for preset in ("default", "awareness"):
        env = deception_v0.parallel_env(preset=preset, reward_mode=reward_mode)
        env.reset(seed=0, options=state)
        rewards[preset] = env.step({agent: np.zeros(2, dtype=np.float32) for agent in AGENTS})[1]
    config = make_config("awareness")
    expected = -config.collision_penalty if distance <= config.collision_radius else 0.0
    assert rewards["awareness"]["blue_0"] - rewards["default"]["blue_0"] == pytest.approx(expected)
    assert rewards["awareness"]["red_0"] == rewards["default"]["red_0"]


def test_awareness_penalty_along_episodes() -> None:
    """Over scripted episodes (the penalty does not change what happens), blue's reward differs from ``default``
    by ``-collision_penalty`` at exactly the steps where red is within ``collision_radius``."""
    runs = {}
    for preset in ("default", "awareness"):
        config = make_config(preset)
        runs[preset] = rollout(
            config, scripted_policy("red_follower", config), scripted_policy("honest", config), 200, 0
        )
    aware, default = runs["awareness"], runs["default"]
    np.testing.assert_array_equal(aware.pos, default.pos)
    config = make_config("awareness")
    near = np.linalg.norm(aware.pos[1:, :, BLUE_INDEX] - aware.pos[1:, :, RED_INDEX], axis=2) <= config.collision_radius
    assert 0 < near.mean() < 1
    penalty = aware.rewards - default.rewards
    np.testing.assert_allclose(penalty[..., BLUE_INDEX], -config.collision_penalty * near, atol=1e-9)
    np.testing.assert_array_equal(penalty[..., RED_INDEX], 0.0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"collision_radius": -0.1}, r"collision_radius must be a finite number in \[0.0, inf\], got -0.1"),
        ({"collision_penalty": -1.0}, r"collision_penalty must be a finite number in \[0.0, inf\], got -1.0"),
        ({"collision_penalty": float("nan")}, r"collision_penalty must be a finite number"),
        ({"blue_spawn_min_radius": -0.1}, r"blue_spawn_min_radius must be a finite number in \[0.0, 0.125\]"),
        ({"blue_spawn_min_radius": 0.2}, r"blue_spawn_min_radius must be a finite number in \[0.0, 0.125\], got 0.2"),
        ({"landmark_layout": "grid"}, r"landmark_layout must be one of \['uniform', 'fake_between'\], got 'grid'"),
    ],
)
def test_bad_values(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make_config(**kwargs)
    with pytest.raises(ValueError, match=match):
        deception_v0.parallel_env(preset="awareness", **kwargs)


@pytest.mark.parametrize("name", ["foo", "default", "awareness"])
def test_unknown_variant(name: str) -> None:
    allowed = r"\['small_radii', 'large_radii', 'far_red'"
    with pytest.raises(ValueError, match=rf"variant must be one of {allowed}.*\], got '{name}'"):
        variant_config(name)


def test_unknown_preset_lists_variants() -> None:
    with pytest.raises(ValueError, match=r"preset must be one of \[.*'awareness'.*'far_red'.*\], got 'far-red'"):
        deception_v0.parallel_env(preset="far-red")
