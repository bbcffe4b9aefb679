"""A learned red (PPO on red's reward, SPEC section 2) and joint training of blue and red in alternating phases.

Red learns with the project's one model class, ``SOOPPO`` with ``soo_coef = kl_coef = 0`` (bit-for-bit
SB3 PPO), so every checkpoint of the project loads with ``SOOPPO.load``. SOOPPO reads the learner's
layout and radius from the env; red's layout has the ``other_rel``/``other_visible`` slots SOO pairs
need, so red needs no special handling (with the coefficients at 0 no pair is ever built).

Red's reward is +5 per step within 0.16 of the goal and +1 per step while blue is within red's radius;
red cannot tell the goal from the fake, so it earns the goal reward only by following blue.
``RED_SETTINGS`` is the blue baselines' ``PPOSettings`` with a smaller budget (see its docstring).
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch as th
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.vec_env import VecEnv

from agents.batch_policy import ModelPolicy
from agents.hyperparams import PPOSettings
from agents.soo_ppo import SOOPPO
from envs.deception.config import DeceptionConfig, RewardMode, make_config
from envs.deception.core import RED_INDEX
from envs.deception.deception_v0 import make_vec_env
from envs.deception.layout import AGENTS, BLUE, RED, layout_for
from envs.deception.recording import rollout
from envs.deception.scripted import scripted_policy
from envs.generic.actions import BatchPolicy
from envs.generic.validation import check_int

RED_SETTINGS = PPOSettings(total_timesteps=150_000)
"""PPO settings of a learned red: the blue baselines' ``PPOSettings`` (64 x 64 steps, minibatch 1024,
10 epochs, learning rate 1e-3, entropy 0.01, reward scale 0.01) with 150k steps instead of 2M.

