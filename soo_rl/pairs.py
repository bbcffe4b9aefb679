"""Self/other observation pairs (SPEC section 3), built from the environment's declared layout.

A *self* observation is one in which the other agent is not visible. Its *other* copy is the same
vector with the other agent inserted at a uniformly random point of the disk of radius ``radius``
around the observer: the relative-position slots are set, the visibility bit is 1, and nothing
else changes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch as th

from envs.layout import ObsLayout

PairMode = Literal["self_other", "random"]
PAIR_MODES: tuple[str, ...] = ("self_other", "random")


@dataclass(frozen=True)
class OtherSlots:
    """Where the other agent appears in an observation vector."""

    rel: slice
    visible: slice

    @classmethod
    def from_layout(cls, layout: ObsLayout) -> OtherSlots:
        """Find the ``other_rel`` and ``other_visible`` slots; a clear error if the layout has none."""
        missing = [name for name in ("other_rel", "other_visible") if name not in layout]
        if missing:
            raise ValueError(
                f"the observation layout has no other-agent slots {missing} (slots: {layout.names}); "
                "SOO pairs need an observation in which the other agent can be absent or present"
            )
        return cls(layout.slice("other_rel"), layout.slice("other_visible"))


@dataclass(frozen=True)
class Pairs:
    """Matched batches: ``other_obs[i]`` is the other-view that ``self_obs[i]`` is compared with."""

    self_obs: th.Tensor
    other_obs: th.Tensor

    def __len__(self) -> int:
        return len(self.self_obs)


def self_mask(obs: th.Tensor, slots: OtherSlots) -> th.Tensor:
    """``(B,)`` boolean: observations in which the other agent is not visible."""
    return obs[:, slots.visible][:, 0] < 0.5


def sample_disk(num: int, radius: float, generator: th.Generator, device: th.device | str = "cpu") -> th.Tensor:
    """``(num, 2)`` points uniformly distributed (by area) in the disk of ``radius`` around the origin."""
    u = th.rand(num, 2, generator=generator).to(device)
    r = radius * th.sqrt(u[:, 0])
    theta = 2.0 * math.pi * u[:, 1]
    return th.stack([r * th.cos(theta), r * th.sin(theta)], dim=1)


def insert_other(obs: th.Tensor, slots: OtherSlots, points: th.Tensor) -> th.Tensor:
    """Copies of ``obs`` with the other agent at relative positions ``points`` and visible."""
    other = obs.clone()
    other[:, slots.rel] = points.to(obs.dtype)
    other[:, slots.visible] = 1.0
    return other


def build_pairs(
    obs: th.Tensor,
    slots: OtherSlots,
    radius: float,
    generator: th.Generator,
    max_selves: int | None = None,
    inserts_per_self: int = 1,
    mode: PairMode = "self_other",
) -> Pairs | None:
    """Self/other pairs from a batch of observations, or ``None`` if it holds no usable self observation.

    :param obs: ``(B, obs_dim)`` observations (e.g. a PPO minibatch).
    :param slots: where the other agent appears in ``obs``.
    :param radius: the observer's radius: inserted points are uniform in this disk.
    :param generator: source of every random draw (seeded by the caller).
    :param max_selves: use at most this many self observations, drawn without replacement (``None``: all).
    :param inserts_per_self: number K of inserted positions per self observation (K pairs each).
    :param mode: ``"self_other"`` (the SOO pairs) or ``"random"``: the control, in which self
        observation ``i`` is compared with the other-view of a *different* self observation
        ``j != i`` (a random cyclic shift), so the pair no longer corresponds to one situation.
    """
    selves = obs[self_mask(obs, slots)]
    if max_selves is not None and len(selves) > max_selves:
        pick = th.randperm(len(selves), generator=generator)[:max_selves].to(obs.device)
        selves = selves[pick]
    minimum = 2 if mode == "random" else 1
    if len(selves) < minimum:
        return None
    sources = selves
    if mode == "random":
        shift = int(th.randint(1, len(selves), (1,), generator=generator))
        sources = th.roll(selves, shifts=shift, dims=0)
    points = sample_disk(len(selves) * inserts_per_self, radius, generator, obs.device)
    others = insert_other(sources.repeat_interleave(inserts_per_self, dim=0), slots, points)
    return Pairs(selves.repeat_interleave(inserts_per_self, dim=0), others)
