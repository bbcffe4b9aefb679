"""The whole experiment as a graph of tasks: train baselines, fine-tune, evaluate, animate.

Every task writes its outputs atomically; a finished task whose outputs are as the manifest recorded them
is skipped, so an interrupted run continues where it stopped (``--resume``). A fine-tuning run can start
as soon as its deceptive baseline exists, an evaluation as soon as its checkpoints do. Paths inside the
tasks are relative to a root directory (the run directory, or a sweep's directory), so the same tasks
run in place or on another node. Each task's cost, the work the progress bar counts, is in training env
steps. ``soo_rl.runner`` runs the graph; ``soo_rl.experiment.results`` collects what it made.
"""

from __future__ import annotations

import dataclasses
import glob
import json
import zipfile
from pathlib import Path
from typing import Any

import imageio.v2 as imageio
import imageio.v3 as iio
import numpy as np

from agents.soo_ppo import SOOPPO, load_checkpoint
from envs.deception.animation import save_animation
from envs.deception.config import make_config
from envs.generic.io import atomic_path, write_json_atomic
from soo_rl.experiment.conditions import BASELINES, CONDITIONS, MASKED_CONTROLS, reported
from soo_rl.experiment.config import ExperimentConfig, from_mapping
from soo_rl.experiment.graph import DamagedFileError, Task, read_json
from soo_rl.experiment.paths import (
    BASELINE_RED,
    FINGERPRINT,
    LEARNED_RED_MODEL,
    AgentRef,
    agent_checkpoint,
    baseline_checkpoints,
    checkpoint_path,
    eval_paths,
    evaluation_fingerprint,
    gif_path,
    own_red_path,
    red_checkpoint,
    red_inputs,
    tensorboard_dir,
    training_fingerprint,
)
from soo_rl.experiment.training import baseline_red, evaluation_red, train_agent, training_timesteps
from soo_rl.experiment.worlds import World, world_for
from soo_rl.measurement.evaluation import mask_other, outcome_rates

EVALUATED_STEP_COST = 0.08
"""Training-step equivalents per env step of an evaluation. Measured: the default evaluation (1,000 episodes, 1,000
on each of the 7 held-out variants, the probe's 2 x 200; 50 steps an episode, 100 in ``long_episodes``: 470,000 env
steps) took 2.8 s, as long as ~38,000 training steps at the 12.8k-14.3k steps/s of a fine-tuning (500k steps in 39 s)
and a baseline (2M steps in 140 s)."""
ANIMATION_COST = 12_000.0
"""Training-step equivalents of one episode animation (GIF): measured 0.9 s, mostly drawing and encoding."""
CONFIG_REMEDY = (
    "it records the settings a resume must match: delete it and resume with the settings the run was started with "
    '(results.json lists them under "config" if the run finished)'
)


def all_agents(config: ExperimentConfig) -> list[AgentRef]:
    """Every agent the report covers: the baselines, the masked controls and each fine-tuning condition, for every
    seed."""
    return [AgentRef(c, s) for c in reported(config.conditions) for s in config.seeds]


def rebase(config: ExperimentConfig, root: Path) -> ExperimentConfig:
    """The config with its directories (relative to ``root``) made real paths under ``root``."""
    baselines = None if config.baselines_from is None else root / config.baselines_from
    return dataclasses.replace(config, run_dir=root / config.run_dir, baselines_from=baselines)


def _config(root: Path, config_dict: dict[str, Any]) -> ExperimentConfig:
    return rebase(from_mapping(config_dict), root)


def train_task(root: Path, config_dict: dict[str, Any], condition: str, seed: int) -> None:
    """Task: train (a baseline or learned red) or fine-tune (from the deceptive baseline) one agent."""
    train_agent(_config(root, config_dict), AgentRef(condition, seed))


def load_agent(config: ExperimentConfig, agent: AgentRef, world: World) -> SOOPPO:
    """An agent of the run as it is evaluated: its checkpoint, with the other agent masked from its observation for a
    masked control (``measurement.evaluation.mask_other``)."""
    model = load_checkpoint(agent_checkpoint(config, agent))
    return model if CONDITIONS[agent.condition].masked_from is None else mask_other(model, world.other_slots())


