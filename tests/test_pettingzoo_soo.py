"""SOO on PettingZoo environments the suite did not write, through the public declaration alone.

A small env written here (with its own visibility bit) and MPE2's ``simple_adversary_v3`` / ``simple_push_v3``
(given a radius by ``ObservationRadius``) are declared in a few lines, trained through ``SharedPolicyVecEnv``,
fine-tuned with SOO and measured (SOO value, probe, blind mask).
"""

from __future__ import annotations

import importlib
import runpy
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
import torch as th
from gymnasium import spaces
from numpy.typing import NDArray
from pettingzoo import ParallelEnv
from pettingzoo.test import parallel_api_test
from stable_baselines3 import PPO

from agents.batch_policy import ModelPolicy
from agents.soo.pairs import OtherSlots, self_mask
from agents.soo_ppo import SOOPPO
from envs.generic.layout import ObsLayout
from envs.generic.observation_radius import ObservationRadius
from envs.generic.shared_vec_env import SharedPolicyVecEnv, record_observations
from envs.mpe2.layouts import mpe2_layouts
from soo_rl.measurement.evaluation import blind_policy
from soo_rl.measurement.probe import probe_observations
from soo_rl.measurement.soo_value import mean_soo_value

TINY: dict[str, Any] = {
    "n_steps": 16,
    "batch_size": 64,
    "n_epochs": 2,
    "policy_kwargs": {"net_arch": [16, 16]},
    "device": "cpu",
}
MPE2_REASON = "MPE2 is an optional extra (pip install -e '.[mpe2]')"


class Rendezvous(ParallelEnv[str, NDArray[np.float32], NDArray[np.float32]]):
    """A scout that knows a target and a walker it sees only within ``radius``, as a third party might write it.

    Scout's observation: ``[self_pos(2), target_rel(2), walker_rel(2), walker_visible(1)]`` (``walker_rel`` is 0
    out of view); the walker's: ``[self_pos(2), scout_rel(2)]``. Moves are ``0.1 * action``.
    """

    metadata: ClassVar[dict[str, Any]] = {"name": "rendezvous_v0", "render_modes": []}

    def __init__(self, radius: float = 0.5, max_cycles: int = 20) -> None:
        self.possible_agents = ["scout", "walker"]
        self.agents: list[str] = []
        self.render_mode = None
        self.radius, self.max_cycles = radius, max_cycles
        self._spaces = {
            "scout": spaces.Box(-4.0, 4.0, shape=(7,), dtype=np.float32),
            "walker": spaces.Box(-4.0, 4.0, shape=(4,), dtype=np.float32),
        }
        self._action = spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32)
        self._rng = np.random.default_rng()

    def observation_space(self, agent: str) -> spaces.Space[Any]:
        return self._spaces[agent]

    def action_space(self, agent: str) -> spaces.Space[Any]:
        return self._action

    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[dict[str, Any], Any]:
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        self.pos, self.target = self._rng.uniform(-1, 1, (2, 2)), self._rng.uniform(-1, 1, 2)
        self.agents, self.cycle = list(self.possible_agents), 0
        return self._observe(), {agent: {} for agent in self.agents}

    def step(self, actions: dict[str, Any]) -> tuple[dict[str, Any], dict[str, float], Any, Any, Any]:
        for index, agent in enumerate(self.possible_agents):
            self.pos[index] = np.clip(self.pos[index] + 0.1 * np.clip(actions[agent], -1, 1), -1, 1)
        self.cycle += 1
        rewards = {
            "scout": -float(np.linalg.norm(self.target - self.pos[0])),
            "walker": -float(np.linalg.norm(self.pos[0] - self.pos[1])),
        }
        done = self.cycle >= self.max_cycles
        observations, flags = self._observe(), dict.fromkeys(self.agents, done)
        infos: dict[str, dict[str, Any]] = {agent: {} for agent in self.agents}
        if done:
            self.agents = []
        return observations, rewards, dict.fromkeys(flags, False), flags, infos

    def _observe(self) -> dict[str, NDArray[np.float32]]:
        rel = self.pos[1] - self.pos[0]
        seen = float(np.linalg.norm(rel) <= self.radius)
        scout = np.concatenate([self.pos[0], self.target - self.pos[0], rel * seen, [seen]])
        walker = np.concatenate([self.pos[1], -rel])
        return {"scout": scout.astype(np.float32), "walker": walker.astype(np.float32)}


# The whole declaration a user writes: which slots hold the other agent, and which agent SOO inserts.
RENDEZVOUS_LAYOUT = ObsLayout.from_slots(7, {"walker_rel": slice(4, 6), "walker_visible": 6}, other="walker")


def walker_wanders(obs: NDArray[np.float32]) -> NDArray[np.float32]:
    """The walker's fixed batched policy: drift towards the arena's centre."""
    return np.clip(-obs[:, :2] * 3.0, -1, 1).astype(np.float32)


def rendezvous_venv(copies: int = 4) -> SharedPolicyVecEnv:
    return SharedPolicyVecEnv(Rendezvous, copies, ["scout"], {"walker": walker_wanders})


