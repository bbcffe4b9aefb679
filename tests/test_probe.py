"""Awareness probe: ridge regression, R^2 and the probe on a tiny model."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from agents.soo_ppo import SOOPPO
from envs.deception.config import make_config
from envs.deception.deception_v0 import make_vec_env
from soo_rl.measurement.probe import fit_ridge, other_activations, probe_awareness, r2_score, select_alpha

CONFIG = make_config("default")


def red_runs_away(obs: np.ndarray) -> np.ndarray:
    """Red moves right at full speed: it soon leaves the untrained blue's view, giving self steps."""
    return np.tile([1.0, 0.0], (len(obs), 1))


def linear_data(n: int, seed: int, noise: float = 0.01) -> tuple[np.ndarray, np.ndarray]:
    """Correlated, unevenly scaled features and a 2-D target that is linear in them plus small noise."""
    rng = np.random.default_rng(seed)
    mixing = np.random.default_rng(99).normal(size=(12, 12))
    x = rng.normal(size=(n, 12)) @ mixing * np.logspace(-2, 2, 12) + 3.0
    weights = np.random.default_rng(100).normal(size=(12, 2))
    y = (x - 3.0) / np.logspace(-2, 2, 12) @ weights
    y = y / y.std(axis=0) + rng.normal(scale=noise, size=(n, 2)) + [1.0, -2.0]
    return x, y


@pytest.fixture(scope="module")
def tiny_model() -> Any:
    return SOOPPO("MlpPolicy", make_vec_env(4, seed=0), seed=0, n_steps=16, policy_kwargs={"net_arch": [16, 16]})


def test_probe_recovers_a_linear_signal_on_held_out_data() -> None:
    x, y = linear_data(2000, seed=0)
    x_test, y_test = linear_data(1000, seed=1)
    alpha = select_alpha(x, y)
    probe = fit_ridge(x, y, alpha)
    assert r2_score(y_test, probe.predict(x_test)) > 0.95


def test_probe_finds_nothing_in_independent_targets() -> None:
    x, _ = linear_data(2000, seed=0)
    x_test, _ = linear_data(1000, seed=1)
    rng = np.random.default_rng(2)
    y, y_test = rng.normal(size=(2000, 2)), rng.normal(size=(1000, 2))
    probe = fit_ridge(x, y, select_alpha(x, y))
    assert abs(r2_score(y_test, probe.predict(x_test))) < 0.05


def test_ridge_without_penalty_is_least_squares() -> None:
    x, y = linear_data(300, seed=3, noise=0.5)
    probe = fit_ridge(x, y, alpha=0.0)
    design = np.column_stack([x, np.ones(len(x))])
    solution = np.linalg.lstsq(design, y, rcond=None)[0]
    np.testing.assert_allclose(probe.predict(x), design @ solution, atol=1e-8)
    np.testing.assert_allclose(probe.coef / probe.scale[:, None], solution[:-1], rtol=1e-6, atol=1e-8)
    # A penalty shrinks the standardised weights.
    assert np.linalg.norm(fit_ridge(x, y, alpha=100.0).coef) < np.linalg.norm(probe.coef)


def test_ridge_tolerates_constant_features() -> None:
    x, y = linear_data(300, seed=4)
    x = np.column_stack([x, np.full(len(x), 7.0)])
    probe = fit_ridge(x, y, alpha=0.0)
    assert np.isfinite(probe.coef).all() and r2_score(y, probe.predict(x)) > 0.99


def test_r2_of_perfect_and_mean_predictions() -> None:
    y = np.random.default_rng(5).normal(size=(50, 2))
    assert r2_score(y, y) == 1.0
    assert r2_score(y, np.broadcast_to(y.mean(axis=0), y.shape)) == pytest.approx(0.0, abs=1e-12)
    assert np.isnan(r2_score(np.ones((5, 2)), np.ones((5, 2))))


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: fit_ridge(np.ones((4, 2)), np.ones((4, 1)), alpha=-1.0), "alpha"),
        (lambda: fit_ridge(np.ones((4, 2)), np.ones((3, 1))), "rows"),
        (lambda: r2_score(np.ones((4, 2)), np.ones((4, 1))), "shape"),
        (lambda: select_alpha(np.ones((4, 2)), np.ones((4, 1)), alphas=[]), "alphas"),
        (lambda: select_alpha(np.ones((4, 2)), np.ones((4, 1)), folds=1, alphas=[0.1, 1.0]), "folds"),
    ],
)
def test_bad_probe_input(call: Any, name: str) -> None:
    with pytest.raises(ValueError, match=name):
        call()


def test_other_activations_are_inserted_red_positions(tiny_model: Any) -> None:
    features, targets, groups = other_activations(tiny_model, CONFIG, 3, seed=1, inserts=2, red_policy=red_runs_away)
    assert features.shape == (len(targets), 32) and targets.shape[1] == 2 and groups.shape == (len(targets),)
    assert np.linalg.norm(targets, axis=1).max() <= CONFIG.blue_radius + 1e-6
    assert set(groups.tolist()) <= {0, 1, 2}


def test_probe_awareness_runs_and_is_deterministic(tiny_model: Any) -> None:
    kwargs = {"episodes": 4, "fit_seed": 1, "score_seed": 2, "folds": 2, "red_policy": red_runs_away}
    first = probe_awareness(tiny_model, CONFIG, **kwargs)
    assert set(first) == {"r2", "r2_fit", "r2_shuffled", "alpha", "fit_samples", "score_samples"}
    assert first["fit_samples"] > 0 and first["score_samples"] > 0
    assert all(np.isfinite(value) for value in first.values())
    assert first == probe_awareness(tiny_model, CONFIG, **kwargs)
    assert first != probe_awareness(tiny_model, CONFIG, **{**kwargs, "score_seed": 3})


def test_probe_awareness_needs_self_steps(tiny_model: Any) -> None:
    # The scripted follower stays with the untrained blue: blue never loses sight of red.
    with pytest.raises(ValueError, match="no step in which blue does not see red"):
        probe_awareness(tiny_model, CONFIG, episodes=2, alphas=[1.0])


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"fit_seed": 5, "score_seed": 5}, "fit_seed"),
        ({"episodes": 0}, "episodes"),
        ({"episodes": 2, "folds": 5}, "episodes"),
        ({"inserts": 0}, "inserts"),
        ({"alphas": [1.0, -1.0]}, "alphas"),
    ],
)
def test_probe_awareness_rejects_bad_arguments(tiny_model: Any, kwargs: dict[str, Any], name: str) -> None:
    with pytest.raises(ValueError, match=name):
        probe_awareness(tiny_model, CONFIG, **kwargs)
