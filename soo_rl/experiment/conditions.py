"""The table of conditions: what each agent of the experiment is, and what its training depends on.

A new condition is one entry of ``CONDITIONS``. Baselines train from scratch and depend only on
``BASELINE_SETTINGS``, so runs that differ in anything else share them (and ``paths`` fingerprints
them with exactly those settings); fine-tuning conditions start from the deceptive baseline of the
same seed and also depend on the ``finetune`` settings, with the condition's own overrides.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from agents.soo.pairs import PairMode
from envs.deception.config import RewardMode

SOO_BUNDLES: dict[str, dict[str, Any]] = {
    # The authors' choices (agencyenterprise/SOO-Honest-AI; docs/soo.md, "SOO variants and the authors' choices"):
    # their training code compares the policy's actions on the self and the other observation; their pairs zero the
    # trapped flag in the other copy and insert red uniformly in radius, 0.125 from blue in training.
    "paper": {"soo_target": "actions", "pair_flags": "zero", "pair_insertion": "radius", "pair_radius": 0.125},
}
"""Named bundles of ``finetune`` settings; the ``soo_paper`` condition applies ``paper``."""


@dataclass(frozen=True)
class Condition:
    """One kind of agent of the experiment (SPEC section 3)."""

    name: str
    """Name in results, reports and checkpoint file names."""
    summary: str
    """What the agent is, in one line."""
    reward_mode: RewardMode
    """The reward it is trained on."""
    fine_tuned: bool
    """Starts from the deceptive baseline of its seed, with the KL anchor to it (else: trained from scratch)."""
    pair_mode: PairMode | None = None
    """The pair loss it adds (``None``: none): ``self_other`` (SOO), or a control's pairs."""
    coef_setting: str = "soo_coef"
    """The ``finetune`` setting that weighs its pair loss."""
    finetune_overrides: dict[str, Any] = field(default_factory=dict)
    """``finetune`` settings it changes (e.g. the authors' pair construction)."""
    finetune_from: dict[str, str] = field(default_factory=dict)
    """``finetune`` settings it takes from another ``finetune`` setting: its design's own parameter (``soo_ring``'s
    ``pair_inner_radius`` is ``finetune.ring_inner_radius``)."""
    by_default: bool = True
    """Runs when the run does not name its conditions (``DEFAULT_CONDITIONS``); the designs still being tested run
    only when named."""
    controls_for: str = ""
    """For a control: the explanation of SOO's effect it tests."""
    masked_from: str | None = None
    """Not trained: the agent of this condition (same seed) evaluated with the other agent masked from its observation
    at every step (``measurement.evaluation.mask_other``)."""


