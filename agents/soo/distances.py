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
    return _from_mse(pairwise_mse(self_act, other_act).mean(), kind, eps)


def pair_loss(
    activations: th.Tensor, kind: DistanceKind = "mse", stop_gradient: bool = False
) -> tuple[th.Tensor, th.Tensor]:
    """SOO loss of matched pairs and the per-pair MSE behind it.

    :param activations: ``(2P, units)``: the P self observations' activations, then the P others'.
    :param kind: ``"mse"`` or ``"log_mse"``.
    :param stop_gradient: no gradient flows through the self branch.
    :return: the scalar loss and the ``(P,)`` per-pair MSE (detached).
    """
    self_act, other_act = activations.chunk(2)
    if stop_gradient:
        self_act = self_act.detach()
    per_pair = pairwise_mse(self_act, other_act)
    return _from_mse(per_pair.mean(), kind), per_pair.detach()


def _from_mse(mse: th.Tensor, kind: DistanceKind, eps: float = 1e-6) -> th.Tensor:
    if kind == "mse":
        return mse
    if kind == "log_mse":
        return th.log(mse + eps)
    raise ValueError(f"distance kind must be one of {DISTANCE_KINDS}, got {kind!r}")
