"""stable-baselines3 ``VecEnv`` face for any PettingZoo ``ParallelEnv``: learners share one policy, the other
agents are driven by fixed batched policies.

This is what PettingZoo and SuperSuit users do with parameter sharing (every learner is one of SB3's envs), plus
what SuperSuit does not offer: agents that do not learn, played by a scripted policy or a loaded model that is
called once per step on the observations of all copies at once (``envs.generic.actions.BatchPolicy``, e.g.
``agents.batch_policy.ModelPolicy``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
from numpy.typing import NDArray
from pettingzoo import ParallelEnv
from stable_baselines3.common.vec_env import VecEnv
from stable_baselines3.common.vec_env.base_vec_env import VecEnvIndices, VecEnvObs, VecEnvStepReturn

from envs.generic.actions import BatchPolicy
from envs.generic.layout import SOO_VIEW, SOO_VIEWS, ObsLayout, SOOView
from envs.generic.validation import check_int


class SharedPolicyVecEnv(VecEnv):
    """``copies`` copies of a PettingZoo parallel env, seen by SB3 as ``copies * len(learners)`` envs.

    Env index ``i`` is learner ``learners[i % len(learners)]`` of copy ``i // len(learners)``. When a copy's
    episode ends (every agent terminated or truncated), its learners' infos carry ``terminal_observation`` and
    ``TimeLimit.truncated`` (truncated and not terminated), and the copy is reset. Learners must stay until
    their episode ends. ``seed(s)`` resets copy ``c`` with seed ``s + c * len(learners)`` at the next ``reset()``.

    ``get_attr("soo_view")`` gives, for env index ``i``, the ``envs.generic.layout.SOOView`` its learner's copy declares
    (its ``soo_views``, e.g. set by ``envs.generic.observation_radius.ObservationRadius``; with ``agent_indicator``, the
    indicated layout): so ``SOOPPO`` reads the learners' layout and radius from the env.

    :param env_fn: builds one copy (e.g. an ``envs.generic.observation_radius.ObservationRadius``-wrapped MPE2 env).
    :param copies: number of copies (>= 1).
    :param learners: the agents that share the learning policy; their observation and action spaces must be
        equal.
    :param policies: a batched policy for every other agent, called on ``(copies, obs_dim)`` observations.
    :param agent_indicator: append a one-hot of the learner's index to its observation (as SuperSuit's
        ``agent_indicator_v0``), so that the shared policy can give the learners different roles; the layout of the
        result is ``indicated_layout(layout, len(learners))``.
    """

    def __init__(
        self,
        env_fn: Callable[[], ParallelEnv[str, Any, Any]],
        copies: int,
        learners: Sequence[str],
        policies: Mapping[str, BatchPolicy] | None = None,
        agent_indicator: bool = False,
    ) -> None:
        check_int("copies", copies, 1)
        self.envs = [env_fn() for _ in range(copies)]
        agents = list(self.envs[0].possible_agents)
        self.learners = tuple(learners)
        self.policies = dict(policies or {})
        unknown = [agent for agent in (*self.learners, *self.policies) if agent not in agents]
        if not self.learners or unknown or len(set(self.learners)) != len(self.learners):
            raise ValueError(
                f"learners must be distinct agents of {agents}, got {list(self.learners)}; unknown agents: {unknown}"
            )
        missing = [agent for agent in agents if agent not in self.learners and agent not in self.policies]
        both = [agent for agent in self.learners if agent in self.policies]
        if missing or both:
            raise ValueError(
                f"every agent but the learners needs a policy: missing for {missing}, given to learners {both}"
            )
        env = self.envs[0]
        observation_space, action_space = env.observation_space(learners[0]), env.action_space(learners[0])
        for learner in self.learners:
            if env.observation_space(learner) != observation_space or env.action_space(learner) != action_space:
                raise ValueError(
                    f"learners sharing one policy need equal spaces; {learner} has {env.observation_space(learner)}, "
                    f"{env.action_space(learner)} and {learners[0]} {observation_space}, {action_space}"
                )
        self._observations: list[dict[str, Any]] = [{} for _ in range(copies)]
        self._actions: np.ndarray | None = None
        self._indicators = np.eye(len(self.learners), dtype=np.float32) if agent_indicator else None
        if self._indicators is not None:
            assert isinstance(observation_space, gym.spaces.Box) and len(observation_space.shape) == 1
            low = np.concatenate([observation_space.low, np.zeros(len(self.learners), observation_space.dtype)])
            high = np.concatenate([observation_space.high, np.ones(len(self.learners), observation_space.dtype)])
            observation_space = gym.spaces.Box(low, high, dtype=observation_space.dtype)
        super().__init__(copies * len(self.learners), observation_space, action_space)

    # ------------------------------------------------------------- SB3 API
    def reset(self) -> VecEnvObs:
        stride = len(self.learners)
        for copy, env in enumerate(self.envs):
            options = self._options[copy * stride] or None
            self._observations[copy], _ = env.reset(seed=self._seeds[copy * stride], options=options)
        self._reset_seeds()
        self._reset_options()
        return self._learner_obs()

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = np.asarray(actions)

    def step_wait(self) -> VecEnvStepReturn:
        if self._actions is None:
            raise RuntimeError("step_wait() called before step_async()")
        if len(self._actions) != self.num_envs:
            raise ValueError(f"expected one action per env ({self.num_envs}), got {len(self._actions)}")
        joint = self._joint_actions(self._actions)
        self._actions = None
        rewards = np.zeros(self.num_envs, dtype=np.float32)
        dones = np.zeros(self.num_envs, dtype=bool)
        infos: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]
        stride = len(self.learners)
        for copy, env in enumerate(self.envs):
            observations, copy_rewards, terminations, truncations, copy_infos = env.step(joint[copy])
            self._observations[copy] = observations
            ended = not env.agents
            for j, learner in enumerate(self.learners):
                i = copy * stride + j
                rewards[i] = copy_rewards[learner]
                infos[i] = dict(copy_infos.get(learner, {}))
                if (terminations[learner] or truncations[learner]) and not ended:
                    raise RuntimeError(
                        f"learner {learner} left before its episode ended; this face does not support it"
                    )
                if ended:
                    dones[i] = True
                    infos[i]["terminal_observation"] = self._indicated(observations[learner], j)
                    infos[i]["TimeLimit.truncated"] = bool(truncations[learner] and not terminations[learner])
            if ended:
                self._observations[copy], _ = env.reset()
        return self._learner_obs(), rewards, dones, infos

    def close(self) -> None:
        for env in self.envs:
            env.close()

    def get_images(self) -> Sequence[np.ndarray | None]:
        images = [env.render() for env in self.envs]
        return [images[i // len(self.learners)] for i in range(self.num_envs)]

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        if attr_name == SOO_VIEW:
            return [self._soo_view(i) for i in self._get_indices(indices)]
        return [getattr(self._env_of(i), attr_name) for i in self._get_indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        for i in self._get_indices(indices):
            setattr(self._env_of(i), attr_name, value)

    def env_method(
        self, method_name: str, *method_args: Any, indices: VecEnvIndices = None, **method_kwargs: Any
    ) -> list[Any]:
        return [
            getattr(self._env_of(i), method_name)(*method_args, **method_kwargs) for i in self._get_indices(indices)
        ]

    def env_is_wrapped(self, wrapper_class: type[gym.Wrapper], indices: VecEnvIndices = None) -> list[bool]:
        return [False for _ in self._get_indices(indices)]

    # ------------------------------------------------------------- helpers
    def _env_of(self, index: int) -> ParallelEnv[str, Any, Any]:
        return self.envs[index // len(self.learners)]

    def _soo_view(self, index: int) -> SOOView:
        """The ``SOOView`` of env ``index``'s learner, as its copy declares it (``AttributeError`` if it does not)."""
        learner = self.learners[index % len(self.learners)]
        view = getattr(self._env_of(index), SOO_VIEWS, {}).get(learner)
        if view is None:
            raise AttributeError(f"the env declares no {SOO_VIEWS}[{learner!r}] (e.g. give it an ObservationRadius)")
        if self._indicators is None:
            return view
        return SOOView(indicated_layout(view.layout, len(self.learners)), view.radius)

    def _learner_obs(self) -> np.ndarray:
        rows = [
            self._indicated(observations[learner], j)
            for observations in self._observations
            for j, learner in enumerate(self.learners)
        ]
        return np.stack(rows).astype(self.observation_space.dtype, copy=False)

    def _indicated(self, observation: np.ndarray, learner: int) -> np.ndarray:
        """A learner's observation, with its one-hot index appended if the env has ``agent_indicator``."""
        if self._indicators is None:
            return observation
        return np.concatenate([observation, self._indicators[learner].astype(observation.dtype)])

    def _joint_actions(self, actions: np.ndarray) -> list[dict[str, Any]]:
        """Every copy's action dict: the learners' from ``actions``, the others' from their batched policies."""
        stride = len(self.learners)
        joint: list[dict[str, Any]] = [
            {learner: actions[copy * stride + j] for j, learner in enumerate(self.learners)}
            for copy in range(len(self.envs))
        ]
        for agent, policy in self.policies.items():
            live = [copy for copy, env in enumerate(self.envs) if agent in env.agents]
            if live:
                chosen = policy(np.stack([self._observations[copy][agent] for copy in live]))
                for row, copy in enumerate(live):
                    joint[copy][agent] = chosen[row]
        return joint


