"""Play whole batches of episodes through the core and record what happened."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from envs.config import DeceptionConfig
from envs.core import BLUE_INDEX, RED_INDEX, DeceptionCore, InitialState
from envs.scripted import BatchPolicy


@dataclass(frozen=True)
class Trajectories:
    """A batch of N complete episodes of T steps. Step ``t`` holds the observation the agents acted
    on, the movement they chose and the reward that followed; state arrays have ``T + 1`` entries."""

    red_obs: NDArray[np.float32]
    """``(T, N, red_obs_dim)``"""
    blue_obs: NDArray[np.float32]
    """``(T, N, blue_obs_dim)``"""
    moves: NDArray[np.float64]
    """``(T, N, 2 agents, 2)``: actions as 2-D moves (discrete actions mapped to MPE's moves)."""
    rewards: NDArray[np.float64]
    """``(T, N, 2 agents)``"""
    pos: NDArray[np.float64]
    """``(T + 1, N, 2 agents, 2)``"""
    trapped: NDArray[np.bool_]
    """``(T + 1, N)``"""
    landmarks: NDArray[np.float64]
    """``(N, L, 2)``"""
    goal_index: NDArray[np.int64]
    """``(N,)``"""
    blue_at_goal: NDArray[np.bool_]
    """``(N,)``: blue within ``goal_radius`` of the goal at the end."""

    @property
    def final_trapped(self) -> NDArray[np.bool_]:
        """``(N,)``: red trapped at the end of the episode."""
        return self.trapped[-1]

    @property
    def blue_return(self) -> NDArray[np.float64]:
        """``(N,)``: blue's undiscounted return under the reward mode it was played with."""
        return self.rewards[:, :, BLUE_INDEX].sum(axis=0)


def rollout(
    config: DeceptionConfig,
    red_policy: BatchPolicy,
    blue_policy: BatchPolicy,
    num_episodes: int,
    seed: int | None = None,
    initial_state: InitialState | None = None,
    on_state: Callable[[DeceptionCore], None] | None = None,
) -> Trajectories:
    """Play ``num_episodes`` episodes at once and record them.

    :param config: the world's settings.
    :param red_policy: batched policy of red (observations to actions).
    :param blue_policy: batched policy of blue.
    :param num_episodes: number of episodes N.
    :param seed: seed of the initial states; the same seed gives the same episodes to any policies.
    :param initial_state: explicit initial states instead of random draws.
    :param on_state: called with the core after the reset and after every step (e.g. to render).
    """
    core = DeceptionCore(config, num_episodes, seed=seed)
    core.reset(initial_state=initial_state)
    steps, n = config.max_cycles, num_episodes
    red_obs = np.empty((steps, n, core.red_layout.size), dtype=np.float32)
    blue_obs = np.empty((steps, n, core.blue_layout.size), dtype=np.float32)
    moves = np.empty((steps, n, 2, 2))
    rewards = np.empty((steps, n, 2))
    pos = np.empty((steps + 1, n, 2, 2))
    trapped = np.empty((steps + 1, n), dtype=bool)
    pos[0], trapped[0] = core.pos, core.trapped
    if on_state is not None:
        on_state(core)
    for t in range(steps):
        red_obs[t], blue_obs[t] = core.observations()
        action_shape = (n, 2, 2) if config.continuous_actions else (n, 2)
        actions = np.empty(action_shape, dtype=np.float64 if config.continuous_actions else np.int64)
        actions[:, RED_INDEX] = red_policy(red_obs[t])
        actions[:, BLUE_INDEX] = blue_policy(blue_obs[t])
        moves[t] = core.validate_actions(actions)
        rewards[t], _ = core.step(actions)
        pos[t + 1], trapped[t + 1] = core.pos, core.trapped
        if on_state is not None:
            on_state(core)
    return Trajectories(
        red_obs,
        blue_obs,
        moves,
        rewards,
        pos,
        trapped,
        core.landmarks.copy(),
        core.goal_index.copy(),
        core.episode_outcomes()["blue_at_goal"],
    )
