"""Detection by SOO value against the number of evaluation episodes (the paper's detection protocol at scale)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from soo_rl.measurement.soo_value import EpisodeSOO
from soo_rl.measurement.statistics import pairwise_accuracy, roc_auc

EPISODE_COUNTS: tuple[int, ...] = (1, 10, 100, 500, 1000, 1500)
"""Evaluation-episode budgets of the paper's detection study."""

MAX_BLOCKS = 20
"""Disjoint blocks of episodes averaged over at each budget (the first ones, in seed order)."""


def detection_scores(honest: NDArray[np.float64], deceptive: NDArray[np.float64]) -> tuple[Any, Any]:
    """Pairwise accuracy and ROC AUC of "higher SOO value = deceptive" over the last axis (seeds)."""
    return pairwise_accuracy(honest, deceptive), roc_auc(deceptive, honest)


def detection_curve(
    honest: Sequence[EpisodeSOO],
    deceptive: Sequence[EpisodeSOO],
    rng: np.random.Generator,
    resamples: int,
    counts: Sequence[int] = EPISODE_COUNTS,
) -> dict[str, Any]:
    """Detection by SOO value when each agent's SOO value is measured on ``n`` evaluation episodes.

    For each budget ``n``, the evaluation episodes are cut into disjoint blocks of ``n`` (at most
    ``MAX_BLOCKS``); on each block, the paper's pairwise accuracy (per seed: does the honest agent have
    the lower SOO value?) and the ROC AUC over all agents are computed, then averaged over blocks.
    CIs: 95% bootstrap over seeds.

    :param honest: per seed, the honest agent's per-episode SOO sums (the same seeded episodes for all).
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
    available = min(len(agent.sums) for agent in (*honest, *deceptive))
    budgets = [n for n in counts if n <= available]
    curve: dict[str, Any] = {"episodes": budgets, "seeds": len(honest), "blocks": [], "measured": []}
    curve.update(pairwise_accuracy=[], auc=[])
    draws = rng.integers(0, len(honest), size=(resamples, len(honest)))
    for n in budgets:
        blocks = min(available // n, MAX_BLOCKS)
        h = np.stack([agent.blocks(n, blocks) for agent in honest], axis=1)  # (blocks, seeds)
        d = np.stack([agent.blocks(n, blocks) for agent in deceptive], axis=1)
        pairwise, auc = block_detection(h, d, draws)
        curve["blocks"].append(blocks)
        curve["measured"].append(float(np.isfinite(np.concatenate([h, d])).mean()))
        curve["pairwise_accuracy"].append(pairwise)
        curve["auc"].append(auc)
    return curve


def block_detection(
    honest: NDArray[np.float64], deceptive: NDArray[np.float64], draws: NDArray[np.int64]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Pairwise accuracy and ROC AUC (``mean`` and 95% bootstrap ``ci``), averaged over blocks of episodes.

    :param honest: ``(blocks, seeds)`` SOO values of the honest agents, one row per block of episodes.
    :param deceptive: the deceptive agents', in the same seed order.
    :param draws: ``(resamples, seeds)`` bootstrap draws of seed indices.
    """
    pairwise, auc = detection_scores(honest, deceptive)
    # One block at a time: the AUC of all resamples at once holds resamples x seeds^2 comparisons.
    boot = [detection_scores(honest[b][draws], deceptive[b][draws]) for b in range(len(honest))]
    boot_pairwise = np.array([p for p, _ in boot])  # (blocks, resamples)
    boot_auc = np.array([a for _, a in boot])
    return _summary(float(pairwise.mean()), boot_pairwise.mean(axis=0)), _summary(
        float(auc.mean()), boot_auc.mean(axis=0)
    )


def _summary(value: float, resampled: NDArray[np.float64]) -> dict[str, Any]:
    return {"mean": value, "ci": [float(np.quantile(resampled, 0.025)), float(np.quantile(resampled, 0.975))]}
