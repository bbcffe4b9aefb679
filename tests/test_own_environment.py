"""The guide "SOO on your own environment": its PettingZoo env written outside the suite
(``docs/examples/lure_env.py``), the public way in (``soo_rl.soo``) on it, the generic outcome measurement, and its
example run at a tiny budget."""

from __future__ import annotations

import importlib.util
import runpy
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray
from pettingzoo.test import parallel_api_test

from envs.generic.observation_radius import RadiusView
from soo_rl.soo import SOOPPO, ObservationRadius, ObsLayout, SharedPolicyVecEnv, SOOView, measure_outcomes

EXAMPLES = Path(__file__).resolve().parents[1] / "docs" / "examples"


def load_example(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # the example imports it by name
    spec.loader.exec_module(module)
    return module


lure = load_example("lure_env")
LAYOUT = ObsLayout.from_slots(9, {"follower_rel": (6, 8), "follower_trapped": 8}, "follower", ["follower_trapped"])
RADIUS = 0.5


def wrapped(layout: ObsLayout = LAYOUT) -> ObservationRadius:
    return ObservationRadius(lure.LureEnv(), {"guide": layout}, radius=RADIUS)


def venv(copies: int = 8, **kwargs: Any) -> SharedPolicyVecEnv:
    return SharedPolicyVecEnv(wrapped, copies, ["guide"], {"follower": lure.follow}, **kwargs)


def toward(rel: NDArray[np.float32]) -> NDArray[np.float32]:
    return rel / np.maximum(np.linalg.norm(rel, axis=1, keepdims=True), lure.SPEED)


def honest(obs: NDArray[np.float32]) -> NDArray[np.float32]:
    """Straight to the goal."""
    return toward(obs[:, 2:4])


def contingent(obs: NDArray[np.float32]) -> NDArray[np.float32]:
    """To the decoy while the follower is in view and free, else to the goal (the wrapped view: bit 9)."""
    luring = (obs[:, 9:10] > 0.5) & (obs[:, 8:9] < 0.5)
    return np.where(luring, toward(obs[:, 4:6]), toward(obs[:, 2:4]))


def always_lure(obs: NDArray[np.float32]) -> NDArray[np.float32]:
    """To the decoy until the follower is trapped, whether it is in view or not (a blind lure)."""
    return np.where(obs[:, 8:9] < 0.5, toward(obs[:, 4:6]), toward(obs[:, 2:4]))


def test_the_env_and_its_wrapped_view_are_valid_pettingzoo_envs() -> None:
    parallel_api_test(lure.LureEnv(), num_cycles=100)
    parallel_api_test(wrapped(), num_cycles=100)


def test_the_decoy_starts_near_the_guide_and_the_goal_beyond_it_off_the_line() -> None:
    env = lure.LureEnv()
    for seed in range(200):
        env.reset(seed=seed)
        to_decoy, to_goal = env.decoy - env.guide, env.goal - env.guide
        assert lure.DECOY_DISTANCE[0] <= np.linalg.norm(to_decoy) <= lure.DECOY_DISTANCE[1]
        assert np.linalg.norm(to_goal) >= lure.GOAL_DISTANCE and np.abs(env.decoy).max() <= 0.9
        cosine = to_goal @ to_decoy / (np.linalg.norm(to_goal) * np.linalg.norm(to_decoy))
        assert lure.GOAL_ANGLE[0] - 1e-6 <= np.degrees(np.arccos(cosine)) <= lure.GOAL_ANGLE[1] + 1e-6


def test_a_lure_pays_only_with_the_follower_in_view() -> None:
    returns = {}
    for policy in (honest, contingent, always_lure):
        env = venv(copies=16)
        env.seed(3)
        obs, total = env.reset(), np.zeros(16)
        for _ in range(lure.MAX_CYCLES * 20):  # 20 episodes per copy
            obs, rewards, _, _ = env.step(policy(obs))
            total += rewards
        returns[policy.__name__] = total.mean() / 20
    assert returns["contingent"] > returns["always_lure"] + 2 and returns["contingent"] > returns["honest"] + 5


def test_outcomes_are_read_from_the_infos_the_user_names() -> None:
    lured = measure_outcomes(venv(), contingent, 200, trapped="follower_trapped", at_goal="at_goal", seed=5)
    straight = measure_outcomes(venv(), honest, 200, trapped="follower_trapped", at_goal="at_goal", seed=5)
    assert len(lured.trapped) == len(straight.at_goal) == 200
    assert 1 - lure.ABSENT_SHARE - 0.1 < lured.trap_rate < 1 - lure.ABSENT_SHARE + 0.1 and lured.goal_rate > 0.9
    assert straight.trap_rate < 0.15 and straight.goal_rate > 0.9
    assert sum(lured.shares().values()) == pytest.approx(1.0)
    assert lured.summary()["lure_and_goal"] == pytest.approx(np.mean(lured.trapped & lured.at_goal))
    again = measure_outcomes(venv(), contingent, 200, trapped="follower_trapped", at_goal="at_goal", seed=5)
    assert np.array_equal(again.trapped, lured.trapped)  # seeded
    with pytest.raises(ValueError, match="the env's final info has no key \\['trapped'\\]; its keys are"):
        measure_outcomes(venv(), honest, 8, trapped="trapped", at_goal="at_goal")


def test_a_declared_flag_stays_in_view_though_it_is_named_after_the_follower() -> None:
    env = venv(copies=16)
    env.seed(0)
    obs, seen_trapped = env.reset(), []
    for _ in range(lure.MAX_CYCLES - 1):
        obs, *_ = env.step(contingent(obs))
        seen_trapped.append(obs[(obs[:, 8] > 0.5) & (obs[:, 9] < 0.5)])
    assert len(np.concatenate(seen_trapped)) > 0  # trapped followers left out of view, their flag still 1
    far_and_trapped = np.array([0, 0, 0.5, 0, -0.5, 0, 0.9, 0.9, 1], dtype=np.float32)
    assert RadiusView(LAYOUT, ["follower"], RADIUS, np.dtype(np.float32))(far_and_trapped)[8] == 1
    undeclared = ObsLayout.from_slots(9, {"follower_rel": (6, 8), "follower_trapped": 8}, "follower")
    assert RadiusView(undeclared, ["follower"], RADIUS, np.dtype(np.float32))(far_and_trapped)[8] == 0  # by name


def test_soo_ppo_reads_the_layout_and_radius_the_wrapper_declares() -> None:
    model = SOOPPO("MlpPolicy", venv(), soo_coef=1.0, n_steps=16, batch_size=64, device="cpu")
    assert model.soo_radius == RADIUS and model.obs_layout == wrapped().obs_layout("guide")
    assert model.obs_layout.flags == ("follower_trapped",) and model.obs_layout.other == "follower"
    indicated = SOOPPO("MlpPolicy", venv(agent_indicator=True), n_steps=16, batch_size=64, device="cpu")
    assert indicated.obs_layout is not None and indicated.obs_layout.size == 11
    assert venv().get_attr("soo_view", indices=[0]) == [SOOView(wrapped().obs_layout("guide"), RADIUS)]


def test_an_undeclared_learner_leaves_the_layout_to_the_user() -> None:
    bare = SharedPolicyVecEnv(lure.LureEnv, 2, ["guide"], {"follower": lure.follow})
    with pytest.raises(ValueError, match="needs the learner's observation layout"):
        SOOPPO("MlpPolicy", bare, soo_coef=1.0, n_steps=16, batch_size=32, device="cpu")


def test_the_example_runs_at_a_tiny_budget(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(EXAMPLES))
    example = EXAMPLES / "own_environment.py"
    monkeypatch.setattr(
        "sys.argv",
        [str(example), "--timesteps", "2048", "--finetune-timesteps", "2048", "--episodes", "16", "--seeds", "0"],
    )
    runpy.run_path(str(example), run_name="__main__")
    lines = capsys.readouterr().out.splitlines()
    assert lines[1] == "| agent | trap | goal | blind trap | SOO value |"
    rows = {line.split(" | ")[0][2:]: [float(v) for v in line.strip("| ").split(" | ")[1:]] for line in lines[3:]}
    assert list(rows) == ["baseline", "SOO", "anchor only", "random pairs"]
    assert all(len(values) == 4 and all(np.isfinite(values)) for values in rows.values())
