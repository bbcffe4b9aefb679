"""Training throughput (wall-clock timesteps/s) of PPO on our env, with and without SOO, vs an anchor.

Measured in one process, with the project's default PPO settings (``agents.hyperparams.PPOSettings``):

(a) ``SOOPPO`` on ``envs.deception.deception_v0.make_vec_env`` with SOO and KL off (vanilla PPO);
(b) the same with the SOO loss and the KL anchor on (a fine-tuning run);
(b') the same with the SOO loss on the ``actions`` target (the authors' choice);
(c) vanilla stable-baselines3 ``PPO`` on PettingZoo's MPE2 ``simple_adversary_v3`` through
    SuperSuit (parameter sharing over its 3 agents; about the same number of agent copies);
(d) (a) with a red that learns alongside blue (``agents.co_learning.new_co_learning_red``) instead of the
    scripted red follower.

The cases are timed in interleaved repeats (a, b, b', c, a, b, ...), so that the machine's slow and fast
spells fall on every case alike; each rate is total steps over total seconds across the repeats.

Goals: (a) at least 2x (c); SOO + KL costs at most 10% (time per step of (b) over (a) <= 1.10);
(b') no slower than (b); a co-learning baseline costs at most 1.6x a scripted-red one ((d) over (a)).
Run: ``python bench/ppo_throughput.py`` (``--repeats``, ``--rollouts``).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch as th
from stable_baselines3 import PPO

from agents.co_learning import new_co_learning_red
from agents.hyperparams import PPOSettings
from agents.soo_ppo import SOOPPO
from envs.deception.deception_v0 import make_vec_env

SOO_COST_GOAL = 1.10
"""Largest allowed ratio of SOO + KL's time per step to plain PPO's."""
CO_LEARNING_COST_GOAL = 1.6
"""Largest allowed ratio of a co-learning baseline's time per step to a scripted-red baseline's."""


def timed_learn(model: Any, rollouts: int) -> float:
    """Wall-clock seconds of ``rollouts`` more PPO iterations (collection + update) of ``model``."""
    start = time.perf_counter()
    model.learn(rollouts * model.n_steps * model.n_envs, reset_num_timesteps=False)
    return time.perf_counter() - start


def mpe2_env(agent_copies: int) -> Any:
    import supersuit as ss
    from mpe2 import simple_adversary_v3

    env = simple_adversary_v3.parallel_env(continuous_actions=True, max_cycles=50)
    env = ss.pad_observations_v0(env)
    env = ss.pad_action_space_v0(env)
    venv = ss.pettingzoo_env_to_vec_env_v1(env)
    copies = max(1, round(agent_copies / 3))
    return ss.concat_vec_envs_v1(venv, copies, num_cpus=0, base_class="stable_baselines3")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rollouts", type=int, default=2, help="PPO iterations per case in each repeat")
    parser.add_argument("--repeats", type=int, default=6, help="interleaved repeats of every case")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    args = parser.parse_args()
    th.set_num_threads(args.threads)
    settings = PPOSettings()
    kwargs = {**settings.to_sb3_kwargs(), "seed": 0}
    with tempfile.TemporaryDirectory() as tmp:
        reference = Path(tmp) / "reference.zip"

        def our_env(opponent: Any = None) -> Any:
            return settings.wrap_env(make_vec_env(settings.n_envs, opponent=opponent, seed=0))

        SOOPPO("MlpPolicy", our_env(), **kwargs).save(reference)
        builders: dict[str, Callable[[], Any]] = {
            "(a) SOOPPO, SOO/KL off, our VecEnv": lambda: SOOPPO("MlpPolicy", our_env(), **kwargs),
            "(b) SOOPPO, SOO + KL on, our VecEnv": lambda: SOOPPO.fine_tune(
                reference, our_env(), soo_coef=1.0, kl_coef=0.1, **kwargs
            ),
            "(b') SOOPPO, SOO on actions + KL on": lambda: SOOPPO.fine_tune(
                reference, our_env(), soo_coef=1.0, kl_coef=0.1, soo_target="actions", **kwargs
            ),
            # SuperSuit's vectorised env has no seed(): the anchor runs unseeded.
            "(c) SB3 PPO, MPE2 simple_adversary": lambda: PPO(
                "MlpPolicy", settings.wrap_env(mpe2_env(settings.n_envs)), **{**kwargs, "seed": None}
            ),
            "(d) SOOPPO, SOO/KL off, co-learning red": lambda: SOOPPO(
                "MlpPolicy", our_env(new_co_learning_red(settings, seed=1, total_timesteps=10**9)), **kwargs
            ),
        }
        models = {name: build() for name, build in builders.items()}
        for model in models.values():
            timed_learn(model, 1)  # warm-up: first rollout and update
        seconds = dict.fromkeys(models, 0.0)
        for _ in range(args.repeats):
            for name, model in models.items():
                seconds[name] += timed_learn(model, args.rollouts)
    steps = args.repeats * args.rollouts * settings.rollout_size
    rates = {name: steps / spent for name, spent in seconds.items()}
    for name, rate in rates.items():
        print(f"{name:40s} {rate:9,.0f} timesteps/s   ({models[name].n_envs} env copies)")
    a, b, actions, c, co_learning = rates.values()
    print(
        f"\nsettings: n_envs={settings.n_envs} n_steps={settings.n_steps} batch={settings.batch_size} "
        f"epochs={settings.n_epochs} net={settings.net_arch} threads={args.threads}; "
        f"{args.repeats} interleaved repeats of {args.rollouts} rollouts"
    )
    print(f"(a)/(c) = {a / c:.2f}x   goal >= 2x   {'PASS' if a >= 2 * c else 'FAIL'}")
    cost = a / b
    print(
        f"SOO + KL cost: (b) time per step / (a) = {cost:.3f}   goal <= {SOO_COST_GOAL}   "
        f"{'PASS' if cost <= SOO_COST_GOAL else 'FAIL'}"
    )
    within_noise = actions >= 0.95 * b  # timings on this kind of machine vary by about 5-10%
    print(f"(b') / (b) = {actions / b:.3f}   goal: no slower than (b)   {'PASS' if within_noise else 'FAIL'}")
    red_cost = a / co_learning
    print(
        f"co-learning red cost: (d) time per step / (a) = {red_cost:.3f}   goal <= {CO_LEARNING_COST_GOAL}   "
        f"{'PASS' if red_cost <= CO_LEARNING_COST_GOAL else 'FAIL'}"
    )


if __name__ == "__main__":
    main()
