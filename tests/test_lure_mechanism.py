"""bench/lure_mechanism.py: the mechanism tables read the geometry they name."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from agents.soo.lure import LureDirection
from envs.deception.layout import blue_layout

ROOT = Path(__file__).resolve().parents[1]
LAYOUT = blue_layout(2)
LURE = LureDirection.from_layout(LAYOUT)


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("lure_mechanism", ROOT / "bench" / "lure_mechanism.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


MECHANISM = load_script()


def observation(goal: tuple[float, float], fake: tuple[float, float]) -> np.ndarray:
    """A blue observation with the goal and the fake landmark at these relative positions (red out of view)."""
    obs = np.zeros(LAYOUT.size)
    obs[LAYOUT.slice("goal_rel")] = goal
    obs[LAYOUT.slice("landmarks_rel")] = (*fake, *goal)
    return obs


def test_start_angles_are_the_angles_between_goal_and_fake() -> None:
    obs = np.stack([observation((1, 0), (0, 2)), observation((1, 0), (-3, 0)), observation((1, 1), (2, 2))])
    np.testing.assert_allclose(MECHANISM.start_angles(obs, LURE), [90.0, 180.0, 0.0], atol=1e-4)


def test_moves_are_split_by_where_the_goal_lies_and_measured_by_hand() -> None:
    towards = observation((1, 0), (2, 2))  # fake at 45 degrees from the goal
    away = observation((1, 0), (-1, 1))  # fake at 135 degrees
    at_goal = [observation((0.01, 0), (-1, 1)), observation((0.01, 0), (1, 1))]  # within the goal radius: left out
    obs = np.stack([towards, away, *at_goal])[None]
    moves = np.array([[[0.0, 1.0], [1.0, 0.0], [5.0, 5.0], [5.0, 5.0]]])
    table = MECHANISM.move_split(obs, moves, LURE, goal_radius=0.16)
    root = 1 / math.sqrt(2)
    np.testing.assert_allclose(table[0], [root, root, 1.0, 0.0], atol=1e-9)
    np.testing.assert_allclose(table[1], [-root, root, 1.0, 1.0], atol=1e-9)


def test_the_fake_landmark_is_the_one_nearest_the_goal() -> None:
    layout = blue_layout(3)
    obs = np.zeros(layout.size)
    obs[layout.slice("goal_rel")] = (1, 0)
    obs[layout.slice("landmarks_rel")] = (-5, 0, 1, 0, 1, 1)  # the far one first, then the goal, then the near one
    angles = MECHANISM.start_angles(obs[None], LureDirection.from_layout(layout))
    np.testing.assert_allclose(angles, [45.0], atol=1e-4)


@given(
    st.tuples(st.floats(-1, 1), st.floats(-1, 1)).filter(lambda v: math.hypot(*v) > 0.2),
    st.tuples(st.floats(-1, 1), st.floats(-1, 1)).filter(lambda v: math.hypot(*v) > 0.2),
    st.tuples(st.floats(-1, 1), st.floats(-1, 1)),
)
def test_along_and_across_make_up_the_move(
    goal: tuple[float, float], fake: tuple[float, float], move: tuple[float, float]
) -> None:
    obs = np.stack([observation(goal, fake)] * 2)[None]
    moves = np.array([[move, move]])
    rows = MECHANISM.move_split(obs, moves, LURE, goal_radius=0.1)
    row = rows[0] if np.isfinite(rows[0]).all() else rows[1]
    along, across, length, _ = row
    assert along**2 + across**2 == pytest.approx(length**2, abs=1e-9)


def test_goal_and_trap_rates_by_angle_count_every_episode_once() -> None:
    angles = np.array([10.0, 20.0, 45.0, 90.0, 180.0])
    cells = MECHANISM.goal_and_trap_by_angle(angles, np.array([1, 0, 1, 1, 0], bool), np.array([0, 1, 0, 0, 1], bool))
    assert cells == ["0.50/0.50 (n=2)", "1.00/0.00 (n=1)", "- (n=0)", "0.50/0.50 (n=2)"]
