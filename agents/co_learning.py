"""A red that learns alongside blue (SPEC section 2, the authors' setting): PPO on red's reward, from the very
episodes blue trains on.

In the authors' code both agents are MADDPG learners and every update trains red too. Here both learn by
independent PPO (the design card's algorithm): red is the opponent inside blue's training env
(``envs.deception.vec_env.DeceptionVecEnv``), so one step of the batched core advances both learners. Red samples its
actions from its current policy, keeps each step in its own PPO rollout buffer, and updates (``model.train()``) each
time that buffer is full. With red's ``n_steps`` and ``n_envs`` equal to blue's, the two rollouts coincide: red updates
at the last step of blue's rollout, blue right after it, and each acts on the other's new policy in the next one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch as th
from gymnasium import spaces
from numpy.typing import NDArray
from stable_baselines3.common.utils import configure_logger, obs_as_tensor

from agents.hyperparams import PPOSettings
from agents.learned_red import new_model
from agents.soo_ppo import SOOPPO
from envs.deception.layout import RED
from envs.generic.validation import check_float, check_int

RED_EPOCHS = 5
"""PPO epochs of a co-learning red's updates: its settings are blue's with 5 epochs instead of 10. Red's update is
the largest part of what it adds to blue's training: with 10 epochs a co-learning baseline cost 1.82x a scripted-red
one, with 5 epochs 1.45-1.46x in three runs (``python bench/ppo_throughput.py``, case (d), 2026-12-02), within the
1.6x the suite allows."""


RED_FIXED_FIELDS = ("n_envs", "n_steps")
"""Fields of red's PPO settings that must stay blue's: red steps in blue's env and updates with blue's rollouts."""


def co_learning_settings(blue: PPOSettings, overrides: Mapping[str, Any] | None = None) -> PPOSettings:
    """A co-learning red's PPO settings: ``blue``'s, with ``RED_EPOCHS`` epochs (rollouts of the same size, so that
    red's and blue's coincide), then ``overrides``.

    :param blue: blue's PPO settings.
    :param overrides: other values of red's ``PPOSettings`` fields (for example a smaller ``learning_rate`` for a
        red that learns more slowly than blue); ``n_envs`` and ``n_steps`` stay blue's.
    """
    overrides = dict(overrides or {})
    fixed = sorted(set(overrides) & set(RED_FIXED_FIELDS))
    if fixed:
        raise ValueError(f"red's {fixed} must be blue's: red steps in blue's env and learns from blue's rollouts")
    unknown = sorted(set(overrides) - {field.name for field in dataclasses.fields(PPOSettings)})
    if unknown:
        raise ValueError(f"unknown PPOSettings fields for red: {unknown}")
    return dataclasses.replace(blue, **{"n_epochs": RED_EPOCHS, **overrides})


class CoLearningRed:
    """Red as a learning opponent (``envs.deception.scripted.LearningOpponent``) of blue's training env.

    Random draws: red's actions come from torch's global generator, in the same order as a frozen red's
    (``ModelPolicy(model, deterministic=False)``) would; the order of its minibatches comes from its own numpy
    generator, seeded by ``seed``, so that red's updates leave blue's draws untouched. With a learning rate of 0,
    blue therefore trains exactly as against that frozen red.

    :param model: red's model (``SOOPPO`` with SOO and KL off: plain PPO), new or loaded; its ``n_envs`` must be
        the env's.
    :param reward_scale: multiplier of red's rewards (``PPOSettings.reward_scale``).
    :param seed: seed of red's minibatch order.
    :param total_timesteps: env steps red is expected to learn for from now (the progress its schedules see).
    :param tensorboard_log: TensorBoard folder of red's training metrics (``None``: not logged).
    :param tb_log_name: TensorBoard run name.
    """

    def __init__(
        self,
        model: SOOPPO,
        reward_scale: float,
        seed: int,
        total_timesteps: int,
        tensorboard_log: str | None = None,
        tb_log_name: str = "red",
    ) -> None:
        if model.soo_coef or model.kl_coef:
            raise ValueError(
                f"red learns by plain PPO: soo_coef and kl_coef must be 0, got {model.soo_coef} and {model.kl_coef}"
            )
        check_float("reward_scale", reward_scale, 0.0, np.inf, low_inclusive=False)
        check_int("seed", seed, 0)
        check_int("total_timesteps", total_timesteps, 1)
        self.model = model
        self.reward_scale = reward_scale
        self._end_timesteps = model.num_timesteps + total_timesteps
        self.updates = 0
        """PPO updates red has made since this object was built."""
        self._numpy_state = np.random.RandomState(seed).get_state()
        self._episode_starts = np.ones(model.n_envs, dtype=bool)
        self._step: tuple[NDArray[np.float32], NDArray[Any], th.Tensor, th.Tensor] | None = None
        model.set_logger(configure_logger(0, tensorboard_log, tb_log_name, reset_num_timesteps=False))
        model.rollout_buffer.reset()  # a model that has just learned holds its last (flattened) rollout
        model.policy.set_training_mode(False)

    def __call__(self, obs: NDArray[np.float32]) -> NDArray[Any]:
        """Sample red's actions for ``obs`` from its current policy (clipped into the action space)."""
        if len(obs) != self.model.n_envs:
            raise ValueError(f"red was built for {self.model.n_envs} envs, but got {len(obs)} observations")
        with th.no_grad():
            actions, values, log_probs = self.model.policy(obs_as_tensor(obs, self.model.device))
        sampled = actions.cpu().numpy()
        self._step = (obs, sampled, values, log_probs)
        space = self.model.action_space
        return np.clip(sampled, space.low, space.high) if isinstance(space, spaces.Box) else sampled

    def observe(
        self,
        rewards: NDArray[np.float64],
        dones: NDArray[np.bool_],
        next_obs: NDArray[np.float32],
        terminal_obs: NDArray[np.float32] | None,
    ) -> None:
        """Record the step in red's rollout buffer (time-limit ends bootstrapped with red's value, as SB3 does) and
        update red when the buffer is full."""
        if self._step is None:
            raise RuntimeError("observe() called before red acted on the step")
        obs, actions, values, log_probs = self._step
        self._step = None
        model, buffer = self.model, self.model.rollout_buffer
        scaled = (np.asarray(rewards) * self.reward_scale).astype(np.float32)
        if terminal_obs is not None and dones.any():
            with th.no_grad():
                terminal_values = model.policy.predict_values(obs_as_tensor(terminal_obs[dones], model.device))
            scaled[dones] += model.gamma * terminal_values.flatten().cpu().numpy()
        if isinstance(model.action_space, spaces.Discrete):
            actions = actions.reshape(-1, 1)
        buffer.add(obs, actions, scaled, self._episode_starts, values, log_probs)
        self._episode_starts = dones
        model.num_timesteps += model.n_envs
        if buffer.full:
            with th.no_grad():
                last_values = model.policy.predict_values(obs_as_tensor(next_obs, model.device))
            buffer.compute_returns_and_advantage(last_values=last_values, dones=dones)
            self._update()

    def _update(self) -> None:
        model = self.model
        model._update_current_progress_remaining(model.num_timesteps, self._end_timesteps)
        with self._own_numpy_stream():
            model.train()
        self.updates += 1
        model.logger.record("time/total_timesteps", model.num_timesteps)
        model.logger.dump(step=model.num_timesteps)
        model.rollout_buffer.reset()
        model.policy.set_training_mode(False)

    @contextmanager
    def _own_numpy_stream(self) -> Iterator[None]:
        """Run the block on red's own numpy generator (SB3 shuffles minibatches with ``np.random``)."""
        outside = np.random.get_state()  # noqa: NPY002 (SB3 draws from the legacy global generator)
        np.random.set_state(self._numpy_state)  # noqa: NPY002
        try:
            yield
        finally:
            self._numpy_state = np.random.get_state()  # noqa: NPY002
            np.random.set_state(outside)  # noqa: NPY002