Against the scripted honest blue on the ``default`` preset (``python bench/learned_red.py``, 5 seeds,
1,000 evaluation episodes each, deterministic actions), red follows blue: blue within red's radius in
85-88% of steps and red at the goal at the end of 82-86% of episodes (the scripted follower: 68-72% and
64-68%), in 6-11 s of training. 100k steps also pass (72-82% / 68-78%) but have not levelled off;
200k and 300k steps do no better than 150k; 50k steps fail (34-42% / 29-38%).
"""

SCRIPTED_OPPONENTS: dict[str, tuple[str, ...]] = {BLUE: ("red_follower",), RED: ("deceptive", "honest")}
"""Scripted policies that can drive the opponent of each learner (by name)."""


def check_opponent(learner: str, opponent: BatchPolicy | str) -> None:
    """Raise ``ValueError`` unless ``learner`` is an agent and ``opponent`` a callable or a scripted policy
    of the other agent (``SCRIPTED_OPPONENTS``): blue's scripts cannot drive red, nor red's blue."""
    if learner not in AGENTS:
        raise ValueError(f"learner must be one of {list(AGENTS)}, got {learner!r}")
    allowed = SCRIPTED_OPPONENTS[learner]
    if opponent not in allowed if isinstance(opponent, str) else not callable(opponent):
        other = "blue" if learner == RED else "red"
        raise ValueError(f"{other} policy must be a batched policy or one of {list(allowed)}, got {opponent!r}")


def make_team_env(
    learner: str,
    opponent: BatchPolicy | str,
    settings: PPOSettings,
    seed: int | None,
    preset: str = "default",
    env_kwargs: Mapping[str, Any] | None = None,
) -> VecEnv:
    """The env ``learner`` trains on: ``settings.n_envs`` episodes against a fixed ``opponent``, rewards
    scaled by ``settings.reward_scale`` (logged episode returns stay raw).

    :param learner: ``"blue_0"`` or ``"red_0"``.
    :param opponent: the other agent's batched policy, or the name of a scripted one (``SCRIPTED_OPPONENTS``).
    :param settings: PPO settings of the learner (``n_envs`` and ``reward_scale`` are used).
    :param seed: seed of the episodes' initial states.
    :param preset: environment preset (``"default"`` or ``"paper"``).
    :param env_kwargs: any other ``envs.deception.config.DeceptionConfig`` field (e.g. ``reward_mode``).
    """
    check_opponent(learner, opponent)
    venv = make_vec_env(
        settings.n_envs, learner=learner, opponent=opponent, seed=seed, preset=preset, **(env_kwargs or {})
    )
    return settings.wrap_env(venv)


def new_model(
    learner: str,
    settings: PPOSettings,
    seed: int,
    opponent: BatchPolicy | str,
    preset: str = "default",
    env_kwargs: Mapping[str, Any] | None = None,
    tensorboard_log: str | Path | None = None,
) -> SOOPPO:
    """A fresh ``SOOPPO`` (SOO and KL off: vanilla PPO) for ``learner``, on ``make_team_env(...)``.

    :param learner: ``"blue_0"`` or ``"red_0"``.
    :param settings: PPO settings.
    :param seed: seed of the model and of its env's episodes.
    :param opponent: the other agent's batched policy or scripted policy name.
    :param preset: environment preset.
    :param env_kwargs: other ``DeceptionConfig`` fields.
    :param tensorboard_log: TensorBoard folder (``None``: no TensorBoard).
    """
    env = make_team_env(learner, opponent, settings, seed, preset, env_kwargs)
    log = None if tensorboard_log is None else str(tensorboard_log)
    return SOOPPO("MlpPolicy", env, seed=seed, tensorboard_log=log, **settings.to_sb3_kwargs())


def train_red(
    blue: BatchPolicy | str = "honest",
    settings: PPOSettings = RED_SETTINGS,
    timesteps: int | None = None,
    seed: int = 0,
    preset: str = "default",
    env_kwargs: Mapping[str, Any] | None = None,
    tensorboard_log: str | Path | None = None,
    callback: BaseCallback | None = None,
    tb_log_name: str = "red",
) -> SOOPPO:
    """Train a red from scratch with PPO on red's reward against a fixed blue.

    The same arguments (and seed) give the same parameters.

    :param blue: blue's batched policy (e.g. ``ModelPolicy(blue_model)``) or scripted name (``honest``, ``deceptive``).
    :param settings: PPO settings of red.
    :param timesteps: environment steps (``None``: ``settings.total_timesteps``).
    :param seed: seed of the model and of the training episodes.
    :param preset: environment preset.
    :param env_kwargs: other ``DeceptionConfig`` fields.
    :param tensorboard_log: TensorBoard folder.
    :param callback: SB3 callback for ``learn``.
    :param tb_log_name: TensorBoard run name.
    """
    timesteps = settings.total_timesteps if timesteps is None else timesteps
    check_int("timesteps", timesteps, 1)
    model = new_model(RED, settings, seed, blue, preset, env_kwargs, tensorboard_log)
    model.learn(timesteps, callback=callback, tb_log_name=tb_log_name)
    return model


def frozen_policy(model: SOOPPO, deterministic: bool = True) -> ModelPolicy:
    """A frozen copy of ``model``'s current policy as a batched policy: later training of ``model`` does
    not change it. The copy is ``model`` saved to memory and loaded back, leaving the global random
    generators as they were (SB3's ``load`` would re-seed them and draw initial weights from torch's).

    :param model: the model to copy.
    :param deterministic: the copy acts with the mode of its action distribution (else it samples).
    """
    buffer = io.BytesIO()
    model.save(buffer)
    buffer.seek(0)
    with th.random.fork_rng(devices=[]):
        copy = SOOPPO.load(buffer, device=model.device, seed=None)
    return ModelPolicy(copy, deterministic=deterministic)


def phase_seed(seed: int, phase: int, learner: str) -> int:
    """Seed of ``learner``'s training episodes in ``phase``: distinct per phase and team, derived from ``seed``."""
    return int(np.random.SeedSequence((seed, phase, AGENTS.index(learner))).generate_state(1)[0])


