"""MPE2's ``simple_adversary_v3`` as a deception world: reward modes, outcome, scripted follower, radii."""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np
import pytest
from pettingzoo.test import parallel_api_test, parallel_seed_test

from envs.generic.layout import ObsLayout
from envs.generic.shared_vec_env import SharedPolicyVecEnv, indicated_layout, play_episodes
from envs.mpe2.simple_adversary import (
    ADVERSARY,
    GOOD_AGENTS,
    OUTCOME_KEYS,
    action_forces,
    episode_outcome,
    follower_policy,
    goal_seeker,
    landmark_guesser,
    make_simple_adversary,
    move_actions,
    scripted_adversary,
)

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


def test_the_honesty_mode_is_the_honest_reward_less_the_penalty_while_the_adversary_is_nearer_a_fake() -> None:
    honest = make_simple_adversary(reward_mode="honest", max_cycles=15)
    honesty = make_simple_adversary(reward_mode="honesty", max_cycles=15, deception_penalty=2.5)
    honest.reset(seed=10)  # the adversary crosses over to the fake side in this episode
    honesty.reset(seed=10)
    rng = np.random.default_rng(1)
    penalised = []
    while honest.agents:
        actions = {agent: rng.uniform(0, 1, 5).astype(np.float32) for agent in honest.agents}
        honest_paid = honest.step(actions)[1]
        paid = honesty.step(actions)[1]
        at_fake = episode_outcome(honesty.unwrapped.world)["adversary_at_fake"]
        penalised.append(at_fake)
        for name in GOOD_AGENTS:
            assert paid[name] == pytest.approx(honest_paid[name] - 2.5 * at_fake)
        assert paid[ADVERSARY] == honest_paid[ADVERSARY]
    assert any(penalised) and not all(penalised)  # the seed's episode has steps of both kinds
    with pytest.raises(ValueError, match="deception_penalty"):
        make_simple_adversary(reward_mode="honesty", deception_penalty=-1.0)


@pytest.mark.parametrize("continuous", [True, False])
def test_the_unchecked_world_steps_exactly_as_the_checked_one(continuous: bool) -> None:
    checked = make_simple_adversary(max_cycles=12, continuous_actions=continuous)
    raw = make_simple_adversary(max_cycles=12, continuous_actions=continuous, checked=False)
    first, _ = checked.reset(seed=3)
    second, _ = raw.reset(seed=3)
    rng = np.random.default_rng(2)
    while checked.agents:
        for agent in first:
            np.testing.assert_array_equal(first[agent], second[agent])
        actions = {
            agent: rng.uniform(0, 1, 5).astype(np.float32) if continuous else int(rng.integers(5))
            for agent in checked.agents
        }
        first, paid, *_ = checked.step(actions)
        second, raw_paid, *_ = raw.step(actions)
        assert paid == raw_paid
    assert not raw.agents


def test_action_forces_invert_move_actions() -> None:
    directions = np.array([[1.0, 0.0], [0.0, -1.0], [0.6, 0.8], [0.0, 0.0]])
    np.testing.assert_allclose(action_forces(move_actions(directions, True), True), directions, atol=1e-6)
    np.testing.assert_array_equal(
        action_forces(move_actions(directions, False), False), [[1, 0], [0, -1], [0, 1], [0, 0]]
    )


def test_play_episodes_records_one_seeded_episode_per_copy() -> None:
    make = partial(make_simple_adversary, max_cycles=9)
    follower = scripted_adversary(make())
    venv = SharedPolicyVecEnv(make, 3, GOOD_AGENTS, {ADVERSARY: follower})
    rng = np.random.default_rng(0)
    policy = lambda obs: rng.uniform(0, 1, (len(obs), 5)).astype(np.float32)  # noqa: E731
    episodes = play_episodes(venv, policy, seed=11, summed=("honest_reward",))
    assert episodes.observations.shape == (9, 6, venv.observation_space.shape[0])
    assert episodes.actions.shape == (9, 6, 5)
    assert [set(OUTCOME_KEYS) <= set(info) for info in episodes.final_infos] == [True] * 6
    assert episodes.info_sums["honest_reward"].shape == (6,)
    # learners of one copy share its outcome; the same seed gives the same first observations
    outcomes = [info["adversary_goal_distance"] for info in episodes.final_infos]
    assert outcomes[0::2] == outcomes[1::2]
    again = play_episodes(venv, policy, seed=11)
    np.testing.assert_array_equal(again.observations[0], episodes.observations[0])


