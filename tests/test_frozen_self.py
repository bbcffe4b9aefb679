"""SOO against a frozen self (``soo_self="reference"``): the pairs' self features are the reference policy's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch as th
from stable_baselines3 import PPO

from agents.soo.distances import row_pair_loss
from agents.soo_ppo import SOOPPO
from envs.deception.deception_v0 import make_vec_env

TINY: dict[str, Any] = {"n_steps": 16, "batch_size": 64, "n_epochs": 2, "device": "cpu"}


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A briefly trained blue, saved: the reference every fine-tuning here starts from."""
    model = SOOPPO("MlpPolicy", make_vec_env(8, seed=3), seed=3, policy_kwargs={"net_arch": [16, 16]}, **TINY)
    model.learn(256)
    path = tmp_path_factory.mktemp("frozen") / "blue.zip"
    model.save(path)
    return path


def fine_tuned(checkpoint: Path, **kwargs: Any) -> SOOPPO:
    return SOOPPO.fine_tune(checkpoint, make_vec_env(8, seed=0), seed=0, **{**TINY, **kwargs})


def move_away(model: SOOPPO) -> None:
    """Change the learner's actor so that it no longer equals its reference."""
    with th.no_grad():
        for parameter in model.policy.mlp_extractor.policy_net.parameters():
            parameter.add_(0.3 * th.randn(parameter.shape, generator=th.Generator().manual_seed(7)))


def sample_obs(model: SOOPPO) -> th.Tensor:
    obs = th.as_tensor(model.env.reset()).repeat(4, 1)
    obs[::2, model.other_slots.rel] = 0.0  # every other row a self observation (red out of view)
    obs[::2, model.other_slots.visible] = 0.0
    return obs


def test_weight_zero_is_ppo_bit_for_bit(checkpoint: Path) -> None:
    frozen = fine_tuned(checkpoint, soo_coef=0.0, soo_self="reference", soo_target="lure")
    frozen.learn(384)
    vanilla = PPO("MlpPolicy", make_vec_env(8, seed=0), seed=0, policy_kwargs={"net_arch": [16, 16]}, **TINY)
    vanilla.policy.load_state_dict(SOOPPO.load(checkpoint, device="cpu").policy.state_dict())
    vanilla.learn(384)
    assert all(th.equal(a, b) for a, b in zip(frozen.policy.parameters(), vanilla.policy.parameters(), strict=True))
    # The check can fail: at weight 1 the frozen self changes training.
    weighted = fine_tuned(checkpoint, soo_coef=1.0, soo_self="reference", soo_target="lure")
    weighted.learn(384)
    assert not all(
        th.equal(a, b) for a, b in zip(weighted.policy.parameters(), vanilla.policy.parameters(), strict=True)
    )


@pytest.mark.parametrize("target", ["actions", "lure", "hidden"])
def test_the_loss_compares_the_learners_others_with_the_references_selves(checkpoint: Path, target: str) -> None:
    model = fine_tuned(checkpoint, soo_coef=1.0, soo_self="reference", soo_target=target, soo_max_selves=6)
    move_away(model)
    obs = sample_obs(model)
    state = model.soo_generator.get_state()
    pairs = model.soo_pairs(obs)
    assert pairs is not None and len(pairs) == 6
    model.soo_generator.set_state(state)
    loss = model.soo_loss(obs)
    assert model.reference_policy is not None
    lure = model.lure_direction
    with th.no_grad():
        selves = model.reference_policy.soo_features(pairs.self_obs, target, lure=lure)  # type: ignore[attr-defined]
        others = model.policy.soo_features(pairs.other_obs, target, lure=lure)
        own_selves = model.policy.soo_features(pairs.self_obs, target, lure=lure)
    assert loss is not None
    value = float(loss.detach())
    assert value == pytest.approx(float((others - selves).square().mean()), rel=1e-5)
    # The learner's own selves would give another loss: the self really is the reference's.
    assert value != pytest.approx(float((others - own_selves).square().mean()), rel=1e-3)


def test_the_training_pass_computes_the_same_loss_and_moves_only_the_learner(checkpoint: Path) -> None:
    model = fine_tuned(checkpoint, soo_coef=1.0, soo_self="reference", soo_target="lure", soo_max_selves=6)
    move_away(model)
    obs = sample_obs(model)
    state = model.soo_generator.get_state()
    pairs = model.soo_pairs(obs)
    assert pairs is not None
    features = model.policy.evaluate_actions_and_distribution(
        obs, th.zeros(len(obs), 2), pairs, "lure", model.lure_direction
    )[4]
    stats: dict[str, list[float]] = {"soo_loss": [], "soo_distance": [], "soo_pairs": [], "kl_ref": []}
    trained = model._add_auxiliary_loss(th.zeros(()), obs, pairs, features, None, stats)
    model.soo_generator.set_state(state)
    direct = model.soo_loss(obs)
    assert direct is not None and float(trained.detach()) == pytest.approx(float(direct.detach()), rel=1e-5)
    trained.backward()
    assert model.reference_policy is not None
    assert all(p.grad is None for p in model.reference_policy.parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.policy.parameters())


def test_row_pair_loss_is_the_one_the_frozen_self_uses() -> None:
    selves, others = th.tensor([[1.0, 0.0]]), th.tensor([[0.0, 2.0]])
    loss, mse = row_pair_loss((th.cat([selves, others]),), th.arange(1), 1, "mse", stop_gradient=True)
    assert float(loss) == pytest.approx(2.5) and mse == pytest.approx(2.5)


def test_a_frozen_self_needs_a_reference() -> None:
    with pytest.raises(ValueError, match="soo_self 'reference' needs a reference policy"):
        SOOPPO("MlpPolicy", make_vec_env(8, seed=0), soo_self="reference", **TINY)
    with pytest.raises(ValueError, match="soo_self must be one of"):
        SOOPPO("MlpPolicy", make_vec_env(8, seed=0), soo_self="mine", **TINY)  # type: ignore[arg-type]
