"""PettingZoo ``ParallelEnv`` face over a one-episode core."""

from __future__ import annotations

from typing import Any, ClassVar

import gymnasium
import numpy as np
from gymnasium import spaces
from numpy.typing import NDArray
from pettingzoo import ParallelEnv

from envs.deception.config import DeceptionConfig, make_config
from envs.deception.core import ARENA, DeceptionCore, InitialState
from envs.deception.layout import AGENTS, BLUE, RED, layout_for
from envs.deception.rendering import Renderer
from envs.deception.scripted import top_speed
from envs.generic.layout import SOOView

ENV_NAME = "deception_v0"
RENDER_FPS = 10


def observation_space(config: DeceptionConfig, agent: str) -> spaces.Box:
    """Gymnasium observation space of ``agent``: a float32 vector bounded slot by slot.

    Velocities are bounded by the agent's top speed, positions by the arena, relative positions by
    its diameter, bits by ``[0, 1]``.
    """
    layout = layout_for(agent, config.num_landmarks)
    motor = config.red_speed if agent == RED else 1.0
    low, high = np.empty(layout.size, dtype=np.float32), np.empty(layout.size, dtype=np.float32)
    for name, _ in layout.fields:
        if name == "self_vel":
            bounds = (-top_speed(config) * motor, top_speed(config) * motor)
        elif name == "self_pos":
            bounds = (-ARENA, ARENA)
        elif name.endswith("_rel"):
            bounds = (-2 * ARENA, 2 * ARENA)
        else:
            bounds = (0.0, 1.0)
        low[layout.slice(name)], high[layout.slice(name)] = bounds
    return spaces.Box(low, high, dtype=np.float32)


def soo_view(config: DeceptionConfig, agent: str) -> SOOView:
    """What ``agent`` declares to SOO in ``config``'s world: its observation layout and radius."""
    return SOOView(layout_for(agent, config.num_landmarks), config.blue_radius if agent == BLUE else config.red_radius)


def action_space(config: DeceptionConfig) -> spaces.Space[Any]:
    """``Box([-1, 1]^2)`` for continuous actions, ``Discrete(5)`` (MPE's moves) otherwise."""
    if config.continuous_actions:
        return spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32)
    return spaces.Discrete(5)


def initial_state_from_options(options: dict[str, Any] | None, config: DeceptionConfig) -> InitialState | None:
    """The ``initial_state`` entry of ``reset`` options, validated, or ``None``."""
    if not options or "initial_state" not in options:
        return None
    return InitialState.from_mapping(options["initial_state"], config.num_landmarks)


