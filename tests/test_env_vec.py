"""The SB3 ``VecEnv`` face: truncations, terminal observations, monitor infos, seeding, learners, PPO smoke."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.vec_env import VecCheckNan, VecEnv, VecMonitor

import envs.deception.deception_v0 as deception_v0
from envs.deception.core import BLUE_INDEX, RED_INDEX, DeceptionCore
from envs.deception.layout import BLUE, RED, layout_for
from envs.deception.parallel import observation_space
from envs.deception.vec_env import DeceptionVecEnv

NUM_ENVS = 4
MAX_CYCLES = 6
LEARNERS = [BLUE, RED]
MODES: dict[str, dict[str, Any]] = {"continuous": {}, "discrete": {"continuous_actions": False}}


@pytest.fixture(autouse=True)
def _one_torch_thread() -> None:
    torch.set_num_threads(1)  # the machine is shared


def zero_actions(venv: VecEnv) -> np.ndarray:
    if venv.action_space.shape:
        return np.zeros((venv.num_envs, *venv.action_space.shape), dtype=np.float32)
    return np.zeros(venv.num_envs, dtype=np.int64)


class ResetSpy:
    """Wraps ``core.reset`` to record the learner's observations and the state just before each masked reset."""

    def __init__(self, venv: DeceptionVecEnv) -> None:
        self.venv, self.core = venv, venv.core
        self.records: list[dict[str, Any]] = []
        self._reset = self.core.reset
        self.core.reset = self  # type: ignore[method-assign]

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        core: DeceptionCore = self.core
        red_obs, blue_obs = core.observations()
        self.records.append(
            {
                "obs": (blue_obs if self.venv.learner == BLUE else red_obs).copy(),
                "t": core.t.copy(),
                "pos": core.pos.copy(),
                "outcomes": core.episode_outcomes(),
                "mask": kwargs.get("mask"),
            }
        )
        self._reset(*args, **kwargs)


@pytest.mark.parametrize("learner", LEARNERS)
def test_time_limit_ends_are_truncations_with_terminal_observation(learner: str) -> None:
    venv = deception_v0.make_vec_env(num_envs=NUM_ENVS, seed=0, learner=learner, max_cycles=MAX_CYCLES, monitor=False)
    assert isinstance(venv, DeceptionVecEnv)
    obs = venv.reset()
    spy = ResetSpy(venv)
    self_pos = layout_for(learner, 2).slice("self_pos")
    index = BLUE_INDEX if learner == BLUE else RED_INDEX
    for step in range(1, 3 * MAX_CYCLES + 1):
        obs, _, dones, infos = venv.step(zero_actions(venv))
        if step % MAX_CYCLES:
            assert not dones.any() and infos == [{} for _ in range(NUM_ENVS)]
            continue
        assert dones.all()
        before = spy.records[-1]
        np.testing.assert_array_equal(before["t"], MAX_CYCLES)
        np.testing.assert_array_equal(before["mask"], np.ones(NUM_ENVS, dtype=bool))
        np.testing.assert_array_equal(venv.core.t, 0)
        for i, info in enumerate(infos):
            assert info["TimeLimit.truncated"] is True
            np.testing.assert_array_equal(info["terminal_observation"], before["obs"][i])
            np.testing.assert_array_equal(info["terminal_observation"][self_pos], np.float32(before["pos"][i, index]))
            assert not np.array_equal(info["terminal_observation"], obs[i]), "terminal obs must be pre-reset"
            for key in ("trapped", "blue_at_goal", "red_at_goal"):
                assert info[key] == before["outcomes"][key][i]
    assert len(spy.records) == 3


def test_monitor_reports_episode_return_and_length() -> None:
    venv = deception_v0.make_vec_env(num_envs=NUM_ENVS, seed=0, max_cycles=MAX_CYCLES, shaping_coef=0.1)
    assert isinstance(venv, VecMonitor)
    venv.reset()
    returns = np.zeros(NUM_ENVS)
    for _ in range(MAX_CYCLES):
        _, rewards, _, infos = venv.step(zero_actions(venv))
        returns += rewards
    for i, info in enumerate(infos):
        episode = info["episode"]
        assert episode["l"] == MAX_CYCLES
        assert episode["r"] == pytest.approx(returns[i], rel=1e-5) and episode["r"] != 0.0
        assert {"trapped", "blue_at_goal", "red_at_goal"} <= episode.keys()


def sb3_reset_obs(seed: int) -> np.ndarray:
    venv = deception_v0.make_vec_env(num_envs=NUM_ENVS)
    model = PPO("MlpPolicy", venv, seed=seed, n_steps=64, batch_size=64, device="cpu")
    return model.env.reset()


def test_sb3_seed_fixes_the_episodes() -> None:
    first = sb3_reset_obs(3)
    np.testing.assert_array_equal(first, sb3_reset_obs(3))
    assert not np.array_equal(first, sb3_reset_obs(4))


@pytest.mark.parametrize("mode", ["rgb_array", None])
def test_render_mode_attribute_is_exposed(mode: str | None) -> None:
    venv = deception_v0.make_vec_env(num_envs=2, render_mode=mode)
    assert venv.render_mode == mode
    assert venv.unwrapped.render_mode == mode
    assert venv.get_attr("render_mode") == [mode, mode]


def test_red_learner_sees_reds_observations_and_rewards() -> None:
    venv = deception_v0.make_vec_env(num_envs=NUM_ENVS, seed=0, learner=RED, monitor=False)
    assert isinstance(venv, DeceptionVecEnv)
    space = observation_space(venv.config, RED)
    assert venv.observation_space == space and venv.observation_space != observation_space(venv.config, BLUE)
    obs = venv.reset()
    np.testing.assert_array_equal(obs[:, layout_for(RED, 2).slice("self_pos")], np.float32(venv.core.pos[:, RED_INDEX]))
    _, rewards, _, _ = venv.step(zero_actions(venv))
    np.testing.assert_array_equal(rewards, np.float32(venv.core.rewards()[:, RED_INDEX]))


@pytest.mark.parametrize("learner", LEARNERS)
@pytest.mark.parametrize("mode", list(MODES))
def test_ppo_learns_briefly_without_nans(learner: str, mode: str) -> None:
    venv = VecCheckNan(
        deception_v0.make_vec_env(num_envs=NUM_ENVS, seed=0, learner=learner, max_cycles=16, **MODES[mode]),
        raise_exception=True,
    )
    model = PPO("MlpPolicy", venv, seed=0, n_steps=64, batch_size=64, n_epochs=1, device="cpu")
    model.learn(256)
    assert model.num_timesteps >= 256
    assert len(model.ep_info_buffer) > 0
