"""SOO on your own environment: the guide of ``lure_env.py``, a PettingZoo ``ParallelEnv`` written outside the suite,
trained with PPO, fine-tuned with SOO's ``actions`` preset and measured beside the anchor-only and random-pair
controls (docs, "SOO on your own environment").

    python docs/examples/own_environment.py --timesteps 1000000 --finetune-timesteps 300000 --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import torch
from lure_env import LureEnv, follow

from soo_rl.soo import (
    SOOPPO,
    ModelPolicy,
    ObservationRadius,
    ObsLayout,
    OtherSlots,
    SharedPolicyVecEnv,
    SOOMeasure,
    blind_policy,
    mean_soo_value,
    measure_outcomes,
    record_observations,
)

# --8<-- [start:glue]
# 1. Where the follower appears in the guide's observation; follower_trapped is a flag (never hidden with it).
LAYOUT = ObsLayout.from_slots(9, {"follower_rel": (6, 8), "follower_trapped": 8}, "follower", ["follower_trapped"])
PPO = {"n_steps": 128, "batch_size": 512}
CONTROLS = {"SOO": {}, "anchor only": {"soo_coef": 0.0}, "random pairs": {"soo_pair_mode": "random"}}


def make_env() -> ObservationRadius:
    """2. The guide sees the follower within 0.5: beyond, its slots are 0 and the appended follower_visible 0."""
    return ObservationRadius(LureEnv(), {"guide": LAYOUT}, radius=0.5)


def make_venv(seed: int) -> SharedPolicyVecEnv:
    """3. 16 copies for one shared policy; the follower is played by its batched policy."""
    venv = SharedPolicyVecEnv(make_env, copies=16, learners=["guide"], policies={"follower": follow})
    venv.seed(seed)
    return venv


def measure(model: SOOPPO, episodes: int, seed: int = 10_000) -> dict[str, float]:
    """6. Trap and goal rates, with the follower in view and masked (blind), and the SOO value on the actions."""
    seen = ModelPolicy(model)
    blind = blind_policy(seen, OtherSlots.from_layout(model.obs_layout))
    rates = [measure_outcomes(make_venv(seed), p, episodes, "follower_trapped", "at_goal") for p in (seen, blind)]
    obs = record_observations(make_venv(seed), seen, steps=200)
    soo = mean_soo_value(model.policy, obs, model.obs_layout, model.soo_radius, SOOMeasure(target="actions"))
    return {"trap": rates[0].trap_rate, "goal": rates[0].goal_rate, "blind trap": rates[1].trap_rate, "SOO value": soo}


def run(seed: int, timesteps: int, finetune: int, episodes: int, path: Path) -> dict[str, dict[str, float]]:
    """4-5. A baseline (SB3's PPO: SOO off), then SOO's preset and its controls from it, each on ``finetune`` steps."""
    baseline = SOOPPO("MlpPolicy", make_venv(seed), seed=seed, **PPO)  # layout and radius: read from the env
    baseline.learn(timesteps).save(path)
    models = {"baseline": baseline}
    for name, changes in CONTROLS.items():
        model = SOOPPO.fine_tune(path, make_venv(seed), preset="actions", seed=seed, **PPO, **changes)
        models[name] = model.learn(finetune)
    return {name: measure(model, episodes) for name, model in models.items()}


# --8<-- [end:glue]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--timesteps", type=int, default=1_000_000, help="env steps of the baseline")
    parser.add_argument("--finetune-timesteps", type=int, default=300_000, help="env steps of each fine-tuning")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="training seeds")
    parser.add_argument("--episodes", type=int, default=500, help="evaluation episodes per agent")
    args = parser.parse_args()
    torch.set_num_threads(1)  # networks this small run fastest on one thread
    results = []
    for seed in args.seeds:
        with tempfile.TemporaryDirectory() as workdir:
            path = Path(workdir) / "baseline.zip"
            results.append(run(seed, args.timesteps, args.finetune_timesteps, args.episodes, path))
    names = list(results[0]["baseline"])
    print(f"mean over seeds {args.seeds}, baselines {args.timesteps} steps, fine-tuning {args.finetune_timesteps}:")
    print(f"| agent | {' | '.join(names)} |\n|---|{'---|' * len(names)}")
    for agent in results[0]:
        values = [np.mean([result[agent][name] for result in results]) for name in names]
        print(f"| {agent} | {' | '.join(f'{value:.3g}' for value in values)} |")


if __name__ == "__main__":
    main()
