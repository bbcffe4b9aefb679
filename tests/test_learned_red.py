"""Learned red: alternating training, checkpoints, the red-learner VecEnv contract, determinism, bad input."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch as th
from stable_baselines3.common.vec_env import VecCheckNan

from agents.batch_policy import ModelPolicy
from agents.hyperparams import PPOSettings
from agents.learned_red import (
    evaluate_red,
    frozen_policy,
    make_team_env,
    new_model,
    train_alternating,
    train_red,
)
from agents.soo_ppo import SOOPPO
from envs.deception.config import make_config
from envs.deception.deception_v0 import make_vec_env
from envs.deception.layout import BLUE, RED, red_layout
from envs.deception.parallel import observation_space
from envs.deception.scripted import scripted_policy

TINY = PPOSettings(n_envs=4, n_steps=16, batch_size=32, n_epochs=2, net_arch=(16, 16), total_timesteps=64)
ROLLOUT = TINY.n_envs * TINY.n_steps
MAX_CYCLES = 10


@pytest.fixture(autouse=True)
def _one_torch_thread() -> None:
    th.set_num_threads(1)  # the machine is shared


def parameters(model: SOOPPO) -> dict[str, th.Tensor]:
    return {key: value.clone() for key, value in model.policy.state_dict().items()}


def same(a: dict[str, th.Tensor], b: dict[str, th.Tensor]) -> bool:
    return a.keys() == b.keys() and all(th.equal(a[key], b[key]) for key in a)


def changed_everywhere(before: dict[str, th.Tensor], after: dict[str, th.Tensor]) -> bool:
    """Every weight matrix and bias of the actor and critic moved (log_std may stay within float noise)."""
    return all(not th.equal(before[key], after[key]) for key in before if key != "log_std")


def team_models(seed: int = 0) -> tuple[SOOPPO, SOOPPO]:
    blue = new_model(BLUE, TINY, seed, "red_follower", env_kwargs={"max_cycles": MAX_CYCLES})
    red = new_model(RED, TINY, seed + 1, "honest", env_kwargs={"max_cycles": MAX_CYCLES})
    return blue, red


def alternate(blue: SOOPPO, red: SOOPPO, **kwargs: Any) -> None:
    settings = {"blue_settings": TINY, "red_settings": TINY, "env_kwargs": {"max_cycles": MAX_CYCLES}}
    train_alternating(blue, red, **{**settings, **kwargs})


def test_alternating_phases_train_both_teams_and_save_both(tmp_path: Path) -> None:
    blue, red = team_models()
    blue_before, red_before = parameters(blue), parameters(red)
    alternate(blue, red, phases=2, steps_per_phase=ROLLOUT, checkpoint_dir=tmp_path)
    assert changed_everywhere(blue_before, parameters(blue))
    assert changed_everywhere(red_before, parameters(red))
    # One optimiser per model across phases: Adam's step count covers both phases' gradient steps.
    steps_per_update = TINY.n_epochs * ROLLOUT // TINY.batch_size
    for model in (blue, red):
        assert model.num_timesteps == 2 * ROLLOUT
        adam_steps = {float(state["step"]) for state in model.policy.optimizer.state.values()}
        assert adam_steps == {2 * steps_per_update}
    # The last phase's opponents are frozen, deterministic copies of the other team.
    red_opponent = red.get_env().get_attr("opponent")[0]
    assert isinstance(red_opponent, ModelPolicy) and red_opponent.deterministic
    # Taken at the start of phase 2: neither blue's initial policy nor the one it trained into since.
    snapshot = parameters(red_opponent.model)
    assert not same(snapshot, blue_before) and not same(snapshot, parameters(blue))
    # Both checkpoints, nothing else (no temporary files), reload and act like the trained models.
    assert sorted(path.name for path in tmp_path.iterdir()) == ["blue.zip", "red.zip"]
    for name, model, learner in (("blue", blue, BLUE), ("red", red, RED)):
        loaded = SOOPPO.load(tmp_path / f"{name}.zip", device="cpu")
        assert same(parameters(loaded), parameters(model))
        obs = make_vec_env(32, learner=learner, seed=7).reset()
        np.testing.assert_array_equal(ModelPolicy(loaded)(obs), ModelPolicy(model)(obs))


def test_alternating_training_is_reproducible() -> None:
    runs = []
    for _ in range(2):
        blue, red = team_models(seed=4)
        alternate(blue, red, phases=2, steps_per_phase=ROLLOUT, seed=4, opponent_deterministic=False)
        runs.append((parameters(blue), parameters(red)))
    assert same(runs[0][0], runs[1][0]) and same(runs[0][1], runs[1][1])


def test_frozen_policy_does_not_follow_later_training() -> None:
    red = new_model(RED, TINY, 0, "honest")
    frozen = frozen_policy(red)
    obs = make_vec_env(16, learner=RED, seed=3).reset()
    before = frozen(obs)
    with th.no_grad():
        red.policy.action_net.bias.add_(0.3)
    np.testing.assert_array_equal(frozen(obs), before)
    assert not np.array_equal(ModelPolicy(red)(obs), before)


def test_red_learner_vec_env_keeps_the_vec_env_contract() -> None:
    """SB3 2.9 has no checker for VecEnvs (``check_env`` takes a ``gym.Env``), so the contract is tested
    here, with a learned blue (a frozen PPO policy) as the opponent and SB3's ``VecCheckNan`` around it."""
    config = make_config("default", max_cycles=MAX_CYCLES)
    blue = frozen_policy(new_model(BLUE, TINY, 0, "red_follower"), deterministic=False)
    venv = make_vec_env(TINY.n_envs, learner=RED, opponent=blue, seed=0, render_mode="rgb_array", max_cycles=MAX_CYCLES)
    checked = VecCheckNan(venv, raise_exception=True)
    space = observation_space(config, RED)
    assert venv.observation_space == space and venv.num_envs == TINY.n_envs
    assert venv.get_attr("learner") == [RED] * TINY.n_envs
    assert venv.get_attr("config")[0].red_radius == config.red_radius
    obs = checked.reset()
    assert obs.shape == (TINY.n_envs, red_layout(config.num_landmarks).size) and obs.dtype == np.float32
    rng = np.random.default_rng(0)
    for step in range(1, 2 * MAX_CYCLES + 1):
        checked.step_async(rng.uniform(-1, 1, size=(TINY.n_envs, 2)).astype(np.float32))
        obs, rewards, dones, infos = checked.step_wait()
        assert obs.dtype == np.float32 and all(space.contains(o) for o in obs)
        assert rewards.shape == (TINY.n_envs,) and rewards.dtype == np.float32
        assert dones.shape == (TINY.n_envs,) and dones.dtype == bool and len(infos) == TINY.n_envs
        if step % MAX_CYCLES:
            assert not dones.any()
            continue
        assert dones.all()
        for info in infos:
            assert info["TimeLimit.truncated"] is True and "red_at_goal" in info
            assert info["episode"]["l"] == MAX_CYCLES
            assert space.contains(info["terminal_observation"])
        # Auto-reset: the returned observations start new episodes.
        np.testing.assert_array_equal(venv.unwrapped.core.t, 0)
        assert not np.array_equal(obs, np.stack([info["terminal_observation"] for info in infos]))
    frame = venv.render()
    assert frame is not None and frame.ndim == 3 and frame.shape[2] == 3 and frame.dtype == np.uint8
    venv.close()