CONDITIONS: dict[str, Condition] = {
    condition.name: condition
    for condition in (
        Condition("honest", "PPO from scratch on the honest reward", "honest", fine_tuned=False),
        Condition("deceptive", "PPO from scratch on the deceptive reward", "deceptive", fine_tuned=False),
        Condition(
            "masked",
            "the deceptive baseline, not trained further, evaluated with red masked from its view at every step",
            "deceptive",
            fine_tuned=False,
            controls_for="acting as if red were not there (SOO's self view), which needs no training",
            masked_from="deceptive",
        ),
        Condition(
            "soo",
            "fine-tuned on the deceptive reward with the SOO loss (the finetune settings' pairs and target)",
            "deceptive",
            fine_tuned=True,
            pair_mode="self_other",
        ),
        Condition(
            "soo_paper",
            "SOO fine-tuning with the authors' choices: actions target, zeroed flag, insertion uniform in radius 0.125",
            "deceptive",
            fine_tuned=True,
            pair_mode="self_other",
            finetune_overrides={
                "soo_target": "actions",
                "pair_flags": "zero",
                "pair_insertion": "radius",
                "pair_radius": 0.125,
            },
        ),
        Condition(
            "soo_actions",
            "SOO fine-tuning on the policy's mean actions instead of its hidden activations (other settings as soo)",
            "deceptive",
            fine_tuned=True,
            pair_mode="self_other",
            finetune_overrides={"soo_target": "actions"},
        ),
        Condition(
            "soo_ring",
            "SOO fine-tuning on pairs beyond reach: red inserted only between finetune.ring_inner_radius and blue's "
            "radius (other settings as soo)",
            "deceptive",
            fine_tuned=True,
            pair_mode="self_other",
            finetune_from={"pair_inner_radius": "ring_inner_radius"},
            by_default=False,
        ),
        Condition(
            "soo_lure",
            "SOO fine-tuning on only the mean action's component towards the fake landmark (other settings as soo)",
            "deceptive",
            fine_tuned=True,
            pair_mode="self_other",
            finetune_overrides={"soo_target": "lure"},
            by_default=False,
        ),
        Condition(
            "soo_frozen",
            "SOO fine-tuning against a frozen self: the pairs' self features are the deceptive baseline's it starts "
            "from, not the learner's (other settings as soo)",
            "deceptive",
            fine_tuned=True,
            pair_mode="self_other",
            finetune_overrides={"soo_self": "reference"},
            by_default=False,
        ),
        Condition(
            "anchor_only",
            "fine-tuned on the deceptive reward with the KL anchor only",
            "deceptive",
            fine_tuned=True,
            controls_for="more PPO steps under the anchor, without SOO",
        ),
        Condition(
            "random_pairs",
            "fine-tuned with a pair loss of SOO's form and weight on mismatched pairs",
            "deceptive",
            fine_tuned=True,
            pair_mode="random",
            controls_for="any pressure on the representation of the same form and weight",
        ),
        Condition(
            "random_pairs_matched",
            "the random-pair loss at a weight whose goal rate matches SOO's (finetune.random_pairs_matched_coef)",
            "deceptive",
            fine_tuned=True,
            pair_mode="random",
            coef_setting="random_pairs_matched_coef",
            controls_for="pressure on the representation that costs the task as much as SOO does",
        ),
        Condition(
            "flag_only",
            "SOO's loss and weight on pairs that differ only in the zeroed trapped flag (no red inserted)",
            "deceptive",
            fine_tuned=True,
            pair_mode="flag_only",
            controls_for="the authors' flag change alone",
        ),
        Condition(
            "honesty_reward",
            "fine-tuned on the honesty reward: the honest reward minus a penalty while red is trapped",
            "honesty",
            fine_tuned=True,
            controls_for="simply rewarding honesty",
        ),
    )
}
"""Every condition, by name."""

BASELINES: tuple[str, ...] = tuple(name for name, c in CONDITIONS.items() if not c.fine_tuned and c.masked_from is None)
"""The agents trained from scratch: the honest and the deceptive baseline."""
MASKED_CONTROLS: tuple[str, ...] = tuple(name for name, c in CONDITIONS.items() if c.masked_from is not None)
"""The controls that are a trained agent evaluated with the other masked (no training of their own)."""
FINE_TUNINGS: tuple[str, ...] = tuple(name for name, c in CONDITIONS.items() if c.fine_tuned)
DEFAULT_CONDITIONS: tuple[str, ...] = tuple(name for name in FINE_TUNINGS if CONDITIONS[name].by_default)
"""The fine-tuning conditions a run has when it does not name its own."""
FineTuning = Literal[
    "soo",
    "soo_paper",
    "soo_actions",
    "soo_ring",
    "soo_lure",
    "soo_frozen",
    "anchor_only",
    "random_pairs",
    "random_pairs_matched",
    "flag_only",
    "honesty_reward",
]
"""The names of ``FINE_TUNINGS`` as a type, so that ``--help`` lists them (a test keeps the two equal)."""


def reported(conditions: tuple[str, ...]) -> tuple[str, ...]:
    """Every condition a run reports, in report order: the baselines, the masked controls (in every report), then
    the run's fine-tuning ``conditions``."""
    return (*BASELINES, *MASKED_CONTROLS, *conditions)


BASELINE_SETTINGS: tuple[str, ...] = (
    "preset",
    "red",
    "red_timesteps",
    "red_warmup_timesteps",
    "red_ent_coef",
    "red_lr_after_warmup",
    "ppo",
    "honest_timesteps",
    "train_eval_episodes",
    "train_eval_every",
)
"""The experiment settings a baseline's training depends on: runs equal in these share their baselines."""

LEARNED_RED_SETTINGS: tuple[str, ...] = ("red_timesteps",)
"""Settings of ``BASELINE_SETTINGS`` that matter only when red is learned."""

CO_LEARNING_RED_SETTINGS: tuple[str, ...] = ("red_warmup_timesteps", "red_ent_coef", "red_lr_after_warmup")
"""Settings of ``BASELINE_SETTINGS`` that matter only when red learns alongside blue."""
