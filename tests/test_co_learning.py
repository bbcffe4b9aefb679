"""A red that learns alongside blue: it learns from blue's episodes, leaves blue's draws alone, reproduces exactly,
and runs through the whole experiment (checkpoints, fine-tuning, evaluation against both reds, resume)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch as th

from agents.batch_policy import ModelPolicy
from agents.co_learning import CoLearningRed
from agents.hyperparams import PPOSettings
from agents.learned_red import new_model
from agents.soo_ppo import SOOPPO, load_checkpoint
from envs.layout import BLUE, RED
from soo_rl.experiment.config import ExperimentConfig

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = PPOSettings(n_envs=8, n_steps=16, batch_size=64)
STEPS = 512  # 4 rollouts of 128 steps


def parameters(model: SOOPPO) -> th.Tensor:
    return th.cat([p.detach().flatten() for p in model.policy.parameters()])


def red_copy(learning_rate: float | None = None) -> SOOPPO:
    """A fresh red (seed 1), saved and loaded back, with its learning rate replaced if given."""
    buffer = io.BytesIO()
    new_model(RED, SETTINGS, 1, "honest").save(buffer)
    buffer.seek(0)
    custom = None if learning_rate is None else {"learning_rate": learning_rate}
    return SOOPPO.load(buffer, custom_objects=custom)


def train_blue(opponent: CoLearningRed | ModelPolicy, seed: int = 0) -> SOOPPO:
    blue = new_model(BLUE, SETTINGS, seed, opponent)
    blue.learn(STEPS)
    return blue


def co_learner(red: SOOPPO) -> CoLearningRed:
    return CoLearningRed(red, SETTINGS.reward_scale, seed=5, total_timesteps=STEPS)


def test_red_learns_from_blues_episodes_once_per_rollout() -> None:
    red = red_copy()
    before = parameters(red).clone()
    co_red = co_learner(red)
    train_blue(co_red)
    assert co_red.updates == STEPS // (SETTINGS.n_envs * SETTINGS.n_steps)
    assert red.num_timesteps == STEPS
    assert not th.equal(parameters(red), before)


def test_with_learning_rate_zero_blue_trains_exactly_as_against_the_frozen_red() -> None:
    co_red = co_learner(red_copy(learning_rate=0.0))
    red_before = parameters(co_red.model).clone()
    with_co_learner = train_blue(co_red)
    against_frozen = train_blue(ModelPolicy(red_copy(), deterministic=False))
    assert co_red.updates > 0 and th.equal(parameters(co_red.model), red_before)
    assert th.equal(parameters(with_co_learner), parameters(against_frozen))


def test_the_same_seed_reproduces_both_agents_and_another_seed_does_not() -> None:
    runs = []
    for blue_seed in (0, 0, 1):
        co_red = co_learner(red_copy())
        runs.append((parameters(train_blue(co_red, blue_seed)), parameters(co_red.model)))
    assert th.equal(runs[0][0], runs[1][0]) and th.equal(runs[0][1], runs[1][1])
    assert not th.equal(runs[0][0], runs[2][0]) and not th.equal(runs[0][1], runs[2][1])


def test_bad_reds_are_refused_with_the_field_named() -> None:
    with pytest.raises(ValueError, match="soo_coef and kl_coef must be 0"):
        CoLearningRed(SOOPPO.load(_saved(new_model(RED, SETTINGS, 1, "honest")), kl_coef=0.1), 0.01, 0, 10)
    with pytest.raises(ValueError, match="reward_scale"):
        CoLearningRed(red_copy(), 0.0, 0, 10)
    co_red = co_learner(red_copy())
    with pytest.raises(ValueError, match="built for 8 envs"):
        co_red(np.zeros((3, co_red.model.observation_space.shape[0]), dtype=np.float32))
    with pytest.raises(ValueError, match="co-learning"):
        ExperimentConfig(preset="mpe2_simple_adversary", red="co-learning")


def _saved(model: SOOPPO) -> io.BytesIO:
    buffer = io.BytesIO()
    model.save(buffer)
    buffer.seek(0)
    return buffer


@pytest.fixture(scope="module")
def co_learning_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run_dir = tmp_path_factory.mktemp("co_learning") / "run"
    args = ["--quick", "--red", "co-learning", "--seeds", "0", "--conditions", "soo", "--no-gifs"]
    done = subprocess.run(
        [sys.executable, str(ROOT / "train" / "ppo_soo.py"), *args, "--run-dir", str(run_dir)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return run_dir


def test_every_blue_keeps_its_own_red_which_kept_learning_in_fine_tuning(co_learning_run: Path) -> None:
    checkpoints = co_learning_run / "checkpoints"
    reds = {
        name: parameters(load_checkpoint(checkpoints / f"{name}_seed0_red.zip"))
        for name in ("honest", "deceptive", "soo")
    }
    assert not th.equal(reds["honest"], reds["deceptive"])
    assert not th.equal(reds["soo"], reds["deceptive"])  # the fine-tuned blue's red started from the deceptive one's
    fine_tuned_red = load_checkpoint(checkpoints / "soo_seed0_red.zip")
    deceptive_red = load_checkpoint(checkpoints / "deceptive_seed0_red.zip")
    assert fine_tuned_red.num_timesteps > deceptive_red.num_timesteps


def test_fine_tuned_blues_are_evaluated_against_both_reds(co_learning_run: Path) -> None:
    results = json.loads((co_learning_run / "results.json").read_text())
    against = results["against_baseline_red"]
    assert set(against) == {"soo"}
    assert all(0.0 <= against["soo"][rate]["mean"] <= 1.0 for rate in ("trap_rate", "goal_rate"))
    report = (co_learning_run / "report.md").read_text()
    assert "red: co-learning" in report and "## Against the red it started from" in report


def test_a_damaged_red_checkpoint_is_retrained_on_resume(co_learning_run: Path) -> None:
    red = co_learning_run / "checkpoints" / "soo_seed0_red.zip"
    red.write_bytes(b"not a checkpoint")
    args = ["--quick", "--red", "co-learning", "--seeds", "0", "--conditions", "soo", "--no-gifs", "--resume"]
    done = subprocess.run(
        [sys.executable, str(ROOT / "train" / "ppo_soo.py"), *args, "--run-dir", str(co_learning_run)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert load_checkpoint(red).num_timesteps > 0
