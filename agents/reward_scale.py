"""A stateless reward-scaling ``VecEnv`` wrapper (keeps PPO's value targets near unit scale)."""

from __future__ import annotations

import numpy as np
from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper
from stable_baselines3.common.vec_env.base_vec_env import VecEnvObs, VecEnvStepReturn


class ScaleReward(VecEnvWrapper):
    """Multiply every reward by a constant ``scale`` (observations and infos pass through unchanged).

    Unlike ``VecNormalize`` it has no running statistics, so a saved model needs only the constant to
    resume or fine-tune. Wrap it *outside* ``VecMonitor`` so that logged episode returns stay raw.

    :param venv: the vectorised env.
    :param scale: reward multiplier, > 0.
    """

    def __init__(self, venv: VecEnv, scale: float) -> None:
        if not np.isfinite(scale) or scale <= 0:
            raise ValueError(f"scale must be a finite number > 0, got {scale!r}")
        super().__init__(venv)
        self.scale = float(scale)

    def reset(self) -> VecEnvObs:
        return self.venv.reset()

    def step_wait(self) -> VecEnvStepReturn:
        obs, rewards, dones, infos = self.venv.step_wait()
        return obs, (rewards * self.scale).astype(np.float32), dones, infos
