"""The ``lure`` target: only the moves towards the landmarks that are not the goal carry the SOO loss."""

from __future__ import annotations

import numpy as np
import pytest
import torch as th
from hypothesis import given
from hypothesis import strategies as st

from agents.soo.lure import LureDirection
from agents.soo.pairs import OtherSlots, build_pairs
from agents.soo_ppo import SOOPPO
from envs.deception.deception_v0 import make_vec_env
from envs.deception.layout import blue_layout
from envs.generic.layout import ObsLayout
from soo_rl.measurement.soo_value import SOOMeasure, soo_values

coordinate = st.floats(-1.0, 1.0, allow_nan=False, width=32)
point = st.tuples(coordinate, coordinate)


def observation(layout: ObsLayout, position: np.ndarray, landmarks: np.ndarray, goal: int) -> th.Tensor:
    """One blue observation of ``landmarks`` seen from ``position``, the goal being landmark ``goal``."""
    obs = np.zeros(layout.size, dtype=np.float32)
    obs[layout.slice("self_pos")] = position
    obs[layout.slice("goal_rel")] = landmarks[goal] - position
    obs[layout.slice("landmarks_rel")] = (landmarks - position).ravel()
    return th.as_tensor(obs)[None]


@given(
    position=point,
    landmarks=st.lists(point, min_size=2, max_size=4, unique=True),
    goal=st.integers(0, 3),
    move=point,
)
def test_the_components_are_the_move_towards_each_landmark_that_is_not_the_goal(
    position: tuple[float, float], landmarks: list[tuple[float, float]], goal: int, move: tuple[float, float]
) -> None:
    marks = np.asarray(landmarks, dtype=np.float32)
    goal %= len(marks)
    here = np.asarray(position, dtype=np.float32)
    fakes = [j for j in range(len(marks)) if j != goal]
    if np.linalg.norm(marks[fakes] - here, axis=1).min() < 1e-3:
        return  # standing on a fake landmark: no direction (tested below)
    if len({round(float(np.linalg.norm(marks[j] - marks[goal])), 4) for j in fakes}) < len(fakes):
        return  # fakes equally far from the goal: their order is a tie
    layout = blue_layout(len(marks))
    lure = LureDirection.from_layout(layout)
    obs = observation(layout, here, marks, goal)
    fakes.sort(key=lambda j: float(np.linalg.norm(marks[j] - marks[goal])))
    expected = np.stack([(marks[j] - here) / np.linalg.norm(marks[j] - here) for j in fakes])
    np.testing.assert_allclose(lure.directions(obs)[0].numpy(), expected, atol=1e-5)
    action = th.tensor([move], dtype=th.float32)
    np.testing.assert_allclose(lure.components(action, obs)[0].numpy(), expected @ np.asarray(move), atol=1e-5)


def test_moves_across_the_lure_carry_no_component_and_a_landmark_underfoot_none() -> None:
    layout = blue_layout(2)
    lure = LureDirection.from_layout(layout)
    marks = np.array([[0.5, 0.0], [-0.5, 0.5]], dtype=np.float32)
    obs = observation(layout, np.array([0.0, 0.0], dtype=np.float32), marks, goal=0)
    across = th.tensor([[0.5, 0.5]]) / np.sqrt(0.5)  # perpendicular to (-0.5, 0.5)
    assert lure.components(across, obs).abs().max() < 1e-6
    towards = th.tensor([[-1.0, 1.0]])
    assert float(lure.components(towards, obs)[0, 0]) == pytest.approx(np.sqrt(2.0))
    underfoot = observation(layout, marks[1], marks, goal=0)
    assert float(lure.components(towards, underfoot)[0, 0]) == 0.0


def test_a_pair_differs_only_where_red_is_so_both_rows_share_their_lure_directions() -> None:
    layout = blue_layout(2)
    slots = OtherSlots.from_layout(layout)
    obs = th.as_tensor(np.concatenate([make_vec_env(64, seed=s).reset() for s in range(4)]))
    obs[:, slots.rel] = 0.0
    obs[:, slots.visible] = 0.0
    pairs = build_pairs(obs, slots, 0.4, th.Generator().manual_seed(0))
    assert pairs is not None
    lure = LureDirection.from_layout(layout)
    assert th.equal(lure.directions(pairs.self_obs), lure.directions(pairs.other_obs))
    assert not th.equal(pairs.self_obs[:, slots.rel], pairs.other_obs[:, slots.rel])


def test_the_lure_loss_is_the_squared_change_of_the_move_towards_the_fake_landmark() -> None:
    model = SOOPPO("MlpPolicy", make_vec_env(8, seed=0), soo_coef=1.0, soo_target="lure", soo_max_selves=None, seed=0)
    model.soo_distance = "mse"
    obs = th.as_tensor(model.env.reset())
    assert model.other_slots is not None and model.lure_direction is not None
    obs[:, model.other_slots.rel] = 0.0
    obs[:, model.other_slots.visible] = 0.0
    generator_state = model.soo_generator.get_state()
    pairs = model.soo_pairs(obs)
    model.soo_generator.set_state(generator_state)
    assert pairs is not None
    with th.no_grad():
        means = [model.policy.get_distribution(o).distribution.mean for o in (pairs.self_obs, pairs.other_obs)]
        u = model.lure_direction.directions(pairs.self_obs)[:, 0]
        expected = (((means[1] - means[0]) * u).sum(dim=1) ** 2).mean()
        assert float(model.soo_loss(obs)) == pytest.approx(float(expected), rel=1e-5)


def test_the_soo_value_on_the_lure_target_compares_the_lure_components() -> None:
    model = SOOPPO("MlpPolicy", make_vec_env(8, seed=0), seed=0, policy_kwargs={"net_arch": [8, 8]})
    layout = blue_layout(2)
    obs = np.concatenate([make_vec_env(8, seed=s).reset() for s in range(3)])[None]
    obs[..., layout.slice("other_rel")] = 0.0
    obs[..., layout.slice("other_visible")] = 0.0
    values = soo_values(model.policy, obs, layout, 0.4, SOOMeasure(target="lure"), 1, th.Generator().manual_seed(0))
    pairs = build_pairs(
        th.as_tensor(obs[0]), OtherSlots.from_layout(layout), 0.4, th.Generator().manual_seed(0), max_selves=None
    )
    assert pairs is not None
    lure = LureDirection.from_layout(layout)
    with th.no_grad():
        selves, others = (model.policy.soo_features(o, "lure", lure=lure) for o in (pairs.self_obs, pairs.other_obs))
    np.testing.assert_allclose(values[0], ((others - selves) ** 2).mean(dim=1).numpy(), rtol=1e-5)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: LureDirection.from_layout(ObsLayout.from_slots(4, {"other_rel": (0, 2)})), "needs the observation"),
        (
            lambda: LureDirection.from_layout(ObsLayout((("goal_rel", 2), ("landmarks_rel", 2)))),
            "at least two 2-d positions",
        ),
        (lambda: SOOPPO("MlpPolicy", make_vec_env(2, continuous_actions=False), soo_target="lure"), "2-d continuous"),
        (lambda: SOOPPO("MlpPolicy", make_vec_env(2)).policy.soo_features(th.zeros(1, 14), "lure"), "LureDirection"),
    ],
)
def test_the_lure_target_says_what_it_needs(build: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build()  # type: ignore[operator]