def indicated_layout(layout: ObsLayout, learners: int) -> ObsLayout:
    """The learners' layout in a ``SharedPolicyVecEnv`` with ``agent_indicator``: ``layout`` followed by a
    ``learner_index`` slot, ``learners`` wide."""
    slots: dict[str, slice | int] = {name: layout.slice(name) for name in layout.names if not name.startswith("_")}
    slots["learner_index"] = slice(layout.size, layout.size + learners)
    return ObsLayout.from_slots(layout.size + learners, slots, other=layout.other, flags=layout.flags)


def record_observations(venv: VecEnv, policy: BatchPolicy, steps: int, seed: int | None = None) -> NDArray[np.float32]:
    """The observations ``policy`` acted on in ``steps`` steps of ``venv`` (any SB3 ``VecEnv``), for the SOO value
    (``soo_rl.measurement.soo_value.mean_soo_value``) or the probe (``soo_rl.measurement.probe``).

    :param venv: the env; it is seeded (if ``seed`` is given) and reset first.
    :param policy: batched policy of the learners (e.g. ``agents.batch_policy.ModelPolicy(model)``).
    :param steps: steps to record (>= 1).
    :param seed: seed of the episodes (``None``: as the env is).
    :return: ``(steps, num_envs, obs_dim)``.
    """
    check_int("steps", steps, 1)
    if seed is not None:
        venv.seed(seed)
    obs = np.asarray(venv.reset())
    recorded = np.empty((steps, *obs.shape), dtype=np.float32)
    for t in range(steps):
        recorded[t] = obs
        obs = np.asarray(venv.step(policy(obs))[0])
    return recorded


