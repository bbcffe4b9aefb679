"""The world registry: every world an experiment runs in, one ``WORLDS`` entry each, with what it can do and how to
build it. The suite's own worlds (``envs.deception.config.TRAINING_PRESETS``) and MPE2's ``simple_adversary`` are
registered.

A world gives the experiment what differs between them: red's policy, the env a blue trains on, what ``SOOPPO``
must be told about the learner's observation, how an agent is evaluated and drawn. Everything else (the conditions,
the job graph, results and report) is the same for every world.

To add a world: write its env (e.g. a module under ``envs/``), a class with the methods of ``World``, and one
``WORLDS`` entry (``WorldEntry``: its capabilities and that class's factory); then add its name to the
``soo_rl.experiment.config.World`` type, which lists the names for ``--help`` (a test keeps the two equal).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
from numpy.typing import NDArray
from stable_baselines3.common.vec_env import VecEnv, VecMonitor

from agents.batch_policy import ModelPolicy
from agents.hyperparams import PPOSettings
from agents.learned_red import RED_SETTINGS, train_red
from agents.soo.pairs import OtherSlots
from agents.soo_ppo import SOOPPO
from envs.deception.animation import episode_frames
from envs.deception.config import TRAINING_PRESETS, DeceptionConfig, RewardMode, make_config
from envs.deception.deception_v0 import make_vec_env
from envs.deception.layout import blue_layout
from envs.deception.scripted import scripted_policy
from envs.deception.variants import HELD_OUT_VARIANTS, VARIANTS
from envs.generic.actions import BatchPolicy
from envs.generic.shared_vec_env import SharedPolicyVecEnv
from envs.mpe2.simple_adversary import (
    ADVERSARY,
    DEFAULT_RADIUS,
    GOAL_RADIUS,
    GOOD_AGENTS,
    goal_seeker,
    make_simple_adversary,
    scripted_adversary,
)
from soo_rl.measurement.adversary_evaluation import evaluate_adversary
from soo_rl.measurement.evaluation import EvalSettings, Evaluation, evaluate, outcome_rates
from soo_rl.measurement.soo_value import SOOMeasure

if TYPE_CHECKING:  # the settings read the registry
    from soo_rl.experiment.config import ExperimentConfig

Frame = NDArray[np.uint8]
CONTINUOUS_ACTIONS = True
"""MPE2 ``simple_adversary``'s action mode in the experiment: continuous forces, with which an agent can settle on
the goal (full-force discrete moves overshoot it: docs, "mpe2_simple_adversary")."""


class World(Protocol):
    """What the experiment needs of the world it runs in."""

    def red(self, learned: ModelPolicy | None) -> BatchPolicy:
        """Red's policy: the learned red if there is one, else the world's scripted red."""

    def training_env(self, ppo: PPOSettings, seed: int, reward_mode: RewardMode, red: BatchPolicy) -> VecEnv:
        """The env a blue trains on: ``ppo.n_envs`` learner copies seeded by ``seed``, rewards scaled by
        ``ppo.reward_scale``."""

    def model_kwargs(self) -> dict[str, Any]:
        """``SOOPPO`` arguments for the learner's observation (its layout and radius) that its env does not give."""

    def evaluate(
        self,
        model: SOOPPO,
        settings: EvalSettings,
        measure: SOOMeasure,
        learned: ModelPolicy | None,
        honest: SOOPPO | None,
        masked: SOOPPO | None = None,
    ) -> Evaluation:
        """The agent's evaluation (``measurement.evaluation.METRICS`` and the episode outcomes) against red
        (``learned``, else the scripted red), with the behavioural distances to ``honest`` and to the masked control
        ``masked`` if given."""

    def other_slots(self) -> OtherSlots:
        """Where red appears in the learner's observation (what the masked control masks)."""

    def evaluated_steps(self, settings: EvalSettings) -> int:
        """Env steps one evaluation plays (for the progress bar's weights)."""

    def frames(self, model: SOOPPO, learned: ModelPolicy | None, seed: int) -> list[Frame]:
        """Frames of one seeded episode against red (``learned``, else the scripted red)."""

    def train_red(self, timesteps: int, seed: int, tensorboard_log: str, tb_log_name: str) -> SOOPPO:
        """A red trained from scratch with PPO (``agents.learned_red.RED_SETTINGS``) on red's reward against the
        world's scripted honest blue."""


