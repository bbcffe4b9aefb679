"""The whole experiment as resumable stages: train baselines, fine-tune, evaluate, report.

Every stage writes its outputs atomically into the run directory; a stage whose output exists is
skipped on ``--resume``, so an interrupted run continues where it stopped.
"""

from __future__ import annotations

import json
import multiprocessing as mp
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch as th
from tqdm.auto import tqdm

from agents.soo_ppo import SOOPPO
from soo_rl.config import BASELINES, ExperimentConfig, checkpoint_path, from_mapping
from soo_rl.evaluation import evaluate
from soo_rl.io import atomic_path, write_json_atomic
from soo_rl.training import train_agent


@dataclass(frozen=True)
class Job:
    """One agent: its condition and training seed."""

    condition: str
    seed: int

    @property
    def name(self) -> str:
        return f"{self.condition}_seed{self.seed}"


def eval_paths(run_dir: Path, job: Job) -> tuple[Path, Path]:
    """Summary (JSON) and per-episode arrays (NPZ) of a job's evaluation."""
    return run_dir / "eval" / f"{job.name}.json", run_dir / "eval" / f"{job.name}.npz"


def prepare_run_dir(config: ExperimentConfig) -> None:
    """Create the run directory and record the settings; refuse to mix runs with different settings."""
    saved = config.run_dir / "config.json"
    if saved.exists():
        if not config.resume:
            raise FileExistsError(
                f"{config.run_dir} already holds a run; pass --resume to continue it or choose another --run-dir"
            )
        previous = json.loads(saved.read_text())
        current = config.to_dict()
        ignored = {"resume", "workers", "gifs"}
        changed = sorted(k for k in current if k not in ignored and previous.get(k) != current[k])
        if changed:
            raise ValueError(f"--resume with settings that differ from the run's config.json: {changed}")
    config.run_dir.mkdir(parents=True, exist_ok=True)
    write_json_atomic(saved, config.to_dict())


def training_jobs(config: ExperimentConfig) -> tuple[list[Job], list[Job]]:
    """Baseline jobs (empty when reusing another run's baselines) and fine-tuning jobs."""
    baselines = [] if config.baselines_from else [Job(mode, seed) for seed in config.seeds for mode in BASELINES]
    tunings = [Job(condition, seed) for seed in config.seeds for condition in config.conditions]
    return baselines, tunings


def all_agents(config: ExperimentConfig) -> list[Job]:
    """Every agent the report covers: the baselines and each fine-tuning condition, for every seed."""
    return [Job(c, s) for c in (*BASELINES, *config.conditions) for s in config.seeds]


def agent_checkpoint(config: ExperimentConfig, job: Job) -> Path:
    """Checkpoint of an agent (baselines may come from another run)."""
    source = config.baselines_from if job.condition in BASELINES and config.baselines_from else config.run_dir
    return checkpoint_path(source, job.condition, job.seed)


# ------------------------------------------------------------------ workers
_progress_queue: Any = None


def _init_worker(queue: Any) -> None:
    """Set up a worker (or the main process for inline jobs): its progress sink and one torch thread."""
    global _progress_queue
    _progress_queue = queue
    th.set_num_threads(1)


def _report(steps: int) -> None:
    if _progress_queue is not None:
        _progress_queue.put(steps)


def _train_job(config_dict: dict[str, Any], job: Job) -> str:
    config = from_mapping(config_dict)
    return str(train_agent(config, job.condition, job.seed, _report))


def _evaluate_job(config_dict: dict[str, Any], job: Job) -> str:
    config = from_mapping(config_dict)
    model = SOOPPO.load(agent_checkpoint(config, job), device="cpu")
    honest = SOOPPO.load(agent_checkpoint(config, Job("honest", job.seed)), device="cpu")
    evaluation, _ = evaluate(model, config.env_config("deceptive"), config.eval, honest_model=honest)
    summary_path, arrays_path = eval_paths(config.run_dir, job)
    with atomic_path(arrays_path) as tmp:
        np.savez(
            tmp,
            trapped=evaluation.trapped,
            blue_at_goal=evaluation.blue_at_goal,
            honest_return=evaluation.honest_return,
            soo_value=evaluation.soo_value,
        )
    write_json_atomic(summary_path, evaluation.summary)
    _report(1)
    return str(summary_path)


class Runner:
    """Runs jobs on a pool of worker processes (or inline with one worker), with a progress bar."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.queue: Any = None
        self.pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> Runner:
        if self.workers > 1:
            context = mp.get_context("spawn")
            self.queue = context.Manager().Queue()
            self.pool = ProcessPoolExecutor(
                self.workers, mp_context=context, initializer=_init_worker, initargs=(self.queue,)
            )
        return self

    def __exit__(self, *exc: object) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)

    def run(
        self,
        fn: Callable[[dict[str, Any], Job], str],
        config: ExperimentConfig,
        jobs: Iterable[Job],
        total: int,
        unit: str,
        desc: str,
    ) -> None:
        """Run ``fn(config, job)`` for every job; the bar advances by what jobs report (steps or jobs)."""
        jobs = list(jobs)
        if not jobs:
            return
        config_dict = config.to_dict()
        with tqdm(total=total, unit=unit, desc=desc, dynamic_ncols=True, smoothing=0.05) as bar:
            if self.pool is None:
                _init_worker(_BarQueue(bar))
                for job in jobs:
                    fn(config_dict, job)
                return
            pending: set[Future[str]] = {self.pool.submit(fn, config_dict, job) for job in jobs}
            while pending:
                done, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
                self._drain(bar)
                for future in done:
                    future.result()  # re-raise a worker's error here
            self._drain(bar)

    def _drain(self, bar: Any) -> None:
        while not self.queue.empty():
            bar.update(self.queue.get())


class _BarQueue:
    """Stands in for the workers' progress queue when jobs run inline."""

    def __init__(self, bar: Any) -> None:
        self.bar = bar

    def put(self, steps: int) -> None:
        self.bar.update(steps)


def run_experiment(config: ExperimentConfig) -> dict[str, Any]:
    """Run (or resume) every stage and return the results written to ``results.json``."""
    from soo_rl.report import write_report

    config = config.resolved()
    prepare_run_dir(config)
    baselines, tunings = training_jobs(config)
    todo_baselines = [job for job in baselines if not checkpoint_path(config.run_dir, job.condition, job.seed).exists()]
    todo_tunings = [job for job in tunings if not checkpoint_path(config.run_dir, job.condition, job.seed).exists()]
    todo_evals = [job for job in all_agents(config) if not eval_paths(config.run_dir, job)[0].exists()]
    with Runner(config.workers) as runner:
        runner.run(
            _train_job, config, todo_baselines, len(todo_baselines) * config.ppo.total_timesteps, "step", "baselines"
        )
        runner.run(
            _train_job, config, todo_tunings, len(todo_tunings) * config.finetune.timesteps, "step", "fine-tuning"
        )
        runner.run(_evaluate_job, config, todo_evals, len(todo_evals), "agent", "evaluation")
    return write_report(config)
