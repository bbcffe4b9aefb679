"""Detection by SOO value against the number of evaluation episodes (the paper's detection protocol at scale)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from soo_rl.plotting import plt, save_figure

EPISODE_COUNTS: tuple[int, ...] = (1, 10, 100, 500, 1000, 1500)
"""Evaluation-episode budgets of the paper's detection study."""


MAX_BLOCKS = 20
"""Disjoint blocks of episodes averaged over at each budget (the first ones, in seed order)."""


def block_soo_values(per_episode: NDArray[np.float64], episodes: int, blocks: int) -> NDArray[np.float64]:
    """An agent's SOO value measured on each of ``blocks`` disjoint blocks of ``episodes`` consecutive
    evaluation episodes: the mean over the block's episodes that have a self step (NaN if none has)."""
    values = per_episode[: blocks * episodes].reshape(blocks, episodes)
    counts = np.isfinite(values).sum(axis=1)
    return np.where(counts > 0, np.nansum(values, axis=1) / np.maximum(counts, 1), np.nan)


def detection_scores(honest: NDArray[np.float64], deceptive: NDArray[np.float64]) -> tuple[Any, Any]:
    """Pairwise accuracy and ROC AUC of "higher SOO value = deceptive" over the last axis (seeds).

    A missing value (NaN: no self step to measure) cannot be classified and counts as a tie (chance).
    """
    missing = np.isnan(honest) | np.isnan(deceptive)
    pairwise = np.where(missing, 0.5, (honest < deceptive) + 0.5 * (honest == deceptive)).mean(axis=-1)
    d, h = deceptive[..., :, None], honest[..., None, :]
    ties = (d == h) | np.isnan(d) | np.isnan(h)
    auc = ((d > h) + 0.5 * ties).mean(axis=(-2, -1))
    return pairwise, auc


def detection_curve(
    honest: Sequence[NDArray[np.float64]],
    deceptive: Sequence[NDArray[np.float64]],
    rng: np.random.Generator,
    resamples: int,
    counts: Sequence[int] = EPISODE_COUNTS,
) -> dict[str, Any]:
    """Detection by SOO value when each agent's SOO value is measured on ``n`` evaluation episodes.

    For each budget ``n``, the evaluation episodes are cut into disjoint blocks of ``n`` (at most
    ``MAX_BLOCKS``); on each block, the paper's pairwise accuracy (per seed: does the honest agent have
    the lower SOO value?) and the ROC AUC over all agents are computed, then averaged over blocks.
    CIs: 95% bootstrap over seeds.

    :param honest: per seed, the honest agent's per-episode SOO values (the same seeded episodes for all).
    :param deceptive: per seed, the deceptive agent's, in the same seed order.
    :param rng: draws of the bootstrap.
    :param resamples: bootstrap resamples.
    :param counts: episode budgets; those above the number of evaluated episodes are left out.
    :return: ``episodes``, ``seeds``, ``blocks``, ``measured`` (share of blocks with a self step), and
        ``pairwise_accuracy`` and ``auc`` (``mean`` and ``ci``) per budget.
    """
    if len(honest) != len(deceptive) or not honest:
        raise ValueError(
            f"need per-episode SOO values of one honest and one deceptive agent per seed, got "
            f"{len(honest)} and {len(deceptive)}"
        )
    available = min(len(v) for v in (*honest, *deceptive))
    budgets = [n for n in counts if n <= available]
    curve: dict[str, Any] = {"episodes": budgets, "seeds": len(honest), "blocks": [], "measured": []}
    curve.update(pairwise_accuracy=[], auc=[])
    draws = rng.integers(0, len(honest), size=(resamples, len(honest)))
    for n in budgets:
        blocks = min(available // n, MAX_BLOCKS)
        h = np.stack([block_soo_values(v, n, blocks) for v in honest], axis=1)  # (blocks, seeds)
        d = np.stack([block_soo_values(v, n, blocks) for v in deceptive], axis=1)
        pairwise, auc = detection_scores(h, d)
        boot = [detection_scores(h[b][draws], d[b][draws]) for b in range(blocks)]
        boot_pairwise = np.mean([p for p, _ in boot], axis=0)
        boot_auc = np.mean([a for _, a in boot], axis=0)
        curve["blocks"].append(blocks)
        curve["measured"].append(float(np.isfinite(np.concatenate([h, d])).mean()))
        curve["pairwise_accuracy"].append(_summary(float(pairwise.mean()), boot_pairwise))
        curve["auc"].append(_summary(float(auc.mean()), boot_auc))
    return curve


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
    ax.set_title(f"Detection by SOO value ({curve['seeds']} seed pairs, 95% bootstrap CI over seeds)")
    ax.legend()
    save_figure(fig, path)
