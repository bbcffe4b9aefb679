"""Distances between self and other activations."""

from __future__ import annotations

from collections.abc import Callable
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


def pair_loss(
    activations: Callable[[th.Tensor], th.Tensor],
    self_obs: th.Tensor,
    other_obs: th.Tensor,
    kind: DistanceKind = "mse",
    stop_gradient: bool = False,
) -> tuple[th.Tensor, th.Tensor]:
    """SOO loss of matched observation batches and the per-pair MSE behind it.

    :param activations: maps observations ``(B, obs_dim)`` to hidden activations ``(B, units)``.
    :param self_obs: ``(P, obs_dim)`` self observations.
    :param other_obs: ``(P, obs_dim)`` the observations each is compared with.
    :param kind: ``"mse"`` or ``"log_mse"``.
    :param stop_gradient: no gradient flows through the self branch.
    :return: the scalar loss and the ``(P,)`` per-pair MSE (detached).
    """
    both = activations(th.cat([self_obs, other_obs]))
    self_act, other_act = both[: len(self_obs)], both[len(self_obs) :]
    if stop_gradient:
        self_act = self_act.detach()
    return soo_distance(self_act, other_act, kind), pairwise_mse(self_act, other_act).detach()
