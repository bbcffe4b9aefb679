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
from agents.co_learning import RED_EPOCHS, CoLearningRed, co_learning_settings, new_co_learning_red
from agents.hyperparams import PPOSettings
from agents.learned_red import new_model
from agents.soo_ppo import SOOPPO, load_checkpoint
from envs.deception.layout import BLUE, RED
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


def test_red_records_its_own_rewards_and_bootstraps_the_time_limit_as_sb3_does() -> None:
    """Red's buffer, as its first update sees it: red's rewards (+5 at the goal, +1 while it sees blue; blue's are
    shaped, so not integers, on ``default``) scaled, the last step of each episode bootstrapped with red's value of
    its terminal observation (SB3's rule for time limits), and episode starts one step after each end."""
    settings = PPOSettings(n_envs=4, n_steps=64, batch_size=64)  # a rollout longer than an episode (50 steps)
    red = new_model(RED, settings, 1, "honest")
    co_red = CoLearningRed(red, settings.reward_scale, seed=5, total_timesteps=256)
    seen: list[tuple[np.ndarray, np.ndarray, np.ndarray | None]] = []
    observe, update = co_red.observe, co_red._update

    def spy_observe(rewards: np.ndarray, dones: np.ndarray, next_obs: np.ndarray, terminal: np.ndarray | None) -> None:
        seen.append((np.array(rewards), dones.copy(), None if terminal is None else terminal.copy()))
        observe(rewards, dones, next_obs, terminal)

    def check_then_update() -> None:
        raw = np.array([rewards for rewards, _, _ in seen])
        assert set(np.unique(raw)) <= {0.0, 1.0, 5.0, 6.0} and raw.any()
        expected = raw * settings.reward_scale
        for t, (_, dones, terminal) in enumerate(seen):
            if terminal is not None:
                with th.no_grad():
                    values = red.policy.predict_values(th.as_tensor(terminal)).flatten().numpy()
                expected[t] = np.where(dones, expected[t] + red.gamma * values, expected[t])
        np.testing.assert_allclose(red.rollout_buffer.rewards, expected, rtol=1e-5, atol=1e-6)
        ends = np.array([dones for _, dones, _ in seen])
        assert ends.any() and red.rollout_buffer.episode_starts[0].all()
        np.testing.assert_array_equal(red.rollout_buffer.episode_starts[1:], ends[:-1])
        update()

    co_red.observe = spy_observe  # type: ignore[method-assign]
    co_red._update = check_then_update  # type: ignore[method-assign]
    new_model(BLUE, settings, 0, co_red).learn(256)
    assert co_red.updates == 1


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


def test_red_takes_its_own_settings_but_keeps_blues_rollouts() -> None:
    red = new_co_learning_red(SETTINGS, 0, STEPS, red_overrides={"learning_rate": 1e-4, "ent_coef": 0.0})
    assert red.model.learning_rate == 1e-4 and red.model.ent_coef == 0.0
    assert red.model.n_epochs == RED_EPOCHS and red.model.n_steps == SETTINGS.n_steps
    assert co_learning_settings(SETTINGS) == co_learning_settings(SETTINGS, {})
    with pytest.raises(ValueError, match=r"\['n_steps'\] must be blue's"):
        co_learning_settings(SETTINGS, {"n_steps": 32})
    with pytest.raises(ValueError, match="unknown PPOSettings fields for red: \\['lr'\\]"):
        co_learning_settings(SETTINGS, {"lr": 1e-4})


def test_a_warmed_up_red_has_first_learned_against_the_scripted_honest_blue() -> None:
    fresh = new_co_learning_red(SETTINGS, 0, STEPS)
    warmed = new_co_learning_red(SETTINGS, 0, STEPS, warmup_timesteps=STEPS)
    assert fresh.model.num_timesteps == 0 and warmed.model.num_timesteps == STEPS
    assert not th.equal(parameters(fresh.model), parameters(warmed.model))
    train_blue(warmed)
    assert warmed.updates == STEPS // (SETTINGS.n_envs * SETTINGS.n_steps)
    with pytest.raises(ValueError, match="warmup_timesteps"):
        new_co_learning_red(SETTINGS, 0, STEPS, warmup_timesteps=-1)


