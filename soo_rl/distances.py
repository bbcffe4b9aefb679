"""Distances between self and other activations."""

from __future__ import annotations

from typing import Literal

import torch as th

DistanceKind = Literal["mse", "log_mse"]
DISTANCE_KINDS: tuple[str, ...] = ("mse", "log_mse")


def pairwise_mse(self_act: th.Tensor, other_act: th.Tensor) -> th.Tensor:
    """``(P,)`` mean squared difference per pair, averaged over activation units."""
    return ((self_act - other_act) ** 2).mean(dim=1)


def soo_distance(self_act: th.Tensor, other_act: th.Tensor, kind: DistanceKind = "mse", eps: float = 1e-6) -> th.Tensor:
    """Scalar SOO distance of matched activation batches.

    :param kind: ``"mse"`` (mean squared difference over pairs and units) or the paper's
        ``"log_mse"``: ``log(mse + eps)``.
    :param eps: keeps ``log_mse`` finite when the activations coincide.
    """
    mse = pairwise_mse(self_act, other_act).mean()
    if kind == "mse":
        return mse
    if kind == "log_mse":
        return th.log(mse + eps)
    raise ValueError(f"distance kind must be one of {DISTANCE_KINDS}, got {kind!r}")