def evaluate_task(root: Path, config_dict: dict[str, Any], condition: str, seed: int) -> None:
    """Task: evaluate one agent on the seeded evaluation episodes (and the held-out variants), with its behavioural
    distances to the honest baseline and to the masked control of its seed; its summary and arrays carry the job's
    ``evaluation_fingerprint``."""
    config = _config(root, config_dict)
    world = world_for(config)
    agent = AgentRef(condition, seed)
    model = load_agent(config, agent, world)
    honest = load_checkpoint(agent_checkpoint(config, AgentRef("honest", seed)))
    reference = AgentRef(MASKED_CONTROLS[0], seed)
    masked = model if agent == reference else load_agent(config, reference, world)
    settings, red = config.evaluation(), evaluation_red(config, agent)
    evaluation = world.evaluate(model, settings, config.soo_measure(), red, honest, masked)
    first_red = baseline_red(config, agent)
    if first_red is not None:  # a co-learning red, in one of the suite's worlds
        worlds = {BASELINE_RED: make_config(config.preset, reward_mode="deceptive")}
        rates = outcome_rates(model, worlds, lambda _: first_red, settings.episodes, settings.seed)
        evaluation.summary.update(rates)
    summary_path, arrays_path = eval_paths(config, agent)
    job = evaluation_fingerprint(config, agent)
    arrays: dict[str, Any] = {
        FINGERPRINT: np.array(job),
        "trapped": evaluation.trapped,
        "blue_at_goal": evaluation.blue_at_goal,
        "honest_return": evaluation.honest_return,
        "soo_sum": evaluation.soo.sums,
        "soo_steps": evaluation.soo.steps,
    }
    if evaluation.authors is not None:
        arrays.update({f"authors_{name}": values for name, values in evaluation.authors._asdict().items()})
    with atomic_path(arrays_path) as tmp:
        np.savez(tmp, **arrays)
    write_json_atomic(summary_path, {**evaluation.summary, FINGERPRINT: job})


def animate_task(root: Path, config_dict: dict[str, Any], condition: str) -> None:
    """Task: one episode animation of ``condition`` (its first seed's agent, the first evaluation episode), its GIF
    comment the job's fingerprint."""
    config = _config(root, config_dict)
    world = world_for(config)
    agent = AgentRef(condition, config.seeds[0])
    model = load_agent(config, agent, world)
    frames = world.frames(model, evaluation_red(config, agent), config.evaluation().seed)
    save_animation(frames, gif_path(config.run_dir, condition), comment=evaluation_fingerprint(config, agent))


def evaluation_cost(config: ExperimentConfig) -> float:
    """The work of one agent's evaluation, in training-step equivalents: its env steps (``World.evaluated_steps``)
    times ``EVALUATED_STEP_COST``."""
    return EVALUATED_STEP_COST * world_for(config).evaluated_steps(config.evaluation())


def read_output(path: Path) -> str | None:
    """Read an output of the experiment whole, raising if it is damaged: a checkpoint must load, a JSON file parse,
    every array of an NPZ file load, every frame of a GIF decode (what ``--rebuild-manifest`` and ``--verify``
    check).

    :return: the fingerprint of the job that made it (``paths.FINGERPRINT``), ``None`` if it carries none.
    :raise ValueError: a file of a kind the experiment does not write.
    """
    if path.suffix == ".zip":
        load_checkpoint(path)
        with zipfile.ZipFile(path) as archive:
            return archive.read(FINGERPRINT).decode() if FINGERPRINT in archive.namelist() else None
    if path.suffix == ".json":
        data = json.loads(path.read_text())
        return data.get(FINGERPRINT) if isinstance(data, dict) else None
    if path.suffix == ".npz":
        with np.load(path) as arrays:
            loaded = dict(arrays.items())
        return str(loaded[FINGERPRINT]) if FINGERPRINT in loaded else None
    if path.suffix == ".gif":
        imageio.mimread(path)
        return iio.immeta(path).get("comment", b"").decode() or None
    raise ValueError(f"{path}: the experiment writes no such file")


