"""Actor-critic policy that exposes the hidden activations of its actor network."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import torch as th
from stable_baselines3.common.distributions import Distribution
from stable_baselines3.common.policies import ActorCriticPolicy, BasePolicy
from stable_baselines3.common.type_aliases import PyTorchObs

from agents.soo.lure import LureDirection
from agents.soo.pairs import Pairs

SOOTarget = Literal["hidden", "actions", "lure"]
SOO_TARGETS: tuple[str, ...] = ("hidden", "actions", "lure")
SOOSelf = Literal["current", "reference"]
SOO_SELVES: tuple[str, ...] = ("current", "reference")
"""Where the self observations' features of an SOO pair are read: the learner itself, or its frozen reference."""


class SOOActorCriticPolicy(ActorCriticPolicy):
    """SB3's ``ActorCriticPolicy`` (same networks, same initialisation) plus what SOO compares: the actor's
    hidden activations (``actor_activations``), its mean actions (``soo_features(obs, "actions")``) or their
    components towards the landmarks that are not the goal (``"lure"``, ``agents.soo.lure``).

    :param soo_layers: indices of the actor MLP's hidden layers whose activations (outputs of the
        activation function) are used for SOO, concatenated; ``None`` uses every hidden layer.
    :param args: passed to ``ActorCriticPolicy``.
    :param kwargs: passed to ``ActorCriticPolicy``.
    """

    def __init__(self, *args: Any, soo_layers: Sequence[int] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.soo_layers = self._check_layers(soo_layers)

    @property
    def num_hidden_layers(self) -> int:
        """Number of hidden layers (activation functions) in the actor MLP."""
        return sum(isinstance(module, self.activation_fn) for module in self.mlp_extractor.policy_net)

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data["soo_layers"] = self.soo_layers
        return data

    def evaluate_actions_and_distribution(
        self,
        obs: PyTorchObs,
        actions: th.Tensor,
        pairs: Pairs | None = None,
        pair_target: SOOTarget = "hidden",
        lure: LureDirection | None = None,
    ) -> tuple[th.Tensor, th.Tensor, th.Tensor | None, Distribution, tuple[th.Tensor, ...] | None]:
        """SB3 2.9's ``evaluate_actions`` (values, log-probabilities, entropy), plus the action
        distribution it built and, for ``pairs`` drawn from ``obs``, what SOO compares (``soo_features``) on the
        rows of ``obs`` followed by the pairs' other observations: one tensor per chosen hidden layer (``hidden``) or
        the mean actions (``actions``) or their lure components (``lure``, with ``lure``). Pair ``i`` compares row
        ``pairs.self_rows[i]`` with row ``len(obs) + i`` (``agents.soo.distances.row_pair_loss``).

        Only the pairs' other observations need a forward pass of their own, and it is the minibatch's: the
        selves are rows of ``obs`` (``pairs.self_rows``), so neither the KL anchor nor the SOO loss adds a pass.
        """
        pair_features = None
        if pairs is None:
            features = self.extract_features(obs)
            if self.share_features_extractor:
                latent_pi, latent_vf = self.mlp_extractor(features)
            else:
                pi_features, vf_features = features
                latent_pi = self.mlp_extractor.forward_actor(pi_features)
                latent_vf = self.mlp_extractor.forward_critic(vf_features)
        else:
            assert isinstance(obs, th.Tensor)
            n = len(obs)
            all_obs = th.cat([obs, pairs.other_obs])
            pi_features = BasePolicy.extract_features(self, all_obs, self.pi_features_extractor)
            latent_all, hidden = self._actor_forward(pi_features, self.soo_layers)
            latent_pi = latent_all[:n]
            if pair_target == "hidden":
                pair_features = hidden
            else:
                pair_features = (self._action_target(self.action_net(latent_all), all_obs, pair_target, lure),)
            if self.share_features_extractor:
                vf_features = pi_features[:n]
            else:
                vf_features = BasePolicy.extract_features(self, obs, self.vf_features_extractor)
            latent_vf = self.mlp_extractor.forward_critic(vf_features)
        distribution = self._get_action_dist_from_latent(latent_pi)
        return (
            self.value_net(latent_vf),
            distribution.log_prob(actions),
            distribution.entropy(),
            distribution,
            pair_features,
        )

    def evaluate_actions(self, obs: PyTorchObs, actions: th.Tensor) -> tuple[th.Tensor, th.Tensor, th.Tensor | None]:
        values, log_prob, entropy, _, _ = self.evaluate_actions_and_distribution(obs, actions)
        return values, log_prob, entropy

    def actor_activations(self, obs: th.Tensor, layers: Sequence[int] | None = None) -> th.Tensor:
        """``(B, units)``: hidden activations of the actor for raw observations ``obs``, concatenated.

        :param layers: hidden-layer indices (``None``: the policy's ``soo_layers``).
        """
        chosen = self.soo_layers if layers is None else self._check_layers(layers)
        hidden = self._actor_forward(BasePolicy.extract_features(self, obs, self.pi_features_extractor), chosen)[1]
        return th.cat(hidden, dim=1)

    def soo_features(
        self,
        obs: th.Tensor,
        target: SOOTarget = "hidden",
        layers: Sequence[int] | None = None,
        lure: LureDirection | None = None,
    ) -> th.Tensor:
        """What SOO compares for ``obs``: the ``hidden`` activations (``actor_activations``), the ``actions``
        target, the action network's output (the Gaussian's mean action; logits for discrete actions), or the
        ``lure`` target, the mean action's components towards the landmarks that are not the goal.

        :param target: ``"hidden"``, ``"actions"`` or ``"lure"``.
        :param layers: hidden layers of the ``hidden`` target (``None``: the policy's ``soo_layers``).
        :param lure: where the ``lure`` target reads the goal and the landmarks (required for it).
        """
        if target == "hidden":
            return self.actor_activations(obs, layers)
        features = BasePolicy.extract_features(self, obs, self.pi_features_extractor)
        return self._action_target(self.action_net(self.mlp_extractor.forward_actor(features)), obs, target, lure)

    @staticmethod
    def _action_target(actions: th.Tensor, obs: th.Tensor, target: SOOTarget, lure: LureDirection | None) -> th.Tensor:
        """The ``actions`` target as it is, or its ``lure`` components for the rows of ``obs``."""
        if target == "actions":
            return actions
        if lure is None:
            raise ValueError("soo_target 'lure' needs the observation's agents.soo.lure.LureDirection (lure=...)")
        return lure.components(actions, obs)

    def _check_layers(self, layers: Sequence[int] | None) -> tuple[int, ...]:
        depth = self.num_hidden_layers
        chosen = tuple(range(depth)) if layers is None else tuple(layers)
        if not chosen or any(isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < depth for i in chosen):
            raise ValueError(
                f"soo_layers must be a non-empty sequence of hidden-layer indices in [0, {depth - 1}], got {layers!r}"
            )
        return chosen

    def _actor_forward(
        self, pi_features: th.Tensor, layers: tuple[int, ...]
    ) -> tuple[th.Tensor, tuple[th.Tensor, ...]]:
        """The actor MLP's output (its latent) and the hidden activations of ``layers``, one tensor per layer."""
        outputs, hidden, x = [], 0, pi_features
        for module in self.mlp_extractor.policy_net:
            x = module(x)
            if isinstance(module, self.activation_fn):
                if hidden in layers:
                    outputs.append(x)
                hidden += 1
        return x, tuple(outputs)
