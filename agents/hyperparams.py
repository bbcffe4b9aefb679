"""PPO hyperparameters of the project's blue baselines (honest and deceptive), in one validated place.

The defaults were chosen by a search against the scripted red follower on the ``default`` preset;
``python bench/learn_baselines.py`` trains both baselines on 5 seeds and checks them against the
targets. What mattered, in order:

- ``reward_scale`` (applied by ``wrap_env``): the raw returns reach several hundred, and at Adam's
  step sizes the critic never caught up (explained variance near 0), so advantages were plain
  Monte-Carlo returns. Scaling rewards by 0.01 makes the critic fit within a few rollouts.
- the ``default`` preset's dense shaping (``shaping_coef``, identical in both reward modes): the
  deceptive blue learns to trap red quickly, then stands still at the fake landmark; the sparse goal
  reward alone is rarely found from there.
- ``learning_rate`` 1e-3 with ``ent_coef`` 0.01: the entropy bonus keeps the action noise up long
  enough to find the goal after the trap; smaller learning rates needed several times more steps.
- many parallel episodes and 1024-sample minibatches keep one gradient step cheap; halving the
  gradient steps per sample (5 epochs or 2048-sample minibatches) was faster per step but learned
  less per second.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any, Literal

import torch.nn as nn
from stable_baselines3.common.vec_env import VecEnv

from agents.reward_scale import ScaleReward
from envs.generic.validation import check_choice, check_float, check_int

OPTIMIZER_KWARGS: dict[str, Any] = {"eps": 1e-5, "fused": True}
"""SB3's own Adam setting (``eps`` 1e-5, which SB3 applies only when given no optimizer kwargs) with torch's fused
kernel: the same update in one kernel instead of about ten per parameter tensor (``bench/ppo_throughput.py``: about
9% of a PPO iteration on one CPU thread)."""

Activation = Literal["tanh", "relu"]
ACTIVATIONS: dict[str, type[nn.Module]] = {"tanh": nn.Tanh, "relu": nn.ReLU}


@dataclass(frozen=True)
class PPOSettings:
    """Settings of SB3's ``PPO`` for one blue agent; ``to_sb3_kwargs()`` gives the constructor kwargs.

    Sizes count environment steps: one rollout holds ``n_envs * n_steps`` transitions, split into
    minibatches of ``batch_size`` for ``n_epochs`` passes.
    """

    n_envs: int = 64
    """Parallel episodes in the batched vectorised env (the env, not PPO, takes this)."""
    n_steps: int = 64
    """Steps collected per env copy per rollout."""
    batch_size: int = 1024
    """Minibatch size of the PPO update (ideally divides ``n_envs * n_steps``)."""
    n_epochs: int = 10
    """Passes over each rollout."""
    learning_rate: float = 1e-3
    """Adam step size (constant), > 0."""
    gamma: float = 0.98
    """Discount factor, in ``(0, 1]``."""
    gae_lambda: float = 0.95
    """GAE bias/variance trade-off, in ``[0, 1]``."""
    clip_range: float = 0.2
    """PPO's policy-ratio clip, > 0."""
    ent_coef: float = 0.01
    """Weight of the entropy bonus, >= 0."""
    vf_coef: float = 0.5
    """Weight of the value loss, >= 0."""
    max_grad_norm: float = 0.5
    """Global gradient-norm clip, > 0."""
    normalize_advantage: bool = True
    """Normalise advantages per minibatch."""
    target_kl: float | None = None
    """Stop an update's epochs early when the approximate KL exceeds this (``None``: never)."""
    net_arch: tuple[int, ...] = (64, 64)
    """Hidden layer widths, used for both the actor and the (separate) critic MLP."""
    activation: Activation = "tanh"
    """Hidden activation: ``"tanh"`` or ``"relu"``."""
    log_std_init: float = 0.0
    """Initial log standard deviation of the Gaussian action distribution."""
    total_timesteps: int = 2_000_000
    """Environment steps to train one baseline from scratch."""
    reward_scale: float = 0.01
    """Constant multiplier of the env's rewards as PPO sees them (apply with ``wrap_env``), > 0.

    Not an SB3 argument: train on ``settings.wrap_env(make_vec_env(...))``. Episode returns logged by
    the env's ``VecMonitor`` stay raw."""

    def __post_init__(self) -> None:
        for name in ("n_envs", "n_steps", "n_epochs", "total_timesteps"):
            check_int(name, getattr(self, name), 1)
        check_int("batch_size", self.batch_size, 2)
        check_float("learning_rate", self.learning_rate, 0.0, math.inf, low_inclusive=False)
        check_float("gamma", self.gamma, 0.0, 1.0, low_inclusive=False)
        check_float("gae_lambda", self.gae_lambda, 0.0, 1.0)
        check_float("clip_range", self.clip_range, 0.0, math.inf, low_inclusive=False)
        check_float("ent_coef", self.ent_coef, 0.0, math.inf)
        check_float("vf_coef", self.vf_coef, 0.0, math.inf)
        check_float("max_grad_norm", self.max_grad_norm, 0.0, math.inf, low_inclusive=False)
        check_float("log_std_init", self.log_std_init, -math.inf, math.inf)
        check_float("reward_scale", self.reward_scale, 0.0, math.inf, low_inclusive=False)
        if self.target_kl is not None:
            check_float("target_kl", self.target_kl, 0.0, math.inf, low_inclusive=False)
        if not isinstance(self.normalize_advantage, bool):
            raise ValueError(f"normalize_advantage must be a bool, got {self.normalize_advantage!r}")
        if (
            not isinstance(self.net_arch, tuple)
            or not self.net_arch
            or any(isinstance(w, bool) or not isinstance(w, int) or w < 1 for w in self.net_arch)
        ):
            raise ValueError(f"net_arch must be a non-empty tuple of integers >= 1, got {self.net_arch!r}")
        check_choice("activation", self.activation, tuple(ACTIVATIONS))
        if self.batch_size > self.rollout_size:
            raise ValueError(
                f"batch_size must be in [2, n_envs * n_steps = {self.rollout_size}], got {self.batch_size}"
            )
        if self.rollout_size % self.batch_size:
            warnings.warn(
                f"batch_size {self.batch_size} does not divide n_envs * n_steps = {self.rollout_size}; "
                "each epoch ends with a truncated minibatch",
                stacklevel=3,
            )

    @property
    def rollout_size(self) -> int:
        """Transitions per rollout: ``n_envs * n_steps``."""
        return self.n_envs * self.n_steps

    def wrap_env(self, venv: VecEnv) -> VecEnv:
        """The env PPO should train on: ``venv`` with rewards scaled by ``reward_scale`` (if not 1)."""
        return venv if self.reward_scale == 1.0 else ScaleReward(venv, self.reward_scale)

    def policy_kwargs(self) -> dict[str, Any]:
        """SB3 ``policy_kwargs``: separate actor/critic MLPs of ``net_arch``, activation, initial log std, and
        SB3's Adam (``eps`` 1e-5) in its fused form (``OPTIMIZER_KWARGS``)."""
        layers = list(self.net_arch)
        return {
            "net_arch": {"pi": layers, "vf": list(layers)},
            "activation_fn": ACTIVATIONS[self.activation],
            "log_std_init": self.log_std_init,
            "optimizer_kwargs": dict(OPTIMIZER_KWARGS),
        }

    def to_sb3_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``stable_baselines3.PPO`` (everything but policy, env and seed)."""
        return {
            "learning_rate": self.learning_rate,
            "n_steps": self.n_steps,
            "batch_size": self.batch_size,
            "n_epochs": self.n_epochs,
            "gamma": self.gamma,
            "gae_lambda": self.gae_lambda,
            "clip_range": self.clip_range,
            "normalize_advantage": self.normalize_advantage,
            "ent_coef": self.ent_coef,
            "vf_coef": self.vf_coef,
            "max_grad_norm": self.max_grad_norm,
            "target_kl": self.target_kl,
            "policy_kwargs": self.policy_kwargs(),
            "device": "cpu",
        }