def new_co_learning_red(
    blue: PPOSettings,
    seed: int,
    total_timesteps: int,
    preset: str = "default",
    env_kwargs: Mapping[str, Any] | None = None,
    tensorboard_log: str | None = None,
    tb_log_name: str = "red",
    red_overrides: Mapping[str, Any] | None = None,
    warmup_timesteps: int = 0,
    learning_rate_after_warmup: float | None = None,
) -> CoLearningRed:
    """A new red (``co_learning_settings(blue)``, seeded by ``seed``) that learns alongside a blue trained with
    ``blue``.

    :param blue: blue's PPO settings.
    :param seed: seed of red's initial weights and minibatch order.
    :param total_timesteps: env steps red is expected to learn for.
    :param preset: the world.
    :param env_kwargs: other ``envs.deception.config.DeceptionConfig`` fields.
    :param tensorboard_log: TensorBoard folder (``None``: not logged).
    :param tb_log_name: TensorBoard run name.
    :param red_overrides: red's own values of ``PPOSettings`` fields (``co_learning_settings``).
    :param warmup_timesteps: env steps red first learns against the scripted honest blue, so that it starts as a
        follower (a curriculum; 0: red starts untrained, as in the authors' code).
    :param learning_rate_after_warmup: red's learning rate once warmed up (``None``: unchanged), so that a follower
        can be made to adapt to blue more slowly than it learned to follow.
    """
    check_int("warmup_timesteps", warmup_timesteps, 0)
    if learning_rate_after_warmup is not None:
        if not warmup_timesteps:
            raise ValueError("learning_rate_after_warmup needs warmup_timesteps > 0")
        check_float("learning_rate_after_warmup", learning_rate_after_warmup, 0.0, np.inf)
    settings = co_learning_settings(blue, red_overrides)
    model = new_model(RED, settings, seed, "honest", preset, env_kwargs)
    if warmup_timesteps:
        model.learn(warmup_timesteps)
    if learning_rate_after_warmup is not None:
        model.learning_rate = learning_rate_after_warmup
        model._setup_lr_schedule()
    return CoLearningRed(model, settings.reward_scale, seed, total_timesteps, tensorboard_log, tb_log_name)
