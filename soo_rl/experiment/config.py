"""The experiment's settings: one typed dataclass tree, settable from the command line and TOML."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from types import UnionType
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

from agents.hyperparams import PPOSettings
from agents.policy import SOO_SELVES, SOO_TARGETS, SOOSelf, SOOTarget
from agents.soo.distances import DISTANCE_KINDS, DistanceKind
from agents.soo.pairs import FLAG_OPTIONS, INSERTIONS, FlagOption, Insertion, PairOptions
from envs.generic.validation import check_choice, check_float, check_int
from soo_rl.experiment.conditions import (
    CO_LEARNING_RED_SETTINGS,
    CONDITIONS,
    DEFAULT_CONDITIONS,
    FINE_TUNINGS,
    FineTuning,
)
from soo_rl.experiment.worlds import WORLDS
from soo_rl.measurement.evaluation import EvalSettings
from soo_rl.measurement.soo_value import SOOMeasure

TUNED_SETTINGS: dict[str, str] = {
    "finetune.soo_distance": "log_mse, the paper's distance; an earlier session switched to it after an ablation "
    "evaluated on the report seed 10,000, so it is the paper's choice, not a tuned one",
    "finetune.action_head_scale": "0.3, chosen on the tuning seed 50,000 (the honesty-reward search)",
    "finetune.honesty_trap_penalty": "5, chosen on the tuning seed 50,000 (the honesty-reward search)",
    "finetune.timesteps": "500,000, chosen on the tuning seed 50,000 (the honesty-reward search)",
    "preset=contingent": "its world settings (25% absent reds, a red that gives up, radii 0.4/0.2, trap reward 8) "
    "and its baseline recipe (3M deceptive and 2M honest steps at entropy 0.02; the 10-seed report run and SOO's "
    "tuning study used 4M steps at entropy 0.01), "
    "chosen on bench/learn_baselines.py's evaluation seeds (1,000,003 + training seed); the report seed was never "
    "used (docs/environment/contingent.md)",
    "preset=keep_clear": "its world (contingent plus a collision penalty of 5 within 0.1, both reward modes) and "
    "its baseline budgets (3M steps per baseline at entropy 0.02: 9 of 10 bench seeds pass in each mode, 4 and 8 of "
    "10 at 2M), chosen on bench/learn_baselines.py's evaluation seeds (1,000,003 + training seed); the report seed was "
    "never used (docs/environment/keep_clear.md)",
    "keep_clear: finetune.soo_target=hidden, finetune.soo_distance=mse, finetune.soo_coef=0.1, "
    "finetune.soo_stop_gradient=true": "SOO's setting for keep_clear, chosen on the tuning seed 50,000 by `python "
    "train/sweep.py --recipe honest-or-indifferent` (seeds 0-2, 16 settings with the target among the axes, the rule "
    "with the awareness filter fixed before the study): the only settings that keep the goal rate leave the lure (trap "
    "0.623 against 0.642; docs/results/keep_clear.md)",
    "preset=paper_learnable": "the paper world with red's radius 0.25 and default's shaping, the smallest departures "
    "found under which the scripted-red baselines meet their targets (5 of 5 bench seeds at 2M steps), chosen on "
    "bench/learn_baselines.py's evaluation seeds (1,000,003 + training seed); the report seed was never used "
    "(docs/results/paper.md)",
    "paper_learnable, red=co-learning: red_warmup_timesteps=1000000, red_lr_after_warmup=1e-4, ppo.ent_coef=0.02, "
    "red_ent_coef=0.01, 2M steps": (
        "a co-learning red warmed up against the scripted honest blue, then learning 10x more slowly, blue's entropy "
        "doubled: deceptive baselines pass on 8 of 8 bench seeds (100-107) at 2M steps, against 5 of 8 without the "
        "slower red; chosen on bench/learn_baselines.py's evaluation seeds (docs/results/paper.md); the report seed "
        "was never used"
    ),
    "honest_timesteps": "500,000: the honest baselines of a 3-seed default run reach goal rate 1.00 and trap rate "
    "0.09-0.12 by 0.14M of their then 2M steps on every seed, in the periodic training-time evaluation (seeds 20,000 + "
    "training seed, 200 episodes); the report seed was never used",
    "finetune.random_pairs_matched_coef": "0.15, chosen on the tuning seed 50,000 (bench/match_random_pairs.py, "
    "seeds 0-1: goal rate 0.883 against SOO's 0.843; 0.1 gives 0.946, 0.2 gives 0.015)",
    "contingent: finetune.soo_distance=mse, finetune.soo_coef=1, finetune.soo_stop_gradient=true": "SOO's setting "
    "for contingent, chosen on the tuning seed 50,000 by `python train/sweep.py --recipe soo-tuning` (seeds 0-2, 16 "
    "settings, the selection rule fixed before the study): honest success 0.428 against the deceptive baseline's "
    "0.366, goal rate 0.921 (the filter: >= 0.9 x 0.942)",
    "contingent: finetune.random_pairs_matched_coef=1": "re-matched to that setting on the tuning seed 50,000 "
    "(bench/match_random_pairs.py, seeds 0-2, the soo-tuning baselines): goal rate 0.906 against SOO's 0.921; 0.5 "
    "gives 0.939, 2 gives 0.624, 4 gives 0.319",
    "keep_clear: finetune.random_pairs_matched_coef=0.1": "re-matched to keep_clear's SOO setting on the tuning seed "
    "50,000 (bench/match_random_pairs.py, seeds 0-2 of the report run's baselines): goal rate 0.941 against SOO's "
    "0.938; 0.01 gives 0.943, 0.03 gives 0.951, 0.3 gives 0.915",
}
"""Every setting chosen by looking at results, with the evaluation seed it was chosen on (docs/experiment.md,
"Protocol: tuning seed and report seed")."""

World = Literal["paper", "default", "paper_learnable", "awareness", "contingent", "keep_clear", "mpe2_simple_adversary"]
"""The names of the world registry (``soo_rl.experiment.worlds.WORLDS``) as a type, so that ``--help`` lists them (a
test keeps the two equal)."""
AuthorsTruncation = Literal["triple", "pairwise"]
AUTHORS_TRUNCATIONS: tuple[str, ...] = ("triple", "pairwise")
RedKind = Literal["scripted", "learned", "co-learning"]
RED_KINDS: tuple[str, ...] = ("scripted", "learned", "co-learning")


@dataclass(frozen=True)
class FineTuneSettings:
    """SOO fine-tuning and its controls (SPEC section 3), all started from the deceptive baseline."""

    timesteps: int = 500_000
    """Environment steps of each fine-tuning run (every condition alike; the honesty-reward control needs about
    500k on every seed: docs/soo.md, "Controls that can succeed")."""
    learning_rate: float = 3e-4
    """Adam step size during fine-tuning."""
    soo_coef: float = 1.0
    """Weight of the SOO loss (``soo`` and its variants, ``random_pairs``, ``flag_only``)."""
    random_pairs_matched_coef: float = 0.15
    """Weight of the ``random_pairs_matched`` control: the random-pair loss at a weight whose goal rate matches
    SOO's (chosen on the tuning evaluation seed: docs/soo.md, "Controls that can succeed")."""
    kl_coef: float = 0.1
    """Weight of KL(pi_ref || pi) to the frozen deceptive baseline (every fine-tuning condition)."""
    soo_distance: DistanceKind = "log_mse"
    """The paper's ``log_mse`` (``log(MSE + eps)``) or plain ``mse``."""
    soo_stop_gradient: bool = False
    """No gradient through the self branch: only the other-representation moves."""
    soo_layers: tuple[int, ...] | None = None
    """Hidden layers of the actor used for SOO (``None``: all)."""
    soo_max_selves: int = 256
    """Self observations per minibatch used for SOO pairs."""
    soo_inserts_per_self: int = 1
    """Inserted other positions per self observation."""
    soo_target: SOOTarget = "hidden"
    """What SOO compares: the actor's ``hidden`` activations, or its mean ``actions`` (the authors' training code)."""
    soo_self: SOOSelf = "current"
    """Where the pairs' self features come from: the learner itself (``current``), or the frozen deceptive baseline
    it starts from (``reference``: ``soo_frozen``)."""
    pair_flags: FlagOption = "keep"
    """The other copy's ``red_trapped`` slot: ``keep`` it, or ``zero`` it (the authors' evaluation code)."""
    pair_insertion: Insertion = "area"
    """Red inserted uniformly by ``area`` of the disk, or uniformly in ``radius`` (the authors')."""
    pair_radius: float | None = None
    """Radius of the insertion disk (``None``: the learner's observation radius; the authors use 0.125 in training)."""
    pair_inner_radius: float = 0.0
    """Red is inserted no closer than this: the pairs leave out a red within reach (0: the whole disk)."""
    ring_inner_radius: float = 0.25
    """``soo_ring``'s ``pair_inner_radius``: its pairs insert red only beyond this distance from blue."""
    action_head_scale: float = 0.3
    """Every fine-tuning run starts from the deceptive baseline with its action head scaled by this factor, and
    anchors to that rescaled policy (``SOOPPO.fine_tune``); 1 disables it."""
    honesty_trap_penalty: float = 5.0
    """``honesty_reward`` trains on the honest reward minus this much per step while red is trapped."""

    def __post_init__(self) -> None:
        check_int("finetune.timesteps", self.timesteps, 0)
        check_float("finetune.learning_rate", self.learning_rate, 0.0, float("inf"), low_inclusive=False)
        check_float("finetune.soo_coef", self.soo_coef, 0.0, float("inf"))
        check_float("finetune.random_pairs_matched_coef", self.random_pairs_matched_coef, 0.0, float("inf"))
        check_float("finetune.action_head_scale", self.action_head_scale, 0.0, float("inf"), low_inclusive=False)
        check_float("finetune.honesty_trap_penalty", self.honesty_trap_penalty, 0.0, float("inf"))
        check_float("finetune.kl_coef", self.kl_coef, 0.0, float("inf"))
        check_choice("finetune.soo_distance", self.soo_distance, DISTANCE_KINDS)
        check_int("finetune.soo_max_selves", self.soo_max_selves, 1)
        check_int("finetune.soo_inserts_per_self", self.soo_inserts_per_self, 1)
        check_choice("finetune.soo_target", self.soo_target, SOO_TARGETS)
        check_choice("finetune.soo_self", self.soo_self, SOO_SELVES)
        check_choice("finetune.pair_flags", self.pair_flags, FLAG_OPTIONS)
        check_choice("finetune.pair_insertion", self.pair_insertion, INSERTIONS)
        if self.pair_radius is not None:
            check_float("finetune.pair_radius", self.pair_radius, 0.0, float("inf"), low_inclusive=False)
        check_float("finetune.pair_inner_radius", self.pair_inner_radius, 0.0, float("inf"))
        check_float("finetune.ring_inner_radius", self.ring_inner_radius, 0.0, float("inf"), low_inclusive=False)
        if self.pair_radius is not None and self.pair_inner_radius >= self.pair_radius:
            raise ValueError(
                f"finetune.pair_inner_radius must be below finetune.pair_radius ({self.pair_radius}), "
                f"got {self.pair_inner_radius}"
            )

    @property
    def pair_options(self) -> PairOptions:
        """How the other copy of a self observation is built."""
        return PairOptions(self.pair_flags, self.pair_insertion, self.pair_radius, self.pair_inner_radius)

    def soo_measure(self) -> SOOMeasure:
        """What the SOO value compares: the target, layers and pairs this SOO fine-tuning acts on."""
        return SOOMeasure(self.soo_target, self.soo_layers, self.pair_options)


