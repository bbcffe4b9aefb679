"""Where every output of a run lives, and the fingerprints that decide what can be shared.

Checkpoints: ``<dir>/checkpoints/<condition>_seed<N>.zip``, and ``<condition>_seed<N>_red.zip`` for the red that
trained alongside it (``red = "co-learning"``); baselines may live in another run's directory, ``baselines_from``.
Evaluations: beside the agent's checkpoint, under
``eval/<fingerprint>/``, where the fingerprint hashes exactly what an evaluation depends on besides the
checkpoint, so runs that share baselines evaluate each baseline once per setting. Every checkpoint, evaluation and
animation carries the fingerprint of the job that made it (``FINGERPRINT``), so a file of another job is never taken
for it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from envs.deception.variants import HELD_OUT_VARIANTS
from soo_rl.experiment.conditions import (
    BASELINE_SETTINGS,
    BASELINES,
    CO_LEARNING_RED_SETTINGS,
    CONDITIONS,
    LEARNED_RED_SETTINGS,
    MASKED_CONTROLS,
)
from soo_rl.experiment.config import ExperimentConfig
from soo_rl.measurement.evaluation import METRICS
from soo_rl.measurement.metrics import OUTCOMES

LEARNED_RED_MODEL = "red"
"""Checkpoint name of a learned red (``red_seed<N>.zip``, beside the baselines); not the agent id ``red_0``."""

AUTHORS_STEPS = "authors_steps/logged"
"""What an evaluation records besides its metrics: blue's moves the authors' behavioural difference keeps (arrays
``authors_p``, ``authors_c`` and ``authors_episode`` of its NPZ file, where the world records them)."""
BASELINE_RED = "baseline_red"
"""Prefix, in a fine-tuned agent's evaluation summary, of its trap and goal rates against its deceptive baseline's
co-learning red (the red it started fine-tuning with)."""

FINGERPRINT = "fingerprint"
"""Where an output holds the fingerprint of the job that made it (``training_fingerprint``,
``evaluation_fingerprint``): an entry of a checkpoint's zip, a key of an evaluation summary, an array of its NPZ;
an animation holds it as its GIF comment."""


@dataclass(frozen=True)
class AgentRef:
    """One trained agent of a run: its condition (or ``LEARNED_RED_MODEL``) and training seed."""

    condition: str
    seed: int

    @property
    def name(self) -> str:
        """``<condition>_seed<N>``: the stem of its checkpoint, evaluation and TensorBoard files."""
        return f"{self.condition}_seed{self.seed}"


def fingerprint(settings: dict[str, Any]) -> str:
    """Short hash of JSON-ready ``settings``."""
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:10]


def baseline_settings(config: ExperimentConfig) -> dict[str, Any]:
    """The settings the baselines' training depends on (``conditions.BASELINE_SETTINGS``); each kind of red's own
    settings count only for that kind."""
    ignored = (() if config.red == "learned" else LEARNED_RED_SETTINGS) + (
        () if config.red == "co-learning" else CO_LEARNING_RED_SETTINGS
    )
    return {k: v for k, v in config.to_dict().items() if k in BASELINE_SETTINGS and k not in ignored}


def baseline_fingerprint(config: ExperimentConfig) -> str:
    """Short hash of ``baseline_settings``: runs with the same one can share their baselines."""
    return fingerprint(baseline_settings(config))


def eval_settings(config: ExperimentConfig) -> dict[str, Any]:
    """What an evaluation depends on besides the checkpoints: the world, the red, the evaluation settings, what the
    SOO value compares, and what is measured (a new metric or variant makes earlier evaluations incomplete)."""
    settings: dict[str, Any] = {
        "preset": config.preset,
        "eval": dataclasses.asdict(config.evaluation()),
        "soo_measure": dataclasses.asdict(config.soo_measure()),
        "measures": [*METRICS, *OUTCOMES, *HELD_OUT_VARIANTS, AUTHORS_STEPS],
    }
    if config.red != "scripted":
        settings["red"] = config.red
    return settings


def eval_fingerprint(config: ExperimentConfig) -> str:
    """Short hash of ``eval_settings``."""
    return fingerprint(eval_settings(config))


def training_fingerprint(config: ExperimentConfig, agent: AgentRef) -> str:
    """Whose a checkpoint is: a hash of the agent's name, the baselines' settings (``baseline_settings``: every
    training starts from them or is one of them) and, for a fine-tuning, its condition's fine-tuning settings."""
    settings: dict[str, Any] = {"agent": agent.name, "baselines": baseline_settings(config)}
    if agent.condition in CONDITIONS and CONDITIONS[agent.condition].fine_tuned:
        settings["finetune"] = dataclasses.asdict(config.finetune_for(agent.condition))
    return fingerprint(settings)


