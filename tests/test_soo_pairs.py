"""Self/other pairs and SOO distances: the definitions of SPEC section 3."""

from __future__ import annotations

import numpy as np
import pytest
import torch as th
from hypothesis import given
from hypothesis import strategies as st

from agents.soo.distances import pair_loss
from agents.soo.pairs import OtherSlots, PairOptions, build_pairs, insert_other, sample_disk, self_mask
from envs.deception.layout import blue_layout
from envs.generic.layout import ObsLayout

LAYOUT = blue_layout(2)
SLOTS = OtherSlots.from_layout(LAYOUT)
NOT_OTHER = np.ones(LAYOUT.size, dtype=bool)
"""The slots that are not red's (``other_rel``, ``other_visible``)."""
NOT_OTHER[SLOTS.rel] = NOT_OTHER[SLOTS.visible] = False


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
    untouched = NOT_OTHER
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


@pytest.mark.parametrize("insertion", ["area", "radius"])
def test_disk_points_are_the_polar_form_of_the_generators_uniform_draws(insertion: str) -> None:
    u = th.rand(500, 2, generator=generator(3))  # column 0: the radius' draw, column 1: the angle's
    r = 0.4 * (th.sqrt(u[:, 0]) if insertion == "area" else u[:, 0])
    theta = 2 * np.pi * u[:, 1]
    expected = th.stack([r * th.cos(theta), r * th.sin(theta)], dim=1)
    th.testing.assert_close(sample_disk(500, 0.4, generator(3), insertion=insertion), expected)  # type: ignore[arg-type]


def test_random_mode_pairs_never_correspond() -> None:
    obs = random_blue_obs(50, 0.3, seed=2)
    pairs = build_pairs(obs, SLOTS, 0.25, generator(3), mode="random")
    assert pairs is not None
    keep = NOT_OTHER
    same_situation = (pairs.self_obs[:, keep] == pairs.other_obs[:, keep]).all(dim=1)
    assert not same_situation.any()
    assert build_pairs(obs[:1].clone().fill_(0), SLOTS, 0.25, generator(), mode="random") is None
    for seed in range(40):  # few selves: a shift of 0 (or of a whole cycle) would pair a self with itself
        small = random_blue_obs(3, 0.0, seed)
        few = build_pairs(small, SLOTS, 0.25, generator(seed), mode="random")
        assert few is not None and not (few.self_obs[:, keep] == few.other_obs[:, keep]).all(dim=1).any()
    two = build_pairs(random_blue_obs(2, 0.0, 1), SLOTS, 0.25, generator(), mode="random")
    assert two is not None and len(two) == 2  # two selves are enough for mismatched pairs


def test_max_selves_and_seeded_draws() -> None:
    obs = random_blue_obs(200, 0.2, seed=4)
    first = build_pairs(obs, SLOTS, 0.25, generator(7), max_selves=16, inserts_per_self=3)
    again = build_pairs(obs, SLOTS, 0.25, generator(7), max_selves=16, inserts_per_self=3)
    other = build_pairs(obs, SLOTS, 0.25, generator(8), max_selves=16, inserts_per_self=3)
    assert first is not None and again is not None and other is not None
    assert len(first) == 48
    assert th.equal(obs[first.self_rows], first.self_obs)  # the selves are the named rows of the batch
    assert th.equal(first.other_obs, again.other_obs)
    assert not th.equal(first.other_obs, other.other_obs)


def test_layout_without_other_slots_is_rejected() -> None:
    with pytest.raises(ValueError, match="no other-agent slots"):
        OtherSlots.from_layout(ObsLayout((("self_vel", 2), ("goal_rel", 2))))


def test_pair_loss_kinds_and_per_pair_mse() -> None:
    self_features = th.zeros(4, 3)
    other_features = th.tensor([[2.0] * 3, [2.0] * 3, [0.0] * 3, [0.0] * 3])
    features = th.cat([self_features, other_features])
    mse, per_pair = pair_loss(features, "mse")
    log_mse, per_pair_log = pair_loss(features, "log_mse")
    assert float(mse) == pytest.approx(2.0)  # per pair 4, 4, 0, 0
    assert float(log_mse) == pytest.approx(np.log(2.0 + 1e-6))
    np.testing.assert_allclose(per_pair.numpy(), [4.0, 4.0, 0.0, 0.0])
    assert th.equal(per_pair, per_pair_log)  # the per-pair MSE does not depend on the kind
    same = th.cat([self_features, self_features])
    assert float(pair_loss(same, "log_mse")[0]) == pytest.approx(np.log(1e-6))
    assert float(pair_loss(same, "mse")[0]) == 0.0
    with pytest.raises(ValueError, match="distance kind must be one of"):
        pair_loss(features, "cosine")  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", ["mse", "log_mse"])
