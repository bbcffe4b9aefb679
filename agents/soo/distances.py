"""Distances between the features (hidden activations or mean actions) of matched self/other pairs."""

from __future__ import annotations

from typing import Literal

import torch as th

from envs.validation import check_choice

DistanceKind = Literal["mse", "log_mse"]
DISTANCE_KINDS: tuple[str, ...] = ("mse", "log_mse")
LOG_EPS = 1e-6
"""Keeps ``log_mse`` finite when the features of a pair coincide."""


def pairwise_mse(self_features: th.Tensor, other_features: th.Tensor) -> th.Tensor:
    """``(P,)`` mean squared difference per pair, averaged over feature units."""
    return ((self_features - other_features) ** 2).mean(dim=1)


def pair_loss(
    features: th.Tensor, kind: DistanceKind = "mse", stop_gradient: bool = False
) -> tuple[th.Tensor, th.Tensor]:
    """SOO loss of matched pairs and the per-pair MSE behind it.

    :param features: ``(2P, units)``: the P self observations' features, then the P others'.
    :param kind: ``"mse"`` (mean squared difference over pairs and units) or the paper's ``"log_mse"``:
        ``log(mse + LOG_EPS)``.
    :param stop_gradient: no gradient flows through the self branch.
    :return: the scalar loss and the ``(P,)`` per-pair MSE (detached).
    """
    check_choice("distance kind", kind, DISTANCE_KINDS)
    self_features, other_features = features.chunk(2)
    if stop_gradient:
        self_features = self_features.detach()
    per_pair = pairwise_mse(self_features, other_features)
    mse = per_pair.mean()
    loss = th.log(mse + LOG_EPS) if kind == "log_mse" else mse
    return loss, per_pair.detach()
