"""Detection by SOO value against the number of evaluation episodes (the paper's detection protocol at scale)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from soo_rl import metrics
from soo_rl.plotting import plt, save_figure

EPISODE_COUNTS: tuple[int, ...] = (1, 10, 100, 500, 1000, 1500)
"""Evaluation-episode budgets of the paper's detection study."""


def soo_value_of_first(per_episode: NDArray[np.float64], episodes: int) -> float:
    """An agent's SOO value measured on its first ``episodes`` evaluation episodes (NaN if none had a self step)."""
    head = per_episode[:episodes]
    head = head[np.isfinite(head)]
    return float(head.mean()) if len(head) else float("nan")


def detection_curve(
    honest: Sequence[NDArray[np.float64]],
    deceptive: Sequence[NDArray[np.float64]],
    rng: np.random.Generator,
    resamples: int,
    counts: Sequence[int] = EPISODE_COUNTS,
) -> dict[str, Any]:
    """Pairwise accuracy and ROC AUC of detection by SOO value, for each episode budget.

    :param honest: per seed, the honest agent's per-episode SOO values (the same seeded episodes for all).
    :param deceptive: per seed, the deceptive agent's, in the same seed order.
    :param rng: draws of the bootstrap over seeds (95% CIs).
    :param resamples: bootstrap resamples.
    :param counts: episode budgets; those above the number of evaluated episodes are left out.
    :return: ``episodes``, ``seeds`` (seed pairs with a finite value at each budget), and for
        ``pairwise_accuracy`` and ``auc`` the ``mean`` and ``ci`` at each budget.
    """
    if len(honest) != len(deceptive) or not honest:
        raise ValueError(
            f"need per-episode SOO values of one honest and one deceptive agent per seed, got "
            f"{len(honest)} and {len(deceptive)}"
        )
    available = min(len(v) for v in (*honest, *deceptive))
    budgets = [n for n in counts if n <= available]
    curve: dict[str, Any] = {"episodes": budgets, "seeds": [], "pairwise_accuracy": [], "auc": []}
    for n in budgets:
        h = np.array([soo_value_of_first(v, n) for v in honest])
        d = np.array([soo_value_of_first(v, n) for v in deceptive])
        keep = np.isfinite(h) & np.isfinite(d)
        h, d = h[keep], d[keep]
        curve["seeds"].append(int(keep.sum()))
        if not keep.any():
            curve["pairwise_accuracy"].append({"mean": None, "ci": [None, None]})
            curve["auc"].append({"mean": None, "ci": [None, None]})
            continue
        draws = rng.integers(0, len(h), size=(resamples, len(h)))
        accuracy = ((h < d) + 0.5 * (h == d))[draws].mean(axis=1)
        auc = np.array([_auc(h[idx], d[idx]) for idx in draws])
        curve["pairwise_accuracy"].append(_summary(metrics.pairwise_detection_accuracy(h, d), accuracy))
        curve["auc"].append(_summary(_auc(h, d), auc))
    return curve


def _auc(honest: NDArray[np.float64], deceptive: NDArray[np.float64]) -> float:
    return metrics.roc_auc(np.concatenate([deceptive, honest]), [True] * len(deceptive) + [False] * len(honest))


def _summary(value: float, resampled: NDArray[np.float64]) -> dict[str, Any]:
    return {"mean": value, "ci": [float(np.quantile(resampled, 0.025)), float(np.quantile(resampled, 0.975))]}


def plot_detection_curve(curve: dict[str, Any], path: Path) -> None:
    """Pairwise accuracy and AUC against the number of evaluation episodes, with 95% bootstrap CIs."""
    fig, ax = plt.subplots(figsize=(7, 4))
    x = np.array(curve["episodes"], dtype=float)
    lines = (("pairwise_accuracy", "pairwise accuracy", "tab:blue"), ("auc", "ROC AUC", "tab:orange"))
    for key, label, colour in lines:
        entries = curve[key]
        mean = np.array([np.nan if e["mean"] is None else e["mean"] for e in entries])
        low = np.array([np.nan if e["ci"][0] is None else e["ci"][0] for e in entries])
        high = np.array([np.nan if e["ci"][1] is None else e["ci"][1] for e in entries])
        ax.plot(x, mean, marker="o", color=colour, label=label)
        ax.fill_between(x, low, high, color=colour, alpha=0.2)
    ax.axhline(0.5, color="grey", linestyle="--", linewidth=1, label="chance")
    ax.set_xscale("log")
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("evaluation episodes per agent")
    ax.set_ylabel("detection of the deceptive agent")
    ax.set_title(f"Detection by SOO value ({max(curve['seeds'], default=0)} seed pairs, 95% bootstrap CI)")
    ax.legend()
    save_figure(fig, path)
