"""Give agents of any PettingZoo ``ParallelEnv`` an observation radius, so that SOO has "self" observations.

Many environments (MPE2's among them) show every agent at every distance. ``ObservationRadius`` hides, in an
observer's view, each other agent that lies beyond the observer's radius (its slots are set to 0) and appends
one visibility bit per other agent. Where the agents sit is declared with ``envs.generic.layout.ObsLayout``: the
observer's layout names each other agent's relative position ``<agent>_rel``; further slots named
``<agent>_<anything>`` (e.g. a velocity) are that agent's too and are hidden with it, except the layout's declared
``flags`` (e.g. ``red_0_trapped``), which belong to no agent. The wrapped view's layout and radius are declared
automatically (``ObservationRadius.soo_views``, read by ``SOOPPO`` through ``SharedPolicyVecEnv``)::

    env = ObservationRadius(simple_adversary_v3.parallel_env(), mpe2_layouts(env), radius=0.5)
    layout = env.obs_layout("agent_0", other="adversary_0")  # OtherSlots.from_layout, mean_soo_value, ...
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from gymnasium import spaces
from numpy.typing import NDArray
from pettingzoo import ParallelEnv
from pettingzoo.utils.wrappers import BaseParallelWrapper

from envs.generic.layout import ObsLayout, SOOView
from envs.generic.validation import check_float

Observation = NDArray[Any]


class RadiusView:
    """One observer's masked view: a pure function of its own observation.

    :param layout: the observer's (unwrapped) observation layout.
    :param others: the other agents it observes, in the order of the appended visibility bits.
    :param radius: the observer's radius; another agent is visible while its distance is ``<= radius``.
    :param dtype: the observation's dtype.
    """

    def __init__(self, layout: ObsLayout, others: Sequence[str], radius: float, dtype: np.dtype[Any]) -> None:
        self.size = layout.size
        self.dtype = dtype
        self.radius_squared = float(radius) ** 2
        self.rel_index = [tuple(range(layout.size)[layout.slice(f"{a}_rel")]) for a in others]
        """Each other agent's ``(x, y)`` indices."""
        self.hidden = np.zeros((len(others), layout.size), dtype=bool)
        """``(k, size)``: the entries hidden with each other agent (every slot named ``<agent>_...`` but the
        layout's flags)."""
        for name in layout.names:
            owner = None if name in layout.flags else slot_owner(name, others)
            if owner is not None:
                self.hidden[others.index(owner), layout.slice(name)] = True
        self._hidden_index = [np.flatnonzero(row) for row in self.hidden]

    def visible(self, obs: Observation) -> list[bool]:
        """Which other agents lie within the radius, from their relative positions in ``obs`` (in float64)."""
        return [obs.item(x) ** 2 + obs.item(y) ** 2 <= self.radius_squared for x, y in self.rel_index]

    def __call__(self, obs: Observation) -> Observation:
        # Plain Python on the few coordinates: for observations this small, numpy's per-call overhead dominates.
        visible = self.visible(obs)
        out = np.empty(self.size + len(visible), dtype=self.dtype)
        out[: self.size] = obs
        out[self.size :] = visible
        for seen, hidden in zip(visible, self._hidden_index, strict=True):
            if not seen:
                out[hidden] = 0
        return out


def slot_owner(name: str, agents: Sequence[str]) -> str | None:
    """The agent whose slot ``name`` is (``<agent>_...``; the longest matching name), or ``None``."""
    owners = [agent for agent in agents if name.startswith(f"{agent}_")]
    return max(owners, key=len) if owners else None


