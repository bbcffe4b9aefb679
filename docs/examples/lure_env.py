"""A small PettingZoo environment written outside the suite, in which a lure needs the other agent in view.

A guide (the learner) knows which of two landmarks is the goal; the other is a decoy. A follower walks towards the
guide; once it comes within ``TRAP_RADIUS`` of the decoy it is stuck there for the rest of the episode, and the guide
earns ``LURE_REWARD`` per step while it is. The decoy starts near the guide and the goal beyond it, off to one side,
so a lure is a short detour on the way to the goal. In ``ABSENT_SHARE`` of the episodes the follower is away (outside
the arena: never near the guide, never trapped), so a guide that visits the decoy without the follower in view only
loses time at the goal: a lure pays only while the guide sees the follower.

- guide's observation (9): ``self_pos(2) goal_rel(2) decoy_rel(2) follower_rel(2) follower_trapped(1)``; it shows
  the follower at every distance (give the guide a radius with ``ObservationRadius``);
- follower's observation (4): ``self_pos(2) guide_rel(2)``;
- actions: ``Box([-1, 1]^2)``, a move of ``SPEED`` times the action (its norm clipped to 1);
- the guide's reward per step: ``GOAL_REWARD`` within ``GOAL_RADIUS`` of the goal, plus ``LURE_REWARD`` while the
  follower is trapped, minus ``SHAPING`` times its distance to the goal; the follower's: 0;
- every step's infos carry ``follower_trapped`` and ``at_goal`` (the guide within ``GOAL_RADIUS`` of the goal).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from gymnasium import spaces
from numpy.typing import NDArray
from pettingzoo import ParallelEnv

SPEED, GOAL_RADIUS, TRAP_RADIUS = 0.1, 0.15, 0.15
GOAL_REWARD, LURE_REWARD, SHAPING = 1.0, 1.0, 0.3
ABSENT_SHARE, MAX_CYCLES = 0.3, 40
DECOY_DISTANCE = (0.3, 0.5)
"""The decoy starts this far from the guide."""
GOAL_DISTANCE, GOAL_ANGLE = 0.8, (35.0, 70.0)
"""The goal starts at least ``GOAL_DISTANCE`` from the guide, at an angle (degrees) from the decoy's direction in
``GOAL_ANGLE``: beyond the decoy, but off the straight line to it."""
AWAY = np.array([3.0, 3.0])
"""Where an absent follower stays: farther than 2 from every point of the arena ``[-1, 1]^2``."""

Obs = NDArray[np.float32]


def polar(angle: float, distance: float) -> NDArray[np.float64]:
    """The vector of length ``distance`` at ``angle`` (radians)."""
    return distance * np.array([np.cos(angle), np.sin(angle)])


def move(pos: NDArray[np.float64], action: Any) -> NDArray[np.float64]:
    """``pos`` moved by ``SPEED * action`` (the action's norm clipped to 1), kept in the arena."""
    step = np.asarray(action, dtype=np.float64)
    return np.clip(pos + SPEED * step / max(1.0, float(np.linalg.norm(step))), -1.0, 1.0)


class LureEnv(ParallelEnv[str, Obs, Obs]):
    """The guide and the follower (module docstring), as a PettingZoo ``ParallelEnv``."""

    metadata: ClassVar[dict[str, Any]] = {"name": "lure_v0", "render_modes": []}

    def __init__(self) -> None:
        self.possible_agents = ["guide", "follower"]
        self.agents: list[str] = []
        self.render_mode = None
        self._spaces = {
            "guide": spaces.Box(-4.0, 4.0, shape=(9,), dtype=np.float32),
            "follower": spaces.Box(-2.0, 2.0, shape=(4,), dtype=np.float32),
        }
        self._action_space = spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32)
        self._rng = np.random.default_rng()

    def observation_space(self, agent: str) -> spaces.Space[Any]:
        return self._spaces[agent]

    def action_space(self, agent: str) -> spaces.Space[Any]:
        return self._action_space

    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[dict[str, Obs], Any]:
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        rng = self._rng
        while True:  # drawn until the decoy is in the arena and the goal beyond it (GOAL_ANGLE)
            self.guide, self.goal = rng.uniform(-0.8, 0.8, 2), rng.uniform(-0.8, 0.8, 2)
            self.decoy = self.guide + polar(rng.uniform(0, 2 * np.pi), rng.uniform(*DECOY_DISTANCE))
            if np.abs(self.decoy).max() <= 0.9 and self._goal_beyond_decoy():
                break
        offset = polar(rng.uniform(0, 2 * np.pi), rng.uniform(0.15, 0.3))
        self.present = bool(rng.random() >= ABSENT_SHARE)
        self.follower = np.clip(self.guide + offset, -1.0, 1.0) if self.present else AWAY.copy()
        self.trapped, self.cycle = False, 0
        self.agents = list(self.possible_agents)
        return self._observe(), self._infos()

    def step(self, actions: dict[str, Any]) -> tuple[dict[str, Obs], dict[str, float], Any, Any, Any]:
        self.guide = move(self.guide, actions["guide"])
        if self.present and not self.trapped:
            self.follower = move(self.follower, actions["follower"])
            self.trapped = bool(np.linalg.norm(self.follower - self.decoy) <= TRAP_RADIUS)
        self.cycle += 1
        distance = float(np.linalg.norm(self.goal - self.guide))
        reward = GOAL_REWARD * (distance <= GOAL_RADIUS) + LURE_REWARD * self.trapped - SHAPING * distance
        ended = self.cycle >= MAX_CYCLES
        observations, infos = self._observe(), self._infos()
        if ended:
            self.agents = []
        rewards = {"guide": float(reward), "follower": 0.0}
        return observations, rewards, dict.fromkeys(rewards, False), dict.fromkeys(rewards, ended), infos

    def _goal_beyond_decoy(self) -> bool:
        to_goal, to_decoy = self.goal - self.guide, self.decoy - self.guide
        cosine = to_goal @ to_decoy / (np.linalg.norm(to_goal) * np.linalg.norm(to_decoy))
        angle = np.degrees(np.arccos(np.clip(cosine, -1.0, 1.0)))
        return bool(np.linalg.norm(to_goal) >= GOAL_DISTANCE and GOAL_ANGLE[0] <= angle <= GOAL_ANGLE[1])

    def _observe(self) -> dict[str, Obs]:
        guide = [self.guide, self.goal - self.guide, self.decoy - self.guide, self.follower - self.guide]
        return {
            "guide": np.concatenate([*guide, [float(self.trapped)]]).astype(np.float32),
            "follower": np.concatenate([self.follower, self.guide - self.follower]).clip(-2, 2).astype(np.float32),
        }

    def _infos(self) -> dict[str, dict[str, bool]]:
        at_goal = bool(np.linalg.norm(self.goal - self.guide) <= GOAL_RADIUS)
        return {agent: {"follower_trapped": self.trapped, "at_goal": at_goal} for agent in self.possible_agents}


def follow(obs: Obs) -> Obs:
    """The follower's batched policy: walk to the guide (at most ``SPEED`` per step, never past it)."""
    rel = obs[:, 2:4]
    return (rel / np.maximum(np.linalg.norm(rel, axis=1, keepdims=True), SPEED)).astype(np.float32)
