"""``python train/ppo_soo.py``: the whole experiment, from baselines to the report, in one run directory."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Any

from agents.soo_ppo import CheckpointError
from envs.generic.io import WriteError
from soo_rl.cli.settings import parse_settings
from soo_rl.cli.verify import verify_run
from soo_rl.experiment.config import ExperimentConfig, from_mapping
from soo_rl.experiment.lock import RunDirectoryBusyError, run_dir_lock
from soo_rl.experiment.pipeline import check_baselines_exist, experiment_tasks, prepare_run_dir, read_output
from soo_rl.experiment.results import write_results
from soo_rl.report.experiment import write_report
from soo_rl.runner.scheduler import MANIFEST_NAME, LocalBackend, Manifest, run_tasks

MAIN_JOB_TIME = "about 7 minutes on 2 cores, up to 16 on slower ones"
"""How long ``python train/ppo_soo.py`` takes on its defaults, measured (``docs/experiment.md``, "Where the time
goes"); every text that quotes it reads it from here."""

USAGE = f"""Run the whole SOO experiment: baselines, SOO fine-tuning, controls, evaluation and report.

    python train/ppo_soo.py                      # the default experiment ({MAIN_JOB_TIME})
    python train/ppo_soo.py --quick --run-dir runs/smoke
    python train/ppo_soo.py --config my.toml --finetune.soo-coef 2.0
    python train/ppo_soo.py --run-dir runs/default --resume   # continue an interrupted run
    python train/ppo_soo.py --run-dir runs/default --resume --rebuild-manifest   # after a damaged manifest.json
    python train/ppo_soo.py --run-dir runs/default --verify   # re-check a finished run, running nothing

Every setting is documented in ``--help``; a TOML file given with ``--config`` sets defaults that
command-line flags override.
"""

ERRORS = (OSError, ValueError, RuntimeError, CheckpointError, RunDirectoryBusyError)
"""What the command lines report as one line (``error: ...``) instead of a traceback."""
WRITE_REMEDY = "make room or make it writable, then run the same command again with --resume: finished jobs are kept"
"""What to do when the driver cannot write a file (every output it wrote before is whole, and recorded)."""


def error_line(error: Exception) -> str:
    """The one line a command line ends with for ``error`` (one of ``ERRORS``), with the remedy of a failed write."""
    return f"error: {error}; {WRITE_REMEDY}" if isinstance(error, WriteError) else f"error: {error}"


def run_experiment(config: ExperimentConfig) -> dict[str, Any]:
    """Run (or resume) every task of the experiment in ``config.run_dir``, then write its results and report.

    Finished jobs whose outputs are as ``manifest.json`` recorded them are kept; the others run again, each with a
    line saying why (``soo_rl.runner.scheduler.Manifest``).

    :raise RunDirectoryBusyError: another process works in the run directory.
    :raise DamagedFileError: ``config.json`` or ``manifest.json`` cannot be read (the message says what to do).
    :raise RuntimeError: some task failed on every attempt (the others finished; see ``manifest.json``).
    """
    config = config.resolved()
    check_baselines_exist(config)
    with run_dir_lock(config.run_dir):
        prepare_run_dir(config)
        root = config.run_dir.resolve()
        relative = dataclasses.replace(
            config,
            run_dir=Path("."),
            baselines_from=None if config.baselines_from is None else config.baselines_from.resolve(),
        )
        manifest = Manifest(root / MANIFEST_NAME, read_output if config.rebuild_manifest else None)
        backend = LocalBackend(root, config.workers)
        try:
            result = run_tasks(
                experiment_tasks(relative, train_baselines=config.baselines_from is None),
                backend,
                root,
                retries=config.retries,
                manifest=manifest,
                desc="experiment",
            )
        finally:
            backend.close()
        if not result.ok:
            raise RuntimeError(result.failure_message())
        results = write_results(config)
        write_report(results, config.run_dir)
    return results


def parse_config(argv: list[str]) -> ExperimentConfig:
    """Settings from an optional ``--config FILE.toml`` plus command-line flags (flags win)."""
    return parse_settings(ExperimentConfig, argv, USAGE, from_mapping)


def report_verification(run_dir: Path) -> None:
    """``--verify``: print one line per problem of the finished run in ``run_dir`` (``verify_run``), or one line
    saying it is whole; exit with status 1 if there is a problem."""
    problems = verify_run(run_dir)
    for problem in problems:
        print(problem)
    if problems:
        raise SystemExit(f"error: {run_dir}: {len(problems)} problem(s) found by --verify")
    print(
        f"{run_dir}: every job finished with the run's settings, every output intact, results.json and report.md as"
        " the evaluations give"
    )


def main(argv: list[str] | None = None) -> None:
    """The command line of ``train/ppo_soo.py``."""
    config = parse_config(sys.argv[1:] if argv is None else argv)
    replaced = config.quick_replaced()
    if replaced:
        print(f"--quick replaced {', '.join(replaced)} by its tiny budgets", file=sys.stderr)
    try:
        if config.verify:
            report_verification(config.run_dir)
        else:
            run_experiment(config)
    except ERRORS as error:
        raise SystemExit(error_line(error)) from None