def test_a_warmed_up_red_can_go_on_learning_at_its_own_rate() -> None:
    red = new_co_learning_red(SETTINGS, 0, STEPS, warmup_timesteps=STEPS, learning_rate_after_warmup=1e-5)
    assert red.model.policy.optimizer.param_groups[0]["lr"] == SETTINGS.learning_rate  # the warm-up's rate
    train_blue(red)
    assert red.model.policy.optimizer.param_groups[0]["lr"] == 1e-5
    assert SOOPPO.load(_saved(red.model)).learning_rate == 1e-5  # a fine-tuning's copy keeps it
    with pytest.raises(ValueError, match="learning_rate_after_warmup needs warmup_timesteps > 0"):
        new_co_learning_red(SETTINGS, 0, STEPS, learning_rate_after_warmup=1e-5)
    with pytest.raises(ValueError, match="learning_rate_after_warmup"):
        new_co_learning_red(SETTINGS, 0, STEPS, warmup_timesteps=STEPS, learning_rate_after_warmup=-1.0)


def _saved(model: SOOPPO) -> io.BytesIO:
    buffer = io.BytesIO()
    model.save(buffer)
    buffer.seek(0)
    return buffer


CO_LEARNING_RUN = ["--quick", "--red", "co-learning", "--seeds", "0", "--conditions", "soo", "--no-gifs"]
CO_LEARNING_RUN += ["--red-warmup-timesteps", "1024", "--red-ent-coef", "0.0", "--red-lr-after-warmup", "1e-4"]


def run_experiment(run_dir: Path, *extra: str) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "train" / "ppo_soo.py"), *CO_LEARNING_RUN, "--run-dir", str(run_dir), *extra],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.fixture(scope="module")
def co_learning_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run_dir = tmp_path_factory.mktemp("co_learning") / "run"
    run_experiment(run_dir)
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
    deceptive = load_checkpoint(checkpoints / "deceptive_seed0.zip")
    assert deceptive_red.num_timesteps == 1024 + deceptive.num_timesteps  # the warm-up, then the blue's training
    assert deceptive_red.ent_coef == fine_tuned_red.ent_coef == 0.0 != deceptive.ent_coef
    assert deceptive_red.learning_rate == fine_tuned_red.learning_rate == 1e-4 != deceptive.learning_rate


def test_fine_tuned_blues_are_evaluated_against_both_reds(co_learning_run: Path) -> None:
    results = json.loads((co_learning_run / "results.json").read_text())
    against = results["against_baseline_red"]
    assert set(against) == {"soo"}
    assert all(0.0 <= against["soo"][rate]["mean"] <= 1.0 for rate in ("trap_rate", "goal_rate"))
    curves = results["training_curves"]["rollout/trap_rate"]
    assert set(curves) == {"honest", "deceptive", "soo"}  # blue's runs, not their reds' (named *_red_N)
    assert all(curve["steps"] for curve in curves.values())
    report = (co_learning_run / "report.md").read_text()
    assert "red: co-learning" in report and "## Against the red it started from" in report
    assert (
        "5 epochs and entropy coefficient 0; each baseline trains its own red first warmed up for 1,024 steps against "
        "the scripted honest blue, then learning at rate 0.0001, each fine-tuning" in report
    )


def test_a_damaged_red_checkpoint_is_retrained_on_resume(co_learning_run: Path) -> None:
    red = co_learning_run / "checkpoints" / "soo_seed0_red.zip"
    red.write_bytes(b"not a checkpoint")
    run_experiment(co_learning_run, "--resume")
    assert load_checkpoint(red).num_timesteps > 0