def test_pair_loss_gradient_pulls_other_towards_self(kind: str) -> None:
    other = th.full((3, 2), 1.0, requires_grad=True)
    loss, _ = pair_loss(th.cat([th.zeros(3, 2), other]), kind)  # type: ignore[arg-type]
    loss.backward()
    assert other.grad is not None and (other.grad > 0).all()  # descending moves other towards self (0)
    expected = 2.0 / 6.0 if kind == "mse" else (2.0 / 6.0) / (1.0 + 1e-6)  # d mean((x)^2) / dx, and through log
    np.testing.assert_allclose(other.grad.numpy(), expected, rtol=1e-5)


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


def changed_slots(a: th.Tensor, b: th.Tensor) -> set[str]:
    """Names of the layout slots in which some row of ``a`` and ``b`` differ."""
    return {name for name in LAYOUT.names if not th.equal(a[:, LAYOUT.slice(name)], b[:, LAYOUT.slice(name)])}


@given(
    flags=st.sampled_from(["keep", "zero"]),
    insertion=st.sampled_from(["area", "radius"]),
    radius=st.one_of(st.none(), st.floats(0.01, 0.5)),
    inner_share=st.floats(0.0, 0.9),
    seed=st.integers(0, 2**16),
)
def test_each_pair_option_changes_exactly_the_slots_it_names(
    flags: str, insertion: str, radius: float | None, inner_share: float, seed: int
) -> None:
    obs = random_blue_obs(64, 0.3, seed)
    obs[:, SLOTS.flags[0]] = (th.arange(64) % 2 == 0).float()[:, None]  # some selves trapped, some not
    inner = inner_share * (radius if radius is not None else 0.25)
    options = PairOptions(flags, insertion, radius, inner)  # type: ignore[arg-type]
    pairs = build_pairs(obs, SLOTS, 0.25, generator(seed), options=options)
    assert pairs is not None
    allowed = {"other_rel", "other_visible"} | ({"red_trapped"} if flags == "zero" else set())
    assert changed_slots(pairs.self_obs, pairs.other_obs) <= allowed
    assert {"other_rel", "other_visible"} <= changed_slots(pairs.self_obs, pairs.other_obs)
    flag = pairs.other_obs[:, SLOTS.flags[0]]
    assert th.equal(flag, pairs.self_obs[:, SLOTS.flags[0]]) if flags == "keep" else bool((flag == 0).all())
    limit = radius if radius is not None else 0.25
    distances = th.linalg.norm(pairs.other_obs[:, SLOTS.rel], dim=1)
    assert th.all(distances <= limit * (1 + 1e-6)) and th.all(distances >= inner * (1 - 1e-5))


@pytest.mark.parametrize("insertion", ["area", "radius"])
def test_no_inner_radius_draws_exactly_the_whole_disks_points(insertion: str) -> None:
    u = th.rand(500, 2, generator=generator(4))
    r = (th.sqrt(u[:, 0]) if insertion == "area" else u[:, 0]) * 0.4
    expected = th.view_as_real(th.polar(r, u[:, 1] * (2.0 * np.pi)))
    assert th.equal(sample_disk(500, 0.4, generator(4), insertion=insertion), expected)  # type: ignore[arg-type]


@given(
    insertion=st.sampled_from(["area", "radius"]),
    share=st.floats(0.0, 0.95),
    radius=st.floats(0.05, 1.0),
    seed=st.integers(0, 2**16),
)
def test_ring_points_lie_between_the_inner_and_outer_radius(
    insertion: str, share: float, radius: float, seed: int
) -> None:
    inner = share * radius
    radii = th.linalg.norm(sample_disk(2_000, radius, generator(seed), insertion=insertion, inner_radius=inner), dim=1)  # type: ignore[arg-type]
    assert float(radii.min()) >= inner * (1 - 1e-5) and float(radii.max()) <= radius * (1 + 1e-5)


