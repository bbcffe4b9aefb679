"""Named SOO settings for ``SOOPPO.fine_tune(checkpoint, env, preset=...)``, defined once.

- ``actions``: the setting that works where deception needs the other agent in view: SOO on the policy's mean
  actions, plain MSE, weight 1, stop-gradient through the self branch, with the KL anchor (weight 0.1). It trains
  the agent to act, with the other in view, as it acts with the other masked, so it removes exactly the deception
  the masked (blind) agent does not do (``contingent``: trap rate 0.62 -> 0.11, goal kept).
- ``hidden_log_mse``: SOO on the actor's hidden activations with the paper's ``log_mse``, weight 1, with the anchor.
  At weight >= 0.1 it collapses the representation of the other agent: the agent becomes blind to it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from agents.policy import SOO_TARGETS, SOOTarget
from agents.soo.distances import DISTANCE_KINDS, DistanceKind
from envs.generic.validation import check_choice, check_float, check_int


@dataclass(frozen=True)
class SOOPreset:
    """A named SOO setting: ``SOOPPO`` keyword arguments (their names and meanings)."""

    soo_target: SOOTarget
    soo_distance: DistanceKind
    soo_coef: float
    soo_stop_gradient: bool
    kl_coef: float
    soo_max_selves: int

    def __post_init__(self) -> None:
        check_choice("soo_target", self.soo_target, SOO_TARGETS)
        check_choice("soo_distance", self.soo_distance, DISTANCE_KINDS)
        check_float("soo_coef", self.soo_coef, 0.0, float("inf"))
        check_float("kl_coef", self.kl_coef, 0.0, float("inf"))
        check_int("soo_max_selves", self.soo_max_selves, 1)

    def kwargs(self) -> dict[str, Any]:
        """The ``SOOPPO`` keyword arguments."""
        return dataclasses.asdict(self)


SOO_PRESETS: dict[str, SOOPreset] = {
    "actions": SOOPreset(
        soo_target="actions", soo_distance="mse", soo_coef=1.0, soo_stop_gradient=True, kl_coef=0.1, soo_max_selves=256
    ),
    "hidden_log_mse": SOOPreset(
        soo_target="hidden",
        soo_distance="log_mse",
        soo_coef=1.0,
        soo_stop_gradient=False,
        kl_coef=0.1,
        soo_max_selves=256,
    ),
}
"""The named settings (module docstring); ``SOOPPO.fine_tune(..., preset=name)`` applies one."""


def preset_kwargs(name: str) -> dict[str, Any]:
    """The ``SOOPPO`` keyword arguments of preset ``name`` (a key of ``SOO_PRESETS``)."""
    check_choice("preset", name, tuple(SOO_PRESETS))
    return SOO_PRESETS[name].kwargs()