class SuiteWorld:
    """One of the suite's own worlds (``envs.deception.config.PRESETS``), its held-out variants included in evaluations.

    :param preset: the world.
    :param honesty_trap_penalty: the ``honesty`` reward's penalty per step while red is trapped.
    """

    def __init__(self, preset: str, honesty_trap_penalty: float) -> None:
        self.preset = preset
        self.honesty_trap_penalty = honesty_trap_penalty
        self.config = make_config(preset, reward_mode="deceptive")

    def red(self, learned: ModelPolicy | None) -> BatchPolicy:
        return self._red_in(learned, self.config)

    @staticmethod
    def scripted_red(config: DeceptionConfig) -> BatchPolicy:
        """The SPEC's scripted red follower in ``config``'s world."""
        return scripted_policy("red_follower", config)

    def training_env(self, ppo: PPOSettings, seed: int, reward_mode: RewardMode, red: BatchPolicy) -> VecEnv:
        world: dict[str, Any] = {"trap_penalty": self.honesty_trap_penalty} if reward_mode == "honesty" else {}
        venv = make_vec_env(ppo.n_envs, opponent=red, seed=seed, preset=self.preset, reward_mode=reward_mode, **world)
        return ppo.wrap_env(venv)

    def model_kwargs(self) -> dict[str, Any]:
        return {}  # SOOPPO reads them from the env

    def evaluate(
        self,
        model: SOOPPO,
        settings: EvalSettings,
        measure: SOOMeasure,
        learned: ModelPolicy | None,
        honest: SOOPPO | None,
        masked: SOOPPO | None = None,
    ) -> Evaluation:
        evaluation, _ = evaluate(model, self.config, settings, measure, self.red(learned), honest, masked)
        if settings.variant_episodes:
            variants = {name: self.variant(name) for name in HELD_OUT_VARIANTS}
            red_for = partial(self._red_in, learned)
            rates = outcome_rates(model, variants, red_for, settings.variant_episodes, settings.seed)
            evaluation.summary.update({f"variant/{key}": value for key, value in rates.items()})
        return evaluation

    def other_slots(self) -> OtherSlots:
        return OtherSlots.from_layout(blue_layout(self.config.num_landmarks))

    def _red_in(self, learned: ModelPolicy | None, config: DeceptionConfig) -> BatchPolicy:
        return learned if learned is not None else self.scripted_red(config)

    def variant(self, name: str) -> DeceptionConfig:
        """A held-out variant of the world (its changes applied to the world's preset), deceptive reward."""
        return make_config(self.preset, reward_mode="deceptive", **VARIANTS[name])

    def evaluated_steps(self, settings: EvalSettings) -> int:
        variant_steps = sum(self.variant(name).max_cycles for name in HELD_OUT_VARIANTS)
        main = (settings.episodes + 2 * settings.probe_episodes) * self.config.max_cycles
        return main + settings.variant_episodes * variant_steps

    def frames(self, model: SOOPPO, learned: ModelPolicy | None, seed: int) -> list[Frame]:
        return episode_frames(self.config, self.red(learned), ModelPolicy(model), seed=seed)

    def train_red(self, timesteps: int, seed: int, tensorboard_log: str, tb_log_name: str) -> SOOPPO:
        return train_red(
            "honest",
            timesteps=timesteps,
            seed=seed,
            preset=self.preset,
            tensorboard_log=tensorboard_log,
            tb_log_name=tb_log_name,
        )


