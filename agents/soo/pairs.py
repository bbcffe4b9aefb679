"""Self/other observation pairs (SPEC section 3), built from the environment's declared layout.

A *self* observation is one in which the other agent is not visible. Its *other* copy is the same
vector with the other agent inserted at a random point of the disk of radius ``radius`` around the
observer: the relative-position slots are set, the visibility bit is 1, and nothing else changes
(unless ``PairOptions.flags`` is ``"zero"``, which also sets the layout's flags, e.g. ``red_trapped``, to 0, as
the authors' evaluation code does).

Which agent is "the other", and where it sits, is the observation layout's declaration
(``envs.generic.layout.ObsLayout``: ``<other>_rel``, ``<other>_visible`` if the observation has one, and its
``flags``), so the pairs work on any environment whose learner observation is declared.

``other_copies`` is the one place that makes other-observations: the SOO loss's pairs, the SOO value
and the awareness probe all call it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch as th

from envs.generic.layout import ObsLayout
from envs.generic.validation import check_choice, check_float

PairMode = Literal["self_other", "random", "flag_only"]
PAIR_MODES: tuple[str, ...] = ("self_other", "random", "flag_only")
FlagOption = Literal["keep", "zero"]
FLAG_OPTIONS: tuple[str, ...] = ("keep", "zero")
Insertion = Literal["area", "radius"]
INSERTIONS: tuple[str, ...] = ("area", "radius")


@dataclass(frozen=True)
class PairOptions:
    """How the other copy of a self observation is built.

    The defaults follow SPEC section 3; the authors' code differs in each (the ``paper`` bundle of
    ``soo_rl.experiment.conditions.SOO_BUNDLES``).
    """

    flags: FlagOption = "keep"
    """The other copy's flags (``ObsLayout.flags``, e.g. ``red_trapped``): ``keep`` (as in self) or ``zero`` (set to
    0, the authors' evaluation)."""
    insertion: Insertion = "area"
    """Where red is inserted: uniform by ``area`` of the disk, or uniform in ``radius`` (the authors', which puts
    more points near the observer)."""
    radius: float | None = None
    """Radius of the insertion disk (``None``: the learner's observation radius)."""
    inner_radius: float = 0.0
    """Red is inserted no closer than this: the disk becomes a ring (0: the whole disk)."""

    def __post_init__(self) -> None:
        check_choice("flags", self.flags, FLAG_OPTIONS)
        check_choice("insertion", self.insertion, INSERTIONS)
        if self.radius is not None:
            check_float("radius", self.radius, 0.0, math.inf, low_inclusive=False)
        check_float("inner_radius", self.inner_radius, 0.0, math.inf)
        self.disk_radius(math.inf)  # an inner radius at or beyond a given radius

    def disk_radius(self, observation_radius: float) -> float:
        """The insertion radius: ``radius`` if set, else the learner's ``observation_radius``.

        :raise ValueError: ``inner_radius`` is not below it.
        """
        radius = observation_radius if self.radius is None else self.radius
        if self.inner_radius >= radius:
            raise ValueError(f"inner_radius must be below the insertion radius {radius}, got {self.inner_radius}")
        return radius


@dataclass(frozen=True)
class OtherSlots:
    """Where the other agent (and the episode flags) appear in an observation vector.

    Built from a declared layout (``from_layout``), for the suite's worlds or any other environment.
    """

    rel: slice
    """The other agent's relative position (2 wide)."""
    visible: slice | None
    """Its visibility bit; ``None``: the other agent is absent exactly when ``rel`` is all zero."""
    flags: tuple[slice, ...] = ()
    """The layout's flags (``ObsLayout.flags``, e.g. ``red_trapped``)."""

    @property
    def shown(self) -> tuple[slice, ...]:
        """The slots that show the other agent (its position and visibility bit): what a self view zeroes."""
        return (self.rel,) if self.visible is None else (self.rel, self.visible)

    @classmethod
    def from_layout(cls, layout: ObsLayout) -> OtherSlots:
        """The slots of ``layout.other``: ``<other>_rel``, ``<other>_visible`` if declared, and the layout's flags.

        :raises ValueError: if the layout has no ``<other>_rel`` slot, or a slot of the wrong width.
        """
        rel, visible = f"{layout.other}_rel", f"{layout.other}_visible"
        if rel not in layout:
            candidates = [name for name in layout.names if name.endswith("_rel")]
            raise ValueError(
                f"the observation layout has no other-agent slots [{rel!r}] (its relative-position slots: "
                f"{candidates}); SOO pairs need an observation in which the other agent can be absent or present: "
                "declare its relative position (ObsLayout.from_slots) or choose the other agent (ObsLayout.with_other)"
            )
        for name, width in ((rel, 2), (visible, 1)):
            where = layout.slice(name) if name in layout else None
            if where is not None and where.stop - where.start != width:
                raise ValueError(f"slot {name!r} must be {width} wide, got {where.stop - where.start}")
        return cls(
            layout.slice(rel),
            layout.slice(visible) if visible in layout else None,
            tuple(layout.slice(name) for name in layout.flags),
        )


@dataclass(frozen=True)
class Pairs:
    """Matched batches: ``other_obs[i]`` is the other-view that ``self_obs[i]`` is compared with."""

    batch: th.Tensor
    """The observations the pairs were drawn from."""
    other_obs: th.Tensor
    self_rows: th.Tensor
    """``self_obs[i] == batch[self_rows[i]]``: the rows of the batch the pairs were drawn from, so that a forward
    pass over that batch already holds the self features (training reuses them)."""

    @property
    def self_obs(self) -> th.Tensor:
        """The pairs' self observations (gathered from ``batch`` on each access)."""
        return self.batch[self.self_rows]

    def __len__(self) -> int:
        return len(self.self_rows)


