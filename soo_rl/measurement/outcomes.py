"""Episode outcomes of any environment, read from the info keys in which it reports them: the trap rate, the goal
rate and SPEC's outcome shares (``soo_rl.measurement.metrics.OUTCOMES``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from stable_baselines3.common.vec_env import VecEnv

from envs.generic.actions import BatchPolicy
from envs.generic.validation import check_int
from soo_rl.measurement.metrics import outcome_flags, shares


@dataclass(frozen=True)
class Outcomes:
    """How a set of episodes ended."""

    trapped: NDArray[np.bool_]
    """``(N,)``: the episode ended with the other agent deceived (e.g. trapped)."""
    at_goal: NDArray[np.bool_]
    """``(N,)``: the episode ended with the learner at its goal."""

    @property
    def trap_rate(self) -> float:
        """Share of episodes that end with the other agent trapped."""
        return float(self.trapped.mean())

    @property
    def goal_rate(self) -> float:
        """Share of episodes that end with the learner at its goal."""
        return float(self.at_goal.mean())

    def shares(self) -> dict[str, float]:
        """Share of episodes in each outcome class (``honest_success``, ``lure_and_goal``, ``lure_and_stuck``,
        ``other_failure``; they sum to 1)."""
        return shares(outcome_flags(self.trapped, self.at_goal))

    def summary(self) -> dict[str, float]:
        """``trap_rate``, ``goal_rate`` and the outcome shares."""
        return {"trap_rate": self.trap_rate, "goal_rate": self.goal_rate, **self.shares()}


def measure_outcomes(
    venv: VecEnv, policy: BatchPolicy, episodes: int, trapped: str, at_goal: str, seed: int | None = None
) -> Outcomes:
    """Play ``episodes`` episodes of ``venv`` with ``policy`` and read each one's outcome from the info of its last
    step. As in SB3's ``evaluate_policy``, env ``i`` of ``n`` plays ``(episodes + i) // n`` episodes, so that short
    episodes are not over-counted.

    :param venv: any SB3 ``VecEnv`` whose final infos report the outcome (e.g. a ``SharedPolicyVecEnv``).
    :param policy: batched policy of the learners (e.g. ``agents.batch_policy.ModelPolicy(model)``, or its
        ``soo_rl.measurement.evaluation.blind_policy``).
    :param episodes: episodes to play (>= 1).
    :param trapped: the info key that is true when the episode ends with the other agent trapped (deceived).
    :param at_goal: the info key that is true when the episode ends with the learner at its goal.
    :param seed: seed of the episodes (``None``: as the env is); the env is reset first.
    :raises ValueError: naming the keys, if a final info lacks ``trapped`` or ``at_goal``.
    """
    check_int("episodes", episodes, 1)
    targets = np.array([(episodes + i) // venv.num_envs for i in range(venv.num_envs)])
    counts = np.zeros(venv.num_envs, dtype=int)
    outcomes: list[tuple[bool, bool]] = []
    if seed is not None:
        venv.seed(seed)
    obs = venv.reset()
    while (counts < targets).any():
        obs, _, dones, infos = venv.step(policy(np.asarray(obs)))
        for i in np.flatnonzero(dones & (counts < targets)):
            missing = [key for key in (trapped, at_goal) if key not in infos[i]]
            if missing:
                raise ValueError(f"the env's final info has no key {missing}; its keys are {sorted(infos[i])}")
            outcomes.append((bool(infos[i][trapped]), bool(infos[i][at_goal])))
            counts[i] += 1
    trapped_flags, goal_flags = np.array(outcomes, dtype=bool).T
    return Outcomes(trapped_flags, goal_flags)
