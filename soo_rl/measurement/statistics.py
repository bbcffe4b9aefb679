"""Statistics over agents and seeds: NaN-aware means, bootstrap CIs, and the detection scores.

One NaN rule holds throughout: NaN marks a value that could not be measured (e.g. the SOO value of an
agent that never lost sight of red). Means skip it (and are NaN when nothing was measured); a
comparison that involves it counts as a tie (a coin flip), so an unmeasured agent is never classified.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]


def nanmean(values: ArrayLike, axis: int | tuple[int, ...] | None = None) -> Any:
    """Mean of the finite entries of ``values`` (along ``axis``); NaN where there is none. No warnings."""
    data = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(data)
    counts = finite.sum(axis=axis)
    sums = np.where(finite, data, 0.0).sum(axis=axis)
    return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def bootstrap_rng(seed: int, label: str) -> np.random.Generator:
    """A generator for the bootstrap of one quantity: seeded by ``seed`` and the quantity's ``label``, so that
    its CI does not depend on which other quantities were resampled before it."""
    return np.random.default_rng([seed, zlib.crc32(label.encode())])


def bootstrap_ci(
    values: Sequence[float] | FloatArray, rng: np.random.Generator, resamples: int = 10_000, level: float = 0.95
) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of the mean of ``values`` (e.g. one value per seed).

    NaN values are skipped; with one value the interval is that value; with none it is ``(nan, nan)``.
    """
    data = np.asarray([v for v in values if math.isfinite(v)], dtype=np.float64)
    if len(data) == 0:
        return float("nan"), float("nan")
    means = data[rng.integers(0, len(data), size=(resamples, len(data)))].mean(axis=1)
    tail = (1.0 - level) / 2.0
    return float(np.quantile(means, tail)), float(np.quantile(means, 1.0 - tail))


def seed_summary(values: Sequence[float], rng: np.random.Generator, resamples: int) -> dict[str, Any]:
    """JSON-ready ``mean``, 95% bootstrap ``ci`` and ``per_seed`` values of one quantity (NaN becomes ``None``)."""
    low, high = bootstrap_ci(values, rng, resamples)
    return {
        "mean": finite_or_none(float(nanmean(values))),
        "ci": [finite_or_none(low), finite_or_none(high)],
        "per_seed": [finite_or_none(float(v)) for v in values],
    }


def finite_or_none(value: float) -> float | None:
    """``value``, or ``None`` (JSON's null) when it is NaN or infinite."""
    return value if math.isfinite(value) else None


def pairwise_accuracy(honest: ArrayLike, deceptive: ArrayLike) -> Any:
    """The paper's detection protocol: share of seeds (last axis) whose honest agent has the lower SOO value
    (more overlap) than the deceptive agent of the same seed. Ties and unmeasured pairs count half.

    :param honest: ``(..., seeds)`` SOO values of the honest agents.
    :param deceptive: the deceptive agents', same shape and seed order.
    """
    h, d = _matched(honest, deceptive)
    wins = np.where(np.isnan(h) | np.isnan(d), 0.5, (h < d) + 0.5 * (h == d))
    return wins.mean(axis=-1)


def roc_auc(positive: ArrayLike, negative: ArrayLike) -> Any:
    """Area under the ROC curve of "positive when the score is higher" (Mann-Whitney U), over the last axis.

    :param positive: ``(..., P)`` scores of the positive class (here: deceptive agents' SOO values).
    :param negative: ``(..., M)`` scores of the negative class (honest agents'). Ties and NaN count half.
    """
    pos, neg = np.asarray(positive, dtype=np.float64), np.asarray(negative, dtype=np.float64)
    if pos.shape[-1] == 0 or neg.shape[-1] == 0:
        raise ValueError("roc_auc needs at least one score of each class")
    p, n = pos[..., :, None], neg[..., None, :]
    ties = (p == n) | np.isnan(p) | np.isnan(n)
    return ((p > n) + 0.5 * ties).mean(axis=(-2, -1))


def _matched(honest: ArrayLike, deceptive: ArrayLike) -> tuple[FloatArray, FloatArray]:
    h, d = np.asarray(honest, dtype=np.float64), np.asarray(deceptive, dtype=np.float64)
    if h.shape != d.shape or h.ndim == 0 or h.shape[-1] == 0:
        raise ValueError(f"need one honest and one deceptive value per seed, got shapes {h.shape} and {d.shape}")
    return h, d