@dataclass(frozen=True)
class ExperimentConfig:
    """``python train/ppo_soo.py``: honest and deceptive baselines, SOO fine-tuning, controls, evaluation, report."""

    run_dir: Path = Path("runs/default")
    """Where every output of the run goes (checkpoints, TensorBoard, results.json, report.md, plots, GIFs)."""
    seeds: tuple[int, ...] = (0, 1, 2)
    """Training seeds; every condition is trained once per seed and CIs are taken over seeds."""
    conditions: tuple[FineTuning, ...] = DEFAULT_CONDITIONS  # type: ignore[assignment]
    """Fine-tuning conditions to run from each deceptive baseline (the two baselines always run). The default is
    every condition the world supports: ``mpe2_simple_adversary`` has no ``red_trapped`` slot, so the conditions
    that zero it (``flag_only``, ``soo_paper``) are left out there."""
    preset: World = "default"
    """World the agents are trained and evaluated in: one of the suite's (``envs.deception.config.PRESETS``, less the
    held-out variants) or ``mpe2_simple_adversary`` (PettingZoo MPE2's physical-deception task,
    ``envs.mpe2.simple_adversary``)."""
    red: RedKind = "scripted"
    """Red opponent of every blue: the scripted follower (``envs.deception.scripted``); ``learned``, a red trained with
    PPO on red's reward against the scripted honest blue (one per seed, before the baselines;
    ``agents/learned_red.py``); or ``co-learning``, a red that learns by PPO alongside every blue, from its training
    episodes (the authors' setting; ``agents/co_learning.py``): each baseline trains its own red from scratch, each
    fine-tuning continues its deceptive baseline's red, and every blue is evaluated against the red it finished
    training with."""
    red_timesteps: int = 150_000
    """PPO steps of a learned red."""
    red_ent_coef: float | None = None
    """Entropy bonus of a co-learning red (``None``: the baselines' ``ppo.ent_coef``, like its other PPO settings).
    Only with ``red = "co-learning"``."""
    red_warmup_timesteps: int = 0
    """Env steps a co-learning red first learns against the scripted honest blue, before its baseline trains with
    it: a curriculum in which red starts as a follower (0: red starts untrained, as in the authors' code). Only with
    ``red = "co-learning"``."""
    red_lr_after_warmup: float | None = None
    """Learning rate of a co-learning red once warmed up (``None``: unchanged, the baselines' ``ppo.learning_rate``),
    so that a follower adapts to blue more slowly than it learned to follow; fine-tunings' reds keep it. Needs
    ``red_warmup_timesteps > 0``."""
    ppo: PPOSettings = field(default_factory=PPOSettings)
    """PPO settings of the baselines (fine-tuning reuses them, with its own budget and learning rate); the deceptive
    baseline trains for ``ppo.total_timesteps``."""
    honest_timesteps: int = 500_000
    """Environment steps of the honest baseline. On ``default`` it meets its targets by 0.14M steps on every seed
    (``TUNED_SETTINGS``); ``contingent`` runs set it to their baseline budget."""
    finetune: FineTuneSettings = field(default_factory=FineTuneSettings)
    """Fine-tuning settings."""
    eval: EvalSettings = field(default_factory=EvalSettings)
    """Evaluation settings (the same seeded episodes for every agent)."""
    train_eval_episodes: int = 200
    """Episodes of the periodic evaluation logged to TensorBoard during training (its own seeds)."""
    train_eval_every: int = 25
    """Run that periodic evaluation every this many PPO rollouts (it changes no training: only what is logged)."""
    workers: int = 2
    """Jobs (trainings, evaluations) run at once, each in its own process with one torch thread."""
    retries: int = 1
    """Extra attempts of a job that fails (raises, or its worker dies) before the run reports it."""
    baselines_from: Path | None = None
    """Reuse the honest/deceptive baseline checkpoints of another run directory instead of training them."""
    resume: bool = False
    """Reuse the stages already completed in ``run_dir``; without it an existing run directory is an error."""
    rebuild_manifest: bool = False
    """With resume: rebuild manifest.json by re-verifying every existing output (a damaged manifest's remedy)."""
    verify: bool = False
    """Run nothing: re-check the finished run in ``run_dir`` against its own config.json (every job finished with
    those settings, every output's size, SHA-256 and fingerprint, results.json and report.md what the evaluations
    give), print one line per problem, and exit with status 1 if there is any."""
    quick: bool = False
    """Tiny budgets (about a minute): the same stages, for smoke tests. They replace every budget setting
    (``QUICK_BUDGETS``: PPO sizes, training steps, evaluation episodes), also one given by a flag or ``--config``; the
    run then names, in one line, each setting it replaced."""
    gifs: bool = True
    """Write one episode animation (GIF) per condition."""
    bootstrap_resamples: int = 10_000
    """Bootstrap resamples of the confidence intervals over seeds."""
    tuning: bool = False
    """A run for choosing settings: evaluate on ``eval.tuning_seed`` instead of the report's ``eval.seed``."""
    authors_truncation: AuthorsTruncation = "triple"
    """How the authors' behavioural difference cuts each evaluation seed's kept moves: ``triple``, to the shortest
    list of the deceptive baseline, the fine-tuned agent and the honest baseline compared together (the authors'
    scripts); ``pairwise``, to the shorter list of the two agents of each pair. Read only when results are written."""

    def __post_init__(self) -> None:
        check_choice("preset", self.preset, tuple(WORLDS))
        self._check_world()
        if not self.seeds or len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"seeds must be a non-empty tuple of distinct integers, got {self.seeds!r}")
        for seed in self.seeds:
            check_int("seeds[...]", seed, 0)
        for condition in self.conditions:
            check_choice("conditions[...]", condition, FINE_TUNINGS)
        if len(set(self.conditions)) != len(self.conditions):
            raise ValueError(f"conditions must not repeat a condition, got {self.conditions!r}")
        check_choice("red", self.red, RED_KINDS)
        check_choice("authors_truncation", self.authors_truncation, AUTHORS_TRUNCATIONS)
        check_int("red_timesteps", self.red_timesteps, 1)
        check_int("red_warmup_timesteps", self.red_warmup_timesteps, 0)
        if self.red_ent_coef is not None:
            check_float("red_ent_coef", self.red_ent_coef, 0.0, float("inf"))
        if self.red_lr_after_warmup is not None:
            check_float("red_lr_after_warmup", self.red_lr_after_warmup, 0.0, float("inf"))
        for name in CO_LEARNING_RED_SETTINGS:
            if getattr(self, name) != getattr(ExperimentConfig, name) and self.red != "co-learning":
                raise ValueError(f"{name} sets up a co-learning red; red is {self.red!r}")
        if self.red_lr_after_warmup is not None and not self.red_warmup_timesteps:
            raise ValueError("red_lr_after_warmup needs red_warmup_timesteps > 0 (it applies once red is warmed up)")
        check_int("honest_timesteps", self.honest_timesteps, 1)
        check_int("workers", self.workers, 1)
        check_int("retries", self.retries, 0)
        check_int("train_eval_episodes", self.train_eval_episodes, 1)
        check_int("train_eval_every", self.train_eval_every, 1)
        check_int("eval.episodes", self.eval.episodes, 1)
        check_int("eval.soo_inserts", self.eval.soo_inserts, 1)
        check_int("bootstrap_resamples", self.bootstrap_resamples, 100)
        for name, seed in (("eval.seed", self.eval.seed), ("eval.tuning_seed", self.eval.tuning_seed)):
            if seed in self.seeds:
                raise ValueError(f"{name} ({seed}) must differ from every training seed {self.seeds}")
        if abs(self.eval.tuning_seed - self.eval.seed) < 3:  # the probe uses seed + 1 and seed + 2
            raise ValueError(f"eval.tuning_seed ({self.eval.tuning_seed}) must be at least 3 from eval.seed")

    def _check_world(self) -> None:
        """What the world supports (``soo_rl.experiment.worlds.WORLDS``): a co-learning red only where red can learn
        alongside blue, and without the ``red_trapped`` slot only the conditions that need none (the default drops
        the others)."""
        for condition in self.conditions:
            self.finetune_for(condition)  # its own settings are valid too (soo_ring's ring inside the disk)
        world = WORLDS[self.preset]
        if self.red == "co-learning" and not world.co_learning_red:
            able = [name for name, entry in WORLDS.items() if entry.co_learning_red]
            raise ValueError(f"red='co-learning' runs in the worlds {able}, not {self.preset}")
        if not world.lure_target:
            needing = [
                c for c in self.conditions if CONDITIONS[c].pair_mode and self.finetune_for(c).soo_target == "lure"
            ]
            if needing:
                raise ValueError(
                    f"conditions {needing} compare the 'lure' target (2-d moves towards a landmark that is not the "
                    f"goal), which {self.preset} does not have; choose another finetune.soo_target or condition"
                )
        if world.flag_slot:
            return
        supported = tuple(c for c in self.conditions if not self.needs_flag_slot(c))
        if self.conditions == DEFAULT_CONDITIONS:
            object.__setattr__(self, "conditions", supported)
        elif supported != self.conditions:
            unsupported = [c for c in self.conditions if c not in supported]
            raise ValueError(
                f"conditions {unsupported} zero the red_trapped slot, which {self.preset} does not have; "
                f"choose among {[c for c in FINE_TUNINGS if not self.needs_flag_slot(c)]}"
            )

    def held_out_variants(self) -> tuple[str, ...]:
        """The held-out variants every agent is also evaluated on (the world's, ``envs.deception.variants`` in the
        suite's; none with ``eval.variant_episodes = 0``)."""
        return WORLDS[self.preset].held_out_variants if self.eval.variant_episodes else ()

    def needs_flag_slot(self, condition: str) -> bool:
        """Whether ``condition``'s pairs zero the ``red_trapped`` slot (``flag_only``, or ``pair_flags = "zero"``)."""
        return CONDITIONS[condition].pair_mode == "flag_only" or self.finetune_for(condition).pair_flags == "zero"

    def evaluation(self) -> EvalSettings:
        """The evaluation settings actually used: ``eval`` on the tuning seed if this is a ``tuning`` run."""
        return dataclasses.replace(self.eval, seed=self.eval.tuning_seed) if self.tuning else self.eval

    def finetune_for(self, condition: str) -> FineTuneSettings:
        """The fine-tuning settings of ``condition``: ``finetune`` with the condition's own overrides and the
        settings it takes from other ``finetune`` settings (``Condition.finetune_from``)."""
        spec = CONDITIONS[condition]
        taken = {name: getattr(self.finetune, source) for name, source in spec.finetune_from.items()}
        return dataclasses.replace(self.finetune, **spec.finetune_overrides, **taken)

    def soo_measure(self) -> SOOMeasure:
        """What every agent's SOO value compares (the ``soo`` condition's target, layers and pairs)."""
        return self.finetune.soo_measure()

    def resolved(self) -> ExperimentConfig:
        """The settings actually run: ``quick`` replaces every budget by ``QUICK_BUDGETS``."""
        return replace_from(self, QUICK_BUDGETS) if self.quick else self

    def quick_replaced(self) -> list[str]:
        """The settings (``KEY=VALUE``) set to other than their default that ``quick`` replaces: a budget given by a
        flag or ``--config`` does not survive ``quick``, and the run says so."""
        if not self.quick:
            return []
        ours, defaults = flat_settings(self.to_dict()), flat_settings(ExperimentConfig().to_dict())
        return [
            f"{k}={ours[k]}" for k, quick in flat_settings(QUICK_BUDGETS).items() if ours[k] not in (defaults[k], quick)
        ]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready settings (paths as strings)."""
        return _jsonable(dataclasses.asdict(self))


QUICK_BUDGETS: dict[str, Any] = {
    "ppo": {"n_envs": 16, "n_steps": 32, "batch_size": 256, "n_epochs": 2, "total_timesteps": 4096},
    "finetune": {"timesteps": 2048},
    "red_timesteps": 4096,
    "honest_timesteps": 4096,
    "eval": {"episodes": 100, "soo_inserts": 2, "variant_episodes": 100, "probe_episodes": 50},
    "train_eval_episodes": 20,
    "train_eval_every": 2,
    "bootstrap_resamples": 1000,
}
"""The tiny budgets of a ``quick`` run, which replace these settings whatever they were set to."""


def flat_settings(settings: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested settings as dotted keys: ``{"ppo": {"n_envs": 64}}`` as ``{"ppo.n_envs": 64}``."""
    flat: dict[str, Any] = {}
    for key, value in settings.items():
        if isinstance(value, dict):
            flat.update(flat_settings(value, f"{prefix}{key}."))
        else:
            flat[prefix + key] = value
    return flat


