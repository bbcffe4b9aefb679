"""Compare two runs' results seed by seed: did a change move any result beyond noise?

For every condition and metric present in both ``results.json``, prints the per-seed values of the old and the new
run, and flags the rows where the new run's seed mean leaves the old run's 95% bootstrap CI over seeds widened by
``--tolerance`` (absolute).

    python bench/compare_runs.py runs/old runs/new --tolerance 0.05
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

METRICS = ("trap_rate", "goal_rate", "blind_trap_rate", "soo_value", "awareness_r2")
OUTCOMES = ("honest_success",)


def rows(results: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """``(condition, metric) -> {"mean", "ci", "per_seed"}`` for the compared metrics and outcomes."""
    found = {}
    for condition, metrics in results["conditions"].items():
        found.update({(condition, m): metrics[m] for m in METRICS if m in metrics})
        outcomes = results["outcomes"].get(condition, {})
        found.update({(condition, o): outcomes[o] for o in OUTCOMES if o in outcomes})
    return found


def per_seed(entry: dict[str, Any]) -> str:
    """The per-seed values of one result, space-separated."""
    return " ".join("nan" if v is None else f"{v:.3f}" for v in entry["per_seed"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("old", type=Path)
    parser.add_argument("new", type=Path)
    parser.add_argument("--tolerance", type=float, default=0.05, help="absolute margin around the old run's CI")
    args = parser.parse_args()
    old, new = (rows(json.loads((run / "results.json").read_text())) for run in (args.old, args.new))
    moved = 0
    print("| condition | metric | old per seed | new per seed | old mean [CI] | new mean | moved |")
    print("|---|---|---|---|---|---|---|")
    for key in sorted(old.keys() & new.keys()):
        a, b = old[key], new[key]
        if a["mean"] is None or b["mean"] is None:
            continue
        low, high = a["ci"]
        out = not (low - args.tolerance <= b["mean"] <= high + args.tolerance)
        moved += out
        print(
            f"| {key[0]} | {key[1]} | {per_seed(a)} | {per_seed(b)} | {a['mean']:.3f} [{low:.3f}, {high:.3f}] | "
            f"{b['mean']:.3f} | {'**yes**' if out else ''} |"
        )
    print(f"\n{moved} of {len(old.keys() & new.keys())} results moved beyond the old CI +- {args.tolerance}")


if __name__ == "__main__":
    main()
