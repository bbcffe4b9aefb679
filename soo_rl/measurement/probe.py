"""Awareness probe (SPEC section 4): can red's relative position still be decoded from blue's activations?

SOO pulls blue's actor activations on "other" observations (red inserted in view) towards those on the
matching self observation. A reviewer's question is whether that merely teaches blue to *ignore* red.
The probe answers it with a linear read-out: a ridge regression from the hidden actor activations on
other observations to the inserted ``other_rel`` (2-D), fitted on the episodes of one seed and scored
(R^2) on the episodes of another. A high R^2 means red's position is still linearly available in the
representation; a value near the shuffled-target reference means it is not.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch as th
from numpy.typing import ArrayLike, NDArray

from agents.batch_policy import ModelPolicy
from agents.policy import SOOActorCriticPolicy
from agents.soo.pairs import OtherSlots, PairOptions, other_copies, self_mask
from agents.soo_ppo import SOOPPO
from envs.deception.config import DeceptionConfig
from envs.deception.layout import blue_layout
from envs.deception.recording import rollout
from envs.deception.scripted import scripted_policy
from envs.generic.actions import BatchPolicy
from envs.generic.layout import ObsLayout
from envs.generic.validation import check_float, check_int

FloatArray = NDArray[np.float64]

DEFAULT_ALPHAS: tuple[float, ...] = (1e-2, 1e-1, 1.0, 1e1, 1e2, 1e3, 1e4)
"""Ridge penalties tried by cross-validation. Features are standardised, so the Gram matrix has
diagonal ``n`` (the number of samples): the grid spans from no shrinkage to strong shrinkage."""


class NotEnoughSelfStepsError(ValueError):
    """The agent (almost) never loses sight of red, so there are no other observations to probe."""


@dataclass(frozen=True)
class RidgeProbe:
    """A fitted linear probe: ``predict(x) = ((x - mean) / scale) @ coef + intercept``."""

    mean: FloatArray
    """``(d,)`` feature means of the fit set."""
    scale: FloatArray
    """``(d,)`` feature standard deviations of the fit set (1 for constant features)."""
    coef: FloatArray
    """``(d, k)`` weights on the standardised features."""
    intercept: FloatArray
    """``(k,)``"""
    alpha: float
    """The ridge penalty it was fitted with."""

    def predict(self, features: ArrayLike) -> FloatArray:
        """``(n, k)`` predictions for ``(n, d)`` features."""
        x = _as_matrix(features, "features")
        if x.shape[1] != len(self.mean):
            raise ValueError(f"features must have {len(self.mean)} columns, got {x.shape[1]}")
        return ((x - self.mean) / self.scale) @ self.coef + self.intercept


def fit_ridge(features: ArrayLike, targets: ArrayLike, alpha: float = 1.0) -> RidgeProbe:
    """Closed-form ridge regression with an (unpenalised) intercept, on standardised features.

    Minimises ``||y - z w - b||^2 + alpha ||w||^2`` with ``z`` the features standardised by the fit
    set's mean and standard deviation. With ``alpha = 0`` it is ordinary least squares (the
    minimum-norm solution when the features are collinear), i.e. ``numpy.linalg.lstsq`` with a column
    of ones.

    :param features: ``(n, d)`` features (e.g. activations).
    :param targets: ``(n, k)`` targets (``(n,)`` is read as ``k = 1``).
    :param alpha: ridge penalty (finite, >= 0).
    """
    check_float("alpha", alpha, 0.0, math.inf)
    return _fit_path(_as_matrix(features, "features"), _as_matrix(targets, "targets"), [alpha])[0]


def r2_score(targets: ArrayLike, predictions: ArrayLike) -> float:
    """Multi-output coefficient of determination, pooled over outputs: ``1 - SSE / SST``.

    SSE and SST are summed over samples *and* outputs (SST around each output's own mean): scikit-learn's
    ``multioutput="variance_weighted"``. For ``other_rel`` both coordinates have the same variance, so it
    is close to the mean of the per-output R^2. NaN if the targets are constant.

    :param targets: ``(n, k)`` or ``(n,)`` true values.
    :param predictions: predictions of the same shape.
    """
    y, p = _as_matrix(targets, "targets"), _as_matrix(predictions, "predictions")
    if y.shape != p.shape:
        raise ValueError(f"targets and predictions must have the same shape, got {y.shape} and {p.shape}")
    sst = float(((y - y.mean(axis=0)) ** 2).sum())
    sse = float(((y - p) ** 2).sum())
    return 1.0 - sse / sst if sst > 0 else float("nan")


def select_alpha(
    features: ArrayLike,
    targets: ArrayLike,
    alphas: Sequence[float] = DEFAULT_ALPHAS,
    groups: ArrayLike | None = None,
    folds: int = 5,
) -> float:
    """The ridge penalty with the lowest cross-validated squared error, by k-fold CV on the given set only.

    Each fold is standardised and fitted on its own training part. Ties go to the first alpha of ``alphas``.

    :param features: ``(n, d)`` features.
    :param targets: ``(n, k)`` targets.
    :param alphas: candidate penalties; a single candidate is returned without CV.
    :param groups: ``(n,)`` group labels (e.g. episode indices) that stay together in one fold, so that
        correlated samples do not leak between training and validation parts; ``None``: every sample alone.
    :param folds: number of folds k (>= 2); groups are dealt to folds in order of first appearance.
    """
    candidates = _check_alphas(alphas)
    if len(candidates) == 1:
        return candidates[0]
    x, y = _as_matrix(features, "features"), _as_matrix(targets, "targets")
    if len(x) != len(y):
        raise ValueError(f"features and targets must have the same number of rows, got {len(x)} and {len(y)}")
    labels = np.arange(len(x)) if groups is None else np.asarray(groups)
    if labels.shape != (len(x),):
        raise ValueError(f"groups must have shape ({len(x)},), got {labels.shape}")
    check_int("folds", folds, 2)
    _, first, inverse = np.unique(labels, return_index=True, return_inverse=True)
    if len(first) < folds:
        raise ValueError(f"cross-validation needs at least folds={folds} groups, got {len(first)}")
    rank = np.empty(len(first), dtype=np.int64)
    rank[np.argsort(first)] = np.arange(len(first))
    fold_of = rank[inverse] % folds
    errors = np.zeros(len(candidates))
    for fold in range(folds):
        held_out = fold_of == fold
        probes = _fit_path(x[~held_out], y[~held_out], candidates)
        errors += [((probe.predict(x[held_out]) - y[held_out]) ** 2).sum() for probe in probes]
    return candidates[int(np.argmin(errors))]


def inserted_activations(
    policy: SOOActorCriticPolicy,
    observations: NDArray[np.float32],
    slots: OtherSlots,
    observation_radius: float,
    inserts: int,
    generator: th.Generator,
    chunk: int = 65_536,
) -> tuple[FloatArray, FloatArray, NDArray[np.int64]]:
    """A policy's hidden actor activations on inserted-other copies of the self steps of recorded observations.

    Works on the observations of any environment whose learner observation is declared
    (``envs.generic.layout.ObsLayout``, ``OtherSlots.from_layout``): the other agent is inserted uniformly in the disk
    of ``observation_radius`` (``agents.soo.pairs.other_copies``).

    :param policy: the agent's policy (it must expose ``actor_activations``).
    :param observations: ``(T, N, obs_dim)`` observations (N episodes or envs side by side).
    :param slots: where the other agent appears in them.
    :param observation_radius: radius of the insertion disk.
    :param inserts: inserted positions per self observation (>= 1).
    :param generator: source of the inserted positions.
    :param chunk: observations per forward pass.
    :return: ``(features, targets, groups)``: ``(n, units)`` activations, ``(n, 2)`` inserted relative positions
        and ``(n,)`` column (episode) index of every sample; empty if there is no self step.
    """
    check_int("inserts", inserts, 1)
    columns = observations.shape[1]
    flat = th.as_tensor(observations.reshape(-1, observations.shape[-1]))
    mask = self_mask(flat, slots)
    column_of = th.arange(len(flat)) % columns
    selves, groups = flat[mask], column_of[mask].repeat_interleave(inserts)
    every_layer = tuple(range(policy.num_hidden_layers))
    was_training = policy.training
    policy.set_training_mode(False)
    features, targets = [], []
    try:
        with th.no_grad():
            for start in range(0, len(selves), chunk):
                block = selves[start : start + chunk]
                others, points = other_copies(block, slots, PairOptions(), observation_radius, inserts, generator)
                assert points is not None
                features.append(policy.actor_activations(others.to(policy.device), every_layer).cpu().double().numpy())
                targets.append(points.double().numpy())
    finally:
        policy.set_training_mode(was_training)
    if not features:
        return np.empty((0, 0)), np.empty((0, 2)), groups.numpy()
    return np.concatenate(features), np.concatenate(targets), groups.numpy()


def other_activations(
    model: SOOPPO,
    config: DeceptionConfig,
    episodes: int,
    seed: int,
    inserts: int = 1,
    red_policy: BatchPolicy | None = None,
    chunk: int = 65_536,
) -> tuple[FloatArray, FloatArray, NDArray[np.int64]]:
    """Blue's actor activations on inserted-other observations of seeded evaluation episodes.

    Plays ``episodes`` episodes of seed ``seed`` with ``model`` as blue (deterministic actions), takes
    blue's self observations (red not visible) and, for each, ``inserts`` other observations with red
    inserted uniformly in the disk of ``config.blue_radius`` (``inserted_activations``; the draws come from a
    ``torch.Generator`` seeded with ``seed``).

    :param model: the blue agent (its policy must expose ``actor_activations``).
    :param config: the world; its observation layout must match the model's observation space.
    :param episodes: number of episodes (>= 1).
    :param seed: seed of the episodes and of the inserted positions.
    :param inserts: inserted positions per self observation (>= 1).
    :param red_policy: red's policy (default: the scripted follower).
    :param chunk: observations per forward pass.
    :return: ``(features, targets, groups)``: ``(n, units)`` activations, ``(n, 2)`` inserted ``other_rel``
        and ``(n,)`` episode index of every sample.
    """
    check_int("episodes", episodes, 1)
    check_int("inserts", inserts, 1)
    layout = blue_layout(config.num_landmarks)
    obs_shape = model.observation_space.shape
    if obs_shape != (layout.size,):
        raise ValueError(f"the model's observation shape {obs_shape} does not match the config's ({layout.size},)")
    red = red_policy if red_policy is not None else scripted_policy("red_follower", config)
    traj = rollout(config, red, ModelPolicy(model), episodes, seed=seed)
    slots = OtherSlots.from_layout(layout)
    generator = th.Generator().manual_seed(seed)
    features, targets, groups = inserted_activations(
        model.policy, traj.blue_obs, slots, config.blue_radius, inserts, generator, chunk
    )
    if not len(targets):
        raise NotEnoughSelfStepsError(
            f"the {episodes} episodes of seed {seed} have no step in which blue does not see red"
        )
    return features, targets, groups


def probe_awareness(
    model: SOOPPO,
    config: DeceptionConfig,
    episodes: int = 200,
    fit_seed: int = 20_000,
    score_seed: int = 30_000,
    inserts: int = 1,
    alphas: Sequence[float] = DEFAULT_ALPHAS,
    folds: int = 5,
    red_policy: BatchPolicy | None = None,
) -> dict[str, float]:
    """How well red's relative position can be decoded linearly from blue's actor activations.

    Fits a ridge probe (alpha by ``folds``-fold CV over episodes of the fit set) from the activations on
    other observations (``other_activations``) to the inserted ``other_rel``, on the episodes of
    ``fit_seed``, and scores it on the different episodes of ``score_seed`` (``fit_probe``). The same arguments
    give the same numbers.

    :param model: the blue agent.
    :param config: the world (e.g. ``envs.deception.config.make_config("default")``).
    :param episodes: episodes per set (>= 1; at least ``folds`` when several ``alphas`` are tried).
    :param fit_seed: seed of the fit episodes and inserts.
    :param score_seed: seed of the score episodes and inserts; must differ from ``fit_seed``.
    :param inserts: inserted positions per self observation.
    :param alphas: candidate ridge penalties (see ``select_alpha``).
    :param folds: cross-validation folds.
    :param red_policy: red's policy (default: the scripted follower).
    :return: as ``fit_probe``.
    """
    check_int("episodes", episodes, 1)
    check_int("inserts", inserts, 1)
    if fit_seed == score_seed:
        raise ValueError(f"fit_seed and score_seed must differ (held-out episodes), both are {fit_seed!r}")
    candidates = _check_alphas(alphas)
    if len(candidates) > 1 and episodes < folds:
        raise ValueError(f"episodes must be >= folds={folds} to cross-validate alpha, got {episodes}")
    fit = other_activations(model, config, episodes, fit_seed, inserts, red_policy)
    score = other_activations(model, config, episodes, score_seed, inserts, red_policy)
    return fit_probe(fit, score, candidates, folds, fit_seed)


def probe_observations(
    model: SOOPPO,
    fit_observations: NDArray[np.float32],
    score_observations: NDArray[np.float32],
    layout: ObsLayout,
    observation_radius: float,
    inserts: int = 1,
    alphas: Sequence[float] = DEFAULT_ALPHAS,
    folds: int = 5,
    seed: int = 0,
) -> dict[str, float]:
    """The awareness probe on recorded observations of any environment (e.g. a ``SharedPolicyVecEnv`` rollout,
    ``envs.generic.shared_vec_env.record_observations``): can the other agent's inserted position be decoded linearly
    from the activations on other observations?

    :param model: the agent.
    :param fit_observations: ``(T, N, obs_dim)`` observations to fit the probe on (cross-validation groups:
        the N columns).
    :param score_observations: ``(T', N', obs_dim)`` different observations to score it on.
    :param layout: the learner's observation layout (its ``other`` is the agent inserted).
    :param observation_radius: radius of the insertion disk.
    :param inserts: inserted positions per self observation.
    :param alphas: candidate ridge penalties (see ``select_alpha``).
    :param folds: cross-validation folds.
    :param seed: seed of the inserted positions (``seed`` for the fit set, ``seed + 1`` for the score set) and of
        the shuffled reference.
    :return: as ``fit_probe``.
    """
    slots = OtherSlots.from_layout(layout)
    sets = []
    for offset, observations in enumerate((fit_observations, score_observations)):
        generator = th.Generator().manual_seed(seed + offset)
        sets.append(inserted_activations(model.policy, observations, slots, observation_radius, inserts, generator))
        if not len(sets[-1][1]):
            raise NotEnoughSelfStepsError("the observations have no step in which the other agent is out of view")
    return fit_probe(sets[0], sets[1], _check_alphas(alphas), folds, seed)


Samples = tuple[FloatArray, FloatArray, NDArray[np.int64]]


def fit_probe(fit: Samples, score: Samples, alphas: Sequence[float], folds: int, seed: int) -> dict[str, float]:
    """Fit the ridge probe on ``fit`` (alpha by ``folds``-fold CV over its groups) and score it on ``score``.

    The chance reference runs the same procedure on fit targets shuffled by a permutation seeded with ``seed``,
    scored against the true targets of the score set.

    :param fit: ``(features, targets, groups)`` of the fit set (``inserted_activations``).
    :param score: the same for the score set.
    :param alphas: candidate ridge penalties.
    :param folds: cross-validation folds.
    :param seed: seed of the shuffled reference.
    :return: ``r2`` (score set), ``r2_fit`` (fit set), ``r2_shuffled`` (chance reference, score set),
        ``alpha`` (selected penalty), ``fit_samples`` and ``score_samples``.
    """
    (fit_x, fit_y, fit_groups), (score_x, score_y, _) = fit, score
    candidates = _check_alphas(alphas)
    with_self_steps = len(np.unique(fit_groups))
    if len(candidates) > 1 and with_self_steps < folds:
        raise NotEnoughSelfStepsError(f"only {with_self_steps} fit episodes have a self step (folds={folds})")
    alpha = select_alpha(fit_x, fit_y, candidates, fit_groups, folds)
    probe = fit_ridge(fit_x, fit_y, alpha)
    shuffled = fit_y[np.random.default_rng(seed).permutation(len(fit_y))]
    chance = fit_ridge(fit_x, shuffled, select_alpha(fit_x, shuffled, candidates, fit_groups, folds))
    return {
        "r2": r2_score(score_y, probe.predict(score_x)),
        "r2_fit": r2_score(fit_y, probe.predict(fit_x)),
        "r2_shuffled": r2_score(score_y, chance.predict(score_x)),
        "alpha": alpha,
        "fit_samples": len(fit_y),
        "score_samples": len(score_y),
    }


def _fit_path(x: FloatArray, y: FloatArray, alphas: Sequence[float]) -> list[RidgeProbe]:
    """One ridge fit per alpha, sharing the standardisation and one eigendecomposition of the Gram matrix."""
    if len(x) != len(y):
        raise ValueError(f"features and targets must have the same number of rows, got {len(x)} and {len(y)}")
    if len(x) < 2:
        raise ValueError(f"a ridge fit needs at least 2 samples, got {len(x)}")
    candidates = _check_alphas(alphas)
    mean, std = x.mean(axis=0), x.std(axis=0)
    scale = np.where(std > 1e-12 * np.maximum(np.abs(mean), 1.0), std, 1.0)
    z = (x - mean) / scale
    intercept = y.mean(axis=0)
    eigenvalues, vectors = np.linalg.eigh(z.T @ z)
    projected = vectors.T @ (z.T @ (y - intercept))
    cutoff = max(float(eigenvalues.max(initial=0.0)), 1.0) * max(z.shape) * np.finfo(np.float64).eps
    kept = eigenvalues > cutoff
    probes = []
    for alpha in candidates:
        inverse = np.where(kept, 1.0 / np.where(kept, eigenvalues + alpha, 1.0), 0.0)
        probes.append(RidgeProbe(mean, scale, vectors @ (inverse[:, None] * projected), intercept, alpha))
    return probes


def _as_matrix(values: ArrayLike, name: str) -> FloatArray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2:
        raise ValueError(f"{name} must be a 1-D or 2-D array, got shape {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} must be finite")
    return array


def _check_alphas(alphas: Sequence[float]) -> list[float]:
    values = [float(a) for a in alphas]
    if not values or any(not (math.isfinite(a) and a >= 0) for a in values):
        raise ValueError(f"alphas must be a non-empty sequence of finite numbers >= 0, got {alphas!r}")
    return values
