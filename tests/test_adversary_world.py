"""MPE2's ``simple_adversary`` as a world of the experiment: its config, training env, evaluation and a quick run."""

from __future__ import annotations

import json
import subprocess
import sys
from functools import partial
from pathlib import Path

import numpy as np
import pytest

from agents.hyperparams import PPOSettings
from agents.soo_ppo import SOOPPO
from envs.generic.actions import BatchPolicy
from envs.generic.layout import ObsLayout
from envs.mpe2.simple_adversary import GOAL_RADIUS, goal_seeker, steer
from soo_rl.experiment.conditions import DEFAULT_CONDITIONS
from soo_rl.experiment.config import ExperimentConfig
from soo_rl.measurement.adversary_evaluation import evaluate_adversary, outcome, play
from soo_rl.measurement.evaluation import METRICS, EvalSettings
from soo_rl.measurement.metrics import OUTCOMES
from soo_rl.measurement.soo_value import SOOMeasure

pytest.importorskip("mpe2", reason="MPE2 is an optional extra (pip install -e '.[mpe2]')")

from soo_rl.experiment.worlds import MPE2_ADVERSARY, AdversaryWorld

SCRIPT = Path(__file__).resolve().parents[1] / "train" / "ppo_soo.py"


def test_the_default_conditions_are_those_the_world_supports() -> None:
    config = ExperimentConfig(preset=MPE2_ADVERSARY)
    assert set(DEFAULT_CONDITIONS) - set(config.conditions) == {"flag_only", "soo_paper"}
    assert ExperimentConfig(preset=MPE2_ADVERSARY, conditions=("soo", "honesty_reward")).conditions == (
        "soo",
        "honesty_reward",
    )
    with pytest.raises(ValueError, match=r"conditions \['flag_only'\] zero the red_trapped slot"):
        ExperimentConfig(preset=MPE2_ADVERSARY, conditions=("soo", "flag_only"))
    assert ExperimentConfig(preset=MPE2_ADVERSARY).held_out_variants() == ()


def to_first_landmark(layout: ObsLayout) -> BatchPolicy:
    """A scripted good agent that settles on the first landmark of its observation (the goal or the fake)."""
    where = layout.slice("landmarks_rel")

    def act(obs: np.ndarray) -> np.ndarray:
        return np.asarray(steer(obs[:, where][:, :2].astype(np.float64), continuous=True, gain=2.0))

    return act


def test_the_episode_outcomes_tell_a_goal_seeker_from_a_lure() -> None:
    world = AdversaryWorld(honesty_trap_penalty=5.0)
    red = world.red(None)
    make_env = partial(world.make_env, "deceptive")
    honest = play(make_env, goal_seeker(world.layout), red, 40, seed=5)
    assert (outcome(honest, "good_goal_distance") < GOAL_RADIUS).all()
    honest_fake = outcome(honest, "adversary_at_fake").mean()
    # both good agents walk to the first landmark: in the episodes where it is the fake, the adversary follows them
    lure = play(make_env, to_first_landmark(world.layout), red, 40, seed=5)
    first_is_fake = outcome(lure, "good_goal_distance") > GOAL_RADIUS
    assert 0 < first_is_fake.sum() < 40
    assert outcome(lure, "adversary_at_fake")[first_is_fake].mean() > honest_fake + 0.3


def test_evaluation_has_every_metric_and_is_reproducible() -> None:
    world = AdversaryWorld(honesty_trap_penalty=5.0)
    ppo = PPOSettings(n_envs=4, n_steps=16, batch_size=32)
    env = world.training_env(ppo, 0, "deceptive", world.red(None))
    assert env.num_envs == 4 and env.observation_space.shape == (world.layout.size,)
    model = SOOPPO("MlpPolicy", env, seed=0, **ppo.to_sb3_kwargs(), **world.model_kwargs())
    settings = EvalSettings(episodes=12, seed=3, soo_inserts=2, probe_episodes=6)
    first = world.evaluate(model, settings, SOOMeasure(), None, model)
    again = world.evaluate(model, settings, SOOMeasure(), None, None)
    summary = first.summary
    assert set(METRICS) | {f"outcome/{name}" for name in OUTCOMES} <= set(summary)
    assert sum(summary[f"outcome/{name}"] for name in OUTCOMES) == pytest.approx(1.0)
    assert summary["trap_rate"] == pytest.approx(first.trapped.mean()) == again.summary["trap_rate"]
    assert summary["goal_rate"] == pytest.approx(first.blue_at_goal.mean())
    assert summary["behaviour_distance"] == 0.0  # compared with itself
    assert np.isfinite(summary["soo_value"]) and summary["soo_value"] == again.summary["soo_value"]
    assert len(first.soo.sums) == settings.episodes
    assert np.isnan(summary["deceptive_step_rate"]) and np.isnan(summary["collision_steps"])


def test_evaluation_needs_the_layout_saved_with_the_model() -> None:
    world = AdversaryWorld(honesty_trap_penalty=5.0)
    ppo = PPOSettings(n_envs=4, n_steps=16, batch_size=32)
    model = SOOPPO("MlpPolicy", world.training_env(ppo, 0, "honest", world.red(None)), **ppo.to_sb3_kwargs())
    assert model.obs_layout == world.layout  # the env declares it (its soo_view)
    model.obs_layout = None
    with pytest.raises(ValueError, match="obs_layout and soo_radius"):
        evaluate_adversary(model, lambda: world.make_env("deceptive"), world.red(None), EvalSettings(), SOOMeasure())


def test_a_quick_run_on_mpe2(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    args = ["--quick", "--preset", MPE2_ADVERSARY, "--seeds", "0", "1", "--conditions", "soo", "honesty_reward"]
    args += ["--red", "learned"]  # the adversary: trained per seed, then frozen
    args += ["--eval.episodes", "20", "--eval.probe-episodes", "10", "--run-dir", str(run_dir)]
    done = subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads((run_dir / "results.json").read_text())
    assert list(results["conditions"]) == ["honest", "deceptive", "masked", "soo", "honesty_reward"]
    masked, deceptive = results["conditions"]["masked"], results["conditions"]["deceptive"]
    assert masked["trap_rate"]["per_seed"] == deceptive["blind_trap_rate"]["per_seed"]
    assert results["generalisation"] == {}
    assert (run_dir / "gifs" / "soo.gif").is_file()
    assert (run_dir / "checkpoints" / "red_seed1.zip").is_file()
    report = (run_dir / "report.md").read_text()
    assert MPE2_ADVERSARY in report and "nearer a fake landmark than the goal" in report
