"""``python train/sweep.py``: the experiment over a grid of settings and seeds, on local cores or Ray."""

from __future__ import annotations

import sys
from typing import Any

from soo_rl.cli.experiment import ERRORS, error_line
from soo_rl.cli.settings import parse_settings
from soo_rl.experiment.lock import run_dir_lock
from soo_rl.experiment.pipeline import read_output, rebase
from soo_rl.experiment.results import write_results
from soo_rl.experiment.sweep import (
    RECIPE_SUMMARIES,
    SWEEP_RECIPES,
    SweepConfig,
    cells,
    prepare_sweep_dir,
    sweep_from_mapping,
    sweep_tasks,
    unfinished_cells,
)
from soo_rl.report.experiment import write_report
from soo_rl.report.sweep import write_sweep_report
from soo_rl.runner.backends import make_backend
from soo_rl.runner.scheduler import MANIFEST_NAME, Backend, Manifest, run_tasks

RECIPE_WIDTH = max(map(len, RECIPE_SUMMARIES))
RECIPE_LINES = "\n".join(
    f"    python train/sweep.py --recipe {name:<{RECIPE_WIDTH}}  # {text}" for name, text in RECIPE_SUMMARIES.items()
)
USAGE = f"""Sweep the experiment over a grid of settings and seeds, on all local cores or on a Ray cluster.

    python train/sweep.py --grid finetune.soo_coef=0.3,1,3 --base.seeds 0 1 2
    python train/sweep.py --grid finetune.soo_distance=mse,log_mse preset=default,paper --workers 8
    python train/sweep.py --settings "finetune.soo_coef=0.1" "finetune.soo_distance=mse;finetune.soo_coef=1"
{RECIPE_LINES}
    python train/sweep.py --grid finetune.soo_coef=1,3 --ray auto --storage /shared/sweeps
    python train/sweep.py --config sweep.toml                   # [base] table, grid, settings list or tables

`--settings` lists cells one by one (keys an entry leaves out keep the base's value); with `--grid`
too, every listed cell runs at every grid combination. `--recipe NAME` starts from a named sweep (above); keys
given after it change it. Re-running a sweep skips the jobs it already finished (see `manifest.json` in the
sweep directory) and retries the failed ones; a job whose outputs changed since the manifest recorded them runs
again. `--rebuild-manifest` rebuilds a damaged manifest by re-verifying every existing output.
"""


def run_sweep(sweep: SweepConfig, backend: Backend | None = None) -> dict[str, Any]:
    """Run (or resume) every task of the sweep, then write each finished cell's results and report, and the
    sweep's report.

    :param sweep: the sweep.
    :param backend: where tasks run (default: from ``sweep.workers`` / ``sweep.ray``); closed afterwards.
    :return: the sweep's results (also in ``results.json``).
    :raise DamagedFileError: a cell's ``config.json`` or the ``manifest.json`` cannot be read.
    """
    root = sweep.sweep_dir.resolve()
    grid = cells(sweep)
    with run_dir_lock(root):
        prepare_sweep_dir(sweep, root, grid)
        cell_tasks = sweep_tasks(grid)
        tasks = [task for jobs in cell_tasks.values() for task in jobs]
        manifest = Manifest(root / MANIFEST_NAME, read_output if sweep.rebuild_manifest else None)
        backend = backend or make_backend(root, sweep.workers, sweep.ray, sweep.storage)
        try:
            result = run_tasks(tasks, backend, root, sweep.retries, manifest, desc="sweep")
        finally:
            backend.close()
        unfinished = unfinished_cells(cell_tasks, set(result.failed) | set(result.blocked))
        results = {}
        for cell in grid:
            if cell.name not in unfinished:
                config = rebase(cell.config, root)
                results[cell.name] = write_results(config)
                write_report(results[cell.name], config.run_dir, show=False)
        return write_sweep_report(sweep, root, grid, results, result.failed, unfinished)


def main(argv: list[str] | None = None) -> None:
    """The command line of ``train/sweep.py``."""
    args = sys.argv[1:] if argv is None else argv
    sweep = parse_settings(SweepConfig, args, USAGE, sweep_from_mapping, SWEEP_RECIPES)
    try:
        summary = run_sweep(sweep)
    except ERRORS as error:
        raise SystemExit(error_line(error)) from None
    if summary["failed"] or summary["unfinished_cells"]:
        raise SystemExit(f"error: {len(summary['failed'])} job(s) failed; see {sweep.sweep_dir / 'report.md'}")
