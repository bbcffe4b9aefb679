"""Property tests of the batched core under random configs, initial states and actions.

Every expected value is recomputed here from the core's positions with the SPEC's formulas, and
observations are read through ``envs.deception.layout`` slot names only.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from numpy.typing import NDArray

import envs.deception.deception_v0 as deception_v0
from envs.deception.config import DeceptionConfig, make_config
from envs.deception.core import BLUE_INDEX, RED_INDEX, DeceptionCore, InitialState
from envs.deception.layout import BLUE, RED
from envs.deception.parallel import observation_space
from envs.generic.actions import DISCRETE_MOVES

STEPS = 30

radius = st.floats(0.0, 1.5, allow_nan=False)
configs = st.builds(
    make_config,
    preset=st.sampled_from(["default", "paper"]),
    blue_radius=radius,
    red_radius=radius,
    trap_radius=st.floats(0.0, 0.5),
    goal_radius=st.floats(0.0, 0.5),
    num_landmarks=st.integers(2, 4),
    reward_mode=st.sampled_from(["honest", "deceptive"]),
    goal_reward=st.floats(-10, 10),
    trap_reward=st.floats(-10, 10),
    red_follow_reward=st.floats(-10, 10),
    red_follow_radius=st.none() | radius,
    shaping_coef=st.floats(0, 2),
    red_speed=st.floats(0.25, 2.0),
    damping=st.floats(0.05, 1.0),
    max_cycles=st.integers(1, 40),
    continuous_actions=st.booleans(),
)
batch_sizes = st.integers(1, 8)
seeds = st.integers(0, 2**32 - 1)


def sample_core_actions(config: DeceptionConfig, num_envs: int, rng: np.random.Generator) -> NDArray[Any]:
    """Uniformly random valid joint actions ``(N, 2 agents, ...)`` for a core."""
    if config.continuous_actions:
        return rng.uniform(-1.0, 1.0, size=(num_envs, 2, 2))
    return rng.integers(0, 5, size=(num_envs, 2))


@dataclass
class Transition:
    """The core's state before and after one step, the actions taken and what ``step`` returned."""

    before: dict[str, NDArray[Any]]
    actions: NDArray[Any]
    after: dict[str, NDArray[Any]]
    rewards: NDArray[np.float64]
    truncated: NDArray[np.bool_]


def snapshot(core: DeceptionCore) -> dict[str, NDArray[Any]]:
    return {"pos": core.pos.copy(), "vel": core.vel.copy(), "trapped": core.trapped.copy(), "t": core.t.copy()}


def random_initial_state(config: DeceptionConfig, n: int, rng: np.random.Generator) -> InitialState:
    """Agents and landmarks anywhere in the arena (wider than the spawn distribution, to hit walls and radii)."""
    return InitialState(
        rng.uniform(-1, 1, size=(n, 2)),
        rng.uniform(-1, 1, size=(n, 2)),
        rng.uniform(-1, 1, size=(n, config.num_landmarks, 2)),
        rng.integers(0, config.num_landmarks, size=n),
    )


def run_core(config: DeceptionConfig, n: int, seed: int) -> tuple[DeceptionCore, Iterator[Transition]]:
    """A core reset to random states (half the time from its own spawn distribution), and its transitions."""
    rng = np.random.default_rng(seed)
    core = DeceptionCore(config, n, seed=seed)
    core.reset(initial_state=random_initial_state(config, n, rng) if seed % 2 else None)

    def transitions() -> Iterator[Transition]:
        for _ in range(STEPS):
            before = snapshot(core)
            actions = sample_core_actions(config, n, rng)
            if config.continuous_actions and rng.random() < 0.3:
                actions = np.sign(actions)  # full thrust, to reach walls
            rewards, truncated = core.step(actions)
            yield Transition(before, actions, snapshot(core), rewards, truncated)

    return core, transitions()