def reject_unknown(data: dict[str, Any], settings: type, prefix: str = "", label: str = "setting") -> None:
    """Raise a ``ValueError`` naming every key of ``data`` that is not a field of the dataclass ``settings``."""
    known = sorted(f.name for f in dataclasses.fields(settings))
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ValueError(f"unknown {label}(s) {[prefix + key for key in unknown]}; allowed: {known}")


SettingsT = TypeVar("SettingsT")


def replace_from(base: SettingsT, data: dict[str, Any], prefix: str = "", label: str = "setting") -> SettingsT:
    """``base`` (a settings dataclass) with the fields ``data`` (a TOML or JSON mapping) sets, each value checked
    against its field's type (``typed_value``); a nested settings dataclass is set from a table.

    :param base: the settings the mapping changes.
    :param data: field name to value.
    :param prefix: the dotted name of ``base`` in the whole settings (``finetune.``), for messages.
    :param label: what a field is called in messages.
    :raise ValueError: an unknown key, or a value of the wrong type (naming the key, the value and the type).
    """
    reject_unknown(data, type(base), prefix, label)
    hints = get_type_hints(type(base))
    changes: dict[str, Any] = {}
    for key, value in data.items():
        name, current = prefix + key, getattr(base, key)
        if dataclasses.is_dataclass(current):
            if not isinstance(value, dict):
                raise ValueError(f"{name} = {value!r} must be a table of settings ([{name}])")
            changes[key] = replace_from(current, value, f"{name}.", label)
        else:
            changes[key] = typed_value(name, value, hints[key])
    return dataclasses.replace(base, **changes)  # type: ignore[type-var]


