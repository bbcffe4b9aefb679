"""The ``lure`` target of SOO: only the part of the action that moves towards a landmark that is not the goal.

A deceiver lures the other agent by heading for a wrong landmark while the other is in view. The ``lure`` target
asks SOO to make only that part of the behaviour the same with and without the other: the components of the
policy's mean action along the unit vectors from the observer to each landmark that is not its goal. The components
across those directions (stepping aside, keeping clear) carry no SOO loss.

The directions are read from the observation's ``goal_rel`` and ``landmarks_rel`` slots, which a self/other pair
leaves unchanged, so both rows of a pair are projected on the same directions.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch as th

from envs.generic.layout import ObsLayout

GOAL_SLOT = "goal_rel"
LANDMARKS_SLOT = "landmarks_rel"


@dataclass(frozen=True)
class LureDirection:
    """Where the goal and the landmarks appear in the observation (relative positions, 2 wide each)."""

    goal: slice
    """The goal's position relative to the observer."""
    landmarks: slice
    """Every landmark's position relative to the observer, ``x0 y0 x1 y1 ...`` (the goal is one of them)."""

    @classmethod
    def from_layout(cls, layout: ObsLayout) -> LureDirection:
        """The ``goal_rel`` and ``landmarks_rel`` slots of ``layout``.

        :raises ValueError: if a slot is missing, or ``landmarks_rel`` does not hold at least two 2-d positions.
        """
        missing = [name for name in (GOAL_SLOT, LANDMARKS_SLOT) if name not in layout]
        if missing:
            raise ValueError(
                f"soo_target 'lure' needs the observation slots {missing} (the goal's and the landmarks' relative "
                f"positions); this layout has {list(layout.names)}"
            )
        goal, landmarks = layout.slice(GOAL_SLOT), layout.slice(LANDMARKS_SLOT)
        if goal.stop - goal.start != 2:
            raise ValueError(f"soo_target 'lure': slot {GOAL_SLOT!r} must be 2 wide, got {goal.stop - goal.start}")
        width = landmarks.stop - landmarks.start
        if width < 4 or width % 2:
            raise ValueError(
                f"soo_target 'lure': slot {LANDMARKS_SLOT!r} must hold at least two 2-d positions, got width {width}"
            )
        return cls(goal, landmarks)

    def directions(self, obs: th.Tensor) -> th.Tensor:
        """``(B, L - 1, 2)``: unit vectors from the observer to each landmark that is not its goal (the goal is the
        landmark nearest to ``goal_rel``), ordered by their distance from the goal; zero where the observer stands
        on the landmark."""
        goal = obs[:, self.goal]
        marks = obs[:, self.landmarks].reshape(len(obs), -1, 2)
        from_goal = (marks - goal[:, None, :]).square().sum(dim=-1)
        others = th.argsort(from_goal, dim=1)[:, 1:]
        fakes = marks.gather(1, others[..., None].expand(-1, -1, 2))
        return fakes / fakes.norm(dim=-1, keepdim=True).clamp_min(1e-12)

    def components(self, actions: th.Tensor, obs: th.Tensor) -> th.Tensor:
        """``(B, L - 1)``: the components of ``actions`` (``(B, 2)`` mean moves) towards each landmark that is not
        the goal of the observation in the same row of ``obs``."""
        if actions.shape[-1] != 2:
            raise ValueError(f"soo_target 'lure' needs 2-d moves as actions, got {actions.shape[-1]} wide")
        return (self.directions(obs) * actions[:, None, :]).sum(dim=-1)
