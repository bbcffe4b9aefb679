"""A run's results on a subset of its seeds: the second row of a results page.

The seeds are those whose baselines pass their targets in a ``bench/learn_baselines.py --checkpoints <run> --out
F`` check (deceptive and honest of the same seed both pass), or the ones given with ``--seeds``. For every
condition it prints the mean and 95% bootstrap CI over those seeds of the metrics and episode outcomes of
``results.json``, drawn as the run drew its own (``soo_rl.measurement.statistics``, the run's evaluation seed and
number of resamples); for a run with a detection study, also the detection by SOO value over those seed pairs (all
evaluation episodes, ``soo_rl.measurement.detection``).

    python bench/learn_baselines.py --preset contingent --checkpoints runs/contingent10 --seeds 0 1 2 3 4 5 6 7 8 9 \\
        --out baselines.json
    python bench/seed_subset.py runs/contingent10 --baselines baselines.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from soo_rl.measurement.detection import block_detection
from soo_rl.measurement.statistics import bootstrap_rng, seed_summary

COLUMNS = (
    ("conditions", "trap_rate"),
    ("conditions", "lure_trap_rate"),
    ("conditions", "goal_rate"),
    ("outcomes", "honest_success"),
    ("conditions", "blind_trap_rate"),
    ("conditions", "soo_value"),
    ("conditions", "awareness_r2"),
)
"""The ``results.json`` sections and quantities shown, in order."""


def passing_seeds(check: dict[str, Any]) -> list[int]:
    """Seeds of a ``learn_baselines.py --out`` file whose honest and deceptive baselines both pass."""
    passed: dict[int, set[str]] = {}
    for row in check["rows"]:
        if row["passed"]:
            passed.setdefault(row["seed"], set()).add(row["mode"])
    return sorted(seed for seed, modes in passed.items() if {"honest", "deceptive"} <= modes)


def seed_positions(results: dict[str, Any], seeds: list[int]) -> list[int]:
    """Where each of ``seeds`` is in the run's per-seed lists (an error names any seed the run does not have)."""
    run_seeds = results["config"]["seeds"]
    missing = sorted(set(seeds) - set(run_seeds))
    if missing:
        raise SystemExit(f"seeds {missing} are not seeds of this run (its seeds: {run_seeds})")
    return [run_seeds.index(seed) for seed in seeds]


def subset_table(results: dict[str, Any], seeds: list[int]) -> list[dict[str, Any]]:
    """One row per condition: each of ``COLUMNS`` summarised over ``seeds`` (a subset of the run's)."""
    positions = seed_positions(results, seeds)
    evaluation_seed = results["protocol"]["evaluation_seed"]
    resamples = results["config"]["bootstrap_resamples"]
    table = []
    for condition in results["conditions"]:
        row: dict[str, Any] = {"condition": condition}
        for section, name in COLUMNS:
            quantity = results[section].get(condition, {}).get(name)
            if quantity is None:
                continue
            values = [quantity["per_seed"][i] for i in positions]
            finite = [float("nan") if value is None else value for value in values]
            rng = bootstrap_rng(evaluation_seed, f"subset/{condition}/{name}")
            row[name] = seed_summary(finite, rng, resamples)
        table.append(row)
    return table


def subset_detection(results: dict[str, Any], seeds: list[int]) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """Pairwise accuracy and ROC AUC of the SOO value over the seed pairs ``seeds``, on all evaluation episodes
    (``None``: the run has no detection study)."""
    if "detection" not in results:
        return None
    positions = seed_positions(results, seeds)
    honest, deceptive = (
        np.array([[np.nan if v is None else v for v in results["detection"][f"{mode}_soo_value"]]])[:, positions]
        for mode in ("honest", "deceptive")
    )
    rng = bootstrap_rng(results["protocol"]["evaluation_seed"], "subset/detection")
    draws = rng.integers(0, len(seeds), size=(results["config"]["bootstrap_resamples"], len(seeds)))
    return block_detection(honest, deceptive, draws)


def format_cell(summary: dict[str, Any] | None) -> str:
    """``mean [low, high]`` to three decimals (``n/a`` when not measured)."""
    if summary is None or summary["mean"] is None:
        return "n/a"
    low, high = summary["ci"]
    return f"{summary['mean']:.3f} [{low:.3f}, {high:.3f}]"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", type=Path, help="an experiment run directory with results.json")
    choice = parser.add_mutually_exclusive_group(required=True)
    choice.add_argument("--baselines", type=Path, help="a learn_baselines.py --checkpoints --out file")
    choice.add_argument("--seeds", type=int, nargs="+", help="the seeds, given directly")
    args = parser.parse_args(argv)
    results = json.loads((args.run_dir / "results.json").read_text())
    seeds = args.seeds if args.seeds is not None else passing_seeds(json.loads(args.baselines.read_text()))
    if not seeds:
        raise SystemExit("no seed passes: there is no second row")
    print(f"seeds: {seeds}")
    names = [name for _, name in COLUMNS]
    print("| condition | " + " | ".join(names) + " |")
    print("|---" * (len(names) + 1) + "|")
    for row in subset_table(results, seeds):
        print(f"| {row['condition']} | " + " | ".join(format_cell(row.get(name)) for name in names) + " |")
    detection = subset_detection(results, seeds)
    if detection is not None:
        pairwise, auc = detection
        print(
            f"detection over {len(seeds)} seed pairs: pairwise accuracy {format_cell(pairwise)}, AUC {format_cell(auc)}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
