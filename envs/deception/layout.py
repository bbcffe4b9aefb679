"""The observation layouts of the suite's blue and red.

Blue (knows the goal)::

    self_vel(2) self_pos(2) goal_rel(2) landmarks_rel(2L) other_rel(2) other_visible(1) red_trapped(1)

Red (colour-blind; remembers where it last saw blue)::

    self_vel(2) self_pos(2) landmarks_rel(2L) other_rel(2) other_visible(1) other_last_seen_rel(2)
    red_trapped(1)

``*_rel`` slots hold ``target - self`` positions. ``other_rel`` is zero when the other agent is out
of the observer's radius, and ``other_visible`` is then 0. ``red_trapped`` is an episode flag
(``envs.generic.layout.ObsLayout.flags``).
"""

from __future__ import annotations

from envs.generic.layout import ObsLayout

BLUE = "blue_0"
RED = "red_0"
AGENTS: tuple[str, str] = (RED, BLUE)


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
        ),
        flags=("red_trapped",),
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
        ),
        flags=("red_trapped",),
    )


def layout_for(agent: str, num_landmarks: int) -> ObsLayout:
    """Observation layout of ``agent`` (``"blue_0"`` or ``"red_0"``)."""
    if agent == BLUE:
        return blue_layout(num_landmarks)
    if agent == RED:
        return red_layout(num_landmarks)
    raise ValueError(f"agent must be one of {AGENTS}, got {agent!r}")
