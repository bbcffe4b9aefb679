"""Training one agent: a baseline from scratch, a fine-tuning run from the deceptive baseline, or a learned red; with
a co-learning red, the red that learns alongside the agent too."""

from __future__ import annotations

import dataclasses
import zipfile
from pathlib import Path
from typing import Any

from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import HParam

from agents.batch_policy import ModelPolicy
from agents.co_learning import CoLearningRed, new_co_learning_red
from agents.soo_ppo import SOOPPO, load_checkpoint
from envs.generic.io import atomic_path
from soo_rl.experiment.conditions import CONDITIONS
from soo_rl.experiment.config import ExperimentConfig
from soo_rl.experiment.paths import (
    FINGERPRINT,
    LEARNED_RED_MODEL,
    AgentRef,
    agent_checkpoint,
    checkpoint_path,
    own_red_checkpoint,
    own_red_path,
    red_inputs,
    tensorboard_dir,
    training_fingerprint,
)
from soo_rl.experiment.worlds import World, world_for
from soo_rl.measurement.evaluation import EvalSettings

TRAIN_EVAL_SEED_OFFSET = 20_000


LOGGED_FINE_TUNING_ARGUMENTS: tuple[str, ...] = (
    "kl_coef",
    "soo_coef",
    "soo_distance",
    "soo_stop_gradient",
    "soo_max_selves",
    "soo_inserts_per_self",
    "soo_pair_mode",
    "soo_target",
    "soo_self",
    "action_head_scale",
)
"""The fine-tuning arguments (``sooppo_arguments``) logged to TensorBoard with the PPO settings."""


def sooppo_arguments(config: ExperimentConfig, agent: AgentRef, world: World, tensorboard_log: str) -> dict[str, Any]:
    """Every ``SOOPPO`` argument of ``agent``'s training, from the run's settings: for a baseline, the constructor's
    (``SOOPPO("MlpPolicy", env, **arguments)``); for a fine-tuning condition (SPEC section 3),
    ``SOOPPO.fine_tune(deceptive, env, **arguments)``'s.

    :param config: the run's settings.
    :param agent: a baseline or a fine-tuned agent (not the learned red).
    :param world: the run's world, for what its env does not declare of the learner's observation.
    :param tensorboard_log: where TensorBoard logs go.
    :return: the baselines' PPO settings, the world's learner layout and radius, the seed and log folder; for a
        fine-tuning also its learning rate and SOO layers, the KL anchor, the action-head scale and the pair loss of
        the condition's pair mode (weighted by its ``coef_setting``) with the condition's finetune settings.
    """
    arguments = {**config.ppo.to_sb3_kwargs(), **world.model_kwargs(), "seed": agent.seed}
    arguments["tensorboard_log"] = tensorboard_log
    spec = CONDITIONS[agent.condition]
    if not spec.fine_tuned:
        return arguments
    ft = config.finetune_for(agent.condition)
    arguments["learning_rate"] = ft.learning_rate
    if ft.soo_layers is not None:
        arguments["policy_kwargs"] = {**arguments["policy_kwargs"], "soo_layers": ft.soo_layers}
    arguments["kl_coef"] = ft.kl_coef
    if spec.pair_mode is not None:
        arguments.update(
            soo_coef=getattr(ft, spec.coef_setting),
            soo_distance=ft.soo_distance,
            soo_stop_gradient=ft.soo_stop_gradient,
            soo_max_selves=ft.soo_max_selves,
            soo_inserts_per_self=ft.soo_inserts_per_self,
            soo_pair_mode=spec.pair_mode,
            soo_pair_options=ft.pair_options,
            soo_target=ft.soo_target,
            soo_self=ft.soo_self,
        )
    arguments["action_head_scale"] = ft.action_head_scale
    return arguments


class TrainingMonitor(BaseCallback):
    """Logs hyperparameters once and evaluates the agent every few rollouts.

    The periodic evaluation (``eval/trap_rate``, ``eval/goal_rate``, ``eval/soo_value``) uses its own
    episode seeds, never those of the final evaluation.
    """

    def __init__(
        self, config: ExperimentConfig, seed: int, hparams: dict[str, Any], world: World, red: ModelPolicy | None
    ) -> None:
        super().__init__()
        self.config = config
        self.hparams = hparams
        self.world = world
        self.red = red
        self.measure = config.soo_measure()
        self.eval_settings = EvalSettings(
            episodes=config.train_eval_episodes,
            seed=TRAIN_EVAL_SEED_OFFSET + seed,
            soo_inserts=2,
            variant_episodes=0,
            probe_episodes=0,  # the probe is for the final evaluation; here it would only cost time
        )
        self.rollouts = 0

    def _on_training_start(self) -> None:
        metrics = {"eval/trap_rate": 0.0, "eval/goal_rate": 0.0}
        self.logger.record("hparams", HParam(self.hparams, metrics), exclude=("stdout", "log", "json", "csv"))

    def _on_rollout_end(self) -> None:
        self.rollouts += 1
        if self.rollouts % self.config.train_eval_every == 0:
            assert isinstance(self.model, SOOPPO)
            summary = self.world.evaluate(self.model, self.eval_settings, self.measure, self.red, None).summary
            for key in ("trap_rate", "goal_rate", "soo_value"):
                self.logger.record(f"eval/{key}", summary[key])
            self.model.policy.set_training_mode(True)

    def _on_step(self) -> bool:
        return True