def experiment_tasks(config: ExperimentConfig, train_baselines: bool) -> list[Task]:
    """Every task of one run, its directories relative to the scheduler's root.

    :param config: the (resolved) run; its baselines live in ``baselines_from`` when set.
    :param train_baselines: also train the baselines (into ``baselines_from`` when set, else ``run_dir``).
    """
    config_dict = config.to_dict()
    home = config.baselines_from or config.run_dir
    baseline_dict = {**config_dict, "run_dir": str(home), "baselines_from": None}
    learned = {seed: (str(red_checkpoint(config, seed)),) if config.red == "learned" else () for seed in config.seeds}
    tasks: list[Task] = []

    def train(agent: AgentRef, args: dict[str, Any], inputs: tuple[str, ...]) -> None:
        run_dir = Path(args["run_dir"])
        key = str(checkpoint_path(run_dir, agent))
        outputs: tuple[str, ...] = (f"{glob.escape(str(tensorboard_dir(run_dir)))}/{agent.name}_*", glob.escape(key))
        if config.red == "co-learning":
            outputs += (glob.escape(str(own_red_path(run_dir, agent))),)
        steps = training_timesteps(config, agent)
        job = training_fingerprint(config, agent)
        tasks.append(Task(key, train_task, (args, agent.condition, agent.seed), inputs, inputs, outputs, steps, job))

    for agent in all_agents(config):
        if agent.condition in BASELINES and train_baselines:
            if agent.condition == BASELINES[0] and learned[agent.seed]:
                train(AgentRef(LEARNED_RED_MODEL, agent.seed), baseline_dict, ())
            train(agent, baseline_dict, learned[agent.seed])
        elif CONDITIONS[agent.condition].fine_tuned:
            deceptive = AgentRef("deceptive", agent.seed)
            inputs = (str(agent_checkpoint(config, deceptive)), *red_inputs(config, deceptive))
            train(agent, config_dict, inputs)
    for agent in all_agents(config):
        references = (AgentRef("honest", agent.seed), AgentRef(MASKED_CONTROLS[0], agent.seed))
        inputs = tuple(dict.fromkeys(str(agent_checkpoint(config, a)) for a in (agent, *references)))
        inputs = (*inputs, *red_inputs(config, agent))
        summary, arrays = eval_paths(config, agent)
        args = (config_dict, agent.condition, agent.seed)
        outputs = (glob.escape(str(arrays)), glob.escape(str(summary)))
        job = evaluation_fingerprint(config, agent)
        tasks.append(Task(str(summary), evaluate_task, args, inputs, inputs, outputs, evaluation_cost(config), job))
    if config.gifs:
        first = config.seeds[0]
        for condition in reported(config.conditions):
            agent = AgentRef(condition, first)
            inputs = (str(agent_checkpoint(config, agent)), *red_inputs(config, agent)[:1])
            key = str(gif_path(config.run_dir, condition))
            gif: tuple[str, ...] = (glob.escape(key),)
            job = evaluation_fingerprint(config, agent)
            tasks.append(Task(key, animate_task, (config_dict, condition), inputs, inputs, gif, ANIMATION_COST, job))
    # Inputs made by tasks of this graph are its dependencies; the others (reused baselines) exist already.
    made = {task.key for task in tasks}
    return [dataclasses.replace(task, deps=tuple(d for d in task.deps if d in made)) for task in tasks]


def check_baselines_exist(config: ExperimentConfig) -> None:
    """With ``baselines_from``: raise a ``ValueError`` naming every baseline checkpoint that is missing."""
    if config.baselines_from is None:
        return
    missing = [str(path) for path in baseline_checkpoints(config) if not path.is_file()]
    if missing:
        raise ValueError(f"baselines_from={config.baselines_from}: missing checkpoint(s) {missing}")


def read_settings(path: Path) -> dict[str, Any]:
    """A run's recorded settings (its ``config.json``).

    :raise DamagedFileError: the file cannot be read, or holds no object of settings.
    """
    settings = read_json(path, CONFIG_REMEDY)
    if not isinstance(settings, dict) or not settings:
        reason = "it holds no settings" if settings == {} else "not an object of settings"
        raise DamagedFileError(path, reason, CONFIG_REMEDY)
    return settings


def prepare_run_dir(config: ExperimentConfig, run_dir: Path | None = None) -> None:
    """Create the run directory and record the settings; refuse to mix runs with different settings.

    :param config: the settings to record.
    :param run_dir: where the run lives, if not at ``config.run_dir`` (a sweep records its cells'
        directories relative to the sweep, so a sweep directory can be moved).
    :raise DamagedFileError: the run's ``config.json`` cannot be read.
    """
    run_dir = run_dir or config.run_dir
    saved = run_dir / "config.json"
    if saved.exists():
        if not config.resume:
            raise FileExistsError(
                f"{run_dir} already holds a run; pass --resume to continue it or choose another --run-dir"
            )
        previous = read_settings(saved)
        # A setting added after the run started counts as unchanged if it has its default value.
        previous = _with_defaults(previous, ExperimentConfig().to_dict())
        current = config.to_dict()
        # run_dir: where config.json is
        ignored = {
            "run_dir",
            "resume",
            "rebuild_manifest",
            "verify",
            "workers",
            "retries",
            "gifs",
            "authors_truncation",
        }
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
