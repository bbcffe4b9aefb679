"""Observation layouts of PettingZoo MPE2 scenarios (``pip install mpe2``), from their documented observation order.

MPE2 builds each agent's observation in its scenario's ``observation()``; these functions name the same slots,
with each other agent's relative position as ``<agent>_rel`` (and, in ``simple_tag``, a good agent's velocity as
``<agent>_vel``), for ``envs.generic.observation_radius.ObservationRadius`` and the SOO tools. Every layout is checked
against the env's observation space. MPE2 itself is not imported here: the functions read the env's scenario.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from envs.generic.layout import ObsLayout

Fields = list[tuple[str, int]]


def _landmark_count(raw: Any, landmarks: Sequence[Any]) -> int:
    neighbours = getattr(raw.scenario, "num_landmark_neighbors", None)
    return len(landmarks) if neighbours is None else int(neighbours)


def _simple_adversary(raw: Any, agent: Any, others: Sequence[Any]) -> Fields:
    # Good agents: [goal_rel, landmarks_rel, others_rel]; the adversary: [landmarks_rel, others_rel].
    landmarks = 2 * _landmark_count(raw, raw.world.landmarks)
    goal: Fields = [] if agent.adversary else [("goal_rel", 2)]
    return [*goal, ("landmarks_rel", landmarks), *[(f"{o.name}_rel", 2) for o in others]]


def _simple_push(raw: Any, agent: Any, others: Sequence[Any]) -> Fields:
    # Good agent: [vel, goal_rel, own colour, landmarks_rel, landmark colours, others_rel];
    # adversary: [vel, landmarks_rel, others_rel].
    count = len(raw.world.landmarks)
    rel = [(f"{o.name}_rel", 2) for o in others]
    if agent.adversary:
        return [("self_vel", 2), ("landmarks_rel", 2 * count), *rel]
    colours = [("self_color", 3), ("landmarks_rel", 2 * count), ("landmark_colors", 3 * count)]
    return [("self_vel", 2), ("goal_rel", 2), *colours, *rel]


def _simple_tag(raw: Any, agent: Any, others: Sequence[Any]) -> Fields:
    # [vel, pos, landmarks_rel (non-boundary), others_rel, good others' velocities].
    landmarks = _landmark_count(raw, [e for e in raw.world.landmarks if not e.boundary])
    rel = [(f"{o.name}_rel", 2) for o in others]
    vel = [(f"{o.name}_vel", 2) for o in others if not o.adversary]
    return [("self_vel", 2), ("self_pos", 2), ("landmarks_rel", 2 * landmarks), *rel, *vel]


SCENARIOS: dict[str, Callable[[Any, Any, Sequence[Any]], Fields]] = {
    "simple_adversary_v3": _simple_adversary,
    "simple_push_v3": _simple_push,
    "simple_tag_v3": _simple_tag,
}
"""MPE2 scenario name (``env.metadata["name"]``) to the fields of an agent's observation."""


def mpe2_layouts(env: Any, observers: Sequence[str] | None = None) -> dict[str, ObsLayout]:
    """The observation layout of each observer of an MPE2 env (parallel or AEC, wrapped or not).

    :param env: an MPE2 env of a scenario in ``SCENARIOS`` with full agent observability
        (``num_agent_neighbors=None``: the partial-observability option sorts agents by distance, so a slot
        holds no fixed agent).
    :param observers: the agents to describe (``None``: every agent).
    :raises ValueError: for an unknown scenario, partial agent observability, or a layout that does not fit the
        env's observation space (another MPE2 version).
    """
    raw = env.unwrapped
    name = raw.metadata.get("name")
    if name not in SCENARIOS:
        raise ValueError(
            f"no known observation layout for MPE2 scenario {name!r} (known: {sorted(SCENARIOS)}); "
            "declare it with envs.generic.layout.ObsLayout.from_slots"
        )
    if getattr(raw.scenario, "num_agent_neighbors", None) is not None:
        raise ValueError(
            "num_agent_neighbors keeps the nearest agents, sorted by distance, so no slot belongs to one agent: "
            "build the env with num_agent_neighbors=None and give it a radius with ObservationRadius"
        )
    agents = {agent.name: agent for agent in raw.world.agents}
    wanted = list(agents) if observers is None else list(observers)
    layouts = {}
    for observer in wanted:
        if observer not in agents:
            raise ValueError(f"unknown observer {observer!r}; agents are {list(agents)}")
        agent = agents[observer]
        others = [other for other in raw.world.agents if other is not agent]
        layout = ObsLayout(tuple(SCENARIOS[name](raw, agent, others)))
        layout.check_shape(raw.observation_space(observer).shape, f"MPE2's observation space of {observer}")
        layouts[observer] = layout
    return layouts
