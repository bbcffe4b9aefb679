"""SOO on a PettingZoo environment the suite did not write: MPE2's ``simple_push_v3``.

Declare where the other agent appears in the learner's observation, give the learner an observation radius, then
train, fine-tune with SOO and measure the SOO value with the suite's own tools.

    python docs/examples/pettingzoo_soo.py --steps 20000
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
from mpe2 import simple_push_v3

from agents.batch_policy import ModelPolicy
from agents.soo_ppo import SOOPPO
from envs.generic.layout import ObsLayout
from envs.generic.observation_radius import ObservationRadius
from envs.generic.shared_vec_env import SharedPolicyVecEnv, record_observations
from soo_rl.measurement.soo_value import mean_soo_value

RADIUS = 0.4


def make_env() -> ObservationRadius:
    """``agent_0`` sees 19 numbers; the adversary's relative position is at 17:19. Beyond ``RADIUS`` the wrapper
    zeroes it and appends a visibility bit (``adversary_0_visible``)."""
    env = simple_push_v3.parallel_env(max_cycles=25, continuous_actions=True)
    layout = ObsLayout.from_slots(19, {"adversary_0_rel": slice(17, 19)})
    return ObservationRadius(env, {"agent_0": layout}, radius=RADIUS)


def still(obs: np.ndarray) -> np.ndarray:
    """The adversary's fixed batch policy: stand still."""
    return np.zeros((len(obs), 5), np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=20_000, help="env steps of the baseline and of the fine-tuning")
    args = parser.parse_args()
    layout = make_env().obs_layout("agent_0")  # the declared slots plus the appended visibility bit
    venv = SharedPolicyVecEnv(make_env, copies=8, learners=["agent_0"], policies={"adversary_0": still})
    venv.seed(0)
    ppo = {"n_steps": 64, "batch_size": 128, "seed": 0, "obs_layout": layout, "soo_radius": RADIUS}
    with tempfile.TemporaryDirectory() as tmp:
        base = SOOPPO("MlpPolicy", venv, **ppo)  # SOO off: vanilla SB3 PPO
        base.learn(args.steps)
        base.save(Path(tmp) / "base.zip")
        tuned = SOOPPO.fine_tune(Path(tmp) / "base.zip", venv, soo_coef=1.0, kl_coef=0.1, **ppo)
        tuned.learn(args.steps)
    for name, model in (("baseline", base), ("SOO fine-tuned", tuned)):
        obs = record_observations(venv, ModelPolicy(model), steps=200, seed=1)
        print(f"{name}: SOO value {mean_soo_value(model.policy, obs, layout, RADIUS):.4f}")


if __name__ == "__main__":
    main()
