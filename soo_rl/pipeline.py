"""The whole experiment as a graph of jobs: train baselines, fine-tune, evaluate, then report.

Every job writes its outputs atomically; a job whose output exists is skipped, so an interrupted
run continues where it stopped (``--resume``). Jobs run on the scheduler (``soo_rl.scheduler``):
a fine-tuning run starts as soon as its deceptive baseline exists, an evaluation as soon as its
checkpoints do. Paths inside the jobs are relative to a root directory (the run directory, or a
sweep's directory), so the same jobs run in place or on another node.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from agents.soo_ppo import SOOPPO
from envs.variants import HELD_OUT_VARIANTS
from soo_rl.config import BASELINES, RED, ExperimentConfig, checkpoint_path, from_mapping, red_checkpoint
from soo_rl.evaluation import METRICS, evaluate, outcome_rates
from soo_rl.io import atomic_path, write_json_atomic
from soo_rl.scheduler import GraphResult, LocalBackend, Manifest, Task, run_tasks
from soo_rl.training import learned_red, red_policy, train_agent


@dataclass(frozen=True)
class Job:
    """One agent: its condition and training seed."""

    condition: str
    seed: int

    @property
    def name(self) -> str:
        return f"{self.condition}_seed{self.seed}"


def agent_dir(config: ExperimentConfig, job: Job) -> Path:
    """The run directory an agent lives in (baselines may come from another directory)."""
    return config.baselines_from if job.condition in BASELINES and config.baselines_from else config.run_dir


def agent_checkpoint(config: ExperimentConfig, job: Job) -> Path:
    """Checkpoint of an agent."""
    return checkpoint_path(agent_dir(config, job), job.condition, job.seed)


def eval_fingerprint(config: ExperimentConfig) -> str:
    """Short hash of what an evaluation depends on besides the checkpoints: world, red, evaluation settings and
    what it measures."""
    settings: dict[str, Any] = {"preset": config.preset, "eval": dataclasses.asdict(config.eval)}
    # What an evaluation measures: a new metric or variant makes earlier evaluations incomplete.
    settings["measures"] = [*METRICS, *HELD_OUT_VARIANTS]
    if config.red != "scripted":
        settings["red"] = config.red
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:10]


def eval_paths(config: ExperimentConfig, job: Job) -> tuple[Path, Path]:
    """Summary (JSON, written last) and per-episode arrays (NPZ) of an agent's evaluation.

    They sit beside the agent's checkpoint, under the evaluation's fingerprint: runs that share
    baselines (a sweep's cells, ``--baselines-from``) evaluate each baseline once per setting.
    """
    folder = agent_dir(config, job) / "eval" / eval_fingerprint(config)
    return folder / f"{job.name}.json", folder / f"{job.name}.npz"


def all_agents(config: ExperimentConfig) -> list[Job]:
    """Every agent the report covers: the baselines and each fine-tuning condition, for every seed."""
    return [Job(c, s) for c in (*BASELINES, *config.conditions) for s in config.seeds]


def rebase(config: ExperimentConfig, root: Path) -> ExperimentConfig:
    """The config with its directories (relative to ``root``) made real paths under ``root``."""
    baselines = None if config.baselines_from is None else root / config.baselines_from
    return dataclasses.replace(config, run_dir=root / config.run_dir, baselines_from=baselines)


def _config(root: Path, config_dict: dict[str, Any]) -> ExperimentConfig:
    return rebase(from_mapping(config_dict), root)


def train_task(root: Path, config_dict: dict[str, Any], condition: str, seed: int) -> None:
    """Job: train (a baseline) or fine-tune (from the deceptive baseline) one agent."""
    train_agent(_config(root, config_dict), condition, seed)


def evaluate_task(root: Path, config_dict: dict[str, Any], condition: str, seed: int) -> None:
    """Job: evaluate one agent on the seeded evaluation episodes."""
    config = _config(root, config_dict)
    job = Job(condition, seed)
    model = SOOPPO.load(agent_checkpoint(config, job), device="cpu")
    honest = SOOPPO.load(agent_checkpoint(config, Job("honest", seed)), device="cpu")
    world = config.env_config("deceptive")
    red = learned_red(config, seed)
    evaluation, _ = evaluate(model, world, config.eval, red_policy(world, red), honest_model=honest)
    if config.eval.variant_episodes:
        variants = {name: config.variant_config(name) for name in HELD_OUT_VARIANTS}
        rates = outcome_rates(
            model, variants, lambda w: red_policy(w, red), config.eval.variant_episodes, config.eval.seed
        )
        evaluation.summary.update({f"variant/{key}": value for key, value in rates.items()})
    summary_path, arrays_path = eval_paths(config, job)
    with atomic_path(arrays_path) as tmp:
        np.savez(
            tmp,
            trapped=evaluation.trapped,
            blue_at_goal=evaluation.blue_at_goal,
            honest_return=evaluation.honest_return,
            soo_value=evaluation.soo_value,
        )
    write_json_atomic(summary_path, evaluation.summary)


def experiment_tasks(config: ExperimentConfig, train_baselines: bool) -> list[Task]:
    """Every job of one run, its directories relative to the scheduler's root.

    :param config: the (resolved) run; its baselines live in ``baselines_from`` when set.
    :param train_baselines: also train the baselines (into ``baselines_from`` when set, else ``run_dir``).
    """
    config_dict = config.to_dict()
    baseline_dict = {**config_dict, "run_dir": str(agent_dir(config, Job("honest", 0))), "baselines_from": None}
    reds = {seed: (str(red_checkpoint(config, seed)),) if config.red == "learned" else () for seed in config.seeds}
    tasks: list[Task] = []

    def train(job: Job, args: dict[str, Any], inputs: tuple[str, ...]) -> None:
        key = str(checkpoint_path(Path(args["run_dir"]), job.condition, job.seed))
        board = str(Path(args["run_dir"]) / "tensorboard" / f"{job.name}_*")
        tasks.append(Task(key, train_task, (args, job.condition, job.seed), inputs, inputs, (board, key)))

    for job in all_agents(config):
        if job.condition in BASELINES and train_baselines:
            if job.condition == BASELINES[0] and reds[job.seed]:
                train(Job(RED, job.seed), baseline_dict, ())
            train(job, baseline_dict, reds[job.seed])
        elif job.condition not in BASELINES:
            train(job, config_dict, (str(agent_checkpoint(config, Job("deceptive", job.seed))), *reds[job.seed]))
    for job in all_agents(config):
        agents = (str(agent_checkpoint(config, job)), str(agent_checkpoint(config, Job("honest", job.seed))))
        inputs = tuple(dict.fromkeys((*agents, *reds[job.seed])))
        summary, arrays = eval_paths(config, job)
        args = (config_dict, job.condition, job.seed)
        tasks.append(Task(str(summary), evaluate_task, args, inputs, inputs, (str(arrays), str(summary))))
    # Inputs made by jobs of this graph are its dependencies; the others (reused baselines) exist already.
    trained = {task.key for task in tasks}
    return [dataclasses.replace(task, deps=tuple(d for d in task.deps if d in trained)) for task in tasks]


def prepare_run_dir(config: ExperimentConfig, run_dir: Path | None = None) -> None:
    """Create the run directory and record the settings; refuse to mix runs with different settings.

    :param config: the settings to record.
    :param run_dir: where the run lives, if not at ``config.run_dir`` (a sweep records its cells'
        directories relative to the sweep, so a sweep directory can be moved).
    """
    run_dir = run_dir or config.run_dir
    saved = run_dir / "config.json"
    if saved.exists():
        if not config.resume:
            raise FileExistsError(
                f"{run_dir} already holds a run; pass --resume to continue it or choose another --run-dir"
            )
        previous = json.loads(saved.read_text())
        # A setting added after the run started counts as unchanged if it has its default value.
        previous = _with_defaults(previous, ExperimentConfig().to_dict())
        current = config.to_dict()
        ignored = {"run_dir", "resume", "workers", "retries", "gifs"}  # run_dir: where config.json is
        if set(previous["seeds"]) <= set(current["seeds"]):
            ignored.add("seeds")  # more seeds extend the run
        changed = sorted(k for k in current if k not in ignored and previous[k] != current[k])
        if changed:
            raise ValueError(f"--resume with settings that differ from the run's config.json: {changed}")
    run_dir.mkdir(parents=True, exist_ok=True)
    write_json_atomic(saved, config.to_dict())


def _with_defaults(saved: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    merged = dict(defaults)
    for key, value in saved.items():
        is_group = isinstance(value, dict) and isinstance(defaults.get(key), dict)
        merged[key] = _with_defaults(value, defaults[key]) if is_group else value
    return merged


def failure_message(result: GraphResult) -> str:
    """One paragraph naming the failed jobs (and those they blocked), with the last line of each error."""
    lines = [f"{key}: {error.strip().splitlines()[-1]}" for key, error in result.failed.items()]
    return (
        f"{len(result.failed)} job(s) failed, {len(result.blocked)} blocked by them; "
        f"errors in manifest.json. " + "; ".join(lines)
    )


def run_experiment(config: ExperimentConfig) -> dict[str, Any]:
    """Run (or resume) every job and return the results written to ``results.json``."""
    from soo_rl.report import write_report

    config = config.resolved()
    if config.baselines_from is not None:
        missing = [str(path) for path in config.baseline_checkpoints(config.baselines_from) if not path.is_file()]
        if missing:
            raise ValueError(f"baselines_from={config.baselines_from}: missing checkpoint(s) {missing}")
    prepare_run_dir(config)
    root = config.run_dir.resolve()
    relative = dataclasses.replace(
        config,
        run_dir=Path("."),
        baselines_from=None if config.baselines_from is None else config.baselines_from.resolve(),
    )
    backend = LocalBackend(root, config.workers)
    try:
        result = run_tasks(
            experiment_tasks(relative, train_baselines=config.baselines_from is None),
            backend,
            root,
            retries=config.retries,
            manifest=Manifest(root / "manifest.json"),
            desc="experiment",
        )
    finally:
        backend.close()
    if not result.ok:
        raise RuntimeError(failure_message(result))
    return write_report(config)
