"""PPOSettings validation and SB3 kwargs, the reward-scale wrapper and the ModelPolicy adapter."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest
import torch.nn as nn
from stable_baselines3 import PPO

from agents.batch_policy import ModelPolicy
from agents.hyperparams import PPOSettings
from agents.reward_scale import ScaleReward
from envs.deception.config import make_config
from envs.deception.deception_v0 import make_vec_env
from envs.deception.recording import rollout
from envs.deception.scripted import scripted_policy

SMALL = PPOSettings(n_envs=8, n_steps=16, batch_size=64, n_epochs=1, total_timesteps=128)


def test_sb3_kwargs_build_the_documented_policy() -> None:
    settings = PPOSettings()
    kwargs = settings.to_sb3_kwargs()
    model = PPO("MlpPolicy", settings.wrap_env(make_vec_env(settings.n_envs, seed=0)), seed=0, **kwargs)
    assert model.n_steps == settings.n_steps and model.batch_size == settings.batch_size
    assert model.gamma == settings.gamma and model.ent_coef == settings.ent_coef
    pi_layers = [m for m in model.policy.mlp_extractor.policy_net if isinstance(m, nn.Linear)]
    assert [layer.out_features for layer in pi_layers] == list(settings.net_arch)
    assert all(isinstance(m, nn.Tanh) for m in model.policy.mlp_extractor.policy_net if not isinstance(m, nn.Linear))
    assert float(model.policy.log_std.detach()[0]) == settings.log_std_init


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("n_envs", 0),
        ("n_steps", -1),
        ("batch_size", 1),
        ("n_epochs", 1.5),
        ("learning_rate", 0.0),
        ("gamma", 0.0),
        ("gamma", 1.01),
        ("gae_lambda", -0.1),
        ("clip_range", 0.0),
        ("ent_coef", -0.01),
        ("max_grad_norm", float("nan")),
        ("net_arch", ()),
        ("net_arch", (64, 0)),
        ("net_arch", [64, 64]),
        ("activation", "sigmoid"),
        ("reward_scale", 0.0),
        ("target_kl", -1.0),
        ("total_timesteps", True),
    ],
)
def test_bad_values_name_the_field(field: str, value: Any) -> None:
    with pytest.raises(ValueError, match=field):
        dataclasses.replace(PPOSettings(), **{field: value})


def test_batch_larger_than_rollout_is_rejected_and_non_divisor_warns() -> None:
    with pytest.raises(ValueError, match="batch_size"):
        PPOSettings(n_envs=4, n_steps=8, batch_size=64)
    with pytest.warns(UserWarning, match="batch_size"):
        PPOSettings(n_envs=4, n_steps=8, batch_size=24)


def test_scale_reward_scales_rewards_but_not_monitored_returns() -> None:
    raw = make_vec_env(4, seed=3, max_cycles=5)
    scaled = ScaleReward(make_vec_env(4, seed=3, max_cycles=5), 0.01)
    raw.reset(), scaled.reset()
    actions = np.full((4, 2), 0.5, dtype=np.float32)
    for _ in range(5):
        _, r_raw, _, infos_raw = raw.step(actions)
        _, r_scaled, _, infos_scaled = scaled.step(actions)
        np.testing.assert_allclose(r_scaled, 0.01 * r_raw, rtol=1e-6)
    assert [i["episode"]["r"] for i in infos_scaled] == [i["episode"]["r"] for i in infos_raw]
    assert PPOSettings(reward_scale=1.0).wrap_env(raw) is raw
    with pytest.raises(ValueError, match="scale"):
        ScaleReward(raw, -1.0)


def test_model_policy_drives_rollouts() -> None:
    model = PPO("MlpPolicy", SMALL.wrap_env(make_vec_env(SMALL.n_envs, seed=0)), seed=0, **SMALL.to_sb3_kwargs())
    config = make_config("default")
    policy = ModelPolicy(model)
    obs = rollout(config, scripted_policy("red_follower", config), policy, 3, seed=1).blue_obs[0]
    actions = policy(obs)
    assert actions.shape == (3, 2) and np.all(np.abs(actions) <= 1.0)
    np.testing.assert_array_equal(actions, policy(obs))  # deterministic
