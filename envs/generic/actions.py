"""Batched policies and MPE's discrete moves, shared by every environment of the suite.

A batched policy maps a batch of observations ``(N, obs_dim)`` to actions: ``(N, action_dim)`` floats
(continuous) or ``(N,)`` ints (discrete), one row per episode.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

BatchPolicy = Callable[[NDArray[np.float32]], NDArray[Any]]

DISCRETE_MOVES = np.array([[0, 0], [-1, 0], [1, 0], [0, -1], [0, 1]], dtype=np.float64)
"""MPE's discrete actions as unit moves: no-op, left, right, down, up."""


def to_discrete(actions: NDArray[np.float64]) -> NDArray[np.int64]:
    """Nearest MPE discrete move (no-op, left, right, down, up) to each continuous action."""
    scores = actions @ DISCRETE_MOVES.T
    choice = np.argmax(scores, axis=1)
    choice[np.max(scores, axis=1) < 0.25] = 0
    return choice
