"""Wall time of one 8-job sweep on 1 and 2 local workers and on Ray with 2 CPUs, measured in one run.

The 8 jobs are the baseline trainings of a 4-seed sweep (honest and deceptive per seed) with a
shortened budget (``--timesteps`` per job), run through the same scheduler and task functions as
``train/sweep.py``; every case starts from an empty directory. Timing starts once the backend exists
(the Ray case joins a freshly started local cluster, as ``--ray`` joins a running one), and includes
starting the worker processes and importing torch in them.

Goals: 2 workers at least 1.7x faster than 1; Ray within 15% of the 2-worker local pool.
Run: ``python bench/sweep_scaling.py`` (needs the ``ray`` extra for the third case).
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from agents.hyperparams import PPOSettings
from soo_rl.experiment.config import ExperimentConfig
from soo_rl.experiment.graph import Task
from soo_rl.experiment.pipeline import experiment_tasks
from soo_rl.runner.scheduler import Backend, LocalBackend, run_tasks


def sweep_tasks(timesteps: int) -> list[Task]:
    """The 8 baseline trainings of a 4-seed run (evaluations left out)."""
    config = ExperimentConfig(
        run_dir=Path("run"),
        seeds=(0, 1, 2, 3),
        conditions=(),
        ppo=dataclasses.replace(PPOSettings(), total_timesteps=timesteps),
    )
    return [task for task in experiment_tasks(config, train_baselines=True) if task.key.endswith(".zip")]


def timed(make_backend: Callable[[Path], Backend], tasks: list[Task]) -> float:
    """Seconds to run ``tasks`` from scratch on a fresh backend: from the moment the backend exists (a Ray
    cluster is running, a process pool is created) to the last job's end, worker processes' start included."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        backend = make_backend(root)
        start = time.perf_counter()
        try:
            result = run_tasks(tasks, backend, root, retries=0)
        finally:
            backend.close()
        seconds = time.perf_counter() - start
    if not result.ok or len(result.ran) != len(tasks):
        raise RuntimeError(f"the sweep did not finish: {result.failed}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--timesteps", type=int, default=262_144, help="PPO timesteps of each job")
    args = parser.parse_args()
    tasks = sweep_tasks(args.timesteps)
    print(f"{len(tasks)} jobs of {args.timesteps:,} PPO timesteps each")
    cases: dict[str, Callable[[Path], Backend]] = {
        "local, 1 worker": lambda root: LocalBackend(root, 1),
        "local, 2 workers": lambda root: LocalBackend(root, 2),
    }
    try:
        from soo_rl.runner.ray_backend import RayBackend

        cases["Ray, 2 CPUs"] = lambda root: RayBackend(root, None, num_cpus=2)
    except ImportError:
        print("Ray is not installed (pip install 'soo-rl[ray]'): its case is skipped")
    seconds = {}
    for name, make_backend in cases.items():
        seconds[name] = timed(make_backend, tasks)
        print(f"{name:18s} {seconds[name]:7.1f} s")
    speedup = seconds["local, 1 worker"] / seconds["local, 2 workers"]
    print(f"\n2 workers vs 1: {speedup:.2f}x   goal >= 1.7x   {'PASS' if speedup >= 1.7 else 'FAIL'}")
    if "Ray, 2 CPUs" in seconds:
        overhead = seconds["Ray, 2 CPUs"] / seconds["local, 2 workers"] - 1
        print(f"Ray vs local pool: {100 * overhead:+.1f}%   goal <= +15%   {'PASS' if overhead <= 0.15 else 'FAIL'}")


if __name__ == "__main__":
    main()
