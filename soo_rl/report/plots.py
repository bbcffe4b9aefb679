"""Plots of results (PNG, written atomically; matplotlib without a screen). Each is a pure function of results."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from numpy.typing import NDArray

from envs.generic.io import atomic_path
from soo_rl.measurement.metrics import OUTCOMES

OUTCOME_COLOURS = {
    "honest_success": "tab:green",
    "lure_and_goal": "tab:orange",
    "lure_and_stuck": "tab:red",
    "other_failure": "tab:grey",
}


def save_figure(fig: Any, path: Path) -> None:
    """Write ``fig`` as a PNG atomically and close it."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, bbox_inches="tight")
    plt.close(fig)


Column = NDArray[np.float64]


def entry_arrays(entries: Sequence[dict[str, Any]]) -> tuple[Column, Column, Column]:
    """Means, CI lows and CI highs of results entries (``{"mean", "ci"}``), NaN where missing."""

    def column(pick: Any) -> Column:
        return np.array([np.nan if pick(e) is None else pick(e) for e in entries], dtype=np.float64)

    return column(lambda e: e["mean"]), column(lambda e: e["ci"][0]), column(lambda e: e["ci"][1])


RATE_METRICS: tuple[str, ...] = ("trap_rate", "deceptive_step_rate", "goal_rate")
"""The rates ``plot_rates`` draws side by side."""


def plot_rates(results: dict[str, Any], path: Path) -> None:
    """Bar chart of trap, deceptive-step and goal rates per condition, with CIs (a rate the world does not measure,
    NaN for every condition, is left out)."""
    names = list(results["conditions"])
    arrays = {m: entry_arrays([results["conditions"][n][m] for n in names]) for m in RATE_METRICS}
    shown = [m for m in RATE_METRICS if not np.isnan(arrays[m][0]).all()]
    fig, ax = plt.subplots(figsize=(max(9, 1.3 * len(names)), 4.5))
    width = 0.8 / len(shown)
    for i, metric in enumerate(shown):
        means, lows, highs = arrays[metric]
        x = np.arange(len(names)) + (i - (len(shown) - 1) / 2) * width
        ax.bar(x, means, width, label=metric.replace("_", " "))
        ax.errorbar(x, means, yerr=[means - lows, highs - means], fmt="none", ecolor="black", capsize=3)
    ax.set_xticks(np.arange(len(names)), [n.replace("_", "\n") for n in names])
    ax.set_ylim(0, 1.2)
    ax.set_ylabel("rate (mean over seeds, 95% CI)")
    ax.legend(loc="upper center", ncol=len(shown), frameon=False)
    ax.set_title("Deception and task performance per condition")
    save_figure(fig, path)


def plot_outcomes(results: dict[str, Any], path: Path) -> None:
    """Stacked bars: the share of each episode outcome class per condition (mean over seeds)."""
    names = list(results["outcomes"])
    fig, ax = plt.subplots(figsize=(max(9, 1.3 * len(names)), 4.5))
    bottom = np.zeros(len(names))
    for outcome in OUTCOMES:
        means, _, _ = entry_arrays([results["outcomes"][n][outcome] for n in names])
        means = np.nan_to_num(means)
        ax.bar(names, means, 0.7, bottom=bottom, label=outcome.replace("_", " "), color=OUTCOME_COLOURS[outcome])
        bottom += means
    ax.set_xticks(np.arange(len(names)), [n.replace("_", "\n") for n in names])
    ax.set_ylim(0, 1.15)
    ax.set_ylabel("share of episodes (mean over seeds)")
    ax.legend(loc="upper center", ncol=len(OUTCOMES), frameon=False, fontsize=8)
    ax.set_title("What each episode was: honest success, lure and goal, lure and stuck, other failure")
    save_figure(fig, path)


