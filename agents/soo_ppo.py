"""PPO with an auxiliary Self-Other Overlap loss and a KL anchor to a frozen reference policy.

``loss = PPO loss + soo_coef * SOO loss + kl_coef * KL(pi_ref || pi)``, on every PPO minibatch
(SPEC section 3). With ``soo_coef = 0`` and ``kl_coef = 0`` nothing extra is computed or drawn, so
training is bit-for-bit vanilla stable-baselines3 PPO with the same seed.

``train()`` extends stable-baselines3 2.9's ``PPO.train`` (the package pins that minor version).
"""

from __future__ import annotations

import importlib
import io
import math
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3 import PPO
from stable_baselines3.common.distributions import DiagGaussianDistribution, Distribution
from stable_baselines3.common.policies import ActorCriticPolicy, BasePolicy
from stable_baselines3.common.utils import explained_variance
from torch.nn import functional as F

from agents.policy import SOO_SELVES, SOO_TARGETS, SOOActorCriticPolicy, SOOSelf, SOOTarget
from agents.soo.distances import DISTANCE_KINDS, DistanceKind, pair_loss, row_pair_loss
from agents.soo.env import check_raw_observations, declared_view
from agents.soo.kl import DiagGaussianKL
from agents.soo.lure import LureDirection
from agents.soo.pairs import PAIR_MODES, OtherSlots, PairMode, PairOptions, Pairs, build_pairs
from agents.soo.presets import preset_kwargs
from agents.soo.rollout_buffer import IndexedRolloutBuffer
from agents.soo.rollout_pairs import RolloutPairs
from envs.generic.io import atomic_path, sha256_of
from envs.generic.layout import ObsLayout
from envs.generic.validation import check_choice, check_float, check_int


