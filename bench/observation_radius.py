"""Cost of ``envs.generic.observation_radius.ObservationRadius`` on MPE2's ``simple_adversary_v3``, against MPE2's own
rate.

Measured in one process: MPE2's parallel env (N=2, continuous actions) stepped with a fixed sequence of random
actions, and the same env wrapped with a radius for every agent (the wrapper's most expensive use), in interleaved
repeats (raw, wrapped, raw, ...) so that the machine's slow and fast spells fall on both alike. Each rate is total
steps over total seconds across the repeats; episodes are reset when they end, inside the timed loop.

Goal: the wrapper costs at most 15% of MPE2's step rate (wrapped / raw >= 0.85). Prints PASS/FAIL and always
exits 0 (a benchmark, not a test). Usage::

    python bench/observation_radius.py [--steps 2000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np

from envs.generic.observation_radius import ObservationRadius
from envs.mpe2.layouts import mpe2_layouts

COST_GOAL = 0.15
"""Largest allowed share of MPE2's step rate lost to the wrapper."""


def make_envs() -> dict[str, Any]:
    """The anchor (MPE2 as it is) and the wrapped env, both N=2 with continuous actions."""
    from mpe2 import simple_adversary_v3

    def raw() -> Any:
        return simple_adversary_v3.parallel_env(N=2, max_cycles=25, continuous_actions=True)

    return {"MPE2 simple_adversary_v3": raw(), "ObservationRadius(MPE2), every agent": wrap(raw())}


def wrap(env: Any) -> ObservationRadius:
    return ObservationRadius(env, mpe2_layouts(env), radius=0.5)


def timed_steps(env: Any, actions: list[dict[str, np.ndarray]]) -> float:
    """Seconds to play ``actions`` (one dict per step) through ``env``, resetting when an episode ends."""
    start = time.perf_counter()
    for joint in actions:
        if not env.agents:
            env.reset()
        env.step(joint)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=2000, help="env steps per case in each repeat")
    parser.add_argument("--repeats", type=int, default=5, help="interleaved repeats of every case")
    args = parser.parse_args()
    envs = make_envs()
    agents = next(iter(envs.values())).possible_agents
    rng = np.random.default_rng(0)
    actions = [{agent: rng.uniform(0, 1, 5).astype(np.float32) for agent in agents} for _ in range(args.steps)]
    seconds = dict.fromkeys(envs, 0.0)
    for env in envs.values():
        env.reset(seed=0)
        timed_steps(env, actions[:100])  # warm-up
    for _ in range(args.repeats):
        for name, env in envs.items():
            env.reset(seed=0)
            seconds[name] += timed_steps(env, actions)
    rates = {name: args.repeats * args.steps / spent for name, spent in seconds.items()}
    for name, rate in rates.items():
        print(f"{name:40s} {rate:9,.0f} env-steps/s")
    raw, wrapped = rates.values()
    ratio = wrapped / raw
    print(f"\n{args.repeats} interleaved repeats of {args.steps} steps")
    print(
        f"wrapped / MPE2 = {ratio:.3f} (cost {1 - ratio:.1%})   goal: cost <= {COST_GOAL:.0%}   "
        f"{'PASS' if 1 - ratio <= COST_GOAL else 'FAIL'}"
    )


if __name__ == "__main__":
    main()
