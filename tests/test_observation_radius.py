"""The observation-radius wrapper and the public layout declaration: masking, spaces, determinism, bad input."""

from __future__ import annotations

import importlib
from functools import partial
from typing import Any

import numpy as np
import pytest
import torch as th
from hypothesis import given
from hypothesis import strategies as st
from pettingzoo.test import parallel_api_test, parallel_seed_test

from agents.soo.pairs import OtherSlots, build_pairs, self_mask
from envs.generic.layout import ObsLayout
from envs.generic.observation_radius import ObservationRadius, RadiusView
from envs.mpe2.layouts import mpe2_layouts

MPE2_REASON = "MPE2 is an optional extra (pip install -e '.[mpe2]')"
LEARNERS = ["agent_0", "agent_1"]


def scenario(name: str) -> Any:
    """An MPE2 scenario module; the test is skipped when MPE2 is not installed."""
    pytest.importorskip("mpe2", reason=MPE2_REASON)
    return importlib.import_module(f"mpe2.{name}")


def adversary_env(radius: float = 0.5, observers: list[str] | None = None, **kwargs: Any) -> ObservationRadius:
    """MPE2's ``simple_adversary_v3`` (N=2) with a radius for ``observers`` (default: every agent)."""
    env = scenario("simple_adversary_v3").parallel_env(N=2, continuous_actions=True, **kwargs)
    return ObservationRadius(env, mpe2_layouts(env, observers), radius=radius)


def random_actions(env: Any, rng: np.random.Generator) -> dict[str, Any]:
    return {agent: rng.uniform(0, 1, size=5).astype(np.float32) for agent in env.agents}