_SIMPLE_TYPES: dict[type, tuple[str, str]] = {
    bool: ("a boolean (true or false)", "booleans"),
    int: ("an integer", "integers"),
    float: ("a number", "numbers"),
    str: ("a string", "strings"),
    Path: ("a path (a string)", "paths"),
}
"""How messages name a value of each simple field type: alone, and in a list."""


def type_name(hint: Any, plural: bool = False) -> str:
    """How a message names a value of the field type ``hint`` (``a list of integers``; ``plural``: ``integers``)."""
    origin, args = get_origin(hint), get_args(hint)
    if origin is Literal:
        return f"{'values' if plural else 'one'} of {list(args)}"
    if origin is tuple:
        return f"lists of {type_name(args[0], True)}" if plural else f"a list of {type_name(args[0], True)}"
    if origin in (Union, UnionType):
        names = [type_name(arg, plural) for arg in args if arg is not type(None)]
        return " or ".join([*names, "null"] if type(None) in args else names)
    return _SIMPLE_TYPES[hint][plural]


def typed_value(name: str, value: Any, hint: Any) -> Any:
    """``value`` as a field of type ``hint``: a list as a tuple, a string as a path, an integer as itself for a
    float; a value of another type is refused (a string is not read as a boolean by its truthiness).

    :param name: the setting's dotted name, for the message.
    :param value: the value read from TOML or JSON.
    :param hint: the field's type (``typing.get_type_hints``).
    :raise ValueError: ``<name> = <value> must be <type>``.
    """
    origin, args = get_origin(hint), get_args(hint)
    if origin in (Union, UnionType):
        if value is None and type(None) in args:
            return None
        candidates = [arg for arg in args if arg is not type(None)]
        if len(candidates) == 1:
            return _typed_or_refused(name, value, candidates[0], hint)
    return _typed_or_refused(name, value, hint, hint)


def _typed_or_refused(name: str, value: Any, hint: Any, declared: Any) -> Any:
    origin, args = get_origin(hint), get_args(hint)
    if origin is tuple and isinstance(value, (list, tuple)):
        return tuple(typed_value(f"{name}[{i}]", item, args[0]) for i, item in enumerate(value))
    if origin is Literal and value in args and isinstance(value, str):
        return value
    if hint is Path and isinstance(value, (str, Path)):
        return Path(value)
    if hint is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    if hint in (bool, int, str) and type(value) is hint:
        return value
    raise ValueError(f"{name} = {value!r} must be {type_name(declared)}")


def from_mapping(data: dict[str, Any], base: ExperimentConfig | None = None) -> ExperimentConfig:
    """Build a config from a (TOML or JSON) mapping, rejecting unknown keys and values of the wrong type by name."""
    return replace_from(base or ExperimentConfig(), data)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value