def evaluation_fingerprint(config: ExperimentConfig, agent: AgentRef) -> str:
    """Whose an evaluation (or animation) of ``agent`` is: a hash of ``eval_settings`` and the agent's
    ``training_fingerprint``."""
    return fingerprint({"evaluation": eval_settings(config), "trained": training_fingerprint(config, agent)})


def agent_dir(config: ExperimentConfig, agent: AgentRef) -> Path:
    """The run directory an agent lives in (baselines and a learned red may come from another directory)."""
    shared = agent.condition in (*BASELINES, *MASKED_CONTROLS, LEARNED_RED_MODEL)
    return config.baselines_from if shared and config.baselines_from else config.run_dir


def checkpoint_path(run_dir: Path, agent: AgentRef) -> Path:
    """Where ``agent`` is saved in ``run_dir``."""
    return run_dir / "checkpoints" / f"{agent.name}.zip"


def trained_agent(agent: AgentRef) -> AgentRef:
    """The trained agent whose checkpoint (and red) ``agent`` uses: itself, or for a masked control the agent it
    masks (``conditions.Condition.masked_from``)."""
    condition = CONDITIONS.get(agent.condition)
    source = condition.masked_from if condition is not None else None
    return agent if source is None else AgentRef(source, agent.seed)


def agent_checkpoint(config: ExperimentConfig, agent: AgentRef) -> Path:
    """Checkpoint of an agent of the run (in ``agent_dir``; a masked control's is the agent it masks)."""
    trained = trained_agent(agent)
    return checkpoint_path(agent_dir(config, trained), trained)


def red_checkpoint(config: ExperimentConfig, seed: int) -> Path:
    """Where the learned red of ``seed`` is saved (with the baselines, which train against it)."""
    return agent_checkpoint(config, AgentRef(LEARNED_RED_MODEL, seed))


def own_red_path(run_dir: Path, agent: AgentRef) -> Path:
    """Where the co-learning red that trained alongside ``agent`` is saved in ``run_dir`` (beside its checkpoint)."""
    return run_dir / "checkpoints" / f"{agent.name}_red.zip"


def own_red_checkpoint(config: ExperimentConfig, agent: AgentRef) -> Path:
    """The co-learning red that trained alongside an agent of the run (in ``agent_dir``)."""
    return own_red_path(agent_dir(config, agent), agent)


def red_inputs(config: ExperimentConfig, agent: AgentRef) -> tuple[str, ...]:
    """The red checkpoints ``agent`` is evaluated against: none (scripted red), its seed's learned red, or the
    co-learning red it finished training with and, for a fine-tuned agent, its deceptive baseline's."""
    agent = trained_agent(agent)
    if config.red == "learned":
        return (str(red_checkpoint(config, agent.seed)),)
    if config.red == "scripted":
        return ()
    own = own_red_checkpoint(config, agent)
    if agent.condition in BASELINES:
        return (str(own),)
    return (str(own), str(own_red_checkpoint(config, AgentRef("deceptive", agent.seed))))


def baseline_checkpoints(config: ExperimentConfig) -> list[Path]:
    """Checkpoints of every baseline (and learned or co-learning red) the run needs."""
    reds = (LEARNED_RED_MODEL,) if config.red == "learned" else ()
    paths = [agent_checkpoint(config, AgentRef(name, seed)) for name in (*reds, *BASELINES) for seed in config.seeds]
    if config.red == "co-learning":
        paths += [own_red_checkpoint(config, AgentRef(name, seed)) for name in BASELINES for seed in config.seeds]
    return paths


def eval_paths(config: ExperimentConfig, agent: AgentRef) -> tuple[Path, Path]:
    """Summary (JSON, written last) and per-episode arrays (NPZ) of an agent's evaluation, beside its checkpoint."""
    folder = agent_dir(config, agent) / "eval" / eval_fingerprint(config)
    return folder / f"{agent.name}.json", folder / f"{agent.name}.npz"


def tensorboard_dir(run_dir: Path) -> Path:
    """The TensorBoard folder of a run (one subfolder per agent, ``<agent name>_<n>``)."""
    return run_dir / "tensorboard"


def gif_path(run_dir: Path, condition: str) -> Path:
    """The episode animation of ``condition`` (its first seed's agent)."""
    return run_dir / "gifs" / f"{condition}.gif"
