"""PettingZoo's own compliance tests on ``envs.deception.deception_v0``, in every action mode and preset."""

from __future__ import annotations

import types
from functools import partial
from typing import Any

import pytest
from pettingzoo.test import (
    api_test,
    max_cycles_test,
    parallel_api_test,
    parallel_seed_test,
    render_test,
    seed_test,
)

import envs.deception.deception_v0 as deception_v0

NUM_CYCLES = 60
VARIANTS: dict[str, dict[str, Any]] = {
    "continuous": {},
    "discrete": {"continuous_actions": False},
    "paper": {"preset": "paper"},
    "paper-discrete": {"preset": "paper", "continuous_actions": False},
    "paper_learnable": {"preset": "paper_learnable"},
    "contingent": {"preset": "contingent"},
    "keep_clear": {"preset": "keep_clear"},
}


@pytest.fixture(params=list(VARIANTS), ids=list(VARIANTS))
def kwargs(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Constructor keyword arguments of one variant."""
    return VARIANTS[request.param]


def test_parallel_api(kwargs: dict[str, Any]) -> None:
    parallel_api_test(deception_v0.parallel_env(**kwargs), num_cycles=NUM_CYCLES)


@pytest.mark.parametrize("factory", ["env", "raw_env"])
def test_aec_api(kwargs: dict[str, Any], factory: str) -> None:
    api_test(getattr(deception_v0, factory)(**kwargs), num_cycles=NUM_CYCLES)


def test_aec_seed(kwargs: dict[str, Any]) -> None:
    seed_test(partial(deception_v0.env, **kwargs), num_cycles=NUM_CYCLES)


def test_parallel_seed(kwargs: dict[str, Any]) -> None:
    parallel_seed_test(partial(deception_v0.parallel_env, **kwargs), num_cycles=NUM_CYCLES)


def test_render_headless(kwargs: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("envs.deception.parallel.RENDER_FPS", 1000)  # no need to watch at 10 frames per second
    render_test(partial(deception_v0.raw_env, **kwargs))


def test_max_cycles(kwargs: dict[str, Any]) -> None:
    """PettingZoo's ``max_cycles_test`` takes a module; give it one bound to this variant's kwargs."""
    module = types.SimpleNamespace(
        parallel_env=partial(deception_v0.parallel_env, **kwargs),
        env=partial(deception_v0.env, **kwargs),
    )
    max_cycles_test(module)


def test_module_conventions() -> None:
    """The module exposes PettingZoo's three constructors plus ours, and an env's metadata names it."""
    for name in ("env", "raw_env", "parallel_env", "make_vec_env"):
        assert callable(getattr(deception_v0, name))
    par = deception_v0.parallel_env()
    assert par.metadata["name"] == "deception_v0"
    assert set(par.metadata["render_modes"]) == {"human", "rgb_array"}
    assert par.possible_agents == ["red_0", "blue_0"]
