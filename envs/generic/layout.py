"""Named observation layouts, so that code never indexes observations with magic numbers.

``ObsLayout`` is how any environment is declared to the SOO tools (pairs, SOO value, blind mask,
probe, ``SOOPPO``): name the slots of the agent SOO compares the learner with, ``<other>_rel`` (its 2-D
relative position) and, if the observation has one, ``<other>_visible`` (1 while it is seen), and declare the
episode flags (``flags``, e.g. ``red_trapped``); see ``ObsLayout.from_slots`` and ``envs.generic.observation_radius``.

An environment tells ``SOOPPO`` what it declares through one attribute, ``soo_view`` (``SOOView``: the learner's
layout and observation radius), which SB3's ``VecEnv.get_attr`` reads; a PettingZoo ``ParallelEnv`` declares
``soo_views``, one ``SOOView`` per observer (``envs.generic.observation_radius.ObservationRadius`` sets it), and
``envs.generic.shared_vec_env.SharedPolicyVecEnv`` passes its learners' on as ``soo_view``.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from envs.generic.validation import check_float

SOO_VIEW = "soo_view"
"""The env attribute (read with SB3's ``VecEnv.get_attr``) that declares the learner's ``SOOView``."""
SOO_VIEWS = "soo_views"
"""The PettingZoo ``ParallelEnv`` attribute that declares one ``SOOView`` per observer."""


SlotSpec = int | slice | tuple[int, int]
"""Where a slot sits in an observation: an index (a 1-wide slot), ``slice(start, stop)`` or ``(start, stop)``."""


@dataclass(frozen=True)
class ObsLayout:
    """Ordered named slots of one agent's flat observation vector.

    SOO reads the slots of the agent it compares the learner with (``other``): ``<other>_rel``, its relative
    position (2 wide), and ``<other>_visible``, a bit that is 1 while it is seen. A layout without the
    visibility slot declares that the other agent is absent exactly when its relative position is 0.

    :param fields: ``(name, width)`` pairs in observation order, covering the whole observation.
    :param other: the prefix of the other agent's slot names (e.g. ``"adversary_0"`` for ``adversary_0_rel``);
        the suite's own worlds use ``"other"``. With several other agents, it names the one SOO inserts.
    :param flags: slots of the episode's state that belong to no agent (e.g. ``red_trapped``), whatever their
        names: ``envs.generic.observation_radius.ObservationRadius`` never hides them, and SOO's ``zero`` pair option
        (``agents.soo.pairs.PairOptions.flags``) sets them to 0 in the other copy.
    """

    fields: tuple[tuple[str, int], ...]
    """``(name, width)`` pairs in observation order."""
    other: str = "other"
    """Prefix of the slots of the agent SOO compares the learner with: ``<other>_rel``, ``<other>_visible``."""
    flags: tuple[str, ...] = ()
    """Slots of the episode's state that belong to no agent (never hidden with one; zeroed by ``flags="zero"``)."""
    _slices: dict[str, slice] = field(init=False, repr=False, compare=False)
    _size: int = field(init=False, repr=False, compare=False)
    _names: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.other, str) or not self.other:
            raise ValueError(f"other must be a non-empty slot-name prefix, got {self.other!r}")
        slices: dict[str, slice] = {}
        start = 0
        for entry in self.fields:
            if not isinstance(entry, Sequence) or isinstance(entry, str) or len(entry) != 2:
                raise ValueError(f"every field must be a (name, width) pair, got {entry!r}")
            name, width = entry
            if not isinstance(name, str) or not name:
                raise ValueError(f"slot names must be non-empty strings, got {name!r}")
            if name in slices:
                raise ValueError(f"slot {name!r} is declared twice")
            check_width(name, width)
            slices[name] = slice(start, start + int(width))
            start += int(width)
        object.__setattr__(self, "fields", tuple((name, where.stop - where.start) for name, where in slices.items()))
        object.__setattr__(self, "flags", tuple(self.flags))
        unknown = [name for name in self.flags if name not in slices]
        if unknown or len(set(self.flags)) != len(self.flags):
            raise ValueError(f"flags must be distinct slots of the layout {tuple(slices)}, got {self.flags!r}")
        object.__setattr__(self, "_slices", slices)
        object.__setattr__(self, "_size", start)
        object.__setattr__(self, "_names", tuple(slices))

    def __setstate__(self, state: dict[str, Any]) -> None:
        # Layouts pickled (in checkpoints) before flags were declared knew one flag, by its name: red_trapped.
        if "flags" not in state:
            state = {**state, "flags": ("red_trapped",) if "red_trapped" in state["_slices"] else ()}
        self.__dict__.update(state)

    @classmethod
    def from_slots(
        cls, size: int, slots: Mapping[str, SlotSpec], other: str = "other", flags: Sequence[str] = ()
    ) -> ObsLayout:
        """The layout of a ``size``-long observation in which only ``slots`` are named; the entries between
        them become anonymous slots (named ``_<start>:<stop>``).

        :param size: length of the observation vector (the observation space's ``shape[0]``).
        :param slots: name to place, e.g. ``{"adversary_0_rel": slice(6, 8), "adversary_0_visible": 10}``.
        :param other: prefix of the slots of the agent SOO compares the learner with (``ObsLayout.other``).
        :param flags: names of ``slots`` that are episode flags (``ObsLayout.flags``).
        :raises ValueError: naming the slot, if one lies outside the observation or two overlap.
        """
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValueError(f"size must be an integer >= 1, got {size!r}")
        spans = sorted((*slot_span(name, spec), name) for name, spec in slots.items())
        fields: list[tuple[str, int]] = []
        position, previous = 0, ""
        for start, stop, name in spans:
            if stop > size:
                raise ValueError(f"slot {name!r} ({start}:{stop}) lies outside the observation, whose size is {size}")
            if start < position:
                raise ValueError(f"slots {previous!r} and {name!r} overlap (at index {start})")
            if start > position:
                fields.append((f"_{position}:{start}", start - position))
            fields.append((name, stop - start))
            position, previous = stop, name
        if position < size:
            fields.append((f"_{position}:{size}", size - position))
        return cls(tuple(fields), other, tuple(flags))

    def with_other(self, other: str) -> ObsLayout:
        """The same layout with ``other`` as the agent SOO compares the learner with (it needs ``<other>_rel``)."""
        if f"{other}_rel" not in self:
            candidates = [name for name in self.names if name.endswith("_rel")]
            raise ValueError(f"no slot {other + '_rel'!r} in this layout; its relative-position slots: {candidates}")
        return dataclasses.replace(self, other=other)

    def check_shape(self, shape: tuple[int, ...] | None, source: str = "the observation space") -> None:
        """Raise ``ValueError`` unless the layout covers exactly a flat observation of ``shape``.

        :param shape: the observation space's shape.
        :param source: what ``shape`` belongs to, for the message.
        """
        if shape is None or len(shape) != 1:
            raise ValueError(f"an observation layout describes a flat vector, but {source} has shape {shape}")
        size = shape[0]
        if size == self.size:
            return
        if self.size > size:
            outside = [name for name in self.names if self._slices[name].stop > size]
            outside = [name for name in outside if not name.startswith("_")] or outside  # named slots first
            raise ValueError(
                f"the observation layout covers {self.size} entries but {source} has {size}: "
                f"slots {outside} lie outside the observation"
            )
        raise ValueError(
            f"the observation layout covers {self.size} entries but {source} has {size}: "
            f"entries {self.size}:{size} are not declared"
        )

    @property
    def size(self) -> int:
        """Length of the observation vector."""
        return self._size

    def slice(self, name: str) -> slice:
        """The slice of the observation holding slot ``name``."""
        try:
            return self._slices[name]
        except KeyError:
            raise KeyError(f"no slot {name!r} in this layout; slots: {self.names}") from None

    @property
    def names(self) -> tuple[str, ...]:
        """Slot names in observation order."""
        return self._names

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self._slices