def test_train_red_is_deterministic_for_a_seed() -> None:
    first, second, other = (train_red("honest", TINY, seed=seed) for seed in (5, 5, 6))
    assert same(parameters(first), parameters(second))
    assert not same(parameters(first), parameters(other))
    assert first.num_timesteps == TINY.total_timesteps and first.obs_layout == red_layout(2)


def test_evaluate_red_follow_rate_matches_the_follow_reward() -> None:
    config = make_config("default", goal_reward=0.0)
    metrics = evaluate_red(scripted_policy("red_follower", config), "honest", config, 200, seed=1)
    assert 0.0 < metrics["follow_rate"] < 1.0
    assert metrics["red_return"] == pytest.approx(metrics["follow_rate"] * config.max_cycles * config.red_follow_reward)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda b, r: alternate(b, r, phases=0, steps_per_phase=ROLLOUT), "phases must be an integer >= 1, got 0"),
        (lambda b, r: alternate(b, r, phases=1, steps_per_phase=0), "steps_per_phase must be an integer >= 1"),
        (lambda b, r: alternate(r, b, phases=1, steps_per_phase=ROLLOUT), "blue_model must act for blue_0"),
        (
            lambda b, r: train_alternating(b, r, 1, ROLLOUT, red_settings=TINY),
            "blue_model was built for 4 envs, but its settings have n_envs=64",
        ),
        (
            lambda b, r: train_red("sneaky", TINY),
            "blue policy must be .* or one of \\['deceptive', 'honest'\\], got 'sneaky'",
        ),
        (lambda b, r: train_red("red_follower", TINY), "blue policy must be .*got 'red_follower'"),
        (lambda b, r: train_red(42, TINY), "blue policy must be a batched policy or one of .*, got 42"),
        (lambda b, r: train_red("honest", TINY, timesteps=0), "timesteps must be an integer >= 1"),
        (
            lambda b, r: alternate(b, r, phases=1, steps_per_phase=ROLLOUT, env_kwargs={"reward_mode": "honest"}),
            "pass blue's reward mode as reward_mode",
        ),
        (lambda b, r: make_team_env("green_0", "honest", TINY, 0), "learner must be one of"),
    ],
)
def test_bad_arguments_fail_clearly(call: Any, message: str) -> None:
    blue, red = team_models()
    with pytest.raises(ValueError, match=message):
        call(blue, red)