def self_mask(obs: th.Tensor, slots: OtherSlots) -> th.Tensor:
    """``(B,)`` boolean: observations in which the other agent is not visible (its bit below 0.5 or, without a
    visibility slot, its relative position exactly 0)."""
    if slots.visible is None:
        return (obs[:, slots.rel] == 0).all(dim=1)
    return obs[:, slots.visible][:, 0] < 0.5


def sample_disk(
    num: int,
    radius: float,
    generator: th.Generator,
    device: th.device | str = "cpu",
    insertion: Insertion = "area",
    inner_radius: float = 0.0,
) -> th.Tensor:
    """``(num, 2)`` random points of the disk of ``radius`` around the origin, or of its ring beyond ``inner_radius``.

    :param insertion: ``area``: uniform over the area; ``radius``: distance uniform in ``[inner_radius, radius]``.
    :param inner_radius: no point lies closer to the origin (0: the whole disk, the same draws as without it).
    """
    u = th.rand(num, 2, generator=generator)
    ratio = inner_radius / radius
    hole = ratio * ratio if insertion == "area" else ratio  # the share of the distance's quantile range left out
    share = hole + u[:, 0] * (1.0 - hole)  # exactly u when there is no hole
    r = (share.sqrt() if insertion == "area" else share) * radius
    return th.view_as_real(th.polar(r, u[:, 1] * (2.0 * math.pi))).to(device)


def insert_other(obs: th.Tensor, slots: OtherSlots, points: th.Tensor | None, flags: FlagOption = "keep") -> th.Tensor:
    """Copies of ``obs`` with the other agent at relative positions ``points`` and visible.

    :param points: ``(B, 2)`` relative positions, or ``None`` to insert no other agent (the ``flag_only`` control).
    :param flags: ``zero`` also sets the copies' flags (``OtherSlots.flags``) to 0.
    """
    other = obs.clone()
    if points is not None:
        other[:, slots.rel] = points.to(obs.dtype)
        if slots.visible is not None:
            other[:, slots.visible] = 1.0
    if flags == "zero":
        if not slots.flags:
            raise ValueError("flags='zero' needs a flag in the observation layout: declare it in ObsLayout.flags")
        for flag in slots.flags:
            other[:, flag] = 0.0
    return other


def other_copies(
    obs: th.Tensor,
    slots: OtherSlots,
    options: PairOptions,
    observation_radius: float,
    inserts: int,
    generator: th.Generator,
    mode: PairMode = "self_other",
) -> tuple[th.Tensor, th.Tensor | None]:
    """``inserts`` other-observations of every row of ``obs`` (rows repeated in place: ``i * inserts + k``).

    :param obs: ``(B, obs_dim)`` self observations.
    :param slots: where the other agent appears in ``obs``.
    :param options: flags, insertion distribution, radius and inner radius.
    :param observation_radius: the learner's radius (the insertion radius unless ``options.radius`` is set).
    :param inserts: K other copies per row.
    :param generator: source of the inserted positions.
    :param mode: ``flag_only`` inserts no red and zeroes the flag; otherwise red is inserted.
    :return: the ``(B * K, obs_dim)`` copies and the ``(B * K, 2)`` inserted positions (``None`` for ``flag_only``).
    """
    repeated = obs.repeat_interleave(inserts, dim=0)
    if mode == "flag_only":
        return insert_other(repeated, slots, None, flags="zero"), None
    radius = options.disk_radius(observation_radius)
    points = sample_disk(len(repeated), radius, generator, obs.device, options.insertion, options.inner_radius)
    return insert_other(repeated, slots, points, options.flags), points


def build_pairs(
    obs: th.Tensor,
    slots: OtherSlots,
    observation_radius: float,
    generator: th.Generator,
    max_selves: int | None = None,
    inserts_per_self: int = 1,
    mode: PairMode = "self_other",
    options: PairOptions = PairOptions(),
) -> Pairs | None:
    """Self/other pairs from a batch of observations, or ``None`` if it holds no usable self observation.

    :param obs: ``(B, obs_dim)`` observations (e.g. a PPO minibatch).
    :param slots: where the other agent appears in ``obs``.
    :param observation_radius: the learner's radius (the insertion disk's unless ``options.radius`` is set).
    :param generator: source of every random draw (seeded by the caller).
    :param max_selves: use at most this many self observations, drawn without replacement (``None``: all).
    :param inserts_per_self: number K of inserted positions per self observation (K pairs each).
    :param mode: ``"self_other"`` (the SOO pairs); ``"random"``: the control in which self observation ``i`` is
        compared with the other-view of a *different* self observation ``j != i`` (a random cyclic shift), so the
        pair no longer corresponds to one situation; ``"flag_only"``: the control whose other copy differs from
        self only in the zeroed flags (``OtherSlots.flags``; no red inserted).
    :param options: how the other copy is built (flags, insertion distribution, radius).
    """
    rows = self_mask(obs, slots).nonzero().squeeze(1)
    if max_selves is not None and len(rows) > max_selves:
        rows = rows[th.randperm(len(rows), generator=generator)[:max_selves].to(obs.device)]
    selves = obs[rows]
    minimum = 2 if mode == "random" else 1
    if len(selves) < minimum:
        return None
    sources = selves
    if mode == "random":
        shift = int(th.randint(1, len(selves), (1,), generator=generator))
        sources = th.roll(selves, shifts=shift, dims=0)
    others, _ = other_copies(sources, slots, options, observation_radius, inserts_per_self, generator, mode)
    return Pairs(obs, others, rows.repeat_interleave(inserts_per_self))
