"""The SOO pairs of a whole rollout, drawn once per epoch and looked up per minibatch."""

from __future__ import annotations

import numpy as np
import torch as th

from agents.soo.pairs import OtherSlots, PairMode, PairOptions, Pairs, other_copies, self_mask


class RolloutPairs:
    """The SOO pairs of one rollout's minibatches, drawn as ``build_pairs`` draws them from each minibatch, with the
    work done once per epoch for the whole rollout instead of on every minibatch.

    The self observations are found once per rollout; ``draw`` gives each of them fresh other copies (and a random
    priority) for the next epoch, in which it lies in exactly one minibatch; ``minibatch`` looks up the selves of a
    minibatch and keeps the ``max_selves`` with the lowest priority, a uniform draw without replacement.

    :param obs: ``(N, obs_dim)``: the rollout's observations, in the rollout buffer's (flattened) order.
    :param slots: where the other agent appears in ``obs``.
    :param observation_radius: the learner's radius (the insertion disk's unless ``options.radius`` is set).
    :param generator: source of every random draw.
    :param max_selves: use at most this many self observations per minibatch (``None``: all).
    :param inserts_per_self: inserted positions (pairs) per self observation.
    :param mode: as in ``build_pairs``.
    :param options: how the other copy is built.
    """

    others: th.Tensor
    """This epoch's other copies: ``inserts_per_self`` rows per self observation (``other_copies``)."""
    priority: np.ndarray
    """This epoch's random priority of each self observation (drawn only with ``max_selves``)."""

    def __init__(
        self,
        obs: th.Tensor,
        slots: OtherSlots,
        observation_radius: float,
        generator: th.Generator,
        max_selves: int | None,
        inserts_per_self: int,
        mode: PairMode,
        options: PairOptions,
    ) -> None:
        rows = self_mask(obs, slots).nonzero().squeeze(1)
        self.selves = obs[rows]
        self.position = np.full(len(obs), -1)
        """Index of each buffer row among the self observations (-1: not one)."""
        self.position[rows.cpu().numpy()] = np.arange(len(rows))
        self.slots, self.observation_radius, self.generator = slots, observation_radius, generator
        self.max_selves, self.inserts, self.mode, self.options = max_selves, inserts_per_self, mode, options

    def draw(self) -> None:
        """New other copies and priorities for the next epoch."""
        self.others, _ = other_copies(
            self.selves, self.slots, self.options, self.observation_radius, self.inserts, self.generator, self.mode
        )
        if self.max_selves is not None:
            self.priority = th.rand(len(self.selves), generator=self.generator).numpy()

    def minibatch(self, obs: th.Tensor, indices: np.ndarray) -> Pairs | None:
        """The pairs of the minibatch ``obs``, made of the buffer rows ``indices`` (``None``: too few selves).

        :param obs: the minibatch's observations.
        :param indices: their rows in the rollout buffer
            (``agents.soo.rollout_buffer.IndexedRolloutBuffer.last_indices``).
        """
        positions = self.position[indices]
        rows = np.flatnonzero(positions >= 0)
        if self.max_selves is not None and len(rows) > self.max_selves:
            rows = rows[np.argpartition(self.priority[positions[rows]], self.max_selves - 1)[: self.max_selves]]
        if len(rows) < (2 if self.mode == "random" else 1):
            return None
        sources = positions[rows]
        if self.mode == "random":
            # Self i is compared with the other copy of a different self of the minibatch (as in build_pairs).
            sources = np.roll(sources, int(th.randint(1, len(rows), (1,), generator=self.generator)))
        if self.inserts > 1:  # the copies of self i are rows i * inserts + k of `others`
            sources = (sources[:, None] * self.inserts + np.arange(self.inserts)).ravel()
            rows = np.repeat(rows, self.inserts)
        device = obs.device
        return Pairs(
            obs,
            self.others.index_select(0, th.as_tensor(sources, device=device)),
            th.as_tensor(rows, device=device),
        )
