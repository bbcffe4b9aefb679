"""MPE2's ``simple_adversary_v3`` as a deception world: reward modes, outcome, scripted follower, radii."""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np
import pytest
from pettingzoo.test import parallel_api_test, parallel_seed_test

from envs.layout import ObsLayout
from envs.mpe2_adversary import ADVERSARY, GOOD_AGENTS, follower_policy, make_simple_adversary, move_actions
from envs.shared_vec_env import SharedPolicyVecEnv

pytest.importorskip("mpe2", reason="MPE2 is an optional extra (pip install -e '.[mpe2]')")


def goal_distances(env: Any) -> tuple[float, float]:
    """The nearest good agent's and the adversary's distance to the goal, from the world's state."""
    world = env.unwrapped.world
    goal = world.agents[0].goal_a.state.p_pos
    distance = {agent.name: float(np.linalg.norm(agent.state.p_pos - goal)) for agent in world.agents}
    return min(distance[name] for name in GOOD_AGENTS), distance[ADVERSARY]


def test_world_passes_pettingzoo_api_and_seed_tests() -> None:
    parallel_api_test(make_simple_adversary(max_cycles=20), num_cycles=30)
    parallel_seed_test(partial(make_simple_adversary, reward_mode="honest", max_cycles=20), num_cycles=30)


def test_reward_modes_and_the_episode_outcome() -> None:
    deceptive, honest = make_simple_adversary(max_cycles=10), make_simple_adversary(reward_mode="honest", max_cycles=10)
    deceptive.reset(seed=4)
    honest.reset(seed=4)
    rng = np.random.default_rng(0)
    while deceptive.agents:
        actions = {agent: rng.uniform(0, 1, 5).astype(np.float32) for agent in deceptive.agents}
        _, paid, _, _, infos = deceptive.step(actions)
        _, honest_paid, _, _, honest_infos = honest.step(actions)
        good, adversary = goal_distances(deceptive)
        for name in GOOD_AGENTS:
            assert paid[name] == pytest.approx(-good + adversary)  # MPE2's own good-agent reward
            assert honest_paid[name] == pytest.approx(-good) == infos[name]["honest_reward"]
        assert honest_paid[ADVERSARY] == paid[ADVERSARY] == pytest.approx(-adversary)
    world = deceptive.unwrapped.world
    goal = world.agents[0].goal_a
    fake = next(landmark for landmark in world.landmarks if landmark is not goal)
    adversary_pos = world.agents[0].state.p_pos
    at_fake = np.linalg.norm(adversary_pos - fake.state.p_pos) < np.linalg.norm(adversary_pos - goal.state.p_pos)
    for info in (*infos.values(), *honest_infos.values()):
        assert info["adversary_at_fake"] == at_fake
        assert info["adversary_goal_distance"] == pytest.approx(adversary)


def test_follower_steers_to_the_nearest_agent_it_sees() -> None:
    layout = ObsLayout.from_slots(
        7, {"agent_0_rel": slice(0, 2), "agent_1_rel": slice(2, 4), "agent_0_visible": 4, "agent_1_visible": 5}
    )
    obs = np.array(
        [
            [0.3, 0.0, -0.1, 0.0, 1, 1, 9],  # both seen: agent_1 is nearer (left)
            [0.3, 0.0, 0.0, 0.0, 1, 0, 9],  # only agent_0 seen (right)
            [0.0, 0.0, 0.0, 0.0, 0, 0, 9],  # none seen: stand still
            [0.0, -0.2, 0.5, 0.5, 1, 0, 9],  # agent_0 below
        ],
        dtype=np.float32,
    )
    continuous = follower_policy(layout, ["agent_0", "agent_1"])(obs)
    np.testing.assert_allclose(continuous[:3], [[0, 1, 0, 0, 0], [0, 0, 1, 0, 0], [0, 0, 0, 0, 0]])
    np.testing.assert_allclose(continuous[3], [0, 0, 0, 1, 0])
    np.testing.assert_array_equal(follower_policy(layout, ["agent_0", "agent_1"], continuous=False)(obs), [1, 2, 0, 3])
    np.testing.assert_array_equal(move_actions(np.array([[0.0, 0.4]]), continuous=False), [4])


def test_scripted_adversary_follows_still_good_agents_through_the_vec_env() -> None:
    adversary_layout = make_simple_adversary(adversary_radius=5.0).obs_layout(ADVERSARY)
    follower = follower_policy(adversary_layout, GOOD_AGENTS)
    venv = SharedPolicyVecEnv(
        partial(make_simple_adversary, adversary_radius=5.0), 2, GOOD_AGENTS, {ADVERSARY: follower}
    )
    venv.seed(0)
    venv.reset()
    gaps = []
    for _ in range(30):
        venv.step(np.zeros((4, 5), dtype=np.float32))
        world = venv.envs[0].unwrapped.world
        positions = {agent.name: agent.state.p_pos for agent in world.agents}
        gaps.append(min(np.linalg.norm(positions[ADVERSARY] - positions[name]) for name in GOOD_AGENTS))
    assert gaps[-1] < 0.5 * gaps[0]