@dataclass(frozen=True)
class SOOView:
    """What SOO needs to know about a learner's observation, as an env declares it (its ``soo_view`` attribute).

    :param layout: the learner's observation layout (``layout.other`` is the agent SOO inserts).
    :param radius: the learner's observation radius (> 0): the other agent is in view within it, and SOO inserts
        it in the disk of this radius.
    """

    layout: ObsLayout
    radius: float

    def __post_init__(self) -> None:
        if not isinstance(self.layout, ObsLayout):
            raise ValueError(f"layout must be an envs.generic.layout.ObsLayout, got {self.layout!r}")
        check_float("radius", self.radius, 0.0, math.inf, low_inclusive=False)
        object.__setattr__(self, "radius", float(self.radius))


def check_width(name: str, width: object) -> None:
    """Raise ``ValueError`` unless ``width`` (of slot ``name``) is an integer >= 1."""
    if isinstance(width, bool | np.bool_) or not isinstance(width, numbers.Integral) or width < 1:
        raise ValueError(f"slot {name!r} must have an integer width >= 1, got {width!r}")


def slot_span(name: str, spec: SlotSpec) -> tuple[int, int]:
    """``(start, stop)`` of slot ``name`` placed at ``spec`` (an index, a slice or a pair); a ``ValueError``
    naming the slot if it is not a non-empty range of non-negative indices."""
    if isinstance(spec, slice):
        if spec.step not in (None, 1):
            raise ValueError(f"slot {name!r} must be a contiguous slice, got {spec!r}")
        start, stop = 0 if spec.start is None else spec.start, spec.stop
    elif isinstance(spec, tuple) and len(spec) == 2:
        start, stop = spec
    else:
        start, stop = spec, spec + 1 if isinstance(spec, int) and not isinstance(spec, bool) else None
    if any(isinstance(v, bool) or not isinstance(v, int) for v in (start, stop)) or not 0 <= start < stop:
        raise ValueError(
            f"slot {name!r} must be an index >= 0, slice(start, stop) or (start, stop) with 0 <= start < stop, "
            f"got {spec!r}"
        )
    return start, stop