def play_side_by_side(radius: float, seed: int, steps: int) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Raw and wrapped observations of the same seeded episode under the same random actions."""
    raw = scenario("simple_adversary_v3").parallel_env(N=2, continuous_actions=True)
    wrapped = adversary_env(radius)
    rng = np.random.default_rng(seed)
    pairs = [(raw.reset(seed=seed)[0], wrapped.reset(seed=seed)[0])]
    for _ in range(steps):
        actions = random_actions(raw, rng)
        pairs.append((raw.step(actions)[0], wrapped.step(actions)[0]))
    return pairs


# ------------------------------------------------------------------ the wrapper on MPE2
def test_passes_pettingzoo_parallel_api_and_seed_tests() -> None:
    parallel_api_test(adversary_env(), num_cycles=30)
    parallel_seed_test(partial(adversary_env, 0.3, max_cycles=30), num_cycles=30)


@given(radius=st.floats(0.05, 3.0), seed=st.integers(0, 2**16), steps=st.integers(0, 12))
def test_masks_exactly_the_declared_slots_and_leaves_every_other_slot_unchanged(
    radius: float, seed: int, steps: int
) -> None:
    wrapped = adversary_env(radius)
    for raw_obs, obs in play_side_by_side(radius, seed, steps):
        for observer in wrapped.possible_agents:
            layout = wrapped.obs_layout(observer)
            raw = raw_obs[observer]
            untouched = np.ones(len(raw), dtype=bool)
            for other in wrapped.others[observer]:
                rel, bit = layout.slice(f"{other}_rel"), layout.slice(f"{other}_visible")
                untouched[rel] = False
                seen = np.linalg.norm(raw[rel].astype(np.float64)) <= radius
                assert obs[observer][bit][0] == float(seen)
                np.testing.assert_array_equal(obs[observer][rel], raw[rel] if seen else 0.0)
            np.testing.assert_array_equal(obs[observer][: len(raw)][untouched], raw[untouched])
            assert obs[observer] in wrapped.observation_space(observer)


@given(
    obs=st.lists(st.floats(-3, 3, width=32), min_size=9, max_size=9),
    radius=st.floats(0.01, 4.0),
)
def test_view_is_a_pure_function_of_any_observation(obs: list[float], radius: float) -> None:
    # Slots named after an agent (its position, its velocity) are hidden together; others never change.
    layout = ObsLayout.from_slots(9, {"a_rel": slice(1, 3), "a_vel": slice(3, 5), "b_rel": slice(5, 7)})
    vector = np.array(obs, dtype=np.float32)
    view = RadiusView(layout, ("a", "b"), radius, np.dtype(np.float32))
    out = view(vector)
    seen = [np.linalg.norm(vector[1:3].astype(np.float64)) <= radius, np.linalg.norm(vector[5:7]) <= radius]
    np.testing.assert_array_equal(out[9:], np.array(seen, dtype=np.float32))
    np.testing.assert_array_equal(out[1:5], vector[1:5] if seen[0] else 0.0)
    np.testing.assert_array_equal(out[5:7], vector[5:7] if seen[1] else 0.0)
    np.testing.assert_array_equal(out[[0, 7, 8]], vector[[0, 7, 8]])
    np.testing.assert_array_equal(view(vector), out)


def test_deterministic_under_a_seed_and_different_across_seeds() -> None:
    def episode(seed: int) -> list[np.ndarray]:
        env, rng = adversary_env(0.4, max_cycles=15), np.random.default_rng(0)
        obs, _ = env.reset(seed=seed)
        seen = [obs["agent_0"]]
        while env.agents:
            seen.append(env.step(random_actions(env, rng))[0].get("agent_0", seen[-1]))
        return seen

    first, again, other = episode(7), episode(7), episode(8)
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert not np.array_equal(first[0], other[0])


def test_spaces_and_declared_layouts() -> None:
    env = adversary_env(0.5, observers=LEARNERS)
    space = env.observation_space("agent_0")
    assert space.shape == (12,) and space.dtype == np.float32
    np.testing.assert_array_equal(space.low[10:], 0.0)
    np.testing.assert_array_equal(space.high[10:], 1.0)
    assert env.observation_space("adversary_0") is env.unwrapped.observation_space("adversary_0")  # not an observer
    layout = env.obs_layout("agent_0")
    assert layout.names[-2:] == ("adversary_0_visible", "agent_1_visible") and layout.other == "adversary_0"
    assert OtherSlots.from_layout(env.obs_layout("agent_0", other="agent_1")).rel == slice(8, 10)
    shared = env.shared_obs_layout(LEARNERS, "adversary_0")
    assert OtherSlots.from_layout(shared) == OtherSlots(slice(6, 8), slice(10, 11))
    with pytest.raises(ValueError, match="no slot 'agent_1_rel'"):
        env.shared_obs_layout(LEARNERS, "agent_1")  # agent_1 is not an other agent of itself
    crossed = {
        "agent_0": ObsLayout.from_slots(10, {"adversary_0_rel": slice(6, 8), "agent_1_rel": slice(8, 10)}),
        "agent_1": ObsLayout.from_slots(10, {"agent_0_rel": slice(6, 8), "adversary_0_rel": slice(8, 10)}),
    }
    with pytest.raises(ValueError, match="slot 'adversary_0_rel' is at slice\\(8, 10, None\\) for agent_1"):
        ObservationRadius(env.env, crossed, radius=0.5).shared_obs_layout(LEARNERS, "adversary_0")
    assert env.radii == {"agent_0": 0.5, "agent_1": 0.5}
    obs, _ = env.reset(seed=0)
    assert obs["adversary_0"].shape == (8,)


@pytest.mark.parametrize("name", ["simple_adversary_v3", "simple_push_v3", "simple_tag_v3"])
def test_mpe2_layouts_hold_the_other_agents_relative_positions(name: str) -> None:
    env = scenario(name).parallel_env()
    layouts = mpe2_layouts(env)
    obs, _ = env.reset(seed=3)
    for _ in range(4):
        obs = env.step({agent: env.action_space(agent).sample() for agent in env.agents})[0]
    world = {agent.name: agent.state for agent in env.unwrapped.world.agents}
    for observer, layout in layouts.items():
        others = [name.removesuffix("_rel") for name in layout.names if name.removesuffix("_rel") in world]
        assert sorted(others) == sorted(a for a in world if a != observer)
        for other in others:
            expected = world[other].p_pos - world[observer].p_pos
            np.testing.assert_allclose(obs[observer][layout.slice(f"{other}_rel")], expected, atol=1e-6)
            if f"{other}_vel" in layout:
                np.testing.assert_allclose(obs[observer][layout.slice(f"{other}_vel")], world[other].p_vel, atol=1e-6)


def test_mpe2_layouts_refuse_what_they_cannot_describe() -> None:
    module = scenario("simple_adversary_v3")
    with pytest.raises(ValueError, match="num_agent_neighbors"):
        mpe2_layouts(module.parallel_env(num_agent_neighbors=1))
    with pytest.raises(ValueError, match="no known observation layout for MPE2 scenario 'simple_spread_v3'"):
        mpe2_layouts(scenario("simple_spread_v3").parallel_env())
    with pytest.raises(ValueError, match="unknown observer 'red_0'"):
        mpe2_layouts(module.parallel_env(), ["red_0"])


def test_pairs_built_on_a_wrapped_mpe2_env_change_only_the_declared_slots() -> None:
    env = adversary_env(0.3, observers=LEARNERS, max_cycles=20)
    layout = env.shared_obs_layout(LEARNERS, "adversary_0")
    slots = OtherSlots.from_layout(layout)
    rng = np.random.default_rng(1)
    rows = []
    for seed in range(4):
        obs, _ = env.reset(seed=seed)
        while env.agents:
            rows += [obs[learner] for learner in LEARNERS]
            obs = env.step(random_actions(env, rng))[0]
    batch = th.as_tensor(np.stack(rows))
    assert 0 < int(self_mask(batch, slots).sum()) < len(batch)
    pairs = build_pairs(batch, slots, 0.3, th.Generator().manual_seed(0), inserts_per_self=3)
    assert pairs is not None
    changed = (pairs.self_obs != pairs.other_obs).any(dim=0).numpy()
    declared = np.zeros(layout.size, dtype=bool)
    declared[layout.slice("adversary_0_rel")] = declared[layout.slice("adversary_0_visible")] = True
    assert not changed[~declared].any() and changed[declared].all()
    assert th.all(th.linalg.norm(pairs.other_obs[:, slots.rel], dim=1) <= 0.3 + 1e-6)


# ------------------------------------------------------------------ bad declarations
@pytest.mark.parametrize(
    ("slots", "message"),
    [
        ({"other_rel": slice(9, 11)}, "slot 'other_rel' \\(9:11\\) lies outside the observation, whose size is 10"),
        ({"other_rel": (4, 6), "other_visible": 5}, "slots 'other_rel' and 'other_visible' overlap"),
        ({"other_rel": slice(4, 6, 2)}, "slot 'other_rel' must be a contiguous slice"),
        ({"other_visible": -1}, "slot 'other_visible' must be an index >= 0"),
        ({"other_rel": (6, 4)}, "slot 'other_rel' must be an index"),
    ],
)
def test_bad_slot_declarations_name_the_slot(slots: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ObsLayout.from_slots(10, slots)


def test_bad_layouts_name_the_slot() -> None:
    with pytest.raises(ValueError, match="slot 'goal_rel' is declared twice"):
        ObsLayout((("goal_rel", 2), ("goal_rel", 2)))
    with pytest.raises(ValueError, match="slot 'other_rel' must have an integer width >= 1"):
        ObsLayout((("other_rel", 0),))
    layout = ObsLayout.from_slots(10, {"other_rel": slice(4, 6), "other_visible": 9})
    with pytest.raises(ValueError, match="slots \\['other_visible'\\] lie outside the observation"):
        layout.check_shape((8,), "the observation space")
    with pytest.raises(ValueError, match="entries 10:12 are not declared"):
        layout.check_shape((12,))
    with pytest.raises(ValueError, match="slot 'other_rel' must be 2 wide"):
        OtherSlots.from_layout(ObsLayout.from_slots(10, {"other_rel": slice(4, 7)}))
    with pytest.raises(ValueError, match="no slot 'red_0_rel' in this layout"):
        layout.with_other("red_0")


def test_bad_wrapper_declarations_name_the_observer_and_slot() -> None:
    module = scenario("simple_adversary_v3")
    env = module.parallel_env(N=2)
    too_long = ObsLayout.from_slots(12, {"adversary_0_rel": slice(10, 12)})
    with pytest.raises(ValueError, match="observation space of agent_0 has 10: slots \\['adversary_0_rel'\\]"):
        ObservationRadius(env, {"agent_0": too_long}, radius=0.5)
    anonymous = ObsLayout.from_slots(10, {"other_rel": slice(6, 8)})
    with pytest.raises(ValueError, match="layout of agent_0 names no other agent's relative position"):
        ObservationRadius(env, {"agent_0": anonymous}, radius=0.5)
    visible = ObsLayout.from_slots(10, {"adversary_0_rel": slice(6, 8), "adversary_0_visible": 9})
    with pytest.raises(ValueError, match="already has a slot 'adversary_0_visible'"):
        ObservationRadius(env, {"agent_0": visible}, radius=0.5)
    good = ObsLayout.from_slots(10, {"adversary_0_rel": slice(6, 8)})
    with pytest.raises(ValueError, match="radius of agent_0 must be a finite number"):
        ObservationRadius(env, {"agent_0": good}, radius=0.0)
    with pytest.raises(ValueError, match="unknown observer 'red_0'"):
        ObservationRadius(env, {"red_0": good}, radius=0.5)
