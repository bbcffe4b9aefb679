"""Run the whole SOO experiment: baselines, SOO fine-tuning, controls, evaluation and report.

    python train/ppo_soo.py                      # the default experiment (about 20 minutes on 2 cores)
    python train/ppo_soo.py --quick --run-dir runs/smoke
    python train/ppo_soo.py --config my.toml --finetune.soo-coef 2.0
    python train/ppo_soo.py --run-dir runs/default --resume   # continue an interrupted run

Every setting is documented in ``--help``; a TOML file given with ``--config`` sets defaults that
command-line flags override.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import tyro

from soo_rl.config import ExperimentConfig, from_mapping, load_toml
from soo_rl.pipeline import run_experiment


def parse_config(argv: list[str]) -> ExperimentConfig:
    """Settings from an optional ``--config FILE.toml`` plus command-line flags (flags win)."""
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--config", type=Path, default=None)
    known, rest = pre.parse_known_args(argv)
    base = ExperimentConfig()
    if known.config is not None:
        if not known.config.is_file():
            raise SystemExit(f"--config: no such file {known.config}")
        try:
            base = from_mapping(load_toml(known.config))
        except (ValueError, TypeError) as error:
            raise SystemExit(f"--config {known.config}: {error}") from None
    try:
        return tyro.cli(ExperimentConfig, default=base, args=rest, description=__doc__)
    except (ValueError, TypeError) as error:
        raise SystemExit(f"error: {error}") from None


def main(argv: list[str] | None = None) -> None:
    config = parse_config(sys.argv[1:] if argv is None else argv)
    try:
        run_experiment(config)
    except (FileExistsError, ValueError) as error:
        raise SystemExit(f"error: {error}") from None


if __name__ == "__main__":
    main()