def evaluation_red(config: ExperimentConfig, agent: AgentRef) -> ModelPolicy | None:
    """The red ``agent`` plays against in its evaluation and animation (deterministic actions): its seed's learned
    red, or the co-learning red it finished training with; ``None`` when red is scripted."""
    reds = red_inputs(config, agent)
    return ModelPolicy(load_checkpoint(reds[0])) if reds else None


def baseline_red(config: ExperimentConfig, agent: AgentRef) -> ModelPolicy | None:
    """For a fine-tuned agent with a co-learning red: its deceptive baseline's red, which it is also evaluated
    against (deterministic actions); else ``None``."""
    reds = red_inputs(config, agent)
    return ModelPolicy(load_checkpoint(reds[1])) if len(reds) > 1 else None


def co_learning_red(config: ExperimentConfig, agent: AgentRef, timesteps: int, tensorboard_log: str) -> CoLearningRed:
    """The red that learns alongside ``agent`` (``agents.co_learning.co_learning_settings`` of the baselines' PPO
    settings): a new one for a baseline (first warmed up for ``red_warmup_timesteps``), a copy of its deceptive
    baseline's red for a fine-tuning, so that each fine-tuned blue keeps its own red."""
    name = f"{agent.name}_red"
    if not CONDITIONS[agent.condition].fine_tuned:
        return new_co_learning_red(
            config.ppo,
            agent.seed,
            timesteps,
            config.preset,
            tensorboard_log=tensorboard_log,
            tb_log_name=name,
            red_overrides=None if config.red_ent_coef is None else {"ent_coef": config.red_ent_coef},
            warmup_timesteps=config.red_warmup_timesteps,
            learning_rate_after_warmup=config.red_lr_after_warmup,
        )
    model = load_checkpoint(own_red_checkpoint(config, AgentRef("deceptive", agent.seed)))
    return CoLearningRed(model, config.ppo.reward_scale, agent.seed, timesteps, tensorboard_log, name)


def training_timesteps(config: ExperimentConfig, agent: AgentRef) -> int:
    """Environment steps ``agent``'s training runs: the learned red's, a fine-tuning's or a baseline's budget."""
    if agent.condition == LEARNED_RED_MODEL:
        return config.red_timesteps
    if CONDITIONS[agent.condition].fine_tuned:
        return config.finetune_for(agent.condition).timesteps
    return config.honest_timesteps if agent.condition == "honest" else config.ppo.total_timesteps


def save_model(model: BaseAlgorithm, target: Path, job: str) -> None:
    """Save ``model`` atomically at ``target`` with the fingerprint ``job`` of the job that trained it (a zip entry
    SB3's loader ignores, ``paths.FINGERPRINT``)."""
    with atomic_path(target) as tmp:
        model.save(tmp)
        with zipfile.ZipFile(tmp, "a") as archive:
            archive.writestr(FINGERPRINT, job)


def train_agent(config: ExperimentConfig, agent: AgentRef) -> Path:
    """Train ``agent`` (a baseline from scratch, a fine-tuning from the deceptive baseline of its seed, or the
    learned red), save it atomically and return its checkpoint path. With a co-learning red, the red that learned
    alongside it is saved too (``paths.own_red_path``), before the agent's checkpoint. Both carry the job's
    ``training_fingerprint``."""
    ppo, seed, timesteps = config.ppo, agent.seed, training_timesteps(config, agent)
    target, job = checkpoint_path(config.run_dir, agent), training_fingerprint(config, agent)
    board = str(tensorboard_dir(config.run_dir))
    world = world_for(config)
    if agent.condition == LEARNED_RED_MODEL:
        save_model(world.train_red(timesteps, seed, board, agent.name), target, job)
        return target
    spec = CONDITIONS[agent.condition]
    co_red = co_learning_red(config, agent, timesteps, board) if config.red == "co-learning" else None
    red = ModelPolicy(co_red.model) if co_red is not None else evaluation_red(config, agent)
    env = world.training_env(ppo, seed, spec.reward_mode, co_red or world.red(red))
    arguments = sooppo_arguments(config, agent, world, board)
    if spec.fine_tuned:
        model = SOOPPO.fine_tune(agent_checkpoint(config, AgentRef("deceptive", seed)), env, **arguments)
    else:
        model = SOOPPO("MlpPolicy", env, **arguments)
    hparams = {
        "condition": agent.condition,
        "seed": seed,
        "reward_mode": spec.reward_mode,
        "red": config.red,
        "timesteps": timesteps,
        **{k: v for k, v in dataclasses.asdict(ppo).items() if isinstance(v, (int, float, str, bool))},
        **{k: arguments[k] for k in LOGGED_FINE_TUNING_ARGUMENTS if k in arguments},
    }
    callback = TrainingMonitor(config, seed, hparams, world, red)
    model.learn(timesteps, callback=callback, tb_log_name=agent.name)
    if co_red is not None:
        save_model(co_red.model, own_red_path(config.run_dir, agent), job)
    save_model(model, target, job)
    env.close()
    return target