class DeceptionParallelEnv(ParallelEnv[str, NDArray[np.float32], Any]):
    """Red/blue physical deception as a PettingZoo parallel environment.

    :param preset: a name in ``envs.deception.config.PRESETS``: a training world or a held-out variant
        (``envs.deception.variants``).
    :param render_mode: ``None``, ``"human"`` or ``"rgb_array"``.
    :param overrides: any ``envs.deception.config.DeceptionConfig`` field.

    Infos are empty until the last step, whose infos carry the episode outcome (``trapped``,
    ``blue_at_goal``, ``red_at_goal``, ``red_absent``), as the VecEnv face's final infos do.

    ``reset(options={"initial_state": {...}})`` starts from explicit positions: ``red_pos`` and
    ``blue_pos`` ``(2,)``, ``landmarks`` ``(L, 2)``, ``goal_index`` and optionally ``red_absent``.

    ``soo_views`` declares each agent's layout and radius to SOO (``envs.generic.layout.SOOView``), as any env does.
    """

    metadata: ClassVar[dict[str, Any]] = {
        "render_modes": ["human", "rgb_array"],
        "name": ENV_NAME,
        "render_fps": RENDER_FPS,
        "is_parallelizable": True,
    }

    def __init__(self, preset: str = "default", render_mode: str | None = None, **overrides: Any) -> None:
        self.config = make_config(preset, **overrides)
        if render_mode not in (None, *self.metadata["render_modes"]):
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']} or None, got {render_mode!r}")
        self.render_mode = render_mode
        self.core = DeceptionCore(self.config, num_envs=1)
        self.possible_agents = list(AGENTS)
        self.agents: list[str] = []
        self._observation_spaces = {agent: observation_space(self.config, agent) for agent in AGENTS}
        self.soo_views = {agent: soo_view(self.config, agent) for agent in AGENTS}
        self._action_space = action_space(self.config)
        self._renderer: Renderer | None = None
        self._action_buffer = np.zeros((1, 2, 2) if self.config.continuous_actions else (1, 2), dtype=np.float64)
        if not self.config.continuous_actions:
            self._action_buffer = self._action_buffer.astype(np.int64)
        self._agent_action_shape = self._action_buffer.shape[2:]
        self._action_kinds = "fiu" if self.config.continuous_actions else "iu"

    def observation_space(self, agent: str) -> spaces.Space[Any]:
        return self._observation_spaces[agent]

    def action_space(self, agent: str) -> spaces.Space[Any]:
        if agent not in AGENTS:
            raise KeyError(f"unknown agent {agent!r}; agents are {list(AGENTS)}")
        return self._action_space

    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, NDArray[np.float32]], dict[str, dict[str, Any]]]:
        self.core.reset(seed=seed, initial_state=initial_state_from_options(options, self.config))
        self.agents = list(AGENTS)
        if self.render_mode == "human":
            self.render()
        return self._observe(), {agent: {} for agent in AGENTS}

    def step(
        self, actions: dict[str, Any]
    ) -> tuple[
        dict[str, NDArray[np.float32]],
        dict[str, float],
        dict[str, bool],
        dict[str, bool],
        dict[str, dict[str, Any]],
    ]:
        if not self.agents:
            raise RuntimeError("step() called on a finished episode; call reset() first")
        if len(actions) != len(AGENTS) or any(agent not in actions for agent in AGENTS):
            missing = [agent for agent in AGENTS if agent not in actions]
            unknown = sorted(set(actions) - set(AGENTS))
            raise ValueError(
                f"actions must hold exactly one action per agent {list(AGENTS)}; missing {missing}, unknown {unknown}"
            )
        for index, agent in enumerate(AGENTS):
            action = np.asarray(actions[agent])
            if action.shape != self._agent_action_shape:
                raise ValueError(f"action of {agent} must have shape {self._agent_action_shape}, got {action.shape}")
            if action.dtype.kind not in self._action_kinds:
                allowed = "real numbers in [-1, 1]^2" if self.config.continuous_actions else "an integer in [0, 4]"
                raise ValueError(f"action of {agent} must be {allowed}, got {actions[agent]!r}")
            self._action_buffer[0, index] = action
        rewards, truncated = self.core.step(self._action_buffer)
        done = bool(truncated[0])
        observations = self._observe()
        reward_dict = {agent: float(rewards[0, index]) for index, agent in enumerate(AGENTS)}
        info: dict[str, bool] = {}
        if done:
            info = {key: bool(value[0]) for key, value in self.core.episode_outcomes().items()}
            self.agents = []
        if self.render_mode == "human":
            self.render()
        return (
            observations,
            reward_dict,
            {agent: False for agent in AGENTS},
            {agent: done for agent in AGENTS},
            {agent: dict(info) for agent in AGENTS},
        )

    def _observe(self) -> dict[str, NDArray[np.float32]]:
        red_obs, blue_obs = self.core.observations()
        return {RED: red_obs[0], BLUE: blue_obs[0]}

    def render(self) -> NDArray[np.uint8] | None:
        if self.render_mode is None:
            gymnasium.logger.warn("render() called without a render_mode; pass render_mode='rgb_array' or 'human'")
            return None
        if self._renderer is None:
            self._renderer = Renderer(self.render_mode, fps=RENDER_FPS)
        return self._renderer.render(self.core)

    def close(self) -> None:
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None