class SOOPPO(PPO):
    """stable-baselines3 PPO plus the SOO auxiliary loss and the reference-policy anchor.

    :param policy: policy class or alias (``"MlpPolicy"`` is ``SOOActorCriticPolicy`` here).
    :param env: the training env; with ``soo_coef > 0``, its observations must be raw (no
        ``VecNormalize(norm_obs=True)``). If it declares the learner's ``envs.generic.layout.SOOView`` (its ``soo_view``
        attribute, read with ``get_attr``: the suite's worlds, ``envs.generic.observation_radius.ObservationRadius``
        through ``envs.generic.shared_vec_env.SharedPolicyVecEnv``), the layout and radius are read from it.
    :param soo_coef: weight of the SOO loss (>= 0; 0 disables it).
    :param kl_coef: weight of ``KL(pi_ref || pi)`` on the minibatch states (>= 0; needs ``reference``).
    :param soo_distance: ``"mse"`` or the paper's ``"log_mse"``.
    :param soo_stop_gradient: treat the self activations as constants, so only the other-representation moves.
    :param soo_pair_mode: ``"self_other"`` (SOO), ``"random"`` (the mismatched-pair control) or ``"flag_only"``
        (the control whose other copy only has the layout's flags, e.g. ``red_trapped``, zeroed).
    :param soo_pair_options: how the other copy is built (``agents.soo.pairs.PairOptions``: flags, insertion
        distribution, insertion radius).
    :param soo_target: what SOO compares: the actor's ``"hidden"`` activations, its mean ``"actions"``, or only
        their components towards the landmarks that are not the goal (``"lure"``: 2-d moves and a layout with
        ``goal_rel`` and ``landmarks_rel``; ``agents.soo.lure``).
    :param soo_self: where the self observations' features come from: ``"current"``, the learner itself (SOO as
        defined), or ``"reference"``, the frozen reference policy (the starting policy's own behaviour without the
        other: a self that does not move while the learner changes; needs ``reference``; ``soo_stop_gradient`` then
        changes nothing).
    :param soo_max_selves: self observations used per minibatch (``None``: all in the minibatch).
    :param soo_inserts_per_self: inserted other positions per self observation.
    :param soo_radius: the learner's observation radius (``None``: the env's ``soo_view``; required with
        ``obs_layout`` when ``soo_coef > 0``); the insertion disk's radius unless ``soo_pair_options.radius`` is set.
        A value that differs from the env's declaration is used, with a warning.
    :param obs_layout: the learner's observation layout (``envs.generic.layout.ObsLayout``; ``None``: the env's
        ``soo_view``). A layout that differs from the env's declaration is used, with a warning.
    :param reference: path of a checkpoint whose policy is the frozen anchor; its weights are saved
        inside this model's checkpoints, with the path and SHA-256 of the file they came from.
    :param kwargs: passed to stable-baselines3's ``PPO``.
    """

    policy_aliases: ClassVar[dict[str, type[BasePolicy]]] = {"MlpPolicy": SOOActorCriticPolicy}
    policy: SOOActorCriticPolicy

    def __init__(
        self,
        policy: str | type[ActorCriticPolicy],
        env: Any,
        soo_coef: float = 0.0,
        kl_coef: float = 0.0,
        soo_distance: DistanceKind = "mse",
        soo_stop_gradient: bool = False,
        soo_pair_mode: PairMode = "self_other",
        soo_pair_options: PairOptions | None = None,
        soo_target: SOOTarget = "hidden",
        soo_self: SOOSelf = "current",
        soo_max_selves: int | None = 64,
        soo_inserts_per_self: int = 1,
        soo_radius: float | None = None,
        obs_layout: ObsLayout | None = None,
        reference: str | Path | None = None,
        _init_setup_model: bool = True,
        **kwargs: Any,
    ) -> None:
        for name, value in (("soo_coef", soo_coef), ("kl_coef", kl_coef)):
            check_float(name, value, 0.0, math.inf)
        check_choice("soo_distance", soo_distance, DISTANCE_KINDS)
        check_choice("soo_pair_mode", soo_pair_mode, PAIR_MODES)
        check_choice("soo_target", soo_target, SOO_TARGETS)
        check_choice("soo_self", soo_self, SOO_SELVES)
        if soo_pair_options is not None and not isinstance(soo_pair_options, PairOptions):
            raise ValueError(f"soo_pair_options must be an agents.soo.pairs.PairOptions, got {soo_pair_options!r}")
        if soo_max_selves is not None:
            check_int("soo_max_selves", soo_max_selves, 1)
        check_int("soo_inserts_per_self", soo_inserts_per_self, 1)
        if soo_radius is not None:
            check_float("soo_radius", soo_radius, 0.0, math.inf, low_inclusive=False)
        if kl_coef > 0 and reference is None:
            raise ValueError("kl_coef > 0 needs a reference policy: pass reference=<checkpoint path>")
        if soo_self == "reference" and reference is None:
            raise ValueError(
                "soo_self 'reference' needs a reference policy: pass reference=<checkpoint path> (SOOPPO.fine_tune "
                "does)"
            )
        self.soo_coef = float(soo_coef)
        self.kl_coef = float(kl_coef)
        self.soo_distance = soo_distance
        self.soo_stop_gradient = soo_stop_gradient
        self.soo_pair_mode = soo_pair_mode
        self.soo_pair_options = soo_pair_options or PairOptions()
        self.soo_target = soo_target
        self.soo_self = soo_self
        self.soo_max_selves = soo_max_selves
        self.soo_inserts_per_self = soo_inserts_per_self
        self.soo_radius = soo_radius
        self.obs_layout = obs_layout
        self.reference_path = None if reference is None else str(reference)
        self.reference_sha256 = None if reference is None else sha256_of(reference)
        self.reference_policy: ActorCriticPolicy | None = None
        self.action_head_scale = 1.0
        """Factor the starting policy's action head was scaled by when fine-tuning began (``fine_tune``)."""
        self._reference_means: th.Tensor | None = None
        if kl_coef > 0 or soo_coef > 0:
            kwargs.setdefault("rollout_buffer_class", IndexedRolloutBuffer)
        super().__init__(policy, env, _init_setup_model=False, **kwargs)
        if _init_setup_model:
            self._setup_model()
            if reference is not None:
                self._load_reference(reference)

    # ------------------------------------------------------------------ setup
    def _setup_model(self) -> None:
        super()._setup_model()
        self.soo_generator = th.Generator()
        if self.seed is None:
            self.soo_generator.seed()
        else:
            self.soo_generator.manual_seed(int(self.seed))
        self._resolve_layout_and_radius()
        if self.obs_layout is not None:
            self.obs_layout.check_shape(self.observation_space.shape, "the learner's observation space")
        self.other_slots = OtherSlots.from_layout(self.obs_layout) if self.obs_layout is not None else None
        self.lure_direction = self._lure_direction()
        if self.soo_coef > 0:
            if self.other_slots is None or self.soo_radius is None:
                missing = "layout" if self.other_slots is None else "radius (the insertion disk's)"
                raise ValueError(
                    f"soo_coef > 0 needs the learner's observation {missing}: pass obs_layout=... and soo_radius=..., "
                    "or give the env a soo_view (envs.generic.layout.SOOView; ObservationRadius declares it)"
                )
            check_raw_observations(self.env)
        if self.reference_sha256 is not None:
            # Rebuilt empty here; its weights come from the checkpoint (or from _load_reference).
            self.reference_policy = self._make_reference_module()

    def _lure_direction(self) -> LureDirection | None:
        """Where the ``lure`` target reads the goal and the landmarks (``None`` for the other targets)."""
        if self.soo_target != "lure" or self.obs_layout is None:
            return None
        if not (isinstance(self.action_space, spaces.Box) and self.action_space.shape == (2,)):
            raise ValueError(f"soo_target 'lure' needs 2-d continuous moves as actions, got {self.action_space}")
        return LureDirection.from_layout(self.obs_layout)

    def _resolve_layout_and_radius(self) -> None:
        """Take the layout and radius the env declares (``soo_view``) where none was given; warn where the given
        ones differ from the declaration."""
        view = declared_view(self.env)
        if view is None:
            return
        for name, declared in (("obs_layout", view.layout), ("soo_radius", view.radius)):
            given = getattr(self, name)
            if given is None:
                setattr(self, name, declared)
            elif given != declared:
                warnings.warn(
                    f"{name} {describe(given)} differs from the env's soo_view ({describe(declared)}); using {name} "
                    f"{describe(given)}",
                    UserWarning,
                    stacklevel=4,
                )

    def set_env(self, env: Any, force_reset: bool = True) -> None:
        """SB3's ``set_env``, refusing normalised observations when SOO is on (``soo_coef > 0``)."""
        super().set_env(env, force_reset)
        if self.soo_coef > 0:
            check_raw_observations(self.env)

    def _make_reference_module(self) -> ActorCriticPolicy:
        reference = self.policy_class(
            self.observation_space, self.action_space, self.lr_schedule, **self.policy_kwargs
        ).to(self.device)
        assert isinstance(reference, ActorCriticPolicy)
        reference.set_training_mode(False)
        reference.requires_grad_(False)
        return reference

    def _load_reference(self, path: str | Path) -> None:
        source = load_checkpoint(path, device=self.device)
        for name in ("observation_space", "action_space"):
            ours, theirs = getattr(self, name), getattr(source, name)
            if ours != theirs:
                raise ValueError(f"reference policy {path} has {name} {theirs}, but this model has {ours}")
        assert self.reference_policy is not None
        try:
            self.reference_policy.load_state_dict(source.policy.state_dict())
        except RuntimeError as error:
            raise ValueError(f"reference policy {path} has a different network architecture: {error}") from None

    @classmethod
    def fine_tune(
        cls,
        checkpoint: str | Path,
        env: Any,
        action_head_scale: float = 1.0,
        preset: str | None = None,
        **kwargs: Any,
    ) -> SOOPPO:
        """A new model starting from ``checkpoint``'s policy weights, with that policy as the anchor.

        The learner's ``obs_layout`` and ``soo_radius`` are the checkpoint's unless given (a warning says when
        a given one differs from the checkpoint's), else the env's declaration (``soo_view``).

        :param checkpoint: an SB3 PPO or SOOPPO zip (e.g. the trained deceptive blue).
        :param env: the fine-tuning env.
        :param action_head_scale: multiply the starting policy's action head (``action_net`` weight and bias) by
            this factor, and anchor to the rescaled policy (1: unchanged). A converged PPO policy's mean actions
            can lie far outside the action box, where clipping hides every change of the mean from the
            environment, so the policy cannot move; scaling the head brings them back in range while keeping
            their directions (docs/soo.md, "Controls that can succeed"). Saved as ``model.action_head_scale``.
        :param preset: a named SOO setting (``agents.soo.presets.SOO_PRESETS``: ``"actions"``, the setting that
            works where deception needs the other in view, or ``"hidden_log_mse"``); ``kwargs`` override its values.
        :param kwargs: settings of the new model (``soo_coef``, ``kl_coef``, PPO hyperparameters...).
        """
        check_float("action_head_scale", action_head_scale, 0.0, math.inf, low_inclusive=False)
        kwargs = {**preset_kwargs(preset), **kwargs} if preset is not None else dict(kwargs)
        source = load_checkpoint(checkpoint, device=kwargs.get("device", "auto"))
        kwargs.setdefault("policy_kwargs", source.policy_kwargs)
        for name in ("obs_layout", "soo_radius"):
            stored, given = getattr(source, name, None), kwargs.get(name)
            if given is None:
                kwargs[name] = stored
            elif stored is not None and given != stored:
                warnings.warn(
                    f"{name} {describe(given)} differs from the one stored in {checkpoint} ({describe(stored)}); "
                    f"using {name} {describe(given)}",
                    UserWarning,
                    stacklevel=2,
                )
        model = cls(SOOActorCriticPolicy, env, reference=checkpoint, **kwargs)
        model.policy.load_state_dict(source.policy.state_dict())
        model.action_head_scale = float(action_head_scale)
        if action_head_scale != 1.0:
            with th.no_grad():
                for parameter in model.policy.action_net.parameters():  # weight and bias
                    parameter.mul_(action_head_scale)
            if model.reference_policy is not None:
                model.reference_policy.load_state_dict(model.policy.state_dict())
        return model

    @classmethod
    def load(
        cls,
        path: str | Path | io.BufferedIOBase,
        env: Any = None,
        device: th.device | str = "auto",
        custom_objects: dict[str, Any] | None = None,
        print_system_info: bool = False,
        force_reset: bool = True,
        **kwargs: Any,
    ) -> SOOPPO:
        """SB3's ``load``, which also reads checkpoints saved before the environments' modules moved
        (``MOVED_MODULES``)."""
        with moved_modules():
            return super().load(path, env, device, custom_objects, print_system_info, force_reset, **kwargs)

    def _get_torch_save_params(self) -> tuple[list[str], list[str]]:
        state_dicts, variables = super()._get_torch_save_params()
        if self.reference_policy is not None:
            state_dicts = [*state_dicts, "reference_policy"]
        return state_dicts, variables

    def _excluded_save_params(self) -> list[str]:
        return [
            *super()._excluded_save_params(),
            "reference_policy",
            "soo_generator",
            "other_slots",
            "lure_direction",
            "_reference_means",
        ]

    def save(self, path: Any, exclude: Any = None, include: Any = None) -> None:
        """Save like SB3, but atomically when ``path`` is a file path (temp file, then rename)."""
        if not isinstance(path, (str, Path)):
            super().save(path, exclude, include)
            return
        target = Path(path) if str(path).endswith(".zip") else Path(f"{path}.zip")
        with atomic_path(target) as tmp:
            super().save(tmp, exclude, include)

    # ---------------------------------------------------------------- losses
    def soo_pairs(self, obs: th.Tensor) -> Pairs | None:
        """Self/other pairs (or random pairs, for the control) from a batch of observations."""
        assert self.other_slots is not None and self.soo_radius is not None
        return build_pairs(
            obs,
            self.other_slots,
            self.soo_radius,
            self.soo_generator,
            max_selves=self.soo_max_selves,
            inserts_per_self=self.soo_inserts_per_self,
            mode=self.soo_pair_mode,
            options=self.soo_pair_options,
        )

    def _rollout_pairs(self) -> RolloutPairs | None:
        """The pairs of this rollout's minibatches (``None`` if the rollout buffer does not say which rows it
        returned: then each minibatch draws its own with ``soo_pairs``)."""
        buffer = self.rollout_buffer
        if not isinstance(buffer, IndexedRolloutBuffer):
            return None
        assert self.other_slots is not None and self.soo_radius is not None
        observations = buffer.observations if buffer.generator_ready else buffer.swap_and_flatten(buffer.observations)
        return RolloutPairs(
            th.as_tensor(observations, device=self.device),
            self.other_slots,
            self.soo_radius,
            self.soo_generator,
            self.soo_max_selves,
            self.soo_inserts_per_self,
            self.soo_pair_mode,
            self.soo_pair_options,
        )

    def soo_loss(self, obs: th.Tensor) -> th.Tensor | None:
        """The SOO loss on pairs drawn from ``obs`` (``None`` if it holds no self observation).

        Training computes the same loss with the pairs sharing the minibatch's forward pass.
        """
        pairs = self.soo_pairs(obs)
        if pairs is None:
            return None
        if self.soo_self == "reference":
            others = self.policy.soo_features(pairs.other_obs, self.soo_target, lure=self.lure_direction)
            return self._reference_self_loss(pairs.self_obs, others)[0]
        obs_pairs = th.cat([pairs.self_obs, pairs.other_obs])
        features = self.policy.soo_features(obs_pairs, self.soo_target, lure=self.lure_direction)
        return pair_loss(features, self.soo_distance, self.soo_stop_gradient)[0]

    def _reference_self_loss(self, self_obs: th.Tensor, others: th.Tensor) -> tuple[th.Tensor, float]:
        """The SOO loss of the pairs' other features ``others`` against the frozen reference's features on their self
        observations (``soo_self="reference"``), and the MSE behind it."""
        reference = self.reference_policy
        assert isinstance(reference, SOOActorCriticPolicy)
        with th.no_grad():
            selves = reference.soo_features(self_obs, self.soo_target, self.policy.soo_layers, self.lure_direction)
        rows = th.arange(len(self_obs), device=self_obs.device)
        return row_pair_loss((th.cat([selves, others]),), rows, len(self_obs), self.soo_distance, stop_gradient=True)

    def _reference_mean(self, obs: th.Tensor) -> th.Tensor:
        """Mean action of the (Gaussian) reference policy on ``obs``."""
        reference = self.reference_policy
        assert reference is not None
        with th.no_grad():
            features = BasePolicy.extract_features(reference, obs, reference.pi_features_extractor)
            return reference.action_net(reference.mlp_extractor.forward_actor(features))

    def _minibatch_reference_mean(self, obs: th.Tensor) -> th.Tensor:
        """The reference's mean actions on a training minibatch: computed once per rollout for the
        whole buffer (the reference is frozen), then looked up by the minibatch's rows."""
        buffer = self.rollout_buffer
        if not isinstance(buffer, IndexedRolloutBuffer):
            return self._reference_mean(obs)
        if self._reference_means is None:
            self._reference_means = self._reference_mean(th.as_tensor(buffer.observations, device=self.device))
        return self._reference_means.index_select(0, th.as_tensor(buffer.last_indices, device=self.device))

    def _kl_to_reference(
        self, obs: th.Tensor, current: Distribution | None = None, *, minibatch: bool = False
    ) -> th.Tensor:
        """Mean ``KL(pi_ref(.|s) || pi(.|s))`` over the minibatch states.

        :param current: the current policy's distribution on ``obs`` if already computed.
        :param minibatch: ``obs`` is the training minibatch the rollout buffer last returned.
        """
        reference = self.reference_policy
        assert reference is not None
        current = current if current is not None else self.policy.get_distribution(obs)
        if isinstance(current, DiagGaussianDistribution):
            # Closed form for diagonal Gaussians with state-independent std, without building a second
            # distribution object (this term runs on every minibatch).
            ref_mean = self._minibatch_reference_mean(obs) if minibatch else self._reference_mean(obs)
            kl: th.Tensor = DiagGaussianKL.apply(  # type: ignore[no-untyped-call]
                current.distribution.mean, self.policy.log_std, ref_mean, reference.log_std
            )
            return kl
        with th.no_grad():
            ref_dist = reference.get_distribution(obs).distribution
        assert isinstance(ref_dist, th.distributions.Distribution)
        assert isinstance(current.distribution, th.distributions.Distribution)
        kl = th.distributions.kl_divergence(ref_dist, current.distribution)
        return (kl.sum(dim=1) if kl.dim() > 1 else kl).mean()

    def _add_auxiliary_loss(
        self,
        loss: th.Tensor,
        obs: th.Tensor,
        pairs: Pairs | None,
        pair_features: tuple[th.Tensor, ...] | None,
        distribution: Distribution | None,
        stats: dict[str, list[float]],
    ) -> th.Tensor:
        """``loss + soo_coef * SOO + kl_coef * KL`` for one minibatch (``loss`` itself when both are off).

        :param loss: the minibatch's PPO loss.
        :param pairs: the minibatch's SOO pairs.
        :param pair_features: what SOO compares on the rows of ``obs``, then the pairs' others
            (``SOOActorCriticPolicy.evaluate_actions_and_distribution``).
        :param distribution: the current policy's distribution on ``obs``.
        """
        if self.soo_coef > 0:
            stats["soo_pairs"].append(0 if pairs is None else len(pairs))
            if pairs is not None and pair_features is not None:
                if self.soo_self == "reference":
                    others = th.cat(pair_features, dim=1)[len(obs) :]
                    soo, mse = self._reference_self_loss(pairs.self_obs, others)
                else:
                    soo, mse = row_pair_loss(
                        pair_features, pairs.self_rows, len(obs), self.soo_distance, self.soo_stop_gradient
                    )
                stats["soo_loss"].append(soo.item())
                stats["soo_distance"].append(mse)
                loss = loss.add(soo, alpha=self.soo_coef)
        if self.kl_coef > 0:
            kl = self._kl_to_reference(obs, distribution, minibatch=True)
            stats["kl_ref"].append(kl.item())
            loss = loss.add(kl, alpha=self.kl_coef)
        return loss

    # ----------------------------------------------------------------- train
    def train(self) -> None:
        """SB3 2.9's ``PPO.train`` with the auxiliary loss added to each minibatch loss."""
        self.policy.set_training_mode(True)
        self._update_learning_rate(self.policy.optimizer)
        clip_range = self.clip_range(self._current_progress_remaining)  # type: ignore[operator]
        if self.clip_range_vf is not None:
            clip_range_vf = self.clip_range_vf(self._current_progress_remaining)  # type: ignore[operator]

        self._reference_means = None  # a new rollout: the reference's outputs are recomputed once
        rollout_pairs = self._rollout_pairs() if self.soo_coef > 0 else None
        entropy_losses, pg_losses, value_losses, clip_fractions = [], [], [], []
        aux_stats: dict[str, list[float]] = {"soo_loss": [], "soo_distance": [], "soo_pairs": [], "kl_ref": []}
        continue_training = True
        for epoch in range(self.n_epochs):
            approx_kl_divs = []
            if rollout_pairs is not None:
                rollout_pairs.draw()
            for rollout_data in self.rollout_buffer.get(self.batch_size):
                actions = rollout_data.actions
                if isinstance(self.action_space, spaces.Discrete):
                    actions = rollout_data.actions.long().flatten()

                obs = rollout_data.observations
                pairs = None
                if rollout_pairs is not None:
                    assert isinstance(self.rollout_buffer, IndexedRolloutBuffer)
                    pairs = rollout_pairs.minibatch(obs, self.rollout_buffer.last_indices)
                elif self.soo_coef > 0:
                    pairs = self.soo_pairs(obs)
                distribution = pair_features = None
                if pairs is not None or self.kl_coef > 0:
                    # One forward pass serves PPO, the KL term (its distribution) and SOO (the pairs).
                    values, log_prob, entropy, distribution, pair_features = (
                        self.policy.evaluate_actions_and_distribution(
                            obs, actions, pairs, self.soo_target, self.lure_direction
                        )
                    )
                else:
                    values, log_prob, entropy = self.policy.evaluate_actions(obs, actions)
                values = values.flatten()
                advantages = rollout_data.advantages
                if self.normalize_advantage and len(advantages) > 1:
                    advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)

                ratio = th.exp(log_prob - rollout_data.old_log_prob)
                policy_loss_1 = advantages * ratio
                policy_loss_2 = advantages * th.clamp(ratio, 1 - clip_range, 1 + clip_range)
                policy_loss = -th.min(policy_loss_1, policy_loss_2).mean()
                pg_losses.append(policy_loss.item())
                clip_fractions.append(th.mean((th.abs(ratio - 1) > clip_range).float()).item())

                if self.clip_range_vf is None:
                    values_pred = values
                else:
                    values_pred = rollout_data.old_values + th.clamp(
                        values - rollout_data.old_values, -clip_range_vf, clip_range_vf
                    )
                value_loss = F.mse_loss(rollout_data.returns, values_pred)
                value_losses.append(value_loss.item())

                entropy_loss = -th.mean(-log_prob) if entropy is None else -th.mean(entropy)
                entropy_losses.append(entropy_loss.item())

                loss = policy_loss + self.ent_coef * entropy_loss + self.vf_coef * value_loss
                loss = self._add_auxiliary_loss(loss, obs, pairs, pair_features, distribution, aux_stats)

                with th.no_grad():
                    log_ratio = log_prob - rollout_data.old_log_prob
                    approx_kl_div = th.mean((th.exp(log_ratio) - 1) - log_ratio).cpu().numpy()
                    approx_kl_divs.append(approx_kl_div)

                if self.target_kl is not None and approx_kl_div > 1.5 * self.target_kl:
                    continue_training = False
                    if self.verbose >= 1:
                        print(f"Early stopping at step {epoch} due to reaching max kl: {approx_kl_div:.2f}")
                    break

                self.policy.optimizer.zero_grad()
                loss.backward()  # type: ignore[no-untyped-call]
                th.nn.utils.clip_grad_norm_(self.policy.parameters(), self.max_grad_norm)
                self.policy.optimizer.step()

            self._n_updates += 1
            if not continue_training:
                break

        explained_var = explained_variance(self.rollout_buffer.values.flatten(), self.rollout_buffer.returns.flatten())
        self.logger.record("train/entropy_loss", np.mean(entropy_losses))
        self.logger.record("train/policy_gradient_loss", np.mean(pg_losses))
        self.logger.record("train/value_loss", np.mean(value_losses))
        self.logger.record("train/approx_kl", np.mean(approx_kl_divs))
        self.logger.record("train/clip_fraction", np.mean(clip_fractions))
        self.logger.record("train/loss", loss.item())
        self.logger.record("train/explained_variance", explained_var)
        if hasattr(self.policy, "log_std"):
            self.logger.record("train/std", th.exp(self.policy.log_std).mean().item())
        for key, values_logged in aux_stats.items():
            if values_logged:
                self.logger.record(f"train/{key}", float(np.mean(values_logged)))
        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
        self.logger.record("train/clip_range", clip_range)
        if self.clip_range_vf is not None:
            self.logger.record("train/clip_range_vf", clip_range_vf)

    def dump_logs(self, iteration: int = 0) -> None:
        """SB3's rollout logs plus ``rollout/trap_rate`` and ``rollout/goal_rate`` from episode outcomes."""
        episodes = [info for info in self.ep_info_buffer or [] if "trapped" in info]
        if episodes:
            self.logger.record("rollout/trap_rate", float(np.mean([info["trapped"] for info in episodes])))
            self.logger.record("rollout/goal_rate", float(np.mean([info["blue_at_goal"] for info in episodes])))
        super().dump_logs(iteration)


