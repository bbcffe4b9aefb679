"""Configuration of the physical-deception world: physics, geometry, rewards, presets."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Literal

from envs.deception.variants import HELD_OUT_VARIANTS, VARIANTS
from envs.generic.validation import check_choice, check_float, check_int

RewardMode = Literal["honest", "deceptive", "honesty"]
REWARD_MODES: tuple[str, ...] = ("honest", "deceptive", "honesty")
LandmarkLayout = Literal["uniform", "fake_between"]
LANDMARK_LAYOUTS: tuple[str, ...] = ("uniform", "fake_between")


@dataclass(frozen=True)
class DeceptionConfig:
    """Every setting of the red/blue physical-deception world (SPEC section 2).

    Distances are in arena units (the arena is ``[-1, 1]^2``); times are in steps.
    """

    max_cycles: int = 50
    """Episode length in steps; the episode ends as a truncation."""
    blue_radius: float = 0.125
    """Blue sees red only within this distance."""
    red_radius: float = 0.125
    """Red sees blue only within this distance."""
    trap_radius: float = 0.16
    """Red is trapped (frozen for the rest of the episode) within this distance of a fake landmark."""
    goal_radius: float = 0.16
    """An agent within this distance of the goal landmark is 'at the goal'."""
    num_landmarks: int = 2
    """One goal plus ``num_landmarks - 1`` fake landmarks."""
    reward_mode: RewardMode = "deceptive"
    """Blue's reward: ``honest`` (goal only), ``deceptive`` (goal plus trap bonus) or ``honesty`` (goal minus
    ``trap_penalty``: a reward that pays for honesty, used by the honesty-reward control)."""
    goal_reward: float = 5.0
    """Reward per step for blue (and a learned red) within ``goal_radius`` of the goal."""
    trap_reward: float = 10.0
    """Extra reward per step for a deceptive blue while red is trapped."""
    trap_penalty: float = 5.0
    """Penalty per step for blue while red is trapped, in the ``honesty`` reward mode only."""
    red_follow_reward: float = 1.0
    """Reward per step for a learned red while blue is within ``red_follow_radius``."""
    red_follow_radius: float | None = None
    """Distance from blue within which a learned red earns ``red_follow_reward`` (``None``: ``red_radius``, so
    that seeing blue is enough)."""
    shaping_coef: float = 0.0
    """Dense shaping for blue, identical in both modes: ``-shaping_coef * distance(blue, goal)`` per step."""
    collision_penalty: float = 0.0
    """Penalty per step for blue while red is within ``collision_radius`` of it (both modes; red unaffected)."""
    collision_radius: float = 0.1
    """Distance between the agents within which blue pays ``collision_penalty``."""
    spawn_range: float = 0.825
    """Red and the landmarks start uniformly in ``[-spawn_range, spawn_range]^2``."""
    blue_spawn_radius: float = 0.125
    """Blue starts uniformly in the disk (annulus if ``blue_spawn_min_radius > 0``) of this radius around red; an
    offset component that would leave the arena is mirrored, which keeps the distance."""
    blue_spawn_min_radius: float = 0.0
    """Blue starts at least this far from red (at most ``blue_spawn_radius``)."""
    absent_red_share: float = 0.0
    """Share of episodes in which red is absent (out of play): blue never sees it, it never moves and it cannot be
    trapped, so no lure is possible (0: red takes part in every episode)."""
    red_gives_up: bool = False
    """A red that loses sight of blue (untrapped) gives up: it stops and never moves again in that episode."""
    landmark_layout: LandmarkLayout = "uniform"
    """``uniform``: landmarks uniform like red; ``fake_between``: each fake landmark between blue's start and
    the goal (at 30-70% of the way, up to 15% of the distance off the line)."""
    red_speed: float = 1.0
    """Multiplier of red's action sensitivity (1 = same motor as blue)."""
    continuous_actions: bool = True
    """Continuous 2-D actions in ``[-1, 1]^2``; ``False`` gives MPE's 5 discrete actions."""
    dt: float = 0.1
    damping: float = 0.25
    mass: float = 1.0
    sensitivity: float = 5.0
    """Force per unit action (MPE's ``accel``)."""

    def __post_init__(self) -> None:
        check_int("max_cycles", self.max_cycles, 1)
        check_int("num_landmarks", self.num_landmarks, 2)
        radii = ("blue_radius", "red_radius", "trap_radius", "goal_radius", "collision_radius", "blue_spawn_radius")
        for name in (*radii, "collision_penalty"):
            check_float(name, getattr(self, name), 0.0, math.inf)
        if self.red_follow_radius is not None:
            check_float("red_follow_radius", self.red_follow_radius, 0.0, math.inf)
        check_float("blue_spawn_min_radius", self.blue_spawn_min_radius, 0.0, self.blue_spawn_radius)
        check_float("absent_red_share", self.absent_red_share, 0.0, 1.0)
        for name in ("dt", "mass", "sensitivity", "red_speed"):
            check_float(name, getattr(self, name), 0.0, math.inf, low_inclusive=False)
        check_float("damping", self.damping, 0.0, 1.0)
        check_float("spawn_range", self.spawn_range, 0.0, 1.0)
        for name in ("goal_reward", "trap_reward", "trap_penalty", "red_follow_reward", "shaping_coef"):
            check_float(name, getattr(self, name), -math.inf, math.inf)
        check_choice("reward_mode", self.reward_mode, REWARD_MODES)
        check_choice("landmark_layout", self.landmark_layout, LANDMARK_LAYOUTS)
        for name in ("continuous_actions", "red_gives_up"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be a bool, got {getattr(self, name)!r}")

    def replace(self, **changes: Any) -> DeceptionConfig:
        """Return a copy with some fields changed (validated like the constructor)."""
        check_fields(changes)
        return dataclasses.replace(self, **changes)


# The project default: larger observation radii, so that blue can watch red while leading it
# and red keeps up with a slow blue; the honest/deceptive contrast is clearer (docs/environment/default.md).
# Dense shaping -1.0 * distance(blue, goal) per step (both reward modes): without it PPO's deceptive
# blue learns to trap red but rarely finds the goal afterwards (see agents/hyperparams.py).
_DEFAULT: dict[str, Any] = {"blue_radius": 0.25, "red_radius": 0.25, "shaping_coef": 1.0}

_CONTINGENT: dict[str, Any] = {
    **_DEFAULT,
    "blue_radius": 0.4,
    "red_radius": 0.2,
    "red_gives_up": True,
    "absent_red_share": 0.25,
    "trap_reward": 8.0,
}

PRESETS: dict[str, dict[str, Any]] = {
    # The paper's geometry: radii 0.125, 50 steps, +5 goal / +10 trap.
    "paper": {},
    "default": _DEFAULT,
    # The paper's world with the smallest departures found under which PPO's baselines meet their targets
    # (docs/results/paper.md): red sees twice as far (0.25), so that it keeps up with a blue that leads it at full
    # speed, and default's dense shaping, so that a deceptive blue that has trapped red still finds the goal.
    "paper_learnable": {"red_radius": 0.25, "shaping_coef": 1.0},
    # Training preset where ignoring red costs blue reward: blue pays half the goal reward per step while red is
    # within 0.1 of it (red follows blue onto the goal), so a blue that stops tracking red loses return
    # (docs/environment/awareness.md).
    "awareness": {**_DEFAULT, "collision_penalty": 2.5, "collision_radius": 0.1},
    # A world in which luring pays only while blue watches red (docs/environment/contingent.md): blue sees farther
    # than red, so a red that follows is always in blue's view; a red that loses sight of blue gives up; in a
    # quarter of the episodes red is absent. Without red in view a lure never pays, so blue's self behaviour (what
    # it does when it does not see red) must be honest.
    "contingent": _CONTINGENT,
    # A world in which the honest task needs red (docs/environment/keep_clear.md): contingent, plus a penalty as large
    # as the goal reward for every step red is within 0.1 of blue, in both reward modes. Red follows blue onto the
    # goal, so an honest blue must watch red to keep clear of it (shake it off until it gives up); one that acts as if
    # red were not there pays the penalty. A lure still needs red in view.
    "keep_clear": {
        **_CONTINGENT,
        "collision_penalty": 5.0,
        "collision_radius": 0.1,
    },
    # Held-out evaluation variants (envs.deception.variants): the default preset plus a few changes, same observations.
    **{name: {**_DEFAULT, **changes} for name, changes in VARIANTS.items()},
}
TRAINING_PRESETS: tuple[str, ...] = tuple(name for name in PRESETS if name not in HELD_OUT_VARIANTS)
"""The worlds agents may be trained in; the held-out variants are for evaluation only."""


def check_fields(fields: dict[str, Any]) -> None:
    """Raise a ``TypeError`` naming any key that is not a ``DeceptionConfig`` field."""
    known = {f.name for f in dataclasses.fields(DeceptionConfig)}
    unknown = sorted(set(fields) - known)
    if unknown:
        raise TypeError(f"unknown environment setting(s) {unknown}; allowed: {sorted(known)}")


def make_config(preset: str = "default", **overrides: Any) -> DeceptionConfig:
    """Build a validated config from a named preset plus keyword overrides.

    :param preset: a name in ``PRESETS``: a training world or a held-out variant (``envs.deception.variants``).
    :param overrides: any ``DeceptionConfig`` field.
    """
    if preset not in PRESETS:
        raise ValueError(f"preset must be one of {sorted(PRESETS)}, got {preset!r}")
    check_fields(overrides)
    return DeceptionConfig(**{**PRESETS[preset], **overrides})


def variant_config(name: str, **overrides: Any) -> DeceptionConfig:
    """Config of the held-out evaluation variant ``name`` (``envs.deception.variants.HELD_OUT_VARIANTS``) plus
    overrides."""
    check_choice("variant", name, HELD_OUT_VARIANTS)
    return make_config(name, **overrides)