class ObservationRadius(BaseParallelWrapper[str, Observation, Any]):
    """A PettingZoo parallel wrapper that limits what observers see of the other agents to a radius.

    For each observer in ``layouts``: other agents farther than the radius have every slot named after them (but
    the layout's ``flags``) set to 0, and one bit per other agent (1: within the radius) is appended, in the order
    of ``env.possible_agents``. Other agents' observations pass through unchanged. Rewards, terminations, infos and
    seeding are the wrapped env's, and the view is a pure function of the observation, so the wrapped env is as
    deterministic under a seed as ``env``.

    :param env: a ``ParallelEnv`` whose observers have flat ``Box`` observations.
    :param layouts: observer to the layout of its observation; it names each other agent's relative position
        ``<agent>_rel`` (2 wide, ``other - observer``); other slots named ``<agent>_...`` are hidden with it, but
        not the layout's ``flags``. For MPE2 scenarios, ``envs.mpe2.layouts.mpe2_layouts`` derives them.
    :param radius: observation radius (> 0), one for every observer or one per observer.
    :raises ValueError: naming the observer and slot, if a layout does not fit its observation space, declares no
        other agent, or already has a visibility slot.
    """

    def __init__(
        self,
        env: ParallelEnv[str, Observation, Any],
        layouts: Mapping[str, ObsLayout],
        radius: float | Mapping[str, float],
    ) -> None:
        super().__init__(env)
        if not layouts:
            raise ValueError("layouts must declare at least one observer")
        radii = dict(radius) if isinstance(radius, Mapping) else dict.fromkeys(layouts, radius)
        if set(radii) != set(layouts):
            raise ValueError(f"radius must be given for exactly the observers {sorted(layouts)}, got {sorted(radii)}")
        self.radii: dict[str, float] = {}
        """Each observer's radius."""
        self.others: dict[str, tuple[str, ...]] = {}
        """Each observer's other agents, in the order of its visibility bits."""
        self.soo_views: dict[str, SOOView] = {}
        """Each observer's wrapped layout (``obs_layout(observer)``) and radius: what ``SOOPPO`` reads."""
        self._views: dict[str, RadiusView] = {}
        self._layouts: dict[str, ObsLayout] = {}
        self.observation_spaces = {agent: env.observation_space(agent) for agent in env.possible_agents}
        for observer, layout in layouts.items():
            if observer not in env.possible_agents:
                raise ValueError(f"unknown observer {observer!r}; agents are {list(env.possible_agents)}")
            check_float(f"radius of {observer}", radii[observer], 0.0, np.inf, low_inclusive=False)
            space = env.observation_space(observer)
            if not isinstance(space, spaces.Box):
                raise ValueError(f"the observation space of {observer} must be a Box, got {space}")
            layout.check_shape(space.shape, f"the observation space of {observer}")
            others = tuple(a for a in env.possible_agents if a != observer and f"{a}_rel" in layout)
            if not others:
                raise ValueError(
                    f"the layout of {observer} names no other agent's relative position: expected slots named "
                    f"'<agent>_rel' for agents in {[a for a in env.possible_agents if a != observer]}, "
                    f"got {list(layout.names)}"
                )
            for agent in others:
                if layout.slice(f"{agent}_rel").stop - layout.slice(f"{agent}_rel").start != 2:
                    raise ValueError(f"slot {agent + '_rel'!r} of {observer} must be 2 wide")
                if f"{agent}_visible" in layout:
                    raise ValueError(
                        f"the layout of {observer} already has a slot {agent + '_visible'!r}; ObservationRadius "
                        "appends the visibility bits itself"
                    )
            self.radii[observer] = float(radii[observer])
            self.others[observer] = others
            view = RadiusView(layout, others, self.radii[observer], space.dtype)
            self._views[observer] = view
            default_other = layout.other if layout.other in others else others[0]
            self._layouts[observer] = ObsLayout(
                layout.fields + tuple((f"{agent}_visible", 1) for agent in others), default_other, layout.flags
            )
            self.soo_views[observer] = SOOView(self._layouts[observer], self.radii[observer])
            hidden = view.hidden.any(axis=0)
            low = np.concatenate([np.where(hidden, np.minimum(space.low, 0), space.low), np.zeros(len(others))])
            high = np.concatenate([np.where(hidden, np.maximum(space.high, 0), space.high), np.ones(len(others))])
            self.observation_spaces[observer] = spaces.Box(low.astype(space.dtype), high.astype(space.dtype))

    # ------------------------------------------------------------- PettingZoo API
    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Observation], dict[str, dict[str, Any]]]:
        observations, infos = self.env.reset(seed=seed, options=options)
        return self.view(observations), infos

    def step(
        self, actions: dict[str, Any]
    ) -> tuple[
        dict[str, Observation],
        dict[str, float],
        dict[str, bool],
        dict[str, bool],
        dict[str, dict[str, Any]],
    ]:
        observations, rewards, terminations, truncations, infos = self.env.step(actions)
        return self.view(observations), rewards, terminations, truncations, infos

    def observation_space(self, agent: str) -> spaces.Space[Any]:
        return self.observation_spaces[agent]

    # ------------------------------------------------------------- declaration
    def view(self, observations: Mapping[str, Observation]) -> dict[str, Observation]:
        """The observers' masked views of the wrapped env's ``observations`` (others unchanged)."""
        return {agent: self._views[agent](obs) if agent in self._views else obs for agent, obs in observations.items()}

    def obs_layout(self, observer: str, other: str | None = None) -> ObsLayout:
        """The layout of ``observer``'s wrapped observation: its own slots, then ``<agent>_visible`` bits.

        :param observer: an agent of ``layouts``.
        :param other: the agent SOO compares the observer with (``ObsLayout.other``); ``None``: the input layout's
            ``other`` if it is an agent it observes, else its first other agent.
        """
        if observer not in self._layouts:
            raise ValueError(f"{observer!r} has no observation radius; observers are {list(self._layouts)}")
        layout = self._layouts[observer]
        return layout if other is None else layout.with_other(other)

    def shared_obs_layout(self, observers: Sequence[str], other: str) -> ObsLayout:
        """One layout for observers that share a policy: the first one's, after checking that ``other``'s slots
        sit at the same places in every observer's view.

        :raises ValueError: if ``other``'s slots differ between observers.
        """
        if not observers:
            raise ValueError("observers must not be empty")
        layouts = [self.obs_layout(observer, other) for observer in observers]
        for observer, layout in zip(observers, layouts, strict=True):
            for slot in (f"{other}_rel", f"{other}_visible"):
                if layout.slice(slot) != layouts[0].slice(slot):
                    raise ValueError(
                        f"slot {slot!r} is at {layout.slice(slot)} for {observer} but at {layouts[0].slice(slot)} "
                        f"for {observers[0]}: they cannot share one observation layout"
                    )
        return layouts[0]
