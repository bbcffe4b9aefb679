"""The KL anchor's closed form for diagonal Gaussian policies, as one autograd node."""

from __future__ import annotations

import math
from typing import Any

import torch as th


class DiagGaussianKL(th.autograd.Function):
    """Mean over the batch of ``KL(N(ref_mean, ref_std) || N(mean, std))`` (summed over action dimensions) for
    diagonal Gaussians whose log-stds do not depend on the state, as one autograd node with a closed-form backward
    (the anchor runs on every minibatch, where a graph of small ops costs more in overhead than in arithmetic).

    Per dimension, ``KL = log_std - ref_log_std + (exp(2 (ref_log_std - log_std)) + gap exp(-2 log_std) - 1) / 2``
    with ``gap`` the batch mean of ``(mean - ref_mean)^2``. Gradients: ``exp(-2 log_std) (mean - ref_mean) / B`` for
    ``mean`` and ``1 - exp(2 (ref_log_std - log_std)) - gap exp(-2 log_std)`` for ``log_std``; the reference's
    ``ref_mean`` and ``ref_log_std`` are constants. The per-dimension terms (a few numbers) are computed in Python.
    """

    @staticmethod
    def forward(
        ctx: Any, mean: th.Tensor, log_std: th.Tensor, ref_mean: th.Tensor, ref_log_std: th.Tensor
    ) -> th.Tensor:
        diff = mean - ref_mean
        kl, inverse_variances, log_std_grads = 0.0, [], []
        norms = th.linalg.vector_norm(diff, dim=0).tolist()  # gap = norm^2 / B
        for log_sigma, ref_log_sigma, norm in zip(log_std.tolist(), ref_log_std.tolist(), norms, strict=True):
            gap, inverse_variance = norm * norm / len(diff), math.exp(-2 * log_sigma)
            variance_ratio = math.exp(2 * (ref_log_sigma - log_sigma))
            kl += log_sigma - ref_log_sigma + 0.5 * (variance_ratio + gap * inverse_variance - 1)
            inverse_variances.append(inverse_variance / len(diff))
            log_std_grads.append(1 - variance_ratio - gap * inverse_variance)
        ctx.save_for_backward(diff)
        ctx.inverse_variances, ctx.log_std_grads = inverse_variances, log_std_grads
        return mean.new_tensor(kl)

    @staticmethod
    def backward(ctx: Any, grad: th.Tensor) -> tuple[th.Tensor | None, th.Tensor | None, None, None]:
        (diff,) = ctx.saved_tensors
        scale = grad.item()
        grad_mean = grad_log_std = None
        if ctx.needs_input_grad[0]:
            grad_mean = diff * diff.new_tensor([scale * value for value in ctx.inverse_variances])
        if ctx.needs_input_grad[1]:
            grad_log_std = diff.new_tensor([scale * value for value in ctx.log_std_grads])
        return grad_mean, grad_log_std, None, None