@dataclass(frozen=True)
class Episodes:
    """One episode of every copy of a ``SharedPolicyVecEnv`` (``play_episodes``); column ``i`` is SB3 env ``i``
    (learner ``i % len(learners)`` of copy ``i // len(learners)``)."""

    observations: NDArray[np.float32]
    """``(T, num_envs, obs_dim)``: what the learners acted on."""
    actions: NDArray[Any]
    """``(T, num_envs, ...)``: what they did."""
    final_infos: list[dict[str, Any]]
    """Per column, the info of the episode's last step (e.g. an episode outcome the env reports there)."""
    info_sums: dict[str, NDArray[np.float64]]
    """Per summed info key, ``(num_envs,)`` its sum over the episode's steps (e.g. a return under another reward)."""


def play_episodes(venv: SharedPolicyVecEnv, policy: BatchPolicy, seed: int, summed: Sequence[str] = ()) -> Episodes:
    """Play one episode in every copy of ``venv``, seeded, with ``policy`` for the learners.

    :param venv: the env (its copies' episodes must end at the same step, as with a fixed ``max_cycles``).
    :param policy: batched policy of the learners (e.g. ``agents.batch_policy.ModelPolicy(model)``).
    :param seed: seed of the episodes: copy ``c`` resets with ``seed + c * len(learners)``.
    :param summed: info keys to sum over each episode's steps.
    :raise RuntimeError: some copies' episodes ended before the others'.
    """
    venv.seed(seed)
    obs = np.asarray(venv.reset())
    observations, actions = [], []
    sums = {key: np.zeros(venv.num_envs) for key in summed}
    while True:
        action = policy(obs)
        observations.append(obs)
        actions.append(np.asarray(action))
        step_obs, _, dones, infos = venv.step(action)
        obs = np.asarray(step_obs)
        for key in summed:
            sums[key] += [info[key] for info in infos]
        if dones.any():
            if not dones.all():
                raise RuntimeError("play_episodes needs episodes that end at the same step in every copy")
            return Episodes(np.stack(observations), np.stack(actions), list(infos), sums)
