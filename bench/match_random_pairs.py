"""Choose the weight of the ``random_pairs_matched`` control: the random-pair loss at the weight whose goal rate
matches SOO's, on the tuning evaluation seed (never the report's).

Reuses the baselines of a finished run, fine-tunes SOO once and the random-pair control at each weight on every
seed, evaluates all of them on ``eval.tuning_seed`` and prints the weight whose mean goal rate is closest to
SOO's; put it in ``finetune.random_pairs_matched_coef``.

    python bench/match_random_pairs.py --baselines-from runs/base5 --coefs 0.01 0.03 0.1 0.3
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path
from typing import Any

from soo_rl.cli.experiment import run_experiment
from soo_rl.experiment.config import ExperimentConfig, from_mapping


def tuning_run(base: ExperimentConfig, run_dir: Path, conditions: tuple[str, ...], coef: float) -> dict[str, Any]:
    """The conditions fine-tuned from ``base``'s baselines and evaluated on the tuning seed (no variants, no probe)."""
    config = dataclasses.replace(
        base,
        run_dir=run_dir,
        conditions=conditions,
        finetune=dataclasses.replace(base.finetune, random_pairs_matched_coef=coef),
        eval=dataclasses.replace(base.eval, variant_episodes=0, probe_episodes=0),
        tuning=True,
        gifs=False,
        resume=(run_dir / "config.json").exists(),
    )
    return run_experiment(config)["conditions"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baselines-from", type=Path, required=True, help="run directory holding the baselines")
    parser.add_argument("--out", type=Path, default=Path("runs/match_random_pairs"), help="where the runs go")
    parser.add_argument("--coefs", type=float, nargs="+", default=[0.01, 0.03, 0.1, 0.3])
    parser.add_argument("--seeds", type=int, nargs="+", default=None, help="training seeds (default: the run's)")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    saved = json.loads((args.baselines_from / "config.json").read_text())
    base = dataclasses.replace(from_mapping(saved), baselines_from=args.baselines_from, workers=args.workers)
    if args.seeds:
        base = dataclasses.replace(base, seeds=tuple(args.seeds))
    soo = tuning_run(base, args.out / "soo", ("soo",), base.finetune.random_pairs_matched_coef)["soo"]
    target = soo["goal_rate"]["mean"]
    print(f"SOO on the tuning seed: trap {soo['trap_rate']['mean']:.3f}, goal {target:.3f}")
    rows = []
    for coef in args.coefs:
        rp = tuning_run(base, args.out / f"coef_{coef:g}", ("random_pairs_matched",), coef)["random_pairs_matched"]
        rows.append((coef, rp["trap_rate"]["mean"], rp["goal_rate"]["mean"]))
        print(f"random pairs, weight {coef:g}: trap {rows[-1][1]:.3f}, goal {rows[-1][2]:.3f}")
    best = min(rows, key=lambda row: abs(row[2] - target))
    print(f"closest goal rate to SOO's {target:.3f}: weight {best[0]:g} (goal {best[2]:.3f}, trap {best[1]:.3f})")


if __name__ == "__main__":
    main()
