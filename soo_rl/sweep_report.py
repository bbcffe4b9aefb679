"""The sweep's report: every cell's results, the effect of each swept setting, failures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from soo_rl import metrics
from soo_rl.config import BASELINES
from soo_rl.io import write_json_atomic, write_text_atomic
from soo_rl.pipeline import rebase
from soo_rl.plotting import plt, save_figure
from soo_rl.report import detection_table, format_entry, write_report
from soo_rl.scheduler import GraphResult
from soo_rl.sweep import Cell, SweepConfig, parse_grid

EFFECT_METRICS: tuple[str, ...] = ("trap_rate", "goal_rate")


def setting_effects(sweep: SweepConfig, grid: list[Cell], results: dict[str, Any]) -> dict[str, Any]:
    """For each swept setting and value: per condition and metric, the mean and 95% CI over the per-seed
    values of every finished cell with that value (pooled over the other swept settings)."""
    rng = np.random.default_rng(sweep.base.eval.seed)
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
                    low, high = metrics.bootstrap_ci(per_seed, rng, sweep.base.bootstrap_resamples)
                    mean = float(np.mean(per_seed)) if per_seed else None
                    row[f"{condition}/{metric}"] = {"mean": mean, "ci": [low, high] if per_seed else [None, None]}
            rows.append(row)
        effects[key] = rows
    return effects


def plot_effect(key: str, rows: list[dict[str, Any]], conditions: tuple[str, ...], path: Path) -> None:
    """Trap rate and goal rate against one swept setting, one line per condition, with 95% CIs."""
    values = [row["value"] for row in rows]
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
    x = np.array(values, dtype=float) if numeric else np.arange(len(values), dtype=float)
    fig, axes = plt.subplots(1, len(EFFECT_METRICS), figsize=(11, 4))
    for ax, metric in zip(axes, EFFECT_METRICS, strict=True):
        for condition in conditions:
            entries = [row[f"{condition}/{metric}"] for row in rows]
            mean = np.array([np.nan if e["mean"] is None else e["mean"] for e in entries])
            low = np.array([np.nan if e["ci"][0] is None else e["ci"][0] for e in entries])
            high = np.array([np.nan if e["ci"][1] is None else e["ci"][1] for e in entries])
            ax.errorbar(x, mean, yerr=[mean - low, high - mean], marker="o", capsize=3, label=condition)
        if numeric and x.min() > 0 and x.max() / x.min() >= 10:
            ax.set_xscale("log")
        if not numeric:
            ax.set_xticks(x, [json.dumps(v) if not isinstance(v, str) else v for v in values])
        ax.set_xlabel(key)
        ax.set_ylabel(f"{metric.replace('_', ' ')} (mean over seeds, 95% CI)")
        ax.set_ylim(-0.05, 1.05)
    axes[0].legend(fontsize=8)
    fig.suptitle(f"Effect of {key}")
    save_figure(fig, path)


def write_sweep_report(
    sweep: SweepConfig, root: Path, grid: list[Cell], result: GraphResult, unfinished: dict[str, list[str]]
) -> dict[str, Any]:
    """Write every finished cell's report, then the sweep's ``results.json``, effect plots and ``report.md``."""
    results = {
        cell.name: write_report(rebase(cell.config, root), show=False) for cell in grid if cell.name not in unfinished
    }
    effects = setting_effects(sweep, grid, results)
    conditions = (*BASELINES, *sweep.base.conditions)
    plots = {}
    for key, rows in effects.items():
        plots[key] = f"plots/effect_{key}.png"
        plot_effect(key, rows, conditions, root / plots[key])
    summary = {
        "cells": {
            c.name: {"settings": c.settings, "dir": str(c.config.run_dir), "results": results.get(c.name)} for c in grid
        },
        "effects": effects,
        "failed": result.failed,
        "unfinished_cells": unfinished,
        "sweep": sweep.fingerprint(),
    }
    write_json_atomic(root / "results.json", summary)
    write_text_atomic(root / "report.md", sweep_markdown(sweep, grid, results, plots, result, unfinished))
    print_sweep_table(grid, results, conditions)
    return summary


def sweep_markdown(
    sweep: SweepConfig,
    grid: list[Cell],
    results: dict[str, Any],
    plots: dict[str, str],
    result: GraphResult,
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
        lines += [f"- `{key}`: {error.strip().splitlines()[-1]}" for key, error in result.failed.items()]
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
