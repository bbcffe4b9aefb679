"""Scripted policies, each computed from its agent's own observation only, batched over episodes.

Each is an ``envs.generic.actions.BatchPolicy``: actions ``(N, 2)`` floats in ``[-1, 1]`` (continuous) or ``(N,)``
ints in ``0..4`` (discrete).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from envs.deception.config import DeceptionConfig
from envs.deception.layout import blue_layout, red_layout
from envs.generic.actions import to_discrete
from envs.generic.layout import ObsLayout


@runtime_checkable
class LearningOpponent(Protocol):
    """A batched policy that also learns from the episodes it plays (e.g. ``agents.co_learning.CoLearningRed``).

    An env that drives it calls it on the opponent's observations before every step, then ``observe`` after it.
    """

    def __call__(self, obs: NDArray[np.float32]) -> NDArray[Any]: ...

    def observe(
        self,
        rewards: NDArray[np.float64],
        dones: NDArray[np.bool_],
        next_obs: NDArray[np.float32],
        terminal_obs: NDArray[np.float32] | None,
    ) -> None:
        """The step's outcome for the opponent.

        :param rewards: its rewards ``(N,)``.
        :param dones: which episodes ended (by truncation: every episode of the core has a fixed length).
        :param next_obs: its observations after the step (after the reset of the ended episodes).
        :param terminal_obs: its last observations of the ended episodes, before their reset (``None`` if none ended).
        """


def top_speed(config: DeceptionConfig) -> float:
    """Steady-state speed along an axis under a full action: ``sensitivity * dt / (mass * damping)``."""
    return config.sensitivity * config.dt / (config.mass * max(config.damping, 1e-9))


class ScriptedPolicy:
    """Base class: steer towards a per-episode target with a velocity controller.

    :param config: the world's settings (physics constants and action mode).
    :param layout: the observation layout of the agent this policy drives.
    :param motor: multiplier of the agent's action sensitivity (``red_speed`` for red).
    """

    def __init__(self, config: DeceptionConfig, layout: ObsLayout, motor: float = 1.0) -> None:
        self.config = config
        self.layout = layout
        self.motor = motor

    def target(self, obs: NDArray[np.float32]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Relative target position ``(N, 2)`` and desired top speed ``(N,)`` for each episode."""
        raise NotImplementedError

    def __call__(self, obs: NDArray[np.float32]) -> NDArray[Any]:
        rel, speed = self.target(obs)
        vel = obs[:, self.layout.slice("self_vel")].astype(np.float64)
        actions = steer(rel, vel, speed, self.config, self.motor)
        return actions if self.config.continuous_actions else to_discrete(actions)


def steer(
    rel: NDArray[np.float64],
    vel: NDArray[np.float64],
    speed: NDArray[np.float64],
    config: DeceptionConfig,
    motor: float = 1.0,
) -> NDArray[np.float64]:
    """Actions that move towards ``rel`` at up to ``speed``, arriving (and stopping) in about one step.

    The desired velocity is ``rel / dt`` capped at ``speed``; the action is the force that would reach
    it in one step under MPE's integrator, clipped to ``[-1, 1]``.
    """
    dist = np.linalg.norm(rel, axis=1, keepdims=True)
    desired_speed = np.minimum(speed[:, None], dist / config.dt)
    desired = rel / np.maximum(dist, 1e-9) * desired_speed
    gain = config.mass / (config.sensitivity * motor * config.dt)
    return np.clip((desired - vel * (1.0 - config.damping)) * gain, -1.0, 1.0)


class ScriptedRed(ScriptedPolicy):
    """The SPEC's colour-blind follower: chase blue while visible, else go to where blue was last seen and hold."""

    def __init__(self, config: DeceptionConfig) -> None:
        super().__init__(config, red_layout(config.num_landmarks), motor=config.red_speed)
        self._speed = top_speed(config) * config.red_speed

    def target(self, obs: NDArray[np.float32]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        lay = self.layout
        visible = obs[:, lay.slice("other_visible")] > 0.5
        rel = np.where(visible, obs[:, lay.slice("other_rel")], obs[:, lay.slice("other_last_seen_rel")])
        return rel.astype(np.float64), np.full(len(obs), self._speed)


class _ScriptedBlue(ScriptedPolicy):
    def __init__(self, config: DeceptionConfig) -> None:
        super().__init__(config, blue_layout(config.num_landmarks))

    def goal_rel(self, obs: NDArray[np.float32]) -> NDArray[np.float64]:
        return obs[:, self.layout.slice("goal_rel")].astype(np.float64)


class HonestBlue(_ScriptedBlue):
    """Goes straight to the goal at full speed and stays there."""

    def target(self, obs: NDArray[np.float32]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        return self.goal_rel(obs), np.full(len(obs), top_speed(self.config))


class DeceptiveBlue(_ScriptedBlue):
    """Walks at ``lure_speed`` (a fraction of full speed) to the nearest fake landmark and waits there
    until red is trapped, then goes to the goal at full speed.

    :param lure_speed: speed while leading red, as a fraction of full speed. At 0.4 the scripted red
        keeps blue in sight; at 0.5 it loses blue in about 40% of ``paper`` episodes, because it
        steers towards where blue is, not where blue is going.
    """

    def __init__(self, config: DeceptionConfig, lure_speed: float = 0.4) -> None:
        super().__init__(config)
        self.lure_speed = lure_speed

    def target(self, obs: NDArray[np.float32]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        lay, n = self.layout, len(obs)
        goal = self.goal_rel(obs)
        landmarks = obs[:, lay.slice("landmarks_rel")].astype(np.float64).reshape(n, -1, 2)
        is_goal = np.linalg.norm(landmarks - goal[:, None], axis=2) < 1e-5
        fake_dist = np.where(is_goal, np.inf, np.linalg.norm(landmarks, axis=2))
        fake = landmarks[np.arange(n), np.argmin(fake_dist, axis=1)]
        trapped = obs[:, lay.slice("red_trapped")] > 0.5
        full = top_speed(self.config)
        rel = np.where(trapped, goal, fake)
        speed = np.where(trapped[:, 0], full, self.lure_speed * full)
        return rel, speed


class ContingentBlue(DeceptiveBlue):
    """Lures only while it sees red: leads red to the nearest fake landmark while red is in view and not yet
    trapped, and otherwise goes to the goal at full speed (the deceptive behaviour the ``contingent`` world pays
    for)."""

    def target(self, obs: NDArray[np.float32]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        rel, speed = super().target(obs)
        visible = obs[:, self.layout.slice("other_visible")] > 0.5
        goal = self.goal_rel(obs)
        return np.where(visible, rel, goal), np.where(visible[:, 0], speed, top_speed(self.config))


SCRIPTED_POLICIES: dict[str, Callable[[DeceptionConfig], ScriptedPolicy]] = {
    "red_follower": ScriptedRed,
    "honest": HonestBlue,
    "deceptive": DeceptiveBlue,
    "contingent": ContingentBlue,
}


def scripted_policy(name: str, config: DeceptionConfig) -> ScriptedPolicy:
    """Build a scripted policy by name (``red_follower``, ``honest``, ``deceptive`` or ``contingent``)."""
    if name not in SCRIPTED_POLICIES:
        raise ValueError(f"scripted policy must be one of {sorted(SCRIPTED_POLICIES)}, got {name!r}")
    return SCRIPTED_POLICIES[name](config)
