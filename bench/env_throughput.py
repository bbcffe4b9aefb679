"""Throughput of the physical-deception environment, against PettingZoo's MPE2 ``simple_adversary`` as anchor.

Measures, in one run on this machine:

- the batched core (``DeceptionCore.step`` + ``observations()``, resetting finished episodes) at several
  batch sizes N, in agent-steps per second (2 agents per episode);
- our PettingZoo ``ParallelEnv`` face and MPE2's ``simple_adversary_v3`` parallel env (continuous
  actions), each with a fixed action dict, in env-steps and agent-steps per second.

Goals: core at N=1024 >= 2,000,000 agent-steps/s; our ParallelEnv >= 4x MPE2's env-steps/s. Prints
PASS/FAIL per goal and always exits 0 (a benchmark, not a test). Usage::

    python bench/env_throughput.py [--seconds 2] [--sizes 1 64 1024 16384]
"""

from __future__ import annotations

import argparse
import os
import platform
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from envs.deception.config import make_config
from envs.deception.core import DeceptionCore

CORE_GOAL_N = 1024
CORE_GOAL_AGENT_STEPS = 2_000_000
FACE_GOAL_RATIO = 4.0


@dataclass(frozen=True)
class Result:
    """One measurement: ``steps`` calls of a step function, each advancing ``envs`` envs of ``agents`` agents."""

    name: str
    envs: int
    agents: int
    steps: int
    seconds: float

    @property
    def env_steps_per_s(self) -> float:
        return self.steps * self.envs / self.seconds

    @property
    def agent_steps_per_s(self) -> float:
        return self.env_steps_per_s * self.agents


def timed(step: Callable[[], None], seconds: float, warmup: int = 20, windows: int = 5) -> tuple[int, float]:
    """Call ``step`` repeatedly for about ``seconds`` seconds, split into ``windows`` equal windows;
    return (calls, elapsed) of the fastest window, the one least disturbed by other processes
    (the convention of ``timeit``). Every measurement, ours and the anchor's, is taken this way."""
    for _ in range(warmup):
        step()
    best: tuple[int, float] | None = None
    for _ in range(windows):
        calls, start = 0, time.perf_counter()
        deadline = start + seconds / windows
        while True:
            step()
            calls += 1
            now = time.perf_counter()
            if now >= deadline:
                break
        if best is None or calls / (now - start) > best[0] / best[1]:
            best = (calls, now - start)
    assert best is not None
    return best


def bench_core(num_envs: int, seconds: float) -> Result:
    """The batched core: step, observe, reset the finished episodes."""
    config = make_config()
    core = DeceptionCore(config, num_envs, seed=0)
    core.reset()
    actions = np.random.default_rng(0).uniform(-1.0, 1.0, size=(num_envs, 2, 2))

    def step() -> None:
        _, truncated = core.step(actions)
        core.observations()
        if truncated.any():
            core.reset(mask=truncated)

    calls, elapsed = timed(step, seconds)
    return Result(f"core N={num_envs}", num_envs, 2, calls, elapsed)


def bench_parallel(name: str, env: object, seconds: float) -> Result:
    """A PettingZoo ``ParallelEnv`` with a fixed action dict, reset whenever its episode ends."""
    env.reset(seed=0)  # type: ignore[attr-defined]
    agents = list(env.agents)  # type: ignore[attr-defined]
    for agent in agents:
        env.action_space(agent).seed(0)  # type: ignore[attr-defined]
    actions = {agent: env.action_space(agent).sample() for agent in agents}  # type: ignore[attr-defined]

    def step() -> None:
        if not env.agents:  # type: ignore[attr-defined]
            env.reset()  # type: ignore[attr-defined]
        env.step(actions)  # type: ignore[attr-defined]

    calls, elapsed = timed(step, seconds)
    return Result(name, 1, len(agents), calls, elapsed)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="time per measurement (default 2)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 64, CORE_GOAL_N, 16384], help="core batch sizes N")
    args = parser.parse_args()
    if args.seconds <= 0:
        parser.error("--seconds must be > 0")

    import envs.deception.deception_v0 as deception_v0

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from mpe2 import simple_adversary_v3

    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"python {platform.python_version()}, numpy {np.__version__}, {os.cpu_count()} CPU(s), load {load}")
    print(f"{args.seconds:g} s per measurement, best of 5 windows; other processes on the machine slow every row alike")
    results = [bench_core(n, args.seconds) for n in args.sizes]
    ours = bench_parallel("ParallelEnv deception_v0", deception_v0.parallel_env(), args.seconds)
    mpe = bench_parallel(
        "MPE2 simple_adversary_v3", simple_adversary_v3.parallel_env(continuous_actions=True), args.seconds
    )
    results += [ours, mpe]

    print(f"\n{'measurement':<28}{'agents':>7}{'env-steps/s':>16}{'agent-steps/s':>16}")
    for r in results:
        print(f"{r.name:<28}{r.agents:>7}{r.env_steps_per_s:>16,.0f}{r.agent_steps_per_s:>16,.0f}")

    print("\ngoals")
    core_goal = next((r for r in results if r.name == f"core N={CORE_GOAL_N}"), None)
    if core_goal is None:
        print(f"  core at N={CORE_GOAL_N}: not measured (add it to --sizes)")
    else:
        rate = core_goal.agent_steps_per_s
        print(
            f"  core at N={CORE_GOAL_N}: {rate:,.0f} agent-steps/s = {rate / CORE_GOAL_AGENT_STEPS:.2f}x "
            f"the goal of {CORE_GOAL_AGENT_STEPS:,}  {verdict(rate >= CORE_GOAL_AGENT_STEPS)}"
        )
    ratio = ours.env_steps_per_s / mpe.env_steps_per_s
    print(
        f"  ParallelEnv vs MPE2: {ratio:.2f}x MPE2's env-steps/s "
        f"(agent-steps/s: {ours.agent_steps_per_s / mpe.agent_steps_per_s:.2f}x), "
        f"goal >= {FACE_GOAL_RATIO:g}x  {verdict(ratio >= FACE_GOAL_RATIO)}"
    )


if __name__ == "__main__":
    main()
