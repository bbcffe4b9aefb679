"""The ``contingent`` world: luring pays only while blue watches red (absent reds, a red that gives up, radii
0.4 / 0.2), with the default observation layout."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import envs.deception.deception_v0 as deception_v0
from envs.deception.config import DeceptionConfig, make_config
from envs.deception.core import BLUE_INDEX, RED_INDEX, DeceptionCore, InitialState
from envs.deception.layout import BLUE, RED
from envs.deception.recording import Trajectories, rollout
from envs.deception.scripted import scripted_policy

EPISODES = 1000
SEED = 4321
StateFactory = Callable[..., dict[str, Any]]


@pytest.fixture(scope="module")
def config() -> DeceptionConfig:
    return make_config("contingent")


@pytest.fixture(scope="module")
def played(config: DeceptionConfig) -> dict[str, Trajectories]:
    """1,000 seeded episodes of the honest, always-luring and contingent scripted blues (the same episodes)."""
    red = scripted_policy("red_follower", config)
    names = ("honest", "deceptive", "contingent")
    return {name: rollout(config, red, scripted_policy(name, config), EPISODES, seed=SEED) for name in names}


def one_episode(config: DeceptionConfig, state: dict[str, Any], blue_move: tuple[float, float], steps: int):
    """Core reset to ``state``; scripted red, blue pushing ``blue_move`` every step; red's positions per step."""
    core = DeceptionCore(config)
    core.reset(initial_state=InitialState.from_mapping(state, config.num_landmarks))
    red = scripted_policy("red_follower", config)
    positions = [core.pos[0, RED_INDEX].copy()]
    for _ in range(steps):
        actions = np.zeros((1, 2, 2))
        actions[:, RED_INDEX] = red(core.observations()[0])
        actions[:, BLUE_INDEX] = blue_move
        core.step(actions)
        positions.append(core.pos[0, RED_INDEX].copy())
    return core, np.array(positions)


def test_the_preset_keeps_the_default_observation_layout() -> None:
    contingent, default = deception_v0.parallel_env(preset="contingent"), deception_v0.parallel_env()
    for agent in (RED, BLUE):
        assert contingent.observation_space(agent) == default.observation_space(agent)
        assert contingent.action_space(agent) == default.action_space(agent)


def test_a_red_that_follows_is_always_in_blues_view(config: DeceptionConfig) -> None:
    assert config.blue_radius > config.red_radius and config.red_gives_up


def test_an_absent_red_never_moves_is_never_seen_and_is_never_trapped(config: DeceptionConfig) -> None:
    core = DeceptionCore(config, 4000, seed=SEED)
    core.reset()
    absent = core.red_absent.copy()
    assert abs(absent.mean() - config.absent_red_share) < 0.03
    start = core.pos.copy()
    rng = np.random.default_rng(0)
    for _ in range(30):
        core.step(rng.uniform(-1, 1, size=(4000, 2, 2)))
        assert not core.events()["sees"][absent].any()
        assert not core.trapped[absent].any()
        assert not core.observations()[1][absent][:, -4:-1].any()  # other_rel and other_visible stay zero
    np.testing.assert_array_equal(core.pos[absent, RED_INDEX], start[absent, RED_INDEX])
    assert np.array_equal(core.red_absent, absent)


def test_red_on_the_fake_is_trapped_only_if_present(config: DeceptionConfig, make_state: StateFactory) -> None:
    on_fake = make_state(red_pos=[-0.6, -0.6], blue_pos=[-0.55, -0.6])
    present, _ = one_episode(config, on_fake, (0.0, 0.0), 1)
    absent, _ = one_episode(config, {**on_fake, "red_absent": True}, (0.0, 0.0), 1)
    assert present.trapped.tolist() == [True] and absent.trapped.tolist() == [False]


def test_a_red_that_loses_sight_of_blue_gives_up(config: DeceptionConfig, make_state: StateFactory) -> None:
    slow = config.replace(red_speed=0.5)  # so that blue, running right at full speed, gets away from red
    state = make_state(red_pos=[-0.8, 0.0], blue_pos=[-0.65, 0.0])
    _, gives_up = one_episode(slow, state, (1.0, 0.0), 25)
    _, keeps_on = one_episode(slow.replace(red_gives_up=False), state, (1.0, 0.0), 25)
    lost = int(np.argmax(np.abs(np.diff(gives_up[:, 0])) < 1e-12))
    assert 0 < lost < 20
    np.testing.assert_allclose(gives_up[lost:], np.repeat(gives_up[lost : lost + 1], len(gives_up) - lost, axis=0))
    assert keeps_on[-1, 0] > gives_up[-1, 0] + 0.05  # without giving up, red walks on to where it last saw blue


