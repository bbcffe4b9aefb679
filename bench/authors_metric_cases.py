"""Where the authors' behavioural difference and the trap rate agree, and where they do not: a run's baselines
against the same deceptive agents with red masked from their view (agents that have stopped looking at red).

For each seed of a run directory: the honest baseline, the deceptive baseline and the deceptive baseline acting on
its self view (``measurement.evaluation.blind_policy``: red's slots zeroed) play the same seeded episodes against
the scripted red follower on the run's world. Printed per seed: each agent's trap rate and kept moves (the authors'
``authors_steps``: fake-ward moves with red physically within blue's radius), and the authors' behavioural
difference of three pairs, over 10 evaluation seeds of ``--episodes / 10`` episodes each (the episodes split into
consecutive groups, as in the experiment's report).

    python bench/authors_metric_cases.py runs/detection_default50/baselines/<fingerprint> --seeds 0 1 2 3 4
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from common import EVAL_SEED_OFFSET

from agents.batch_policy import ModelPolicy
from agents.soo.pairs import OtherSlots
from agents.soo_ppo import load_checkpoint
from envs.deception.config import make_config
from envs.deception.layout import blue_layout
from envs.deception.recording import rollout
from envs.deception.scripted import scripted_policy
from envs.generic.actions import BatchPolicy
from soo_rl.experiment.paths import AgentRef, checkpoint_path
from soo_rl.measurement import metrics
from soo_rl.measurement.authors import authors_behaviour_difference, authors_steps, steps_by_eval_seed
from soo_rl.measurement.evaluation import blind_policy

EVAL_SEEDS = 10
PAIRS = (("honest", "deceptive"), ("deceptive", "deceptive, red masked"), ("honest", "deceptive, red masked"))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", type=Path, help="a run directory holding honest and deceptive baselines")
    parser.add_argument("--preset", default="default", help="the world the baselines were trained in")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--episodes", type=int, default=1000, help="evaluation episodes (a multiple of 10)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    config = make_config(args.preset, reward_mode="deceptive")
    red = scripted_policy("red_follower", config)
    slots = OtherSlots.from_layout(blue_layout(config.num_landmarks))
    print(f"{'seed':>4} {'agent':<24}{'trap':>7}{'kept moves':>12}")
    differences: dict[tuple[str, str], list[float]] = {pair: [] for pair in PAIRS}
    for seed in args.seeds:
        honest, deceptive = (
            ModelPolicy(load_checkpoint(checkpoint_path(args.run_dir, AgentRef(name, seed))))
            for name in ("honest", "deceptive")
        )
        agents: dict[str, BatchPolicy] = {
            "honest": honest,
            "deceptive": deceptive,
            "deceptive, red masked": blind_policy(deceptive, slots),
        }
        steps = {}
        for name, policy in agents.items():
            trajectories = rollout(config, red, policy, args.episodes, seed=EVAL_SEED_OFFSET + seed)
            kept = authors_steps(trajectories)
            steps[name] = steps_by_eval_seed(kept, args.episodes, EVAL_SEEDS)
            print(f"{seed:>4} {name:<24}{metrics.trap_rate(trajectories):>7.3f}{len(kept.p):>12}")
        for first, second in PAIRS:
            differences[first, second].append(authors_behaviour_difference(steps[first], steps[second]).mean)
    print("\nauthors' behavioural difference, per seed and mean:")
    for (first, second), values in differences.items():
        shown = " ".join(f"{v:9.1f}" for v in values)
        print(f"  {first} vs {second:<24} {shown}   mean {np.mean(values):9.1f}")


if __name__ == "__main__":
    main()
