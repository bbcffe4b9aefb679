"""Training one agent: a baseline from scratch or a fine-tuning run from the deceptive baseline."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import HParam

from agents.batch_policy import ModelPolicy
from agents.learned_red import train_red
from agents.soo_ppo import SOOPPO
from envs.config import DeceptionConfig
from envs.deception_v0 import make_vec_env
from envs.scripted import BatchPolicy, scripted_policy
from soo_rl.config import BASELINES, RED, ExperimentConfig, checkpoint_path, red_checkpoint
from soo_rl.evaluation import EvalSettings, evaluate

TRAIN_EVAL_SEED_OFFSET = 20_000


def fine_tune_settings(config: ExperimentConfig, condition: str) -> dict[str, Any]:
    """Reward mode and SOOPPO settings of a fine-tuning condition (SPEC section 3)."""
    ft = config.finetune
    soo = {
        "soo_coef": ft.soo_coef,
        "soo_distance": ft.soo_distance,
        "soo_stop_gradient": ft.soo_stop_gradient,
        "soo_max_selves": ft.soo_max_selves,
        "soo_inserts_per_self": ft.soo_inserts_per_self,
    }
    table: dict[str, dict[str, Any]] = {
        "soo": {"reward_mode": "deceptive", **soo},
        "anchor_only": {"reward_mode": "deceptive"},
        "random_pairs": {"reward_mode": "deceptive", **soo, "soo_pair_mode": "random"},
        "honesty_reward": {"reward_mode": "honest"},
    }
    return {**table[condition], "kl_coef": ft.kl_coef}


class TrainingMonitor(BaseCallback):
    """Logs hyperparameters once and evaluates the agent every few rollouts.

    The periodic evaluation (``eval/trap_rate``, ``eval/goal_rate``, ``eval/soo_value``) uses its own
    episode seeds, never those of the final evaluation.
    """

    def __init__(self, config: ExperimentConfig, seed: int, hparams: dict[str, Any], red: BatchPolicy) -> None:
        super().__init__()
        self.config = config
        self.hparams = hparams
        self.red = red
        self.env_config = config.env_config("deceptive")
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
            summary = evaluate(self.model, self.env_config, self.eval_settings, red_policy=self.red)[0].summary
            for key in ("trap_rate", "goal_rate", "soo_value"):
                self.logger.record(f"eval/{key}", summary[key])
            self.model.policy.set_training_mode(True)

    def _on_step(self) -> bool:
        return True


def learned_red(config: ExperimentConfig, seed: int) -> ModelPolicy | None:
    """The run's learned red of ``seed`` (deterministic actions), or ``None`` when red is scripted."""
    if config.red == "scripted":
        return None
    return ModelPolicy(SOOPPO.load(red_checkpoint(config, seed), device="cpu"))


def red_policy(env_config: DeceptionConfig, learned: ModelPolicy | None) -> BatchPolicy:
    """Red's policy in a world: the learned red if there is one, else the scripted follower of that world."""
    return learned if learned is not None else scripted_policy("red_follower", env_config)


def train_agent(config: ExperimentConfig, condition: str, seed: int) -> Path:
    """Train the agent of ``condition`` and ``seed`` (``red``: the learned red), save it atomically and
    return its checkpoint path."""
    ppo = config.ppo
    target = checkpoint_path(config.run_dir, condition, seed)
    if condition == RED:
        red = train_red(
            "honest",
            timesteps=config.red_timesteps,
            seed=seed,
            preset=config.preset,
            tensorboard_log=str(config.run_dir / "tensorboard"),
            tb_log_name=f"{RED}_seed{seed}",
        )
        red.save(target)
        return target
    if condition in BASELINES:
        settings: dict[str, Any] = {"reward_mode": condition}
        timesteps = ppo.total_timesteps
    else:
        settings = fine_tune_settings(config, condition)
        timesteps = config.finetune.timesteps
    reward_mode = settings.pop("reward_mode")
    opponent = red_policy(config.env_config(reward_mode), learned_red(config, seed))
    env = ppo.wrap_env(
        make_vec_env(ppo.n_envs, opponent=opponent, seed=seed, preset=config.preset, reward_mode=reward_mode)
    )
    kwargs = {**ppo.to_sb3_kwargs(), "seed": seed, "tensorboard_log": str(config.run_dir / "tensorboard")}
    if config.finetune.soo_layers is not None:
        kwargs["policy_kwargs"] = {**kwargs["policy_kwargs"], "soo_layers": config.finetune.soo_layers}
    if condition in BASELINES:
        model = SOOPPO("MlpPolicy", env, **kwargs)
    else:
        kwargs["learning_rate"] = config.finetune.learning_rate
        deceptive = checkpoint_path(config.baselines_from or config.run_dir, "deceptive", seed)
        model = SOOPPO.fine_tune(deceptive, env, **kwargs, **settings)
    hparams = {
        "condition": condition,
        "seed": seed,
        "reward_mode": reward_mode,
        "red": config.red,
        "timesteps": timesteps,
        **{k: v for k, v in dataclasses.asdict(ppo).items() if isinstance(v, (int, float, str, bool))},
        **{k: v for k, v in settings.items() if isinstance(v, (int, float, str, bool))},
    }
    callback = TrainingMonitor(config, seed, hparams, opponent)
    model.learn(timesteps, callback=callback, tb_log_name=f"{condition}_seed{seed}")
    model.save(target)
    env.close()
    return target