def test_absent_reds_are_seeded_and_replayed_over_many_resets(config: DeceptionConfig) -> None:
    def draws(seed: int) -> np.ndarray:
        core = DeceptionCore(config, 64, seed=seed)
        flags = []
        for _ in range(30):
            core.reset()
            flags.append(core.red_absent.copy())
        return np.stack(flags)

    assert np.array_equal(draws(3), draws(3))
    assert not np.array_equal(draws(3), draws(4))


def test_no_draw_is_made_for_absent_reds_in_the_other_worlds() -> None:
    """Presets without absent reds keep their episodes exactly (the absence draw is skipped)."""
    default = DeceptionCore(make_config("default"), 16, seed=5)
    default.reset()
    zero_share = DeceptionCore(make_config("default", absent_red_share=0.0, red_gives_up=False), 16, seed=5)
    zero_share.reset()
    np.testing.assert_array_equal(default.pos, zero_share.pos)
    assert not default.red_absent.any()


def test_an_explicit_initial_state_sets_absent_reds(config: DeceptionConfig, make_state: StateFactory) -> None:
    env = deception_v0.parallel_env(preset="contingent")
    env.reset(options={"initial_state": make_state(red_absent=True)})
    assert env.core.red_absent.tolist() == [True]
    env.reset(options={"initial_state": make_state()})
    assert env.core.red_absent.tolist() == [False]
    for bad in ([True, False], 1, "yes"):
        with pytest.raises(ValueError, match="red_absent"):
            env.reset(options={"initial_state": make_state(red_absent=bad)})
    batch = {key: [value, value] for key, value in make_state().items()}
    state = InitialState.from_mapping({**batch, "red_absent": [True, False]}, config.num_landmarks)
    assert state.red_absent.tolist() == [True, False]
    assert InitialState.from_mapping(batch, config.num_landmarks).red_absent.tolist() == [False, False]


def test_the_world_rewards_contingent_deception_over_always_luring(played: dict[str, Trajectories]) -> None:
    deceptive_return = {name: traj.blue_return.mean() for name, traj in played.items()}
    assert deceptive_return["contingent"] > deceptive_return["deceptive"] + 20
    assert deceptive_return["contingent"] > deceptive_return["honest"] + 20


def test_always_luring_loses_goal_time_when_no_red_follows(played: dict[str, Trajectories]) -> None:
    absent = played["deceptive"].red_absent
    assert np.array_equal(absent, played["contingent"].red_absent) and 0.2 < absent.mean() < 0.3
    goal_steps = {name: traj.at_goal[1:, :, BLUE_INDEX].sum(axis=0) for name, traj in played.items()}
    assert goal_steps["deceptive"][absent].mean() < 0.5 * goal_steps["contingent"][absent].mean()
    assert goal_steps["contingent"][absent].mean() == pytest.approx(goal_steps["honest"][absent].mean())


def test_luring_traps_red_only_where_a_lure_is_possible(played: dict[str, Trajectories]) -> None:
    contingent, honest = played["contingent"], played["honest"]
    present = ~contingent.red_absent
    assert contingent.final_trapped[present].mean() > 0.9
    assert not contingent.final_trapped[~present].any()
    assert honest.final_trapped[present].mean() < 0.2


def test_a_red_that_gave_up_follows_again_in_the_next_episode(
    config: DeceptionConfig, make_state: StateFactory
) -> None:
    slow = config.replace(red_speed=0.5)
    core = DeceptionCore(slow)
    red = scripted_policy("red_follower", slow)
    away = InitialState.from_mapping(make_state(red_pos=[-0.8, 0.0], blue_pos=[-0.65, 0.0]), slow.num_landmarks)
    for reset in range(2):
        core.reset(initial_state=away)
        start = core.pos[0, RED_INDEX].copy()
        actions = np.zeros((1, 2, 2))
        actions[:, RED_INDEX] = red(core.observations()[0])
        core.step(actions)
        assert np.linalg.norm(core.pos[0, RED_INDEX] - start) > 0, f"red did not follow after reset {reset}"
        for _ in range(20):  # blue runs away: red loses sight of it and gives up
            actions[:, RED_INDEX] = red(core.observations()[0])
            actions[:, BLUE_INDEX] = (1.0, 0.0)
            core.step(actions)
        assert core.red_gave_up.tolist() == [True]
