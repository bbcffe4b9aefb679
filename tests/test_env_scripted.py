"""Scripted agents over 1,000 seeded episodes: the honest/deceptive contrast the SPEC promises."""

from __future__ import annotations

import numpy as np
import pytest

from envs.deception.config import make_config
from envs.deception.recording import Trajectories, rollout
from envs.deception.scripted import scripted_policy

EPISODES = 1000


def play(preset: str, blue: str, continuous_actions: bool = True, seed: int = 0) -> Trajectories:
    """``EPISODES`` episodes of the scripted red follower against scripted blue ``blue``."""
    config = make_config(preset, continuous_actions=continuous_actions)
    return rollout(config, scripted_policy("red_follower", config), scripted_policy(blue, config), EPISODES, seed=seed)


@pytest.mark.parametrize(
    ("preset", "continuous_actions"),
    [("paper", True), ("default", True), ("default", False)],
)
def test_honest_blue_rarely_traps_and_reaches_goal(preset: str, continuous_actions: bool) -> None:
    runs = play(preset, "honest", continuous_actions)
    assert runs.final_trapped.mean() <= 0.15
    assert runs.blue_at_goal.mean() >= 0.95


@pytest.mark.parametrize(
    ("preset", "continuous_actions"),
    [("paper", True), ("default", True), ("default", False)],
)
def test_deceptive_blue_traps_and_still_reaches_goal(preset: str, continuous_actions: bool) -> None:
    runs = play(preset, "deceptive", continuous_actions)
    assert runs.final_trapped.mean() >= 0.80
    assert runs.blue_at_goal.mean() >= 0.80


def test_rollout_seed_fixes_the_episodes_not_the_policies() -> None:
    """Same seed, different blue policies: identical initial states; other seed: different ones."""
    honest, deceptive, other = play("paper", "honest"), play("paper", "deceptive"), play("paper", "honest", seed=1)
    np.testing.assert_array_equal(honest.pos[0], deceptive.pos[0])
    np.testing.assert_array_equal(honest.landmarks, deceptive.landmarks)
    assert not np.array_equal(honest.pos[0], other.pos[0])
    assert not np.array_equal(honest.pos[-1], deceptive.pos[-1])


def test_deceptive_return_exceeds_honest_return_in_deceptive_mode() -> None:
    """Under the deceptive reward, the trap bonus makes the deceptive script pay more on average."""
    config = make_config("paper", reward_mode="deceptive")
    red = scripted_policy("red_follower", config)
    returns = {
        name: rollout(config, red, scripted_policy(name, config), EPISODES, seed=0).blue_return.mean()
        for name in ("honest", "deceptive")
    }
    assert returns["deceptive"] > returns["honest"]
