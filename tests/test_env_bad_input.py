"""Bad input fails early with an error naming the field and the allowed values, on every face."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import envs.deception.deception_v0 as deception_v0
from envs.deception.config import make_config
from envs.deception.core import DeceptionCore
from envs.deception.layout import BLUE, RED

NAN, INF = float("nan"), float("inf")
CONTINUOUS_RANGE = r"must be finite and lie in \[-1, 1\]\^2"
DISCRETE_RANGE = r"must be an integer in \[0, 4\]"
OK = np.zeros(2, dtype=np.float32)

# ---------------------------------------------------------------- settings
BAD_SETTINGS: list[tuple[dict[str, Any], type[Exception], str]] = [
    ({"preset": "foo"}, ValueError, r"preset must be one of \[.*'default', .*'paper'.*\], got 'foo'"),
    ({"reward_mode": "greedy"}, ValueError, r"reward_mode must be one of \[.*'honesty'\], got 'greedy'"),
    ({"blue_radius": -0.1}, ValueError, r"blue_radius must be a finite number in \[0.0, inf\], got -0.1"),
    ({"red_radius": NAN}, ValueError, r"red_radius must be a finite number"),
    ({"max_cycles": 0}, ValueError, r"max_cycles must be an integer >= 1, got 0"),
    ({"max_cycles": -3}, ValueError, r"max_cycles must be an integer >= 1, got -3"),
    ({"max_cycles": 2.5}, ValueError, r"max_cycles must be an integer >= 1, got 2.5"),
    ({"num_landmarks": 1}, ValueError, r"num_landmarks must be an integer >= 2"),
    ({"continuous_actions": "yes"}, ValueError, r"continuous_actions must be a bool"),
    ({"blue_raduis": 0.2}, TypeError, r"unknown environment setting\(s\) \['blue_raduis'\]; allowed: \[.*'blue_rad"),
    ({"render_mode": "foo"}, ValueError, r"render_mode must be one of \['human', 'rgb_array'\] or None, got 'foo'"),
]
FACTORIES: dict[str, Callable[..., Any]] = {
    "parallel_env": deception_v0.parallel_env,
    "env": deception_v0.env,
    "raw_env": deception_v0.raw_env,
    "make_vec_env": deception_v0.make_vec_env,
}


@pytest.mark.parametrize("factory", list(FACTORIES))
@pytest.mark.parametrize(("kwargs", "error", "match"), BAD_SETTINGS, ids=[str(case[0]) for case in BAD_SETTINGS])
def test_bad_settings(factory: str, kwargs: dict[str, Any], error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        FACTORIES[factory](**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"num_envs": 0}, r"num_envs must be an integer >= 1, got 0"),
        ({"learner": "green_0"}, r"learner must be one of \['red_0', 'blue_0'\], got 'green_0'"),
        (
            {"opponent": "sneaky"},
            r"scripted policy must be one of \['contingent', 'deceptive', 'honest', 'red_follower'\]",
        ),
    ],
)
def test_bad_vec_env_arguments(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        deception_v0.make_vec_env(**kwargs)


# ---------------------------------------------------- ParallelEnv actions
def parallel_step(actions: dict[str, Any], **kwargs: Any) -> None:
    env = deception_v0.parallel_env(**kwargs)
    env.reset(seed=0)
    env.step(actions)


@pytest.mark.parametrize(
    ("red_action", "match"),
    [
        (np.zeros(3), r"action of red_0 must have shape \(2,\), got \(3,\)"),
        (np.zeros((1, 2)), r"action of red_0 must have shape \(2,\), got \(1, 2\)"),
        (np.array([NAN, 0.0]), "action of red_0 in env 0 " + CONTINUOUS_RANGE),
        (np.array([0.0, INF]), "action of red_0 in env 0 " + CONTINUOUS_RANGE),
        (np.array([-1.5, 0.0]), "action of red_0 in env 0 " + CONTINUOUS_RANGE),
        (["a", "b"], r"action of red_0 must be real numbers in \[-1, 1\]\^2"),
        (np.array([1j, 0]), r"action of red_0 must be real numbers in \[-1, 1\]\^2"),
        (None, r"action of red_0 must have shape \(2,\)"),
    ],
    ids=["shape3", "shape1x2", "nan", "inf", "out-of-range", "strings", "complex", "none"],
)
def test_bad_continuous_parallel_actions(red_action: Any, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        parallel_step({RED: red_action, BLUE: OK})


@pytest.mark.parametrize(
    ("red_action", "match"),
    [
        (5, "action of red_0 in env 0 " + DISCRETE_RANGE + ", got 5"),
        (-1, "action of red_0 in env 0 " + DISCRETE_RANGE + ", got -1"),
        (1.0, "action of red_0 " + DISCRETE_RANGE + ", got 1.0"),
        (np.array([1]), r"action of red_0 must have shape \(\), got \(1,\)"),
    ],
    ids=["5", "-1", "float", "array"],
)
def test_bad_discrete_parallel_actions(red_action: Any, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        parallel_step({RED: red_action, BLUE: 0}, continuous_actions=False)


def test_missing_or_unknown_agent_in_actions() -> None:
    with pytest.raises(
        ValueError, match=r"one action per agent \['red_0', 'blue_0'\]; missing \['blue_0'\], unknown \[\]"
    ):
        parallel_step({RED: OK})
    with pytest.raises(ValueError, match=r"missing \[\], unknown \['green_0'\]"):
        parallel_step({RED: OK, BLUE: OK, "green_0": OK})


def test_numpy_integers_are_valid_settings() -> None:
    assert deception_v0.parallel_env(max_cycles=np.int64(7), blue_radius=np.float32(0.2)).config.max_cycles == 7


def test_step_after_the_episode_ended() -> None:
    env = deception_v0.parallel_env(max_cycles=2)
    env.reset(seed=0)
    for _ in range(2):
        env.step({RED: OK, BLUE: OK})
    with pytest.raises(RuntimeError, match=r"finished episode; call reset\(\) first"):
        env.step({RED: OK, BLUE: OK})


def test_step_before_reset() -> None:
    with pytest.raises(RuntimeError, match=r"call reset\(\) first"):
        deception_v0.parallel_env().step({RED: OK, BLUE: OK})


# ---------------------------------------------------- core and VecEnv arrays
N = 3


def bad_core_arrays(continuous: bool) -> list[tuple[np.ndarray, str]]:
    """Joint ``(N, 2 agents, ...)`` action arrays that the core must reject, and the error expected."""
    if continuous:
        nan, oor = np.zeros((N, 2, 2)), np.zeros((N, 2, 2))
        nan[1, 1, 0], oor[2, 0, 1] = NAN, 1.01
        return [
            (np.zeros((N, 2)), r"continuous actions must have shape \(num_envs, 2 agents, 2\) = \(3, 2, 2\)"),
            (nan, "action of blue_0 in env 1 " + CONTINUOUS_RANGE),
            (oor, "action of red_0 in env 2 " + CONTINUOUS_RANGE),
            (np.full((N, 2, 2), "x"), r"continuous actions must be real numbers in \[-1, 1\]"),
        ]
    high = np.zeros((N, 2), dtype=np.int64)
    high[2, 1] = 5
    return [
        (np.zeros((N, 2, 2), dtype=np.int64), r"discrete actions must have shape \(num_envs, 2 agents\) = \(3, 2\)"),
        (high, "action of blue_0 in env 2 " + DISCRETE_RANGE + ", got 5"),
        (-high, "action of blue_0 in env 2 " + DISCRETE_RANGE + ", got -5"),
        (np.ones((N, 2)), r"discrete actions must be integers in \[0, 4\], got dtype float64"),
    ]


@pytest.mark.parametrize("continuous", [True, False], ids=["continuous", "discrete"])
def test_bad_core_actions(continuous: bool) -> None:
    core = DeceptionCore(make_config(continuous_actions=continuous), N, seed=0)
    core.reset()
    for actions, match in bad_core_arrays(continuous):
        with pytest.raises(ValueError, match=match):
            core.step(actions)


VEC_CASES: list[tuple[dict[str, Any], np.ndarray, str]] = [
    ({}, np.zeros((N, 3)), r"actions of blue_0 must have shape \(3, 2\), got \(3, 3\)"),
    ({}, np.zeros((N + 1, 2)), r"actions of blue_0 must have shape \(3, 2\), got \(4, 2\)"),
    ({}, np.full((N, 2), NAN), "action of blue_0 in env 0 " + CONTINUOUS_RANGE),
    ({}, np.full((N, 2), -INF), "action of blue_0 in env 0 " + CONTINUOUS_RANGE),
    ({"learner": RED}, np.full((N, 2), 2.0), "action of red_0 in env 0 " + CONTINUOUS_RANGE),
    ({"continuous_actions": False}, np.full(N, 5), "action of blue_0 in env 0 " + DISCRETE_RANGE),
    ({"continuous_actions": False}, np.full(N, -1), "action of blue_0 in env 0 " + DISCRETE_RANGE),
    ({"continuous_actions": False}, np.full(N, 1.5), r"discrete actions must be integers in \[0, 4\]"),
    ({"continuous_actions": False}, np.zeros((N, 2), dtype=np.int64), r"actions of blue_0 must have shape \(3,\)"),
]


@pytest.mark.parametrize(("kwargs", "actions", "match"), VEC_CASES)
def test_bad_vec_env_actions(kwargs: dict[str, Any], actions: np.ndarray, match: str) -> None:
    venv = deception_v0.make_vec_env(num_envs=N, seed=0, **kwargs)
    venv.reset()
    with pytest.raises(ValueError, match=match):
        venv.step(actions)


# ---------------------------------------------------------- initial state
BAD_STATES: dict[str, tuple[dict[str, Any], str]] = {
    "shape": ({"red_pos": [0.0, 0.0, 0.0]}, r"initial_state\['red_pos'\] must have shape \(2,\), got \(3,\)"),
    "landmarks-shape": (
        {"landmarks": [[0.0, 0.0]]},
        r"initial_state\['landmarks'\] must have shape \(2, 2\), got \(1, 2\)",
    ),
    "out-of-arena": ({"blue_pos": [1.2, 0.0]}, r"initial_state\['blue_pos'\] must be finite positions in \[-1, 1\]\^2"),
    "nan": ({"red_pos": [NAN, 0.0]}, r"initial_state\['red_pos'\] must be finite positions in \[-1, 1\]\^2"),
    "goal-2": ({"goal_index": 2}, r"initial_state\['goal_index'\] must be an integer in \[0, 1\], got 2"),
    "goal--1": ({"goal_index": -1}, r"initial_state\['goal_index'\] must be an integer in \[0, 1\], got -1"),
    "goal-float": ({"goal_index": 0.0}, r"initial_state\['goal_index'\] must be an integer in \[0, 1\], got 0.0"),
    "missing": ({"goal_index": None}, r"needs the keys .*; missing \['goal_index'\], unknown \[\]"),
    "unknown": ({"speed": 1.0}, r"needs the keys .*; missing \[\], unknown \['speed'\]"),
    "string": ({"red_pos": "centre"}, r"initial_state\['red_pos'\] must be an array of numbers"),
    "ragged": ({"landmarks": [[0.0, 0.0], [1.0]]}, r"initial_state\['landmarks'\] must be an array of numbers"),
}


@pytest.fixture(params=list(BAD_STATES))
def bad_state(request: pytest.FixtureRequest, make_state: Callable[..., dict[str, Any]]) -> tuple[dict[str, Any], str]:
    """A malformed ``initial_state`` and the error it must raise."""
    changes, match = BAD_STATES[request.param]
    return make_state(**changes), match


def test_bad_initial_state_parallel_env(bad_state: tuple[dict[str, Any], str]) -> None:
    state, match = bad_state
    with pytest.raises(ValueError, match=match):
        deception_v0.parallel_env().reset(seed=0, options={"initial_state": state})


def test_bad_initial_state_vec_env(bad_state: tuple[dict[str, Any], str]) -> None:
    state, match = bad_state
    venv = deception_v0.make_vec_env(num_envs=2)
    venv.set_options({"initial_state": state})
    with pytest.raises(ValueError, match=match):
        venv.reset()


def test_initial_state_must_be_a_mapping() -> None:
    with pytest.raises(ValueError, match=r"initial_state must be a mapping with the keys"):
        deception_v0.parallel_env().reset(options={"initial_state": [0.0, 0.0]})


def test_initial_state_for_some_vec_envs_only(make_state: Callable[..., dict[str, Any]]) -> None:
    venv = deception_v0.make_vec_env(num_envs=2)
    venv.set_options([{"initial_state": make_state()}, {}])
    with pytest.raises(ValueError, match=r"options\['initial_state'\] must be given for every env or for none"):
        venv.reset()