def test_the_scripted_honest_good_agents_settle_on_the_goal() -> None:
    make = partial(make_simple_adversary, max_cycles=50)
    env = make()
    seeker = goal_seeker(env.shared_obs_layout(GOOD_AGENTS, ADVERSARY))
    follower = scripted_adversary(env)
    episodes = play_episodes(SharedPolicyVecEnv(make, 20, GOOD_AGENTS, {ADVERSARY: follower}), seeker, seed=5)
    distances = np.array([info["good_goal_distance"] for info in episodes.final_infos])
    assert (distances < 0.05).all()
    with pytest.raises(ValueError, match="gain"):
        goal_seeker(env.shared_obs_layout(GOOD_AGENTS, ADVERSARY), gain=0.0)


def test_the_scripted_adversary_reads_its_own_layout_with_or_without_a_radius() -> None:
    observations = {}
    for radius in (None, 5.0):  # 5.0: every agent in view, so both see the same agents
        env = make_simple_adversary(adversary_radius=radius, max_cycles=5)
        obs, _ = env.reset(seed=2)
        observations[radius] = scripted_adversary(env)(obs[ADVERSARY][None])
    np.testing.assert_allclose(observations[None], observations[5.0])
    assert np.abs(observations[None]).sum() > 0  # it moves


def test_the_landmark_guesser_heads_for_the_landmark_of_the_nearest_agent_it_sees() -> None:
    layout = ObsLayout.from_slots(
        10,
        {"landmarks_rel": slice(0, 4), "agent_0_rel": slice(4, 6), "agent_1_rel": slice(6, 8)},
    )
    obs = np.array(
        [
            [1.0, 0.0, -1.0, 0.0, 0.9, 0.1, -2.0, 0.0, 0, 0],  # agent_0 nearer, by the right-hand landmark
            [1.0, 0.0, -1.0, 0.0, 0.9, 3.0, -0.8, 0.0, 0, 0],  # agent_1 nearer, by the left-hand one
            [0.1, 0.0, -1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0, 0],  # none seen: stand still
            [0.05, 0.0, -1.0, 0.0, 0.1, 0.0, 0.0, 0.0, 0, 0],  # nearly there: a small push
        ],
        dtype=np.float32,
    )
    actions = landmark_guesser(layout, ["agent_0", "agent_1"])(obs)
    np.testing.assert_allclose(actions[:3], [[0, 0, 1, 0, 0], [0, 1, 0, 0, 0], [0, 0, 0, 0, 0]])
    np.testing.assert_allclose(actions[3], [0, 0, 0.1, 0, 0], atol=1e-6)
    np.testing.assert_array_equal(landmark_guesser(layout, ["agent_0", "agent_1"], continuous=False)(obs), [2, 1, 0, 2])


def test_the_agent_indicator_appends_each_learners_one_hot_index() -> None:
    make = partial(make_simple_adversary, max_cycles=3)
    env = make()
    layout = env.shared_obs_layout(GOOD_AGENTS, ADVERSARY)
    plain = SharedPolicyVecEnv(make, 2, GOOD_AGENTS, {ADVERSARY: scripted_adversary(env)})
    indicated = SharedPolicyVecEnv(make, 2, GOOD_AGENTS, {ADVERSARY: scripted_adversary(env)}, agent_indicator=True)
    assert indicated.observation_space.shape == (layout.size + 2,)
    for venv in (plain, indicated):
        venv.seed(4)
    first, second = plain.reset(), indicated.reset()
    np.testing.assert_array_equal(second[:, : layout.size], first)
    np.testing.assert_array_equal(second[:, layout.size :], [[1, 0], [0, 1], [1, 0], [0, 1]])
    actions = np.zeros((4, 5), dtype=np.float32)
    for _ in range(3):
        infos = indicated.step(actions)[3]
    np.testing.assert_array_equal(infos[1]["terminal_observation"][layout.size :], [0, 1])
    wider = indicated_layout(layout, 2)
    assert wider.size == layout.size + 2 and wider.slice("learner_index") == slice(layout.size, layout.size + 2)
    assert wider.slice("adversary_0_rel") == layout.slice("adversary_0_rel") and wider.other == layout.other