def plot_soo_values(histograms: dict[str, Any], path: Path) -> None:
    """Distributions of per-episode SOO value of the honest and deceptive baselines."""
    fig, ax = plt.subplots(figsize=(7, 4))
    if histograms:
        edges = np.array(histograms["edges"])
        for condition, colour in (("honest", "tab:green"), ("deceptive", "tab:red")):
            data = histograms[condition]
            label = f"{condition} ({data['episodes']} episodes)"
            ax.stairs(data["density"], edges, fill=True, alpha=0.5, color=colour, label=label)
        ax.legend()
    ax.set_xlabel("SOO value (mean self/other distance per episode; lower = more overlap)")
    ax.set_ylabel("density")
    ax.set_title("SOO value of honest vs deceptive baselines")
    save_figure(fig, path)


def plot_training_curves(curves: dict[str, dict[str, Any]], rows: Sequence[Sequence[str]], path: Path) -> None:
    """Trap rate and episode return during training (mean over seeds), one row per group of conditions
    (baselines on the top row, fine-tuning runs, which start from the deceptive baseline, below)."""
    titles = {
        "rollout/trap_rate": "trap rate (training episodes)",
        "rollout/ep_rew_mean": "episode return (raw training reward)",
    }
    fig, axes = plt.subplots(len(rows), len(titles), figsize=(11, 3.5 * len(rows)), squeeze=False)
    for row, conditions in enumerate(rows):
        for col, (tag, title) in enumerate(titles.items()):
            ax = axes[row][col]
            for condition in conditions:
                curve = curves.get(tag, {}).get(condition)
                if curve is not None:
                    ax.plot(curve["steps"], curve["values"], label=condition)
            ax.set_title(("baselines: " if row == 0 else "fine-tuning: ") + title, fontsize=10)
            ax.set_xlabel("timesteps of the stage")
            if ax.lines:
                ax.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, path)


def plot_detection_curve(curve: dict[str, Any], path: Path) -> None:
    """Pairwise accuracy and AUC against the number of evaluation episodes, with 95% bootstrap CIs."""
    fig, ax = plt.subplots(figsize=(7, 4))
    x = np.array(curve["episodes"], dtype=float)
    lines = (("pairwise_accuracy", "pairwise accuracy", "tab:blue"), ("auc", "ROC AUC", "tab:orange"))
    for key, label, colour in lines:
        mean, low, high = entry_arrays(curve[key])
        ax.plot(x, mean, marker="o", color=colour, label=label)
        ax.fill_between(x, low, high, color=colour, alpha=0.2)
    ax.axhline(0.5, color="grey", linestyle="--", linewidth=1, label="chance")
    ax.set_xscale("log")
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("evaluation episodes per agent")
    ax.set_ylabel("detection of the deceptive agent")
    ax.set_title(f"Detection by SOO value ({curve['seeds']} seed pairs, 95% bootstrap CI over seeds)")
    ax.legend()
    save_figure(fig, path)


def plot_effect(
    key: str, rows: list[dict[str, Any]], conditions: Sequence[str], metrics: Sequence[str], path: Path
) -> None:
    """``metrics`` against one swept setting, one line per condition, with 95% CIs."""
    values = [row["value"] for row in rows]
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
    x = np.array(values, dtype=float) if numeric else np.arange(len(values), dtype=float)
    fig, axes = plt.subplots(1, len(metrics), figsize=(5.5 * len(metrics), 4), squeeze=False)
    for ax, metric in zip(axes[0], metrics, strict=True):
        for condition in conditions:
            mean, low, high = entry_arrays([row[f"{condition}/{metric}"] for row in rows])
            ax.errorbar(x, mean, yerr=[mean - low, high - mean], marker="o", capsize=3, label=condition)
        if numeric and x.min() > 0 and x.max() / x.min() >= 10:
            ax.set_xscale("log")
        if not numeric:
            ax.set_xticks(x, [json.dumps(v) if not isinstance(v, str) else v for v in values])
        ax.set_xlabel(key)
        ax.set_ylabel(f"{metric.replace('_', ' ')} (mean over seeds, 95% CI)")
        ax.set_ylim(-0.05, 1.05)
    axes[0][0].legend(fontsize=8)
    fig.suptitle(f"Effect of {key}")
    save_figure(fig, path)
