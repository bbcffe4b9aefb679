"""Sweep the experiment over a grid of settings and seeds, on all local cores or on a Ray cluster.

    python train/sweep.py --grid finetune.soo_coef=0.3,1,3 --base.seeds 0 1 2
    python train/sweep.py --grid finetune.soo_distance=mse,log_mse preset=default,paper --workers 8
    python train/sweep.py --preset detection                     # the paper-scale detection study
    python train/sweep.py --grid finetune.soo_coef=1,3 --ray auto --storage /shared/sweeps
    python train/sweep.py --config sweep.toml                   # [base] table, grid list or [grid.*] tables

`--preset NAME` starts from a named sweep (`detection`: 100 seed pairs of honest and deceptive
baselines, SOO value on up to 1,500 evaluation episodes each). Re-running a sweep skips the jobs
it already finished (see `manifest.json` in the sweep directory) and retries the failed ones.
"""

from __future__ import annotations

import sys

from soo_rl.cli import parse_settings
from soo_rl.sweep import SWEEP_PRESETS, SweepConfig, run_sweep, sweep_from_mapping


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    sweep = parse_settings(SweepConfig, args, __doc__, sweep_from_mapping, SWEEP_PRESETS)
    try:
        summary = run_sweep(sweep)
    except (FileExistsError, ValueError) as error:
        raise SystemExit(f"error: {error}") from None
    if summary["failed"] or summary["unfinished_cells"]:
        raise SystemExit(f"error: {len(summary['failed'])} job(s) failed; see {sweep.sweep_dir / 'report.md'}")


if __name__ == "__main__":
    main()
