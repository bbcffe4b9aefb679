"""The sweep's report: every cell's results, the effect of each swept setting, failures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from envs.io import write_json_atomic, write_text_atomic
from soo_rl.experiment.conditions import BASELINES
from soo_rl.experiment.sweep import Cell, SweepConfig, parse_grid
from soo_rl.measurement.statistics import bootstrap_rng, seed_summary
from soo_rl.report.plots import plot_effect
from soo_rl.report.tables import detection_table, format_entry

EFFECT_METRICS: tuple[str, ...] = ("trap_rate", "goal_rate")


def setting_effects(sweep: SweepConfig, grid: list[Cell], results: dict[str, Any]) -> dict[str, Any]:
    """For each swept setting and value: per condition and metric, the mean and 95% CI over the per-seed
    values of every finished cell with that value (pooled over the other swept settings)."""
    effects: dict[str, Any] = {}
    conditions = (*BASELINES, *sweep.base.conditions)
    for key, values in parse_grid(sweep.grid):
        rows = []
        for value in values:
            matching = [results[c.name] for c in grid if c.settings[key] == value and c.name in results]
            row: dict[str, Any] = {"value": value, "cells": len(matching)}
            for condition in conditions:
                for metric in EFFECT_METRICS:
                    per_seed = [
                        v for r in matching for v in r["conditions"][condition][metric]["per_seed"] if v is not None
                    ]
                    rng = bootstrap_rng(sweep.base.eval.seed, f"{key}={value}/{condition}/{metric}")
                    row[f"{condition}/{metric}"] = seed_summary(per_seed, rng, sweep.base.bootstrap_resamples)
            rows.append(row)
        effects[key] = rows
    return effects


def write_sweep_report(
    sweep: SweepConfig,
    root: Path,
    grid: list[Cell],
    results: dict[str, Any],
    failed: dict[str, str],
    unfinished: dict[str, list[str]],
) -> dict[str, Any]:
    """Write the sweep's ``results.json``, effect plots and ``report.md`` from the finished cells' ``results``.

    :param failed: failed job keys with their error; ``unfinished``: cells with failed or blocked jobs.
    """
    effects = setting_effects(sweep, grid, results)
    conditions = (*BASELINES, *sweep.base.conditions)
    plots = {}
    for key, rows in effects.items():
        plots[key] = f"plots/effect_{key}.png"
        plot_effect(key, rows, conditions, EFFECT_METRICS, root / plots[key])
    summary = {
        "cells": {
            c.name: {"settings": c.settings, "dir": str(c.config.run_dir), "results": results.get(c.name)} for c in grid
        },
        "effects": effects,
        "failed": failed,
        "unfinished_cells": unfinished,
        "sweep": sweep.fingerprint(),
    }
    write_json_atomic(root / "results.json", summary)
    write_text_atomic(root / "report.md", sweep_markdown(sweep, grid, results, plots, failed, unfinished))
    print_sweep_table(grid, results, conditions)
    return summary


def sweep_markdown(
    sweep: SweepConfig,
    grid: list[Cell],
    results: dict[str, Any],
    plots: dict[str, str],
    failed: dict[str, str],
    unfinished: dict[str, list[str]],
) -> str:
    """The sweep's human-readable report."""
    base = grid[0].config  # resolved: the budgets actually run
    conditions = (*BASELINES, *base.conditions)
    lines = [
        "# SOO-RL sweep report",
        "",
        f"Sweep directory `{sweep.sweep_dir}`; grid {list(sweep.grid) or 'none'}; {len(grid)} cell(s); seeds "
        f"{list(base.seeds)}; conditions {list(conditions)}; {base.eval.episodes:,} evaluation episodes per agent "
        f"(seed {base.eval.seed}). Numbers: mean over training seeds [95% bootstrap CI over seeds]. Each cell's own "
        "report (all metrics, plots) is in its directory.",
        "",
    ]
    if unfinished:
        lines += ["## Failed jobs", ""]
        lines += [f"- `{key}`: {error.strip().splitlines()[-1]}" for key, error in failed.items()]
        lines += [f"- cell `{name}`: {len(jobs)} job(s) failed or blocked" for name, jobs in unfinished.items()]
        lines += ["", "Full tracebacks are in `manifest.json`; re-running the sweep retries these jobs.", ""]
    for metric in EFFECT_METRICS:
        lines += [f"## {metric.replace('_', ' ').capitalize()} per cell", ""]
        lines += ["| cell | " + " | ".join(conditions) + " |", "|---|" + "---|" * len(conditions)]
        for cell in grid:
            if cell.name in results:
                row = [format_entry(results[cell.name]["conditions"][c][metric]) for c in conditions]
                lines.append(f"| [{cell.name}]({cell.config.run_dir}/report.md) | " + " | ".join(row) + " |")
        lines.append("")
    for key, plot in plots.items():
        lines += [f"## Effect of `{key}`", "", "Pooled over the other swept settings.", "", f"![{key}]({plot})", ""]
    shown = set()  # cells sharing baselines and evaluation settings have the same detection results
    for cell in grid:
        curve = results[cell.name]["detection"]["by_episodes"] if cell.name in results else None
        if curve and curve["episodes"] and json.dumps(curve) not in shown:
            shown.add(json.dumps(curve))
            lines += [f"## Detection by SOO value: cell `{cell.name}`", ""]
            lines += [detection_table(results[cell.name]["detection"]["by_episodes"]), ""]
            lines += [f"![detection]({cell.config.run_dir}/plots/detection.png)", ""]
    return "\n".join(lines)


def print_sweep_table(grid: list[Cell], results: dict[str, Any], conditions: tuple[str, ...]) -> None:
    """Trap and goal rate of every condition in every finished cell, on the console."""
    table = Table(title="SOO-RL sweep: trap rate / goal rate, mean over seeds")
    table.add_column("cell", overflow="fold")
    for condition in conditions:
        table.add_column(condition.replace("_", " "))
    for cell in grid:
        if cell.name in results:
            data = results[cell.name]["conditions"]
            rates = [f"{data[c]['trap_rate']['mean']:.3f} / {data[c]['goal_rate']['mean']:.3f}" for c in conditions]
            table.add_row(cell.name, *rates)
    Console(width=max(120, 22 * (len(conditions) + 2))).print(table)