MOVED_MODULES: dict[str, str] = {"envs.layout": "envs.generic.layout"}
"""Old module name -> its new name, for what checkpoints pickle: a checkpoint saved before the environments were
split into ``envs.deception``, ``envs.generic`` and ``envs.mpe2`` names its observation layout's old module."""


@contextmanager
def moved_modules() -> Iterator[None]:
    """While in the block, each old name of ``MOVED_MODULES`` names its new module (whatever it named before comes
    back after), so that older checkpoints unpickle with the classes of today."""
    before = {old: sys.modules.get(old) for old in MOVED_MODULES}
    for old, new in MOVED_MODULES.items():
        sys.modules[old] = importlib.import_module(new)
    try:
        yield
    finally:
        for old, module in before.items():
            if module is None:
                del sys.modules[old]
            else:
                sys.modules[old] = module


def describe(value: Any) -> str:
    """A short description of an observation layout (its size, other agent and slots) or a radius, for messages."""
    if isinstance(value, ObsLayout):
        return f"<{value.size} entries, other {value.other!r}, flags {list(value.flags)}, slots {list(value.names)}>"
    return repr(value)


class CheckpointError(ValueError):
    """A checkpoint that is missing or cannot be read as an SB3 PPO / SOOPPO model."""


def load_checkpoint(path: str | Path, device: th.device | str = "cpu") -> SOOPPO:
    """``SOOPPO.load(path)``, with one clear line (``CheckpointError``) for a missing or unreadable file.

    :param path: an SB3 PPO or SOOPPO zip.
    :param device: where the model's tensors go.
    """
    if not Path(path).is_file():
        raise CheckpointError(f"no checkpoint at {path}")
    try:
        return SOOPPO.load(path, device=device)
    except Exception as error:  # SB3 raises ValueError, KeyError, zipfile and pickle errors for damaged files
        reason = str(error).strip().splitlines()[-1] if str(error).strip() else type(error).__name__
        raise CheckpointError(f"cannot read checkpoint {path}: {reason}") from None