def same_parameters(a: th.nn.Module, b: th.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(th.equal(sa[k], sb[k]) for k in sa)


def scenario(name: str) -> Any:
    pytest.importorskip("mpe2", reason=MPE2_REASON)
    return importlib.import_module(f"mpe2.{name}")


def still(obs: NDArray[np.float32]) -> NDArray[np.float32]:
    """An MPE2 agent that does not move (continuous actions)."""
    return np.zeros((len(obs), 5), dtype=np.float32)


def make_adversary() -> ObservationRadius:
    env = scenario("simple_adversary_v3").parallel_env(N=2, max_cycles=25, continuous_actions=True)
    return ObservationRadius(env, mpe2_layouts(env, ["agent_0", "agent_1"]), radius=0.5)


# ------------------------------------------------------------------ a small env written here
def test_the_small_env_is_a_valid_pettingzoo_env() -> None:
    parallel_api_test(Rendezvous(), num_cycles=30)


def test_soo_fine_tuning_and_soo_value_on_a_declared_env(tmp_path: Path) -> None:
    settings = {**TINY, "obs_layout": RENDEZVOUS_LAYOUT, "soo_radius": 0.5, "seed": 0}
    base = SOOPPO("MlpPolicy", rendezvous_venv(), **settings)
    base.learn(256)
    base.save(tmp_path / "base.zip")
    observations = record_observations(rendezvous_venv(), ModelPolicy(base), steps=60, seed=100)
    before = mean_soo_value(base.policy, observations, RENDEZVOUS_LAYOUT, 0.5, seed=0)
    after = {}
    for soo_coef in (0.0, 10.0):  # the anchor-only control, then SOO
        tuned = SOOPPO.fine_tune(
            tmp_path / "base.zip", rendezvous_venv(), soo_coef=soo_coef, kl_coef=0.1, learning_rate=3e-3, **settings
        )
        tuned.learn(320)
        after[soo_coef] = mean_soo_value(tuned.policy, observations, RENDEZVOUS_LAYOUT, 0.5, seed=0)
    assert np.isfinite(before) and 0 <= after[10.0] < 0.8 * min(before, after[0.0])
    assert mean_soo_value(tuned.policy, observations, RENDEZVOUS_LAYOUT, 0.5, seed=0) == after[10.0]  # seeded
    # The blind mask acts on the declared slots: the blind scout's actions never depend on the walker.
    blind = blind_policy(ModelPolicy(tuned), OtherSlots.from_layout(RENDEZVOUS_LAYOUT))
    flat = observations.reshape(-1, 7)
    moved = flat.copy()
    moved[:, 4:7] = np.array([0.1, -0.2, 1.0], dtype=np.float32)
    np.testing.assert_array_equal(blind(flat), blind(moved))


def test_a_declaration_without_a_visibility_slot_reads_absence_from_zeros() -> None:
    observations = record_observations(rendezvous_venv(), walker_wanders, steps=40, seed=3).reshape(-1, 7)
    without_bit = ObsLayout.from_slots(7, {"walker_rel": slice(4, 6)}, other="walker")
    assert OtherSlots.from_layout(without_bit).visible is None
    obs = th.as_tensor(observations)
    by_bit = self_mask(obs, OtherSlots.from_layout(RENDEZVOUS_LAYOUT))
    assert 0 < int(by_bit.sum()) < len(obs)
    assert th.equal(self_mask(obs, OtherSlots.from_layout(without_bit)), by_bit)


def test_soo_ppo_checks_the_declaration_against_the_env() -> None:
    too_short = ObsLayout.from_slots(6, {"walker_rel": slice(4, 6)}, other="walker")
    with pytest.raises(ValueError, match="covers 6 entries but the learner's observation space has 7"):
        SOOPPO("MlpPolicy", rendezvous_venv(), obs_layout=too_short, soo_radius=0.5, **TINY)
    with pytest.raises(ValueError, match="no other-agent slots \\['scout_rel'\\]"):
        SOOPPO(
            "MlpPolicy",
            rendezvous_venv(),
            soo_coef=1.0,
            obs_layout=RENDEZVOUS_LAYOUT.__class__(RENDEZVOUS_LAYOUT.fields, other="scout"),
            soo_radius=0.5,
            **TINY,
        )
    with pytest.raises(ValueError, match="needs the learner's observation radius"):
        SOOPPO("MlpPolicy", rendezvous_venv(), soo_coef=1.0, obs_layout=RENDEZVOUS_LAYOUT, **TINY)


# ------------------------------------------------------------------ the VecEnv face
def test_vec_env_episodes_end_as_truncations_with_terminal_observations() -> None:
    venv = rendezvous_venv(copies=3)
    venv.seed(5)
    obs = venv.reset()
    assert obs.shape == (3, 7) and obs.dtype == np.float32
    for step in range(20):
        obs, rewards, dones, infos = venv.step(np.zeros((3, 2), dtype=np.float32))
        assert rewards.shape == (3,) and dones.all() == (step == 19) and not (dones.any() and not dones.all())
    assert all(info["TimeLimit.truncated"] and info["terminal_observation"].shape == (7,) for info in infos)
    assert not np.array_equal(obs, np.stack([info["terminal_observation"] for info in infos]))  # reset


def test_vec_env_seeds_each_copy_and_orders_learners_within_copies() -> None:
    learners = ["agent_0", "agent_1"]
    venv = SharedPolicyVecEnv(make_adversary, 3, learners, {"adversary_0": still})
    venv.seed(10)
    obs = venv.reset()
    assert obs.shape == (6, 12)
    for copy in range(3):
        expected, _ = make_adversary().reset(seed=10 + 2 * copy)
        for j, learner in enumerate(learners):
            np.testing.assert_array_equal(obs[2 * copy + j], expected[learner])
    again = SharedPolicyVecEnv(make_adversary, 3, learners, {"adversary_0": still})
    again.seed(10)
    np.testing.assert_array_equal(again.reset(), obs)
    actions = np.random.default_rng(0).uniform(0, 1, (6, 5)).astype(np.float32)
    np.testing.assert_array_equal(venv.step(actions)[0], again.step(actions)[0])


@pytest.mark.parametrize(
    ("learners", "policies", "message"),
    [
        (["scout"], {}, "missing for \\['walker'\\]"),
        (["scout", "walker"], {}, "learners sharing one policy need equal spaces"),
        (["scout"], {"walker": walker_wanders, "scout": walker_wanders}, "given to learners \\['scout'\\]"),
        (["seeker"], {"walker": walker_wanders}, "unknown agents: \\['seeker'\\]"),
    ],
)
def test_vec_env_rejects_bad_teams(learners: list[str], policies: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SharedPolicyVecEnv(Rendezvous, 2, learners, policies)


# ------------------------------------------------------------------ MPE2
def test_zero_coefficients_on_a_wrapped_mpe2_env_give_vanilla_ppo_bit_for_bit() -> None:
    learners = ["agent_0", "agent_1"]
    layout = make_adversary().shared_obs_layout(learners, "adversary_0")

    def venv() -> SharedPolicyVecEnv:
        return SharedPolicyVecEnv(make_adversary, 4, learners, {"adversary_0": still})

    # Build and train one after the other: SB3 seeds the global RNGs when a model is built.
    vanilla = PPO("MlpPolicy", venv(), seed=1, **TINY)
    vanilla.learn(256)
    ours = SOOPPO("MlpPolicy", venv(), seed=1, obs_layout=layout, soo_radius=0.5, **TINY)
    ours.learn(256)
    assert same_parameters(vanilla.policy, ours.policy)
    with_soo = SOOPPO("MlpPolicy", venv(), seed=1, obs_layout=layout, soo_radius=0.5, soo_coef=1.0, **TINY)
    with_soo.learn(256)
    assert not same_parameters(vanilla.policy, with_soo.policy)  # the check can fail


def test_soo_on_mpe2_simple_push_through_the_public_api(tmp_path: Path) -> None:
    module = scenario("simple_push_v3")

    # The user's declaration: agent_0's observation has 19 entries, the adversary's position is at 17:19.
    def make() -> ObservationRadius:
        env = module.parallel_env(max_cycles=25, continuous_actions=True)
        layout = ObsLayout.from_slots(19, {"adversary_0_rel": slice(17, 19)})
        return ObservationRadius(env, {"agent_0": layout}, radius=0.4)

    layout = make().obs_layout("agent_0")
    assert layout.other == "adversary_0" and layout.size == 20
    settings = {**TINY, "obs_layout": layout, "soo_radius": 0.4, "seed": 0}

    def venv() -> SharedPolicyVecEnv:
        return SharedPolicyVecEnv(make, 4, ["agent_0"], {"adversary_0": still})

    base = SOOPPO("MlpPolicy", venv(), **settings)
    base.learn(128)
    base.save(tmp_path / "base.zip")
    tuned = SOOPPO.fine_tune(tmp_path / "base.zip", venv(), soo_coef=1.0, kl_coef=0.1, **settings)
    tuned.learn(256)
    assert not same_parameters(base.policy, tuned.policy)
    fit = record_observations(venv(), ModelPolicy(tuned), steps=50, seed=1)
    score = record_observations(venv(), ModelPolicy(tuned), steps=50, seed=2)
    assert np.isfinite(mean_soo_value(tuned.policy, fit, layout, 0.4))
    probe = probe_observations(tuned, fit, score, layout, 0.4, alphas=[1.0])
    assert np.isfinite(probe["r2"]) and probe["fit_samples"] > 0


def test_the_docs_example_runs(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("mpe2", reason="the example needs MPE2 (pip install -e '.[mpe2]')")
    example = Path(__file__).resolve().parents[1] / "docs" / "examples" / "pettingzoo_soo.py"
    monkeypatch.setattr("sys.argv", [str(example), "--steps", "256"])
    runpy.run_path(str(example), run_name="__main__")
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == ["baseline", "SOO fine-tuned"]
    assert all(np.isfinite(float(line.rsplit(" ", 1)[1])) for line in lines)
