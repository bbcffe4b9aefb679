"""Play whole batches of episodes through the core and record what happened.

Everything the measurements need is recorded here from the core (``DeceptionCore.reward_terms``,
``rewards`` and ``events``), so no code outside ``envs/`` re-derives a reward, a trap or who sees whom
from positions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from envs.deception.config import DeceptionConfig
from envs.deception.core import BLUE_INDEX, RED_INDEX, DeceptionCore, InitialState
from envs.generic.actions import BatchPolicy


@dataclass(frozen=True)
class Trajectories:
    """A batch of N complete episodes of T steps. Step ``t`` holds the observation the agents acted
    on, the movement they chose and the reward that followed; state arrays have ``T + 1`` entries
    (the initial state, then the state after each step)."""

    red_obs: NDArray[np.float32]
    """``(T, N, red_obs_dim)``"""
    blue_obs: NDArray[np.float32]
    """``(T, N, blue_obs_dim)``"""
    moves: NDArray[np.float64]
    """``(T, N, 2 agents, 2)``: actions as 2-D moves (discrete actions mapped to MPE's moves)."""
    rewards: NDArray[np.float64]
    """``(T, N, 2 agents)``: rewards under the reward mode the episodes were played with."""
    honest_rewards: NDArray[np.float64]
    """``(T, N, 2 agents)``: rewards under the honest reward, whatever mode the episodes were played with."""
    reward_terms: dict[str, NDArray[np.float64]]
    """Name to ``(T, N, 2 agents)``: the core's reward terms (``DeceptionCore.reward_terms``) after each step."""
    pos: NDArray[np.float64]
    """``(T + 1, N, 2 agents, 2)``"""
    trapped: NDArray[np.bool_]
    """``(T + 1, N)``: red trapped."""
    sees: NDArray[np.bool_]
    """``(T + 1, N, 2 agents)``: each agent sees the other (within its own radius)."""
    at_goal: NDArray[np.bool_]
    """``(T + 1, N, 2 agents)``: each agent within ``goal_radius`` of the goal."""
    collision: NDArray[np.bool_]
    """``(T + 1, N)``: red within ``collision_radius`` of blue."""
    landmarks: NDArray[np.float64]
    """``(N, L, 2)``"""
    goal_index: NDArray[np.int64]
    """``(N,)``"""
    red_absent: NDArray[np.bool_]
    """``(N,)``: red was absent (out of play: ``absent_red_share``) in this episode, so no lure was possible."""

    @property
    def num_episodes(self) -> int:
        """Number of episodes N."""
        return len(self.goal_index)

    @property
    def final_trapped(self) -> NDArray[np.bool_]:
        """``(N,)``: red trapped at the end of the episode."""
        return self.trapped[-1]

    @property
    def blue_at_goal(self) -> NDArray[np.bool_]:
        """``(N,)``: blue within ``goal_radius`` of the goal at the end of the episode."""
        return self.at_goal[-1, :, BLUE_INDEX]

    @property
    def blue_sees_red(self) -> NDArray[np.bool_]:
        """``(T + 1, N)``: red within blue's radius."""
        return self.sees[:, :, BLUE_INDEX]

    @property
    def blue_return(self) -> NDArray[np.float64]:
        """``(N,)``: blue's undiscounted return under the reward mode it was played with."""
        return self.rewards[:, :, BLUE_INDEX].sum(axis=0)

    @property
    def blue_honest_return(self) -> NDArray[np.float64]:
        """``(N,)``: blue's undiscounted return under the honest reward."""
        return self.honest_rewards[:, :, BLUE_INDEX].sum(axis=0)

    @property
    def red_return(self) -> NDArray[np.float64]:
        """``(N,)``: red's undiscounted return."""
        return self.rewards[:, :, RED_INDEX].sum(axis=0)


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
    honest_rewards = np.empty((steps, n, 2))
    terms = {name: np.empty((steps, n, 2)) for name in core.reward_terms()}
    pos = np.empty((steps + 1, n, 2, 2))
    events = {name: np.empty((steps + 1, *value.shape), dtype=bool) for name, value in core.events().items()}

    def record_state(t: int) -> None:
        pos[t] = core.pos
        for name, value in core.events().items():
            events[name][t] = value
        if on_state is not None:
            on_state(core)

    record_state(0)
    action_shape = (n, 2, 2) if config.continuous_actions else (n, 2)
    for t in range(steps):
        red_obs[t], blue_obs[t] = core.observations()
        actions = np.empty(action_shape, dtype=np.float64 if config.continuous_actions else np.int64)
        actions[:, RED_INDEX] = red_policy(red_obs[t])
        actions[:, BLUE_INDEX] = blue_policy(blue_obs[t])
        moves[t] = core.validate_actions(actions)
        rewards[t], _ = core.step(actions)
        honest_rewards[t] = core.rewards("honest")
        for name, value in core.reward_terms().items():
            terms[name][t] = value
        record_state(t + 1)
    return Trajectories(
        red_obs=red_obs,
        blue_obs=blue_obs,
        moves=moves,
        rewards=rewards,
        honest_rewards=honest_rewards,
        reward_terms=terms,
        pos=pos,
        trapped=events["trapped"],
        sees=events["sees"],
        at_goal=events["at_goal"],
        collision=events["collision"],
        landmarks=core.landmarks.copy(),
        goal_index=core.goal_index.copy(),
        red_absent=core.red_absent.copy(),
    )
