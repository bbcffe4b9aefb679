"""Named observation layouts, so that code never indexes observations with magic numbers.

Blue (knows the goal)::

    self_vel(2) self_pos(2) goal_rel(2) landmarks_rel(2L) other_rel(2) other_visible(1) red_trapped(1)

Red (colour-blind; remembers where it last saw blue)::

    self_vel(2) self_pos(2) landmarks_rel(2L) other_rel(2) other_visible(1) other_last_seen_rel(2)
    red_trapped(1)

``*_rel`` slots hold ``target - self`` positions. ``other_rel`` is zero when the other agent is out
of the observer's radius, and ``other_visible`` is then 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field

BLUE = "blue_0"
RED = "red_0"
AGENTS: tuple[str, str] = (RED, BLUE)


@dataclass(frozen=True)
class ObsLayout:
    """Ordered named slots of one agent's flat observation vector."""

    fields: tuple[tuple[str, int], ...]
    """``(name, width)`` pairs in observation order."""
    _slices: dict[str, slice] = field(init=False, repr=False, compare=False)
    _size: int = field(init=False, repr=False, compare=False)
    _names: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        slices, start = {}, 0
        for name, width in self.fields:
            slices[name] = slice(start, start + width)
            start += width
        object.__setattr__(self, "_slices", slices)
        object.__setattr__(self, "_size", start)
        object.__setattr__(self, "_names", tuple(name for name, _ in self.fields))

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
        return name in self.names


def blue_layout(num_landmarks: int) -> ObsLayout:
    """Observation layout of blue for a world with ``num_landmarks`` landmarks."""
    return ObsLayout(
        (
            ("self_vel", 2),
            ("self_pos", 2),
            ("goal_rel", 2),
            ("landmarks_rel", 2 * num_landmarks),
            ("other_rel", 2),
            ("other_visible", 1),
            ("red_trapped", 1),
        )
    )


def red_layout(num_landmarks: int) -> ObsLayout:
    """Observation layout of red for a world with ``num_landmarks`` landmarks."""
    return ObsLayout(
        (
            ("self_vel", 2),
            ("self_pos", 2),
            ("landmarks_rel", 2 * num_landmarks),
            ("other_rel", 2),
            ("other_visible", 1),
            ("other_last_seen_rel", 2),
            ("red_trapped", 1),
        )
    )


def layout_for(agent: str, num_landmarks: int) -> ObsLayout:
    """Observation layout of ``agent`` (``"blue_0"`` or ``"red_0"``)."""
    if agent == BLUE:
        return blue_layout(num_landmarks)
    if agent == RED:
        return red_layout(num_landmarks)
    raise ValueError(f"agent must be one of {AGENTS}, got {agent!r}")
