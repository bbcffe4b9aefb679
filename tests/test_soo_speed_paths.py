"""The fast paths of SOO training: the closed-form autograd nodes of the SOO loss and the KL anchor, and the pairs
drawn once per epoch for the whole rollout (``RolloutPairs``); each against the definition it replaces."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch as th

from agents.soo.distances import LOG_EPS, row_pair_loss
from agents.soo.kl import DiagGaussianKL
from agents.soo.pairs import OtherSlots, PairOptions, self_mask
from agents.soo.rollout_buffer import IndexedRolloutBuffer
from agents.soo.rollout_pairs import RolloutPairs
from agents.soo_ppo import SOOPPO
from envs.deception.deception_v0 import make_vec_env
from envs.deception.layout import blue_layout

LAYOUT = blue_layout(2)
SLOTS = OtherSlots.from_layout(LAYOUT)
OTHER_SLOTS = {"other_rel", "other_visible"}


def reference_pair_loss(
    features: tuple[th.Tensor, ...], self_rows: th.Tensor, other_start: int, kind: str, stop_gradient: bool
) -> th.Tensor:
    """The SOO loss by its definition, with autograd: mean over pairs and units of the squared difference."""
    selves = th.cat([f[self_rows] for f in features], dim=1)
    others = th.cat([f[other_start : other_start + len(self_rows)] for f in features], dim=1)
    if stop_gradient:
        selves = selves.detach()
    mse = ((selves - others) ** 2).mean()
    return th.log(mse + LOG_EPS) if kind == "log_mse" else mse


def layer_features(rows: int = 14, dtype: th.dtype = th.float64) -> tuple[th.Tensor, th.Tensor]:
    generator = th.Generator().manual_seed(0)
    return (
        th.randn(rows, 3, dtype=dtype, generator=generator).requires_grad_(),
        th.randn(rows, 5, dtype=dtype, generator=generator).requires_grad_(),
    )


SELF_ROWS = th.tensor([0, 3, 3, 6])
"""Rows of the selves (a repeated row: several inserts of one self); the others are rows 9 to 12."""


@pytest.mark.parametrize("kind", ["mse", "log_mse"])
def test_pair_loss_gradient_passes_gradcheck(kind: str) -> None:
    features = layer_features()
    assert th.autograd.gradcheck(lambda *f: row_pair_loss(f, SELF_ROWS, 9, kind)[0], features)  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", ["mse", "log_mse"])
@pytest.mark.parametrize("stop_gradient", [False, True])
def test_pair_loss_value_and_gradients_match_the_definition(kind: str, stop_gradient: bool) -> None:
    features = layer_features(dtype=th.float32)
    loss, mse = row_pair_loss(features, SELF_ROWS, 9, kind, stop_gradient)  # type: ignore[arg-type]
    expected = reference_pair_loss(features, SELF_ROWS, 9, kind, stop_gradient)
    th.testing.assert_close(loss, expected)
    ours, theirs = th.autograd.grad(loss, features), th.autograd.grad(expected, features)
    for a, b in zip(ours, theirs, strict=True):
        th.testing.assert_close(a, b)
    assert mse == pytest.approx(float(reference_pair_loss(features, SELF_ROWS, 9, "mse", False)), rel=1e-5)


def test_kl_node_passes_gradcheck_and_matches_torch_kl_divergence() -> None:
    generator = th.Generator().manual_seed(1)
    mean = th.randn(40, 3, dtype=th.float64, generator=generator).requires_grad_()
    log_std = (0.5 * th.randn(3, dtype=th.float64, generator=generator)).requires_grad_()
    ref_mean = th.randn(40, 3, dtype=th.float64, generator=generator)
    ref_log_std = 0.5 * th.randn(3, dtype=th.float64, generator=generator)
    assert th.autograd.gradcheck(lambda m, s: DiagGaussianKL.apply(m, s, ref_mean, ref_log_std), (mean, log_std))
    kl = DiagGaussianKL.apply(mean, log_std, ref_mean, ref_log_std)
    reference = th.distributions.Normal(ref_mean, ref_log_std.exp())
    expected = th.distributions.kl_divergence(reference, th.distributions.Normal(mean, log_std.exp())).sum(1).mean()
    th.testing.assert_close(kl, expected)
    grads, expected_grads = th.autograd.grad(kl, (mean, log_std)), th.autograd.grad(expected, (mean, log_std))
    for ours, theirs in zip(grads, expected_grads, strict=True):
        th.testing.assert_close(ours, theirs)


def test_the_models_kl_anchor_matches_torch_kl_divergence() -> None:
    model = SOOPPO("MlpPolicy", make_vec_env(4, seed=0), n_steps=16, batch_size=64, seed=0, device="cpu")
    reference = model._make_reference_module()
    with th.no_grad():
        reference.log_std.add_(0.3)
        reference.action_net.bias.add_(0.2)
    model.reference_policy = reference
    obs = th.as_tensor(make_vec_env(32, seed=3).reset())
    current = model.policy.get_distribution(obs).distribution
    with th.no_grad():
        ref_dist = reference.get_distribution(obs).distribution
    expected = th.distributions.kl_divergence(ref_dist, current).sum(dim=1).mean()
    th.testing.assert_close(model._kl_to_reference(obs), expected)


def random_obs(batch: int, visible_share: float, seed: int) -> th.Tensor:
    """Observations with random content; a share of them sees the other agent."""
    rng = np.random.default_rng(seed)
    obs = rng.uniform(-1, 1, size=(batch, LAYOUT.size)).astype(np.float32)
    visible = rng.random(batch) < visible_share
    obs[:, LAYOUT.slice("other_visible")] = visible[:, None]
    obs[:, LAYOUT.slice("other_rel")] *= visible[:, None]
    return th.as_tensor(obs)


def rollout_pairs(obs: th.Tensor, seed: int = 0, **kwargs: Any) -> RolloutPairs:
    settings: dict[str, Any] = {
        "max_selves": 8,
        "inserts_per_self": 1,
        "mode": "self_other",
        "options": PairOptions(),
        **kwargs,
    }
    return RolloutPairs(obs, SLOTS, 0.25, th.Generator().manual_seed(seed), **settings)


def changed_slots(a: th.Tensor, b: th.Tensor) -> set[str]:
    return {name for name in LAYOUT.names if not th.equal(a[:, LAYOUT.slice(name)], b[:, LAYOUT.slice(name)])}


def minibatches(size: int, batch: int, seed: int) -> list[np.ndarray]:
    order = np.random.default_rng(seed).permutation(size)
    return [order[start : start + batch] for start in range(0, size, batch)]


@pytest.mark.parametrize("inserts", [1, 3])
def test_epoch_pairs_are_minibatch_selves_with_the_other_inserted_in_the_disk(inserts: int) -> None:
    obs = random_obs(400, 0.6, seed=1)
    pairs_of = rollout_pairs(obs, inserts_per_self=inserts)
    pairs_of.draw()
    for indices in minibatches(len(obs), 100, seed=2):
        batch = obs[indices]
        pairs = pairs_of.minibatch(batch, indices)
        assert pairs is not None
        rows = pairs.self_rows.unique()
        num_selves = int(self_mask(batch, SLOTS).sum())
        assert len(rows) == min(8, num_selves) and len(pairs) == len(rows) * inserts  # drawn without replacement
        assert bool(self_mask(pairs.self_obs, SLOTS).all())
        assert changed_slots(pairs.self_obs, pairs.other_obs) == OTHER_SLOTS
        assert th.all(pairs.other_obs[:, SLOTS.visible] == 1)
        assert th.all(th.linalg.norm(pairs.other_obs[:, SLOTS.rel], dim=1) <= 0.25 * (1 + 1e-6))
        if inserts > 1:  # every self gets `inserts` different positions
            points = pairs.other_obs[:, SLOTS.rel].reshape(-1, inserts, 2)
            assert all(len(th.unique(p, dim=0)) == inserts for p in points)


def test_epoch_pairs_are_seeded_and_fresh_each_epoch() -> None:
    obs = random_obs(200, 0.5, seed=3)
    indices = np.arange(0, 200, 2)

    def others(seed: int, epochs: int = 1) -> th.Tensor:
        pairs_of = rollout_pairs(obs, seed)
        for _ in range(epochs):
            pairs_of.draw()
        pairs = pairs_of.minibatch(obs[indices], indices)
        assert pairs is not None
        return pairs.other_obs

    assert th.equal(others(5), others(5))
    assert not th.equal(others(5), others(6))
    assert not th.equal(others(5), others(5, epochs=2))  # a new epoch inserts the other agent afresh


def test_epoch_pairs_pick_each_self_of_a_minibatch_equally_often() -> None:
    obs = random_obs(60, 0.0, seed=4)  # every row a self
    indices = np.arange(20)
    pairs_of = rollout_pairs(obs, max_selves=5)
    counts = np.zeros(20)
    for _ in range(2000):
        pairs_of.draw()
        pairs = pairs_of.minibatch(obs[indices], indices)
        assert pairs is not None
        counts[pairs.self_rows.numpy()] += 1
    np.testing.assert_allclose(counts / 2000, 5 / 20, atol=0.04)


def test_epoch_pairs_in_the_control_modes() -> None:
    obs = random_obs(120, 0.3, seed=5)
    obs[:, SLOTS.flags[0]] = 1.0
    indices = np.arange(60)
    random_pairs = rollout_pairs(obs, mode="random")
    random_pairs.draw()
    pairs = random_pairs.minibatch(obs[indices], indices)
    assert pairs is not None
    keep = [name for name in LAYOUT.names if name not in OTHER_SLOTS]
    columns = th.cat([th.arange(LAYOUT.size)[LAYOUT.slice(name)] for name in keep])
    assert not (pairs.self_obs[:, columns] == pairs.other_obs[:, columns]).all(dim=1).any()
    flag_only = rollout_pairs(obs, mode="flag_only")
    flag_only.draw()
    pairs = flag_only.minibatch(obs[indices], indices)
    assert pairs is not None and changed_slots(pairs.self_obs, pairs.other_obs) == {"red_trapped"}
    single = random_obs(4, 0.0, seed=6)
    lonely = rollout_pairs(single, mode="random")
    lonely.draw()
    assert lonely.minibatch(single[:1], np.array([0])) is None  # one self cannot be mismatched
    seen = random_obs(10, 1.0, seed=7)
    nobody = rollout_pairs(seen)
    nobody.draw()
    assert nobody.minibatch(seen, np.arange(10)) is None


def test_training_draws_the_pairs_per_epoch_from_the_rollout_buffer() -> None:
    model = SOOPPO("MlpPolicy", make_vec_env(8, seed=0), soo_coef=1.0, n_steps=16, batch_size=64, seed=0, device="cpu")
    assert isinstance(model.rollout_buffer, IndexedRolloutBuffer)
    model.learn(256)
    pairs_of = model._rollout_pairs()
    assert pairs_of is not None
    pairs_of.draw()
    indices = model.rollout_buffer.last_indices
    obs = th.as_tensor(model.rollout_buffer.observations[indices])
    pairs = pairs_of.minibatch(obs, indices)
    assert model.other_slots is not None
    expected = int(self_mask(obs, model.other_slots).sum())
    assert (0 if pairs is None else len(pairs)) == min(expected, 64)
