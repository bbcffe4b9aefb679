"""stable-baselines3 ``VecEnv`` face: one team learns, the other is driven by a fixed batched policy."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from numpy.typing import NDArray
from stable_baselines3.common.vec_env import VecEnv, VecMonitor
from stable_baselines3.common.vec_env.base_vec_env import VecEnvIndices, VecEnvObs, VecEnvStepReturn

from envs.deception.config import DeceptionConfig, make_config
from envs.deception.core import DeceptionCore, InitialState
from envs.deception.layout import AGENTS, BLUE, RED
from envs.deception.parallel import RENDER_FPS, action_space, observation_space, soo_view
from envs.deception.rendering import Renderer
from envs.deception.scripted import LearningOpponent, scripted_policy
from envs.generic.actions import BatchPolicy

DEFAULT_OPPONENTS = {BLUE: "red_follower", RED: "honest"}
EPISODE_INFO_KEYS = ("trapped", "blue_at_goal", "red_at_goal", "red_absent")


class DeceptionVecEnv(VecEnv):
    """N episodes in one batched core, seen by SB3 as ``num_envs`` environments of one agent.

    All episodes have the same fixed length, so they end (as truncations, with
    ``TimeLimit.truncated`` and ``terminal_observation`` in their infos) and auto-reset together.
    Each final info also carries the episode outcome: ``trapped``, ``blue_at_goal``, ``red_at_goal``, ``red_absent``.
    ``soo_view`` declares the learner's layout and radius to SOO (``envs.generic.layout.SOOView``), as any env does.

    :param config: the world's settings.
    :param num_envs: number of parallel episodes.
    :param learner: the agent whose observations, actions and rewards SB3 sees.
    :param opponent: batched policy of the other agent (observations to actions); a ``LearningOpponent`` also
        gets its rewards and next observations after every step, so that it learns from the same episodes.
    :param render_mode: ``None``, ``"human"`` or ``"rgb_array"`` (renders episode 0).
    """

    def __init__(
        self,
        config: DeceptionConfig,
        num_envs: int,
        learner: str,
        opponent: BatchPolicy,
        render_mode: str | None = None,
    ) -> None:
        if learner not in AGENTS:
            raise ValueError(f"learner must be one of {list(AGENTS)}, got {learner!r}")
        if render_mode not in (None, "human", "rgb_array"):
            raise ValueError(f"render_mode must be one of ['human', 'rgb_array'] or None, got {render_mode!r}")
        self.config = config
        self.core = DeceptionCore(config, num_envs)
        self.learner = learner
        self.soo_view = soo_view(config, learner)
        """The learner's observation layout and radius, for ``SOOPPO``."""
        self.opponent = opponent  # the setter also decides, once, whether the opponent learns
        self.render_mode = render_mode
        self._learner_index = AGENTS.index(learner)
        self._actions: NDArray[Any] | None = None
        self._renderer: Renderer | None = None
        super().__init__(num_envs, observation_space(config, learner), action_space(config))

    @property
    def opponent(self) -> BatchPolicy:
        """The other agent's batched policy."""
        return self._opponent

    @opponent.setter
    def opponent(self, policy: BatchPolicy) -> None:
        self._opponent = policy
        self._learning_opponent = policy if isinstance(policy, LearningOpponent) else None

    # ------------------------------------------------------------- SB3 API
    def reset(self) -> VecEnvObs:
        if self._seeds[0] is not None:
            self.core.seed(self._seeds[0])
        self.core.reset(initial_state=self._initial_state_from_options())
        self._reset_seeds()
        self._reset_options()
        return self._learner_obs()

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = np.asarray(actions)

    def step_wait(self) -> VecEnvStepReturn:
        if self._actions is None:
            raise RuntimeError("step_wait() called before step_async()")
        opponent_index = 1 - self._learner_index
        opponent_obs = self.core.observations()[opponent_index]
        joint_shape = (self.num_envs, 2, 2) if self.config.continuous_actions else (self.num_envs, 2)
        learner_shape = joint_shape[:1] + joint_shape[2:]
        if self._actions.size != int(np.prod(learner_shape)):
            raise ValueError(f"actions of {self.learner} must have shape {learner_shape}, got {self._actions.shape}")
        learner_actions = self._actions.reshape(learner_shape)
        joint = np.empty(joint_shape, dtype=np.float64 if self.config.continuous_actions else learner_actions.dtype)
        joint[:, self._learner_index] = learner_actions
        joint[:, opponent_index] = self.opponent(opponent_obs)
        rewards, truncated = self.core.step(joint)
        self._actions = None
        observations = self.core.observations()
        infos: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]
        opponent_terminal = None
        if truncated.any():
            outcomes = self.core.episode_outcomes()
            for i in np.flatnonzero(truncated):
                infos[i] = {key: bool(outcomes[key][i]) for key in EPISODE_INFO_KEYS}
                infos[i]["terminal_observation"] = observations[self._learner_index][i]
                infos[i]["TimeLimit.truncated"] = True
            opponent_terminal = observations[opponent_index]
            self.core.reset(mask=truncated)
            observations = self.core.observations()
        if self._learning_opponent is not None:
            self._learning_opponent.observe(
                rewards[:, opponent_index], truncated.copy(), observations[opponent_index], opponent_terminal
            )
        obs = observations[self._learner_index]
        if self.render_mode == "human":
            self.render()
        return obs, rewards[:, self._learner_index].astype(np.float32), truncated.copy(), infos

    def close(self) -> None:
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None

    def get_images(self) -> Sequence[np.ndarray | None]:
        return [self._render_episode(i, "rgb_array") for i in range(self.num_envs)]

    def render(self, mode: str | None = None) -> np.ndarray | None:
        """Render episode 0 (``human``: in a window; ``rgb_array``: returned as ``(H, W, 3)`` uint8)."""
        mode = mode or self.render_mode
        if mode is None:
            gym.logger.warn("render() called without a render_mode; pass render_mode='rgb_array' or 'human'")
            return None
        return self._render_episode(0, mode)

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        return [getattr(self, attr_name) for _ in self._get_indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        setattr(self, attr_name, value)

    def env_method(
        self, method_name: str, *method_args: Any, indices: VecEnvIndices = None, **method_kwargs: Any
    ) -> list[Any]:
        method = getattr(self, method_name)
        return [method(*method_args, **method_kwargs) for _ in self._get_indices(indices)]

    def env_is_wrapped(self, wrapper_class: type[gym.Wrapper], indices: VecEnvIndices = None) -> list[bool]:
        return [False for _ in self._get_indices(indices)]

    # ------------------------------------------------------------- helpers
    def _learner_obs(self) -> NDArray[np.float32]:
        red_obs, blue_obs = self.core.observations()
        return blue_obs if self.learner == BLUE else red_obs

    def _initial_state_from_options(self) -> InitialState | None:
        states = [options.get("initial_state") for options in self._options]
        if all(state is None for state in states):
            return None
        if any(state is None for state in states):
            raise ValueError("options['initial_state'] must be given for every env or for none")
        return InitialState.concatenate(
            [InitialState.from_mapping(state, self.config.num_landmarks) for state in states if state is not None]
        )

    def _render_episode(self, index: int, mode: str) -> np.ndarray | None:
        if self._renderer is None or self._renderer.render_mode != mode:
            self._renderer = Renderer(mode, fps=RENDER_FPS)
        return self._renderer.render(self.core, index)


def make_vec_env(
    num_envs: int = 1,
    learner: str = BLUE,
    opponent: str | BatchPolicy | None = None,
    seed: int | None = None,
    preset: str = "default",
    render_mode: str | None = None,
    monitor: bool = True,
    **env_kwargs: Any,
) -> VecEnv:
    """Build the SB3 vectorised env for one learning team.

    :param num_envs: number of parallel episodes.
    :param learner: ``"blue_0"`` or ``"red_0"``.
    :param opponent: the other agent's policy: a batched callable, the name of a scripted policy
        (``red_follower``, ``honest``, ``deceptive``) or ``None`` for the default (the scripted red
        follower against a learning blue, the honest scripted blue against a learning red).
    :param seed: seed of the episodes' initial states (SB3's ``model.set_random_seed`` re-seeds).
    :param preset: a name in ``envs.deception.config.PRESETS``: a training world or a held-out variant
        (``envs.deception.variants``).
    :param render_mode: ``None``, ``"human"`` or ``"rgb_array"``.
    :param monitor: wrap in ``VecMonitor`` (episode returns and outcomes for SB3's logger).
    :param env_kwargs: any ``envs.deception.config.DeceptionConfig`` field.
    """
    config = make_config(preset, **env_kwargs)
    if learner not in AGENTS:
        raise ValueError(f"learner must be one of {list(AGENTS)}, got {learner!r}")
    opponent = opponent if opponent is not None else DEFAULT_OPPONENTS[learner]
    policy = scripted_policy(opponent, config) if isinstance(opponent, str) else opponent
    if not callable(policy):
        raise TypeError(f"opponent must be a policy name or a callable on observation batches, got {opponent!r}")
    venv: VecEnv = DeceptionVecEnv(config, num_envs, learner, policy, render_mode)
    venv.seed(seed)
    if monitor:
        venv = VecMonitor(venv, info_keywords=EPISODE_INFO_KEYS)
    return venv
