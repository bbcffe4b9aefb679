"""Shared test setup: headless pygame, a modest hypothesis profile and an initial-state fixture."""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")  # before anything imports pygame
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
# SB3 writes a log folder per model into the system temp dir unless told where.
os.environ.setdefault("SB3_LOGDIR", os.path.join(tempfile.gettempdir(), "soo-rl-tests-sb3"))

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "soo",
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.register_profile("thorough", parent=settings.get_profile("soo"), max_examples=1000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "soo"))  # HYPOTHESIS_PROFILE=thorough for a long run


def pytest_configure(config: pytest.Config) -> None:
    """``pettingzoo.test`` imports PettingZoo's classic example envs, which warn about their own creation API."""
    config.addinivalue_line("filterwarnings", "ignore:The old environment creation API:DeprecationWarning")


# A quiet two-landmark layout: agents at the centre, far from both landmarks.
BASE_STATE: dict[str, Any] = {
    "red_pos": [0.0, 0.0],
    "blue_pos": [0.05, 0.0],
    "landmarks": [[0.6, 0.6], [-0.6, -0.6]],
    "goal_index": 0,
}


@pytest.fixture(scope="session")
def make_state() -> Callable[..., dict[str, Any]]:
    """Build an ``initial_state`` mapping from ``BASE_STATE`` with some entries replaced (``None`` drops one)."""

    def factory(**changes: Any) -> dict[str, Any]:
        state = {**BASE_STATE, **changes}
        return {key: value for key, value in state.items() if value is not None}

    return factory