def distance(a: NDArray[np.float64], b: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.linalg.norm(a - b, axis=-1)


def goal_of(core: DeceptionCore) -> NDArray[np.float64]:
    return core.landmarks[np.arange(core.num_envs), core.goal_index]


def slot(obs: NDArray[np.float32], core: DeceptionCore, agent: str, name: str) -> NDArray[np.float32]:
    layout = core.blue_layout if agent == BLUE else core.red_layout
    return obs[:, layout.slice(name)]


@given(configs, batch_sizes, seeds)
def test_positions_stay_in_arena(config: DeceptionConfig, n: int, seed: int) -> None:
    _, steps = run_core(config, n, seed)
    for tr in steps:
        assert np.all(np.abs(tr.after["pos"]) <= 1.0)


@given(configs, batch_sizes, seeds)
def test_physics_follows_mpe_integrator_with_inelastic_walls(config: DeceptionConfig, n: int, seed: int) -> None:
    """``v <- v(1-damping) + sensitivity*speed*a/mass*dt``; ``p <- p + v dt``; walls clip; trapped red is still."""
    _, steps = run_core(config, n, seed)
    motor = np.array([config.red_speed, 1.0])[None, :, None]
    for tr in steps:
        moves = tr.actions if config.continuous_actions else DISCRETE_MOVES[tr.actions]
        vel = tr.before["vel"] * (1 - config.damping) + config.sensitivity * motor * moves / config.mass * config.dt
        vel[tr.before["trapped"], RED_INDEX] = 0.0
        pos = tr.before["pos"] + vel * config.dt
        vel[np.abs(pos) > 1.0] = 0.0
        np.testing.assert_allclose(tr.after["vel"], vel, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(tr.after["pos"], np.clip(pos, -1, 1), rtol=1e-12, atol=1e-12)


@given(configs, batch_sizes, seeds)
def test_trap_is_permanent_and_freezes_red(config: DeceptionConfig, n: int, seed: int) -> None:
    """Red is trapped iff it has ever come within ``trap_radius`` of a fake landmark, and then never moves."""
    core, steps = run_core(config, n, seed)
    fake = np.ones((n, config.num_landmarks), dtype=bool)
    fake[np.arange(n), core.goal_index] = False

    def near_fake(pos: NDArray[np.float64]) -> NDArray[np.bool_]:
        dists = distance(core.landmarks, pos[:, RED_INDEX, None])
        return np.any((dists <= config.trap_radius) & fake, axis=1)

    ever = near_fake(core.pos)
    np.testing.assert_array_equal(core.trapped, ever)
    for tr in steps:
        was = tr.before["trapped"]
        np.testing.assert_array_equal(tr.after["pos"][was, RED_INDEX], tr.before["pos"][was, RED_INDEX])
        np.testing.assert_array_equal(tr.after["vel"][was, RED_INDEX], 0.0)
        ever |= near_fake(tr.after["pos"])
        np.testing.assert_array_equal(tr.after["trapped"], ever)


@given(configs, batch_sizes, seeds)
def test_rewards_match_spec_formulas(config: DeceptionConfig, n: int, seed: int) -> None:
    core, steps = run_core(config, n, seed)
    goal = goal_of(core)
    for tr in steps:
        pos, trapped = tr.after["pos"], tr.after["trapped"]
        blue_goal_dist = distance(pos[:, BLUE_INDEX], goal)
        blue = config.goal_reward * (blue_goal_dist <= config.goal_radius) - config.shaping_coef * blue_goal_dist
        if config.reward_mode == "deceptive":
            blue = blue + config.trap_reward * trapped
        red_at_goal = distance(pos[:, RED_INDEX], goal) <= config.goal_radius
        follow_radius = config.red_radius if config.red_follow_radius is None else config.red_follow_radius
        red_follows = distance(pos[:, RED_INDEX], pos[:, BLUE_INDEX]) <= follow_radius
        red = config.goal_reward * red_at_goal + config.red_follow_reward * red_follows
        np.testing.assert_allclose(tr.rewards[:, BLUE_INDEX], blue, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(tr.rewards[:, RED_INDEX], red, rtol=1e-12, atol=1e-12)
        np.testing.assert_array_equal(tr.truncated, tr.after["t"] >= config.max_cycles)


keep_clear_configs = st.builds(
    make_config,
    preset=st.just("keep_clear"),
    reward_mode=st.sampled_from(["honest", "deceptive"]),
    absent_red_share=st.sampled_from([0.0, 0.5, 1.0]),
    collision_penalty=st.floats(0.0, 10.0),
    collision_radius=st.floats(0.0, 0.5),
    max_cycles=st.integers(1, 40),
)


@given(keep_clear_configs, batch_sizes, seeds)
def test_keep_clear_charges_blue_for_red_nearby_in_both_modes_and_never_for_an_absent_red(
    config: DeceptionConfig, n: int, seed: int
) -> None:
    core, steps = run_core(config, n, seed)
    goal = goal_of(core)
    for tr in steps:
        pos, trapped = tr.after["pos"], tr.after["trapped"]
        blue_goal_dist = distance(pos[:, BLUE_INDEX], goal)
        near = (distance(pos[:, RED_INDEX], pos[:, BLUE_INDEX]) <= config.collision_radius) & ~core.red_absent
        blue = config.goal_reward * (blue_goal_dist <= config.goal_radius) - config.shaping_coef * blue_goal_dist
        blue = blue - config.collision_penalty * near
        if config.reward_mode == "deceptive":
            blue = blue + config.trap_reward * trapped
        np.testing.assert_allclose(tr.rewards[:, BLUE_INDEX], blue, rtol=1e-12, atol=1e-12)
        assert not (trapped & core.red_absent).any()


@given(configs, batch_sizes, seeds)
def test_visibility_uses_each_observers_own_radius(config: DeceptionConfig, n: int, seed: int) -> None:
    """``other_visible`` is 1 exactly within the observer's radius; ``other_rel`` is other - self then, else 0."""
    core, steps = run_core(config, n, seed)
    radii = {BLUE: config.blue_radius, RED: config.red_radius}
    for tr in steps:
        pos = tr.after["pos"]
        selves = {BLUE: pos[:, BLUE_INDEX], RED: pos[:, RED_INDEX]}
        others = {BLUE: pos[:, RED_INDEX], RED: pos[:, BLUE_INDEX]}
        obs = dict(zip((RED, BLUE), core.observations(), strict=True))
        for agent in (RED, BLUE):
            visible = distance(selves[agent], others[agent]) <= radii[agent]
            np.testing.assert_array_equal(slot(obs[agent], core, agent, "other_visible")[:, 0], visible)
            rel = slot(obs[agent], core, agent, "other_rel")
            np.testing.assert_array_equal(rel[~visible], 0.0)
            expected = (others[agent] - selves[agent]).astype(np.float32)
            np.testing.assert_allclose(rel[visible], expected[visible], atol=1e-6)


@given(configs, batch_sizes, seeds)
def test_observations_match_state(config: DeceptionConfig, n: int, seed: int) -> None:
    """Own state, landmarks, goal, trap bit and red's memory of blue, slot by slot."""
    core, steps = run_core(config, n, seed)
    goal = goal_of(core)
    last_seen = core.pos[:, RED_INDEX].copy()  # red "last saw" blue at its own start, unless it sees blue now

    def remember(pos: NDArray[np.float64]) -> None:
        sees = distance(pos[:, RED_INDEX], pos[:, BLUE_INDEX]) <= config.red_radius
        last_seen[sees] = pos[sees, BLUE_INDEX]

    remember(core.pos)
    for tr in steps:
        pos, vel = tr.after["pos"], tr.after["vel"]
        remember(pos)
        obs = dict(zip((RED, BLUE), core.observations(), strict=True))
        expected: dict[tuple[str, str], NDArray[np.float64]] = {
            (BLUE, "goal_rel"): goal - pos[:, BLUE_INDEX],
            (RED, "other_last_seen_rel"): last_seen - pos[:, RED_INDEX],
        }
        for agent, index in ((RED, RED_INDEX), (BLUE, BLUE_INDEX)):
            expected[agent, "self_pos"] = pos[:, index]
            expected[agent, "self_vel"] = vel[:, index]
            expected[agent, "landmarks_rel"] = (core.landmarks - pos[:, index, None]).reshape(n, -1)
            expected[agent, "red_trapped"] = tr.after["trapped"][:, None]
        for (agent, name), value in expected.items():
            np.testing.assert_allclose(slot(obs[agent], core, agent, name), value, atol=1e-6, err_msg=name)


@given(configs, batch_sizes, seeds)
def test_observations_lie_in_declared_spaces(config: DeceptionConfig, n: int, seed: int) -> None:
    core, steps = run_core(config, n, seed)
    spaces = {agent: observation_space(config, agent) for agent in (RED, BLUE)}

    def check() -> None:
        for agent, obs in zip((RED, BLUE), core.observations(), strict=True):
            for row in obs:
                assert spaces[agent].contains(row), f"{agent} observation {row} outside {spaces[agent]}"

    check()
    for _ in steps:
        check()


@st.composite
def parallel_episodes(draw: st.DrawFn) -> tuple[dict[str, Any], int, list[NDArray[Any]]]:
    """Constructor kwargs, a reset seed and a sequence of joint actions ``(2 agents, ...)``."""
    kwargs: dict[str, Any] = {
        "preset": draw(st.sampled_from(["default", "paper"])),
        "continuous_actions": draw(st.booleans()),
        "reward_mode": draw(st.sampled_from(["honest", "deceptive"])),
        "shaping_coef": draw(st.sampled_from([0.0, 0.1])),
        "max_cycles": 25,
    }
    rng = np.random.default_rng(draw(seeds))
    config = make_config(**kwargs)
    dtype = np.float32 if config.continuous_actions else np.int64  # what the action spaces sample
    actions = [sample_core_actions(config, 1, rng)[0].astype(dtype) for _ in range(config.max_cycles)]
    return kwargs, draw(seeds), actions


@given(parallel_episodes())
def test_parallel_env_is_the_core(episode: tuple[dict[str, Any], int, list[NDArray[Any]]]) -> None:
    """Same seed and actions: the ParallelEnv's observations and rewards equal a one-episode core's."""
    kwargs, seed, actions = episode
    env = deception_v0.parallel_env(**kwargs)
    core = DeceptionCore(env.config, 1, seed=seed)
    core.reset()
    obs, _ = env.reset(seed=seed)
    for joint in actions:
        red_obs, blue_obs = core.observations()
        np.testing.assert_array_equal(obs[RED], red_obs[0])
        np.testing.assert_array_equal(obs[BLUE], blue_obs[0])
        obs, rewards, _, truncations, _ = env.step({RED: joint[RED_INDEX], BLUE: joint[BLUE_INDEX]})
        core_rewards, truncated = core.step(joint[None])
        assert rewards == {RED: core_rewards[0, RED_INDEX], BLUE: core_rewards[0, BLUE_INDEX]}
        assert truncations == {RED: truncated[0], BLUE: truncated[0]}
    assert not env.agents
