"""Distances between the features (hidden activations or mean actions) of matched self/other pairs."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import torch as th

from envs.generic.validation import check_choice

DistanceKind = Literal["mse", "log_mse"]
DISTANCE_KINDS: tuple[str, ...] = ("mse", "log_mse")
LOG_EPS = 1e-6
"""Keeps ``log_mse`` finite when the features of a pair coincide."""


def pairwise_mse(self_features: th.Tensor, other_features: th.Tensor) -> th.Tensor:
    """``(P,)`` mean squared difference per pair, averaged over feature units."""
    return ((self_features - other_features) ** 2).mean(dim=1)


class PairDistance(th.autograd.Function):
    """The SOO loss as one autograd node with a closed-form backward (training computes it on every minibatch, and a
    graph of small ops costs more in per-op overhead than in arithmetic).

    Pair ``i`` compares row ``self_rows[i]`` with row ``other_start + i`` of every feature tensor; the units of all
    feature tensors together are the pair's features. ``forward`` returns the loss (``mse``, or ``log(mse + LOG_EPS)``
    with ``log``) and the MSE as a number. ``backward``: with ``d = other - self`` and ``U`` units,
    ``d loss / d other = 2 d / (P U)`` (divided by ``mse + LOG_EPS`` with ``log``), and its negative for the selves
    unless ``stop_gradient``.
    """

    @staticmethod
    def forward(
        ctx: Any, log: bool, stop_gradient: bool, self_rows: th.Tensor, other_start: int, *features: th.Tensor
    ) -> tuple[th.Tensor, float]:
        num_pairs = len(self_rows)
        diffs = [f[other_start : other_start + num_pairs] - f.index_select(0, self_rows) for f in features]
        units = sum(f.shape[1] for f in features)
        mse = sum(float(th.linalg.vector_norm(diff)) ** 2 for diff in diffs) / (num_pairs * units)
        ctx.save_for_backward(self_rows, *diffs)
        ctx.shapes = [f.shape for f in features]
        ctx.stop_gradient, ctx.other_start = stop_gradient, other_start
        ctx.scale = 2.0 / (num_pairs * units) / (mse + LOG_EPS if log else 1.0)
        return features[0].new_tensor(math.log(mse + LOG_EPS) if log else mse), mse

    @staticmethod
    def backward(ctx: Any, grad_loss: th.Tensor, _grad_mse: None) -> tuple[th.Tensor | None, ...]:
        self_rows, *diffs = ctx.saved_tensors
        scale = grad_loss.item() * ctx.scale
        grads: list[th.Tensor | None] = []
        for shape, diff, needed in zip(ctx.shapes, diffs, ctx.needs_input_grad[4:], strict=True):
            grad = None
            if needed:
                grad = diff.new_zeros(shape)
                # narrow, not a slice: an out= view of the wrong size would be resized silently, not refused
                th.mul(diff, scale, out=grad.narrow(0, ctx.other_start, len(self_rows)))
                if not ctx.stop_gradient:
                    grad.index_add_(0, self_rows, diff, alpha=-scale)
            grads.append(grad)
        return None, None, None, None, *grads


def row_pair_loss(
    features: Sequence[th.Tensor],
    self_rows: th.Tensor,
    other_start: int,
    kind: DistanceKind = "mse",
    stop_gradient: bool = False,
) -> tuple[th.Tensor, float]:
    """SOO loss of pairs whose features are rows of shared feature tensors (e.g. one forward pass over a minibatch
    followed by the pairs' other observations), and the MSE behind it.

    :param features: ``(R, units_l)`` tensors (e.g. one per hidden layer) whose units together are the features.
    :param self_rows: ``(P,)`` rows of the pairs' self observations.
    :param other_start: pair ``i``'s other observation is row ``other_start + i``.
    :param kind: ``"mse"`` (mean squared difference over pairs and units) or the paper's ``"log_mse"``:
        ``log(mse + LOG_EPS)``.
    :param stop_gradient: no gradient flows through the self branch.
    :return: the scalar loss and the MSE (a number).
    """
    check_choice("distance kind", kind, DISTANCE_KINDS)
    loss, mse = PairDistance.apply(  # type: ignore[no-untyped-call]
        kind == "log_mse", stop_gradient, self_rows, other_start, *features
    )
    return loss, mse


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
    num_pairs = len(features) // 2
    self_rows = th.arange(num_pairs, device=features.device)
    loss, _ = row_pair_loss((features,), self_rows, num_pairs, kind, stop_gradient)
    with th.no_grad():
        return loss, pairwise_mse(features[:num_pairs], features[num_pairs:])
