"""A rollout buffer that says which rows its last minibatch holds."""

from __future__ import annotations

from typing import Any

import numpy as np
from stable_baselines3.common.buffers import RolloutBuffer
from stable_baselines3.common.type_aliases import RolloutBufferSamples


class IndexedRolloutBuffer(RolloutBuffer):
    """SB3's ``RolloutBuffer`` that remembers the rows of the minibatch it last returned, so that
    per-transition values computed once per rollout (the reference policy's outputs) can be looked up."""

    last_indices: np.ndarray

    def _get_samples(self, batch_inds: np.ndarray, env: Any = None) -> RolloutBufferSamples:
        self.last_indices = batch_inds
        return super()._get_samples(batch_inds, env)
