"""Wrap a trained SB3 model as a batched policy (observations ``(N, obs_dim)`` to actions)."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from stable_baselines3.common.base_class import BaseAlgorithm


class ModelPolicy:
    """A batched policy callable backed by an SB3 model, for evaluation rollouts or as an opponent.

    Calling it on an observation batch returns ``model.predict(obs, deterministic)[0]``: for
    continuous actions an ``(N, 2)`` float array, clipped by SB3 into the action space; for
    discrete actions an ``(N,)`` int array. This matches ``envs.generic.actions.BatchPolicy``.

    :param model: a trained SB3 model (e.g. ``PPO``) whose observation space matches the agent's.
    :param deterministic: use the distribution's mode (``True``) or sample actions (``False``).
    """

    def __init__(self, model: BaseAlgorithm, deterministic: bool = True) -> None:
        self.model = model
        self.deterministic = deterministic

    def __call__(self, obs: NDArray[np.float32]) -> NDArray[Any]:
        actions, _ = self.model.predict(obs, deterministic=self.deterministic)
        return np.asarray(actions)
