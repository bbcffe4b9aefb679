"""SOO on your own environment: everything a user needs, from one place.

Declare where the other agent appears in the learner's observation (``ObsLayout``, with its ``flags``), give the
learner an observation radius (``ObservationRadius``, which declares the layout and radius to ``SOOPPO`` as
``SOOView``), vectorise the PettingZoo env for one shared policy (``SharedPolicyVecEnv``), train a baseline and
fine-tune it with a named setting (``SOOPPO.fine_tune(..., preset="actions")``, ``SOO_PRESETS``), then measure the
episode outcomes (``measure_outcomes``), the SOO value (``mean_soo_value``, ``SOOMeasure``) and the behaviour with
the other agent masked (``blind_policy``). The guide: docs, "SOO on your own environment".
"""

from __future__ import annotations

from agents.batch_policy import ModelPolicy
from agents.soo.pairs import OtherSlots, PairOptions
from agents.soo.presets import SOO_PRESETS, SOOPreset
from agents.soo_ppo import SOOPPO
from envs.generic.layout import ObsLayout, SOOView
from envs.generic.observation_radius import ObservationRadius
from envs.generic.shared_vec_env import SharedPolicyVecEnv, record_observations
from soo_rl.measurement.evaluation import blind_policy
from soo_rl.measurement.outcomes import Outcomes, measure_outcomes
from soo_rl.measurement.soo_value import SOOMeasure, mean_soo_value

__all__ = [
    "SOOPPO",
    "SOO_PRESETS",
    "ModelPolicy",
    "ObsLayout",
    "ObservationRadius",
    "OtherSlots",
    "Outcomes",
    "PairOptions",
    "SOOMeasure",
    "SOOPreset",
    "SOOView",
    "SharedPolicyVecEnv",
    "blind_policy",
    "mean_soo_value",
    "measure_outcomes",
    "record_observations",
]
