"""Run the whole SOO experiment: baselines, SOO fine-tuning, controls, evaluation and report.

    python train/ppo_soo.py                      # the default experiment (about 7 minutes on 2 cores)
    python train/ppo_soo.py --quick --run-dir runs/smoke
    python train/ppo_soo.py --config my.toml --finetune.soo-coef 2.0
    python train/ppo_soo.py --run-dir runs/default --resume   # continue an interrupted run

Every setting is documented in ``--help``; a TOML file given with ``--config`` sets defaults that
command-line flags override.
"""

from __future__ import annotations

import sys

from soo_rl.cli import parse_settings
from soo_rl.config import ExperimentConfig, from_mapping
from soo_rl.pipeline import run_experiment


def parse_config(argv: list[str]) -> ExperimentConfig:
    """Settings from an optional ``--config FILE.toml`` plus command-line flags (flags win)."""
    return parse_settings(ExperimentConfig, argv, __doc__, from_mapping)


def main(argv: list[str] | None = None) -> None:
    config = parse_config(sys.argv[1:] if argv is None else argv)
    try:
        run_experiment(config)
    except (FileExistsError, ValueError, RuntimeError) as error:
        raise SystemExit(f"error: {error}") from None


if __name__ == "__main__":
    main()