@pytest.mark.parametrize(
    ("insertion", "below_middle"), [("area", (0.3**2 - 0.2**2) / (0.4**2 - 0.2**2)), ("radius", 0.5)]
)
def test_ring_points_are_uniform_by_area_or_in_radius(insertion: str, below_middle: float) -> None:
    radii = th.linalg.norm(sample_disk(40_000, 0.4, generator(5), insertion=insertion, inner_radius=0.2), dim=1)  # type: ignore[arg-type]
    assert abs(float((radii < 0.3).float().mean()) - below_middle) < 0.01


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"inner_radius": -0.1}, r"inner_radius must be a finite number in \[0.0, inf\], got -0.1"),
        ({"radius": 0.2, "inner_radius": 0.2}, "inner_radius must be below the insertion radius 0.2, got 0.2"),
    ],
)
def test_a_ring_needs_an_inner_radius_below_the_outer(options: dict[str, float], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        PairOptions(**options)  # type: ignore[arg-type]


def test_an_inner_radius_beyond_the_observation_radius_is_named_when_pairs_are_built() -> None:
    obs = random_blue_obs(16, 0.0, 0)
    with pytest.raises(ValueError, match=r"inner_radius must be below the insertion radius 0\.25, got 0\.3"):
        build_pairs(obs, SLOTS, 0.25, generator(0), options=PairOptions(inner_radius=0.3))


def test_radius_insertion_is_uniform_in_radius() -> None:
    radii = th.linalg.norm(sample_disk(40_000, 0.5, generator(2), insertion="radius"), dim=1)
    assert abs(float((radii < 0.25).float().mean()) - 0.5) < 0.01  # an area-uniform draw gives 1/4
    assert abs(float((radii < 0.125).float().mean()) - 0.25) < 0.01


@given(seed=st.integers(0, 2**16), inserts=st.integers(1, 3))
def test_flag_only_pairs_insert_no_red_and_zero_the_flag(seed: int, inserts: int) -> None:
    obs = random_blue_obs(48, 0.3, seed)
    obs[:, SLOTS.flags[0]] = 1.0
    pairs = build_pairs(obs, SLOTS, 0.25, generator(seed), inserts_per_self=inserts, mode="flag_only")
    assert pairs is not None
    assert changed_slots(pairs.self_obs, pairs.other_obs) == {"red_trapped"}
    assert th.all(pairs.other_obs[:, SLOTS.visible] == 0) and th.all(pairs.other_obs[:, SLOTS.rel] == 0)
    assert th.all(pairs.other_obs[:, SLOTS.flags[0]] == 0)


def test_zeroing_a_flag_needs_a_flag_slot() -> None:
    slots = OtherSlots(SLOTS.rel, SLOTS.visible)
    with pytest.raises(ValueError, match="needs a flag in the observation layout"):
        insert_other(random_blue_obs(4, 0.0, 0), slots, None, flags="zero")


def test_distance_kind_pair_mode_and_flag_option_each_change_the_loss() -> None:
    th.manual_seed(0)
    net = th.nn.Sequential(th.nn.Linear(LAYOUT.size, 16), th.nn.Tanh())
    obs = random_blue_obs(256, 0.3, seed=9)
    obs[:, SLOTS.flags[0]] = 1.0

    def loss(kind: str = "log_mse", mode: str = "self_other", flags: str = "keep") -> float:
        pairs = build_pairs(obs, SLOTS, 0.25, generator(1), mode=mode, options=PairOptions(flags))  # type: ignore[arg-type]
        assert pairs is not None
        with th.no_grad():
            return float(pair_loss(net(th.cat([pairs.self_obs, pairs.other_obs])), kind)[0])  # type: ignore[arg-type]

    base = loss()
    others = [loss(kind="mse"), loss(mode="random"), loss(mode="flag_only"), loss(flags="zero")]
    assert all(abs(value - base) > 1e-4 for value in others)
    # Mismatched pairs differ in more than red: their distance is larger than SOO's own pairs'.
    assert loss(kind="mse", mode="random") > loss(kind="mse")


def test_disk_angles_are_independent_of_radii() -> None:
    for insertion in ("area", "radius"):
        points = sample_disk(20_000, 1.0, generator(4), insertion=insertion)  # type: ignore[arg-type]
        radii, angles = th.linalg.norm(points, dim=1), th.atan2(points[:, 1], points[:, 0])
        near = angles[radii < radii.median()]
        assert abs(float((near > 0).float().mean()) - 0.5) < 0.03  # the inner half covers every direction


def test_random_pairs_pair_each_self_with_another_whole_self() -> None:
    obs = random_blue_obs(40, 0.0, seed=6)
    pairs = build_pairs(obs, SLOTS, 0.25, generator(2), mode="random")
    assert pairs is not None
    keep = NOT_OTHER
    selves = {tuple(row.tolist()) for row in pairs.self_obs[:, keep]}
    assert all(tuple(row.tolist()) in selves for row in pairs.other_obs[:, keep])  # whole rows, not features