def train_alternating(
    blue_model: SOOPPO,
    red_model: SOOPPO,
    phases: int,
    steps_per_phase: int,
    seed: int = 0,
    preset: str = "default",
    reward_mode: RewardMode = "deceptive",
    env_kwargs: Mapping[str, Any] | None = None,
    blue_settings: PPOSettings | None = None,
    red_settings: PPOSettings = RED_SETTINGS,
    opponent_deterministic: bool = True,
    checkpoint_dir: str | Path | None = None,
) -> None:
    """Train blue and red in place, in alternating phases, each against a frozen copy of the other.

    At the start of every phase both teams' current policies are copied (``frozen_policy``); then blue
    trains ``steps_per_phase`` steps against red's copy, and red against blue's copy. Both copies come
    from the same moment, so the order within a phase does not matter. The opponents act
    deterministically by default: each team trains against the behaviour the other shows at evaluation
    (deterministic actions), not against its exploration noise. Each phase gets new episode seeds; the
    models keep their optimiser state and timestep counters (one TensorBoard run each: ``blue``, ``red``).

    :param blue_model: blue's model (e.g. a baseline loaded with ``SOOPPO.load``).
    :param red_model: red's model (e.g. from ``train_red`` or ``new_model(RED, ...)``).
    :param phases: number of phases, >= 1.
    :param steps_per_phase: environment steps per team per phase, >= 1 (PPO rounds up to whole rollouts).
    :param seed: seed of the phases' training episodes.
    :param preset: environment preset.
    :param reward_mode: blue's reward (``"honest"`` or ``"deceptive"``); red's reward does not depend on it.
    :param env_kwargs: other ``DeceptionConfig`` fields, the same for both teams.
    :param blue_settings: blue's ``PPOSettings`` (``None``: the defaults); its ``n_envs`` must match the
        model and its ``reward_scale`` is applied. Other hyperparameters stay the model's own.
    :param red_settings: red's ``PPOSettings``, used likewise.
    :param opponent_deterministic: the frozen opponents act with their distribution's mode.
    :param checkpoint_dir: if given, ``blue.zip`` and ``red.zip`` are saved there (atomically) after every phase.
    """
    check_int("phases", phases, 1)
    check_int("steps_per_phase", steps_per_phase, 1)
    if env_kwargs is not None and "reward_mode" in env_kwargs:
        raise ValueError("pass blue's reward mode as reward_mode=..., not in env_kwargs")
    kwargs = {**(env_kwargs or {}), "reward_mode": reward_mode}
    config = make_config(preset, **kwargs)
    teams = {BLUE: (blue_model, blue_settings or PPOSettings()), RED: (red_model, red_settings)}
    for learner, (model, settings) in teams.items():
        check_team_model(model, learner, config.num_landmarks, settings)
    for phase in range(phases):
        opponents = {BLUE: frozen_policy(red_model, opponent_deterministic)}
        opponents[RED] = frozen_policy(blue_model, opponent_deterministic)
        for learner, (model, settings) in teams.items():
            old_env = model.get_env()
            model.set_env(
                make_team_env(learner, opponents[learner], settings, phase_seed(seed, phase, learner), preset, kwargs)
            )
            if old_env is not None:
                old_env.close()
            model.learn(steps_per_phase, reset_num_timesteps=False, tb_log_name=learner.split("_")[0])
        if checkpoint_dir is not None:
            blue_model.save(Path(checkpoint_dir) / "blue.zip")
            red_model.save(Path(checkpoint_dir) / "red.zip")


def check_team_model(model: SOOPPO, learner: str, num_landmarks: int, settings: PPOSettings) -> None:
    """Raise ``ValueError`` unless ``model`` acts for ``learner`` (its layout and spaces) with ``settings.n_envs`` envs.

    :param model: the model to check.
    :param learner: ``"blue_0"`` or ``"red_0"``.
    :param num_landmarks: landmarks in the world (they set the observation size).
    :param settings: the PPO settings the model is trained with.
    """
    name = f"{learner.split('_')[0]}_model"
    layout = layout_for(learner, num_landmarks)
    if model.obs_layout is not None and model.obs_layout != layout:
        raise ValueError(f"{name} must act for {learner}, but its observation layout is {model.obs_layout.names}")
    if model.observation_space.shape != (layout.size,):
        raise ValueError(
            f"{name} must take {learner}'s observations of shape {(layout.size,)}, got {model.observation_space.shape}"
        )
    if model.n_envs != settings.n_envs:
        raise ValueError(f"{name} was built for {model.n_envs} envs, but its settings have n_envs={settings.n_envs}")


def evaluate_red(
    red: BatchPolicy, blue: BatchPolicy | str, config: DeceptionConfig, episodes: int, seed: int
) -> dict[str, float]:
    """How well ``red`` follows ``blue``, on ``episodes`` seeded episodes played through the core.

    Returns ``follow_rate`` (share of steps after which blue is within red's radius of red),
    ``goal_rate`` (share of episodes ending with red within ``goal_radius`` of the goal),
    ``trap_rate`` and ``red_return`` (mean undiscounted return under red's reward).

    :param red: red's batched policy (e.g. ``ModelPolicy(model)``, deterministic).
    :param blue: blue's batched policy or scripted name (``honest``, ``deceptive``).
    :param config: the world's settings.
    :param episodes: number of episodes.
    :param seed: seed of the episodes' initial states (the same seed gives the same episodes).
    """
    check_opponent(RED, blue)
    if isinstance(blue, str):
        blue = scripted_policy(blue, config)
    trajectories = rollout(config, red, blue, episodes, seed=seed)
    return {
        "follow_rate": float(trajectories.sees[1:, :, RED_INDEX].mean()),
        "goal_rate": float(trajectories.at_goal[-1, :, RED_INDEX].mean()),
        "trap_rate": float(trajectories.final_trapped.mean()),
        "red_return": float(trajectories.red_return.mean()),
    }
