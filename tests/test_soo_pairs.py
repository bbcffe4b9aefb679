"""Self/other pairs and SOO distances: the definitions of SPEC section 3."""

from __future__ import annotations

import numpy as np
import pytest
import torch as th
from hypothesis import given
from hypothesis import strategies as st

from agents.soo.distances import pair_loss, soo_distance
from agents.soo.pairs import OtherSlots, build_pairs, sample_disk, self_mask
from envs.layout import ObsLayout, blue_layout

LAYOUT = blue_layout(2)
SLOTS = OtherSlots.from_layout(LAYOUT)


def random_blue_obs(batch: int, visible_share: float, seed: int) -> th.Tensor:
    """Blue observations with random content; a share of them sees red."""
    rng = np.random.default_rng(seed)
    obs = rng.uniform(-1, 1, size=(batch, LAYOUT.size)).astype(np.float32)
    visible = rng.random(batch) < visible_share
    obs[:, LAYOUT.slice("other_visible")] = visible[:, None]
    obs[:, LAYOUT.slice("other_rel")] *= visible[:, None]
    return th.as_tensor(obs)


def generator(seed: int = 0) -> th.Generator:
    return th.Generator().manual_seed(seed)


@given(
    batch=st.integers(1, 64),
    visible_share=st.floats(0.0, 1.0),
    inserts=st.integers(1, 4),
    radius=st.floats(0.01, 1.0),
    seed=st.integers(0, 2**16),
)
def test_pairs_differ_only_in_other_slots_and_points_lie_in_disk(
    batch: int, visible_share: float, inserts: int, radius: float, seed: int
) -> None:
    obs = random_blue_obs(batch, visible_share, seed)
    pairs = build_pairs(obs, SLOTS, radius, generator(seed), inserts_per_self=inserts)
    num_selves = int(self_mask(obs, SLOTS).sum())
    if num_selves == 0:
        assert pairs is None
        return
    assert pairs is not None and len(pairs) == num_selves * inserts
    untouched = np.ones(LAYOUT.size, dtype=bool)
    untouched[SLOTS.rel] = untouched[SLOTS.visible] = False
    assert th.equal(pairs.self_obs[:, untouched], pairs.other_obs[:, untouched])
    assert th.all(pairs.self_obs[:, SLOTS.visible] == 0) and th.all(pairs.other_obs[:, SLOTS.visible] == 1)
    assert th.all(pairs.self_obs[:, SLOTS.rel] == 0)
    assert th.all(th.linalg.norm(pairs.other_obs[:, SLOTS.rel], dim=1) <= radius * (1 + 1e-6))
    # Self observations are exactly the ones with red out of view.
    assert th.equal(th.unique(pairs.self_obs, dim=0), th.unique(obs[self_mask(obs, SLOTS)], dim=0))


def test_disk_points_are_uniform_by_area() -> None:
    points = sample_disk(40_000, 0.5, generator(1))
    radii = th.linalg.norm(points, dim=1)
    assert float(radii.max()) <= 0.5
    # Area-uniform: P(r < R/2) = 1/4 (a radius-uniform draw would give 1/2).
    assert abs(float((radii < 0.25).float().mean()) - 0.25) < 0.01
    angles = th.atan2(points[:, 1], points[:, 0])
    assert abs(float((angles > 0).float().mean()) - 0.5) < 0.01


def test_random_mode_pairs_never_correspond() -> None:
    obs = random_blue_obs(50, 0.3, seed=2)
    pairs = build_pairs(obs, SLOTS, 0.25, generator(3), mode="random")
    assert pairs is not None
    keep = np.ones(LAYOUT.size, dtype=bool)
    keep[SLOTS.rel] = keep[SLOTS.visible] = False
    same_situation = (pairs.self_obs[:, keep] == pairs.other_obs[:, keep]).all(dim=1)
    assert not same_situation.any()
    assert build_pairs(obs[:1].clone().fill_(0), SLOTS, 0.25, generator(), mode="random") is None


def test_max_selves_and_seeded_draws() -> None:
    obs = random_blue_obs(200, 0.2, seed=4)
    first = build_pairs(obs, SLOTS, 0.25, generator(7), max_selves=16, inserts_per_self=3)
    again = build_pairs(obs, SLOTS, 0.25, generator(7), max_selves=16, inserts_per_self=3)
    other = build_pairs(obs, SLOTS, 0.25, generator(8), max_selves=16, inserts_per_self=3)
    assert first is not None and again is not None and other is not None
    assert len(first) == 48
    assert th.equal(first.other_obs, again.other_obs)
    assert not th.equal(first.other_obs, other.other_obs)


def test_layout_without_other_slots_is_rejected() -> None:
    with pytest.raises(ValueError, match="no other-agent slots"):
        OtherSlots.from_layout(ObsLayout((("self_vel", 2), ("goal_rel", 2))))


def test_distances() -> None:
    a = th.zeros(4, 3)
    b = th.full((4, 3), 2.0)
    assert float(soo_distance(a, b, "mse")) == pytest.approx(4.0)
    assert float(soo_distance(a, b, "log_mse")) == pytest.approx(np.log(4.0 + 1e-6))
    assert float(soo_distance(a, a, "log_mse")) == pytest.approx(np.log(1e-6))
    with pytest.raises(ValueError, match="distance kind must be one of"):
        soo_distance(a, b, "cosine")  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", ["mse", "log_mse"])
def test_stop_gradient_blocks_the_self_branch(kind: str) -> None:
    th.manual_seed(0)
    net = th.nn.Sequential(th.nn.Linear(LAYOUT.size, 8), th.nn.Tanh())
    obs = random_blue_obs(32, 0.0, seed=5)
    pairs = build_pairs(obs, SLOTS, 0.25, generator())
    assert pairs is not None
    grads = {}
    for stop in (False, True):
        self_obs = pairs.self_obs.clone().requires_grad_(True)
        other_obs = pairs.other_obs.clone().requires_grad_(True)
        loss, _ = pair_loss(net(th.cat([self_obs, other_obs])), kind, stop_gradient=stop)  # type: ignore[arg-type]
        loss.backward()
        grads[stop] = (self_obs.grad, other_obs.grad)
    assert grads[False][0] is not None and grads[False][0].abs().sum() > 0
    assert grads[True][0] is None or grads[True][0].abs().sum() == 0
    assert grads[True][1] is not None and grads[True][1].abs().sum() > 0