class AdversaryWorld:
    """MPE2's ``simple_adversary_v3`` (``envs.mpe2.simple_adversary``): the two good agents share blue's policy, each
    seeing the world through ``DEFAULT_RADIUS``. Red is the adversary, which sees every agent (as in MPE2): scripted
    to settle on the landmark nearest to the nearest good agent (``envs.mpe2.simple_adversary.landmark_guesser``), or
    learned against scripted honest good agents (``envs.mpe2.simple_adversary.goal_seeker``).

    :param honesty_trap_penalty: the ``honesty`` reward's penalty per step that ends with the adversary nearer a
        fake landmark than the goal.
    :param max_cycles: episode length.
    """

    def __init__(self, honesty_trap_penalty: float, max_cycles: int = 50) -> None:
        self.honesty_trap_penalty = honesty_trap_penalty
        self.max_cycles = max_cycles
        probe = self.make_env("deceptive")
        self.layout = probe.shared_obs_layout(GOOD_AGENTS, ADVERSARY)
        self.scripted_red = scripted_adversary(probe, CONTINUOUS_ACTIONS)
        probe.close()

    def make_env(self, reward_mode: RewardMode, **kwargs: Any) -> Any:
        """One world with the given reward mode.

        :param kwargs: more ``make_simple_adversary`` arguments (e.g. ``render_mode``).
        """
        penalty = self.honesty_trap_penalty if reward_mode == "honesty" else 0.0
        return make_simple_adversary(
            reward_mode=reward_mode,
            max_cycles=self.max_cycles,
            continuous_actions=CONTINUOUS_ACTIONS,
            deception_penalty=penalty,
            checked=False,  # SB3 and the scripted adversary give valid actions
            **kwargs,
        )

    def red(self, learned: ModelPolicy | None) -> BatchPolicy:
        return learned if learned is not None else self.scripted_red

    def training_env(self, ppo: PPOSettings, seed: int, reward_mode: RewardMode, red: BatchPolicy) -> VecEnv:
        copies = -(-ppo.n_envs // len(GOOD_AGENTS))  # n_envs learners, rounded up to whole worlds
        venv = SharedPolicyVecEnv(partial(self.make_env, reward_mode), copies, GOOD_AGENTS, {ADVERSARY: red})
        venv.seed(seed)
        return ppo.wrap_env(VecMonitor(venv))

    def model_kwargs(self) -> dict[str, Any]:
        return {"obs_layout": self.layout, "soo_radius": DEFAULT_RADIUS}

    def evaluate(
        self,
        model: SOOPPO,
        settings: EvalSettings,
        measure: SOOMeasure,
        learned: ModelPolicy | None,
        honest: SOOPPO | None,
        masked: SOOPPO | None = None,
    ) -> Evaluation:
        make_env = partial(self.make_env, "deceptive")
        return evaluate_adversary(model, make_env, self.red(learned), settings, measure, honest, masked)

    def other_slots(self) -> OtherSlots:
        return OtherSlots.from_layout(self.layout)

    def evaluated_steps(self, settings: EvalSettings) -> int:
        return 2 * (settings.episodes + settings.probe_episodes) * self.max_cycles

    def frames(self, model: SOOPPO, learned: ModelPolicy | None, seed: int) -> list[Frame]:
        env = self.make_env("deceptive", render_mode="rgb_array")
        policy, red = ModelPolicy(model), self.red(learned)
        observations, _ = env.reset(seed=seed)
        frames = [env.render()]
        while env.agents:
            actions = policy(np.stack([observations[agent] for agent in GOOD_AGENTS]))
            joint = {agent: action for agent, action in zip(GOOD_AGENTS, actions, strict=True)}
            joint[ADVERSARY] = red(observations[ADVERSARY][None])[0]
            observations = env.step(joint)[0]
            frames.append(env.render())
        env.close()
        return frames

    def train_red(self, timesteps: int, seed: int, tensorboard_log: str, tb_log_name: str) -> SOOPPO:
        honest = goal_seeker(self.layout, CONTINUOUS_ACTIONS)
        copies = RED_SETTINGS.n_envs
        venv = SharedPolicyVecEnv(
            partial(self.make_env, "honest"), copies, [ADVERSARY], dict.fromkeys(GOOD_AGENTS, honest)
        )
        venv.seed(seed)
        env = RED_SETTINGS.wrap_env(VecMonitor(venv))
        model = SOOPPO("MlpPolicy", env, seed=seed, tensorboard_log=tensorboard_log, **RED_SETTINGS.to_sb3_kwargs())
        model.learn(timesteps, tb_log_name=tb_log_name)
        env.close()
        return model


@dataclass(frozen=True)
class WorldEntry:
    """One world of the registry: what it can do, and how to build it.

    :param factory: the world of a run's settings.
    :param flag_slot: the learner's observation has the ``red_trapped`` flag slot (the conditions that zero it need
        it; without it, the default conditions leave them out).
    :param co_learning_red: red can learn alongside blue (``red = "co-learning"``).
    :param held_out_variants: the variants every agent is also evaluated on (``eval.variant_episodes`` each).
    :param scripted_red: how the report names the world's scripted red.
    :param lure_target: the learner moves in 2-d and sees its goal and the landmarks (``goal_rel``,
        ``landmarks_rel``), so SOO's ``lure`` target applies (``agents.soo.lure``).
    :param notes: what the measures mean when the world's agents are not the suite's blue and red (the report quotes
        it; ``None``: nothing to add).
    """

    factory: Callable[[ExperimentConfig], World]
    flag_slot: bool
    co_learning_red: bool
    held_out_variants: tuple[str, ...]
    scripted_red: str
    lure_target: bool
    notes: str | None = None


MPE2_ADVERSARY = "mpe2_simple_adversary"
"""PettingZoo MPE2's ``simple_adversary_v3`` as a world of the experiment."""

SUITE_WORLD = WorldEntry(
    factory=lambda config: SuiteWorld(config.preset, config.finetune.honesty_trap_penalty),
    flag_slot=True,
    co_learning_red=True,
    held_out_variants=HELD_OUT_VARIANTS,
    scripted_red="the scripted follower (SPEC section 2)",
    lure_target=True,
)
"""Every one of the suite's own worlds (``envs.deception.config.TRAINING_PRESETS``)."""

WORLDS: dict[str, WorldEntry] = {
    **dict.fromkeys(TRAINING_PRESETS, SUITE_WORLD),
    MPE2_ADVERSARY: WorldEntry(
        factory=lambda config: AdversaryWorld(config.finetune.honesty_trap_penalty),
        flag_slot=False,
        co_learning_red=False,
        held_out_variants=(),
        scripted_red="scripted",
        lure_target=False,
        notes="In `mpe2_simple_adversary` blue is MPE2's two good agents (one shared policy) and red its "
        "adversary, which sees every agent and settles on the landmark nearest to the nearest good agent; the *trap "
        "rate* is the share of episodes in which the adversary ends nearer a fake landmark than the goal, the *goal "
        f"rate* the share in which the nearest good agent ends within {GOAL_RADIUS} of the goal (MPE2's agent size), "
        "the *honest return* the good agents' return without the adversary term.",
    ),
}
"""The world registry: world name (``ExperimentConfig.preset``) -> its entry."""


def world_for(config: ExperimentConfig) -> World:
    """The world of a run (``config.preset``)."""
    return WORLDS[config.preset].factory(config)
