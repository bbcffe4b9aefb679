"""Seeding: the same seed replays whole multi-episode runs exactly, on every face; other seeds differ."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import envs.deception.deception_v0 as deception_v0
from envs.deception.config import make_config
from envs.deception.core import BLUE_INDEX, RED_INDEX, DeceptionCore
from envs.deception.layout import BLUE, RED
from envs.deception.scripted import scripted_policy

EPISODES = 5
MAX_CYCLES = 50
VEC_ENVS = 8
MODES: dict[str, dict[str, Any]] = {"continuous": {}, "discrete": {"continuous_actions": False}}


@pytest.fixture(params=list(MODES), ids=list(MODES))
def mode(request: pytest.FixtureRequest) -> dict[str, Any]:
    return MODES[request.param]


def parallel_run(seed: int, action_seed: int, kwargs: dict[str, Any]) -> list[Any]:
    """Everything a ParallelEnv emits over ``EPISODES`` episodes; only the first reset is seeded."""
    env = deception_v0.parallel_env(max_cycles=MAX_CYCLES, **kwargs)
    for agent in env.possible_agents:
        env.action_space(agent).seed(action_seed)
    record: list[Any] = []
    for episode in range(EPISODES):
        obs, infos = env.reset(seed=seed if episode == 0 else None)
        record.append((obs, infos))
        while env.agents:
            actions = {agent: env.action_space(agent).sample() for agent in env.agents}
            record.append((actions, *env.step(actions)))
    return record


def vec_run(seed: int, action_seed: int, kwargs: dict[str, Any], learner: str = BLUE) -> list[Any]:
    """Everything the VecEnv emits over ``EPISODES`` auto-reset rounds (VecMonitor's wall-clock time dropped)."""
    venv = deception_v0.make_vec_env(num_envs=VEC_ENVS, seed=seed, learner=learner, max_cycles=MAX_CYCLES, **kwargs)
    venv.action_space.seed(action_seed)
    record: list[Any] = [venv.reset()]
    for _ in range(EPISODES * MAX_CYCLES):
        actions = np.stack([venv.action_space.sample() for _ in range(VEC_ENVS)])
        obs, rewards, dones, infos = venv.step(actions)
        for info in infos:
            info.get("episode", {}).pop("t", None)
        record.append((obs, rewards, dones, infos))
    return record


def assert_equal(a: Any, b: Any, where: str = "run") -> None:
    """Exact structural equality of nested dicts/lists/tuples/arrays (dtypes included)."""
    assert type(a) is type(b), f"{where}: {type(a)} != {type(b)}"
    if isinstance(a, dict):
        assert a.keys() == b.keys(), f"{where}: keys {a.keys()} != {b.keys()}"
        for key in a:
            assert_equal(a[key], b[key], f"{where}[{key!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), f"{where}: lengths {len(a)} != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_equal(x, y, f"{where}[{i}]")
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and np.array_equal(a, b), f"{where}: arrays differ"
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def first_observations(record: list[Any]) -> list[Any]:
    return [entry[0] for entry in record if len(entry) == 2]


def test_parallel_env_replays_exactly(mode: dict[str, Any]) -> None:
    run = parallel_run(seed=11, action_seed=5, kwargs=mode)
    assert len(first_observations(run)) == EPISODES
    assert_equal(run, parallel_run(seed=11, action_seed=5, kwargs=mode))


def test_parallel_env_seedless_resets_draw_new_episodes() -> None:
    starts = first_observations(parallel_run(seed=11, action_seed=5, kwargs={}))
    positions = {tuple(obs[RED]) for obs in starts}
    assert len(positions) == EPISODES


def test_parallel_env_reseeding_restarts_the_sequence() -> None:
    env = deception_v0.parallel_env()
    first = env.reset(seed=3)[0]
    env.reset()
    assert_equal(env.reset(seed=3)[0], first)


@pytest.mark.parametrize("learner", [BLUE, RED])
def test_vec_env_replays_exactly(mode: dict[str, Any], learner: str) -> None:
    run = vec_run(seed=21, action_seed=7, kwargs=mode, learner=learner)
    done_steps = [i for i, entry in enumerate(run[1:], 1) if entry[2].all()]
    assert done_steps == [MAX_CYCLES * k for k in range(1, EPISODES + 1)]
    assert_equal(run, vec_run(seed=21, action_seed=7, kwargs=mode, learner=learner))


@pytest.mark.parametrize(
    ("runner", "seeds_a", "seeds_b"),
    [
        (parallel_run, (1, 5), (2, 5)),
        (vec_run, (1, 5), (2, 5)),
        (vec_run, (1, 5), (1, 6)),
    ],
    ids=["parallel-env-seed", "vec-env-seed", "vec-action-seed"],
)
def test_different_seeds_give_different_runs(runner: Any, seeds_a: tuple[int, int], seeds_b: tuple[int, int]) -> None:
    with pytest.raises(AssertionError):
        assert_equal(runner(*seeds_a, kwargs={}), runner(*seeds_b, kwargs={}))


def test_vec_env_matches_the_core_it_wraps() -> None:
    """The VecEnv is the core plus the scripted opponent: replaying the core by hand gives identical arrays."""
    config = make_config(max_cycles=MAX_CYCLES)
    venv = deception_v0.make_vec_env(num_envs=VEC_ENVS, seed=4, monitor=False, max_cycles=MAX_CYCLES)
    core = DeceptionCore(config, VEC_ENVS, seed=4)
    core.reset()
    red = scripted_policy("red_follower", config)
    rng = np.random.default_rng(0)
    obs = venv.reset()
    for step in range(1, 2 * MAX_CYCLES + 1):
        red_obs, blue_obs = core.observations()
        np.testing.assert_array_equal(obs, blue_obs)
        blue_actions = rng.uniform(-1, 1, size=(VEC_ENVS, 2)).astype(np.float32)
        joint = np.empty((VEC_ENVS, 2, 2))
        joint[:, RED_INDEX], joint[:, BLUE_INDEX] = red(red_obs), blue_actions
        rewards, truncated = core.step(joint)
        obs, vec_rewards, dones, _ = venv.step(blue_actions)
        np.testing.assert_array_equal(vec_rewards, rewards[:, BLUE_INDEX].astype(np.float32))
        np.testing.assert_array_equal(dones, truncated)
        assert dones.all() == (step % MAX_CYCLES == 0)
        if truncated.any():
            core.reset(mask=truncated)
