"""Red/blue physical deception, following PettingZoo's module conventions.

- ``parallel_env(**kwargs)``: the native ``ParallelEnv``;
- ``raw_env(**kwargs)``: the AEC env (PettingZoo's ``parallel_to_aec``), unwrapped;
- ``env(**kwargs)``: the AEC env with PettingZoo's standard checking wrappers;
- ``make_vec_env(num_envs, learner, opponent, seed, **kwargs)``: an SB3 ``VecEnv`` for one team.

Keyword arguments: ``preset`` (a name in ``envs.deception.config.PRESETS``: a training world or a held-out variant such
as ``"far_red"``, see ``envs.deception.variants``), ``render_mode`` and any field of
``envs.deception.config.DeceptionConfig`` (e.g. ``max_cycles``, ``blue_radius``, ``reward_mode``).
"""

from __future__ import annotations

from typing import Any

from pettingzoo import AECEnv
from pettingzoo.utils import parallel_to_aec, wrappers

from envs.deception.parallel import DeceptionParallelEnv
from envs.deception.vec_env import make_vec_env


def parallel_env(**kwargs: Any) -> DeceptionParallelEnv:
    """The native PettingZoo ``ParallelEnv``."""
    return DeceptionParallelEnv(**kwargs)


def raw_env(**kwargs: Any) -> AECEnv[str, Any, Any]:
    """The AEC env, converted from the parallel one by PettingZoo, without checking wrappers."""
    return parallel_to_aec(parallel_env(**kwargs))


def env(**kwargs: Any) -> AECEnv[str, Any, Any]:
    """The AEC env with PettingZoo's out-of-bounds and order-enforcing wrappers."""
    aec = raw_env(**kwargs)
    if kwargs.get("continuous_actions", True):
        aec = wrappers.ClipOutOfBoundsWrapper(aec)
    else:
        aec = wrappers.AssertOutOfBoundsWrapper(aec)
    return wrappers.OrderEnforcingWrapper(aec)


__all__ = ["DeceptionParallelEnv", "env", "make_vec_env", "parallel_env", "raw_env"]
