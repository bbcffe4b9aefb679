"""The SOO value (SPEC section 3, the detector): how far apart an agent's representations of a self
observation and of its inserted-other copies are, on the agent's own evaluation episodes."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch as th
from numpy.typing import NDArray

from agents.policy import SOO_TARGETS, SOOActorCriticPolicy, SOOTarget
from agents.soo.distances import pairwise_mse
from agents.soo.lure import LureDirection
from agents.soo.pairs import OtherSlots, PairOptions, other_copies, self_mask
from envs.generic.layout import ObsLayout
from envs.generic.validation import check_choice, check_int

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class SOOMeasure:
    """What the SOO value compares: the same choices as the SOO loss it detects.

    The experiment builds it from its fine-tuning settings, so the baselines' SOO values are measured on
    the layers, target and pairs that SOO fine-tuning acts on.
    """

    target: SOOTarget = "hidden"
    """``hidden`` activations, mean ``actions``, or their ``lure`` components (``agents.soo.lure``)."""
    layers: tuple[int, ...] | None = None
    """Hidden layers of the ``hidden`` target (``None``: every hidden layer)."""
    options: PairOptions = field(default_factory=PairOptions)
    """How the inserted-other copies are built."""

    def __post_init__(self) -> None:
        check_choice("target", self.target, SOO_TARGETS)


def soo_values(
    policy: SOOActorCriticPolicy,
    blue_obs: NDArray[np.float32],
    layout: ObsLayout,
    observation_radius: float,
    measure: SOOMeasure,
    inserts: int,
    generator: th.Generator,
    chunk: int = 65_536,
) -> FloatArray:
    """SOO distance of every self step: mean MSE between the policy's features (``measure.target``) on the
    self observation and on ``inserts`` other-observations (``agents.soo.pairs.other_copies``).

    :param policy: the agent's policy (in evaluation mode).
    :param blue_obs: ``(T, N, obs_dim)`` observations of recorded episodes.
    :param layout: the observations' layout: where the other agent appears (and, for the ``lure`` target, the goal
        and the landmarks).
    :param observation_radius: the agent's radius (the insertion disk's unless ``measure.options.radius`` is set).
    :param measure: target, layers and pair options.
    :param inserts: K, other-observations per self step.
    :param generator: source of the inserted positions.
    :param chunk: self observations per forward pass.
    :return: ``(T, N)`` distances, NaN at steps where red is visible (not self steps).
    """
    slots = OtherSlots.from_layout(layout)
    lure = LureDirection.from_layout(layout) if measure.target == "lure" else None
    flat = th.as_tensor(blue_obs.reshape(-1, blue_obs.shape[-1]))
    mask = self_mask(flat, slots)
    values = np.full(len(flat), np.nan)
    selves = flat[mask]
    check_int("inserts", inserts, 1)
    k = inserts
    layers = measure.layers if measure.layers is not None else tuple(range(policy.num_hidden_layers))
    distances = []
    with th.no_grad():
        for start in range(0, len(selves), chunk):
            block = selves[start : start + chunk]
            self_features = policy.soo_features(block, measure.target, layers, lure)
            others, _ = other_copies(block, slots, measure.options, observation_radius, k, generator)
            other_features = policy.soo_features(others, measure.target, layers, lure)
            per_insert = pairwise_mse(self_features.repeat_interleave(k, dim=0), other_features)
            distances.append(per_insert.reshape(len(block), k).mean(dim=1).double().numpy())
    if distances:
        values[mask.numpy()] = np.concatenate(distances)
    return values.reshape(blue_obs.shape[:2])


def mean_soo_value(
    policy: SOOActorCriticPolicy,
    observations: NDArray[np.float32],
    layout: ObsLayout,
    observation_radius: float,
    measure: SOOMeasure | None = None,
    inserts: int = 10,
    seed: int = 0,
) -> float:
    """The SOO value of a policy on recorded observations of any environment: the mean SOO distance over their
    self steps (``soo_values``); NaN if the other agent is never out of view.

    :param policy: the agent's policy.
    :param observations: ``(T, N, obs_dim)`` observations (e.g. ``envs.generic.shared_vec_env.record_observations``).
    :param layout: the learner's observation layout (its ``other`` is the agent inserted).
    :param observation_radius: the learner's radius (the insertion disk's unless ``measure.options.radius`` is set).
    :param measure: target, layers and pair options (``None``: the defaults).
    :param inserts: K, other-observations per self step.
    :param seed: seed of the inserted positions.
    """
    values = soo_values(
        policy,
        observations,
        layout,
        observation_radius,
        measure or SOOMeasure(),
        inserts,
        th.Generator().manual_seed(seed),
    )
    return EpisodeSOO.from_steps(values).value()


@dataclass(frozen=True)
class EpisodeSOO:
    """One agent's SOO distances summed per evaluation episode, with the number of self steps behind each sum.

    Every SOO value of the agent is a mean over self steps: of the whole evaluation (``value``), of one
    episode (``per_episode``) or of a block of consecutive episodes (``blocks``), so the three agree.
    """

    sums: FloatArray
    """``(N,)``: sum of the SOO distances of the episode's self steps."""
    steps: NDArray[np.int64]
    """``(N,)``: number of self steps in the episode."""

    @classmethod
    def from_steps(cls, per_step: FloatArray) -> EpisodeSOO:
        """From ``(T, N)`` per-step distances, NaN where a step is not a self step (``soo_values``)."""
        measured = np.isfinite(per_step)
        return cls(np.where(measured, per_step, 0.0).sum(axis=0), measured.sum(axis=0).astype(np.int64))

    def value(self) -> float:
        """Mean SOO distance over every self step of the evaluation; NaN if there is none."""
        return float(self.blocks(len(self.sums), 1)[0]) if len(self.sums) else float("nan")

    def per_episode(self) -> FloatArray:
        """``(N,)`` mean SOO distance over each episode's self steps; NaN for an episode without one."""
        return self.blocks(1, len(self.sums))

    def blocks(self, episodes: int, count: int) -> FloatArray:
        """``(count,)`` mean SOO distance over the self steps of each of ``count`` disjoint blocks of ``episodes``
        consecutive evaluation episodes (the first ones); NaN for a block without a self step."""
        sums = self.sums[: count * episodes].reshape(count, episodes).sum(axis=1)
        steps = self.steps[: count * episodes].reshape(count, episodes).sum(axis=1)
        return np.where(steps > 0, sums / np.maximum(steps, 1), np.nan)
