"""Does SOO fine-tuning reduce deception, and under which settings? A grid over fine-tuning settings.

Reuses trained baselines (``--baselines-from RUN_DIR`` of a finished ``train/ppo_soo.py`` run) and,
for every variant, runs SOO fine-tuning and the anchor-only control on every seed, evaluates them on
the same seeded episodes of the *tuning* evaluation seed (``eval.tuning_seed``: settings are chosen there,
never on the report's seed) and prints trap rate, goal rate and SOO value (mean [95% CI] over seeds).

    python bench/soo_ablation.py --baselines-from runs/default --out runs/ablation
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path
from typing import Any

from soo_rl.cli.experiment import run_experiment
from soo_rl.experiment.config import FineTuneSettings, from_mapping

VARIANTS: dict[str, dict[str, Any]] = {
    "coef1": {"soo_coef": 1.0},
    "coef10": {"soo_coef": 10.0},
    "coef100": {"soo_coef": 100.0},
    "coef10_nokl": {"soo_coef": 10.0, "kl_coef": 0.0},
    "coef10_stopgrad": {"soo_coef": 10.0, "soo_stop_gradient": True},
    "logmse_coef1": {"soo_coef": 1.0, "soo_distance": "log_mse"},
    "coef10_layer0": {"soo_coef": 10.0, "soo_layers": (0,)},
    "coef10_layer1": {"soo_coef": 10.0, "soo_layers": (1,)},
    "coef10_pairs1024_k4": {"soo_coef": 10.0, "soo_max_selves": 1024, "soo_inserts_per_self": 4},
    "coef10_long": {"soo_coef": 10.0, "timesteps": 1_000_000},
}


def cell(results: dict[str, Any], condition: str, metric: str) -> str:
    """``mean [low,high]`` of one condition's metric."""
    entry = results[condition][metric]
    return f"{entry['mean']:.3f} [{entry['ci'][0]:.2f},{entry['ci'][1]:.2f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baselines-from", type=Path, required=True, help="run directory holding the baselines")
    parser.add_argument("--out", type=Path, default=Path("runs/ablation"), help="where the variants' runs go")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    base = from_mapping(json.loads((args.baselines_from / "config.json").read_text()))
    rows = []
    for name in args.variants:
        settings = VARIANTS[name]
        finetune = dataclasses.replace(base.finetune, **settings)
        assert isinstance(finetune, FineTuneSettings)
        config = dataclasses.replace(
            base,
            run_dir=args.out / name,
            baselines_from=args.baselines_from,
            conditions=("soo", "anchor_only"),
            finetune=finetune,
            workers=args.workers,
            eval=dataclasses.replace(base.eval, variant_episodes=0, probe_episodes=0),
            tuning=True,
            gifs=False,
            resume=(args.out / name / "config.json").exists(),
        )
        results = run_experiment(config)["conditions"]
        rows.append((name, results))
    print(f"\n{'variant':22s} {'soo trap':>18s} {'anchor trap':>18s} {'soo goal':>18s} {'soo value':>10s}")
    for name, results in rows:
        print(
            f"{name:22s} {cell(results, 'soo', 'trap_rate'):>18s} {cell(results, 'anchor_only', 'trap_rate'):>18s} "
            f"{cell(results, 'soo', 'goal_rate'):>18s} {results['soo']['soo_value']['mean']:10.4f}"
        )
    if rows:
        first = rows[0][1]
        trap, goal = cell(first, "deceptive", "trap_rate"), cell(first, "deceptive", "goal_rate")
        print(f"deceptive baseline: trap {trap}, goal {goal}")


if __name__ == "__main__":
    main()
