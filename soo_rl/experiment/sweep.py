"""Sweeps: a grid of settings x seeds x conditions, every cell one run of the experiment's jobs.

A sweep's cells are every combination of its ``grid`` values, or its ``settings`` listed one cell each (crossed
with the grid if both are given). Cells that differ only in what the baselines do not depend on (fine-tuning and
evaluation settings) share their baselines, trained once under ``baselines/<hash>/``; each cell's run lives under
``cells/<name>/`` with its own report, and the sweep's report sits at the top. Every job is a task of one graph
(``soo_rl.experiment.graph``), run by ``soo_rl.runner`` on a local process pool or on Ray.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from envs.generic.io import write_json_atomic
from envs.generic.validation import check_int
from soo_rl.experiment.conditions import BASELINE_SETTINGS
from soo_rl.experiment.config import ExperimentConfig, flat_settings, from_mapping, replace_from
from soo_rl.experiment.graph import DamagedFileError, Task
from soo_rl.experiment.paths import baseline_fingerprint, baseline_settings
from soo_rl.experiment.pipeline import experiment_tasks, prepare_run_dir

GROUPS: tuple[str, ...] = ("ppo", "finetune", "eval")
SWEEPABLE_TOP_LEVEL: tuple[str, ...] = tuple(key for key in BASELINE_SETTINGS if key != "ppo")

KEEP_CLEAR_TUNING: dict[str, Any] = {
    "preset": "keep_clear",
    "ppo": {"total_timesteps": 3_000_000, "ent_coef": 0.02},
    "honest_timesteps": 3_000_000,
    "tuning": True,
    "seeds": [0, 1, 2],
    "conditions": ["soo"],
    "gifs": False,
}
"""What the tuning studies in ``keep_clear`` share: its baselines' recipe (3M steps each at entropy 0.02), the tuning
seed, 3 training seeds per cell and ``soo`` alone."""

SWEEP_RECIPES: dict[str, dict[str, Any]] = {
    # The paper's detection protocol at scale: many seed pairs of honest and deceptive baselines,
    # SOO value on 1 to 1,500 evaluation episodes each; no fine-tuning.
    "detection": {
        "sweep_dir": "runs/detection",
        "base": {
            "seeds": list(range(100)),
            "conditions": [],
            "eval": {"episodes": 1500, "variant_episodes": 0, "probe_episodes": 0},
            "gifs": False,
        },
    },
    # SOO's best shot where its premise holds (issue 19, SPEC section 4): SOO's settings tuned in `contingent` on the
    # tuning seed, 3 seeds per setting, beside the random-pair control at its matched weight (to be re-matched to the
    # chosen setting); the sweep report applies the selection rule fixed in advance (``report.sweep.select_setting``).
    # The baselines are the contingent ones of the results page (4M steps each), shared by every cell. The centre (the
    # base's ``finetune``) is plain MSE at weight 1 on both layers, 500k steps: today's setting (log_mse at weight 1,
    # which made blue blind to red) but for the distance, whose log makes the gradient grow as 1/mse until the two
    # activations coincide. Around it:
    # - distance x weight, 8 cells: mse and log_mse each at 0.01, 0.1, 1 and 10 (3 decades; log_mse at 1 re-measures
    #   today's setting on the tuning seed);
    # - stop-gradient (only the other branch moves) at the centre, at the weaker 0.1 and with log_mse at 1;
    # - one layer instead of both: the first [0] or the last [1];
    # - shorter budgets, 100k and 250k steps, and log_mse at 1 for 100k (stopped before it collapses the activations).
    # Every entry names its distance and weight, so every cell's name does.
    "soo-tuning": {
        "sweep_dir": "runs/soo-tuning",
        "base": {
            "preset": "contingent",
            "ppo": {"total_timesteps": 4_000_000},
            "honest_timesteps": 4_000_000,
            "tuning": True,
            "seeds": [0, 1, 2],
            "conditions": ["soo", "random_pairs_matched"],
            "finetune": {
                "soo_distance": "mse",
                "soo_coef": 1.0,
                "soo_stop_gradient": False,
                "soo_layers": None,
                "timesteps": 500_000,
            },
            "gifs": False,
        },
        "settings": [
            *(
                f"finetune.soo_distance={distance};finetune.soo_coef={coef}"
                for distance in ("mse", "log_mse")
                for coef in (0.01, 0.1, 1, 10)
            ),
            "finetune.soo_distance=mse;finetune.soo_coef=1;finetune.soo_stop_gradient=true",
            "finetune.soo_distance=mse;finetune.soo_coef=0.1;finetune.soo_stop_gradient=true",
            "finetune.soo_distance=log_mse;finetune.soo_coef=1;finetune.soo_stop_gradient=true",
            "finetune.soo_distance=mse;finetune.soo_coef=1;finetune.soo_layers=[0]",
            "finetune.soo_distance=mse;finetune.soo_coef=1;finetune.soo_layers=[1]",
            "finetune.soo_distance=mse;finetune.soo_coef=1;finetune.timesteps=100000",
            "finetune.soo_distance=mse;finetune.soo_coef=1;finetune.timesteps=250000",
            "finetune.soo_distance=log_mse;finetune.soo_coef=1;finetune.timesteps=100000",
        ],
    },
    # Honest or indifferent (SPEC section 4): SOO's setting tuned with the target inside the study, in `keep_clear`
    # (the honest task needs red) on the tuning seed, 3 seeds per setting, fixed before it ran. Axes: the target
    # (hidden activations, actions), the distance (mse, log_mse), the weight over two decades (0.1, 1, 10, with mse)
    # and the stop-gradient; the sweep report applies the selection rule with the awareness filter
    # (``report.sweep.select_setting``); random_pairs_matched is re-matched to the chosen setting afterwards. The
    # baselines: 3M steps each at entropy 0.02 (the bench's keep_clear recipe). For `contingent`, the same recipe with
    # `--base.preset contingent --base.honest-timesteps 2000000 --sweep-dir runs/honest-or-indifferent-contingent`.
    "honest-or-indifferent": {
        "sweep_dir": "runs/honest-or-indifferent",
        "base": {
            **KEEP_CLEAR_TUNING,
            "finetune": {"soo_coef": 1.0, "soo_stop_gradient": False, "soo_layers": None, "timesteps": 500_000},
        },
        "settings": [
            *(
                f"finetune.soo_target={target};finetune.soo_distance=mse;finetune.soo_coef={coef};"
                f"finetune.soo_stop_gradient={stop}"
                for target in ("hidden", "actions")
                for stop in ("false", "true")
                for coef in (0.1, 1, 10)
            ),
            *(
                f"finetune.soo_target={target};finetune.soo_distance=log_mse;finetune.soo_coef=1;"
                f"finetune.soo_stop_gradient={stop}"
                for target in ("hidden", "actions")
                for stop in ("false", "true")
            ),
        ],
    },
    # An SOO that keeps awareness, design 1 (docs/results/keeping-awareness.md, pre-registered): pairs beyond reach,
    # red inserted only in the ring between an inner radius and blue's radius (0.4). Axes: the target (hidden
    # activations, actions), the weight over two decades (0.1, 1, 10) and the inner radius (0.15, 0.25); mse with
    # stop-gradient; the honest-or-indifferent recipe's baselines and rule. For `contingent`, the same recipe with
    # `--base.preset contingent --base.honest-timesteps 2000000 --sweep-dir runs/keeping-awareness-ring-contingent`.
    "keeping-awareness-ring": {
        "sweep_dir": "runs/keeping-awareness-ring",
        "base": {
            **KEEP_CLEAR_TUNING,
            "finetune": {"soo_distance": "mse", "soo_stop_gradient": True, "soo_layers": None, "timesteps": 500_000},
        },
        "settings": [
            f"finetune.soo_target={target};finetune.soo_coef={coef};finetune.pair_inner_radius={inner}"
            for target in ("hidden", "actions")
            for inner in (0.15, 0.25)
            for coef in (0.1, 1, 10)
        ],
    },
    # Design 2 (docs/results/keeping-awareness.md, pre-registered): only the lure's direction, the SOO loss on the
    # mean action's component towards the fake landmark (soo_target lure). Axes: the weight over two decades (0.1, 1,
    # 10) and the stop-gradient; mse; the same baselines and rule. For `contingent`, as the ring recipe says.
    "keeping-awareness-lure": {
        "sweep_dir": "runs/keeping-awareness-lure",
        "base": {
            **KEEP_CLEAR_TUNING,
            "finetune": {"soo_target": "lure", "soo_distance": "mse", "soo_layers": None, "timesteps": 500_000},
        },
        "settings": [
            f"finetune.soo_coef={coef};finetune.soo_stop_gradient={stop}"
            for stop in ("false", "true")
            for coef in (0.1, 1, 10)
        ],
    },
    # Design 3 (docs/results/keeping-awareness.md, pre-registered after designs 1 and 2's tuning): a frozen self, the
    # pairs' self features read from the deceptive baseline the fine-tuning starts from (soo_self reference). Axes:
    # the target (the lure's direction, the whole action) and the weight over two decades (0.1, 1, 10); mse; the
    # same baselines and rule. For `contingent`, as the ring recipe says.
    "keeping-awareness-frozen": {
        "sweep_dir": "runs/keeping-awareness-frozen",
        "base": {
            **KEEP_CLEAR_TUNING,
            "finetune": {
                "soo_self": "reference",
                "soo_distance": "mse",
                "soo_stop_gradient": True,
                "soo_layers": None,
                "timesteps": 500_000,
            },
        },
        "settings": [
            f"finetune.soo_target={target};finetune.soo_coef={coef}"
            for target in ("lure", "actions")
            for coef in (0.1, 1, 10)
        ],
    },
}


RECIPE_SUMMARIES: dict[str, str] = {
    "detection": "the paper-scale detection study: 100 seed pairs of honest and deceptive baselines",
    "soo-tuning": "SOO's settings tuned in contingent on the tuning seed, under the rule fixed in advance",
    "honest-or-indifferent": "the target inside the tuning, in keep_clear, with the awareness filter",
    "keeping-awareness-ring": "an SOO that keeps awareness, design 1: red inserted only beyond reach",
    "keeping-awareness-lure": "an SOO that keeps awareness, design 2: the loss on the lure's direction only",
    "keeping-awareness-frozen": "an SOO that keeps awareness, design 3: a frozen self (the starting policy's)",
}
"""One line per recipe of ``SWEEP_RECIPES``, for ``train/sweep.py --help``."""


@dataclass(frozen=True)
class SweepConfig:
    """``python train/sweep.py``: the experiment over a grid of settings and seeds, locally or on Ray."""

    sweep_dir: Path = Path("runs/sweep")
    """Where the sweep's cells, shared baselines, manifest and report go; re-running skips finished jobs."""
    grid: tuple[str, ...] = ()
    """Swept settings, each ``KEY=V1,V2,...`` with KEY as in the TOML config (``finetune.soo_coef=0.3,1,3``,
    ``finetune.soo_layers=[0],[1]``, ``preset=default,paper``); the cells are every combination."""
    settings: tuple[str, ...] = ()
    """Listed cells, each ``KEY=V;KEY=V`` with keys and values as in ``grid``
    (``finetune.soo_distance=mse;finetune.soo_coef=0.1``); a key an entry leaves out keeps the base's value. With
    ``grid`` too, every listed cell runs at every combination of the grid."""
    base: ExperimentConfig = field(default_factory=lambda: ExperimentConfig(gifs=False))
    """Settings shared by every cell (seeds, conditions, budgets; ``--base.quick`` for tiny budgets)."""
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    """Local worker processes (one torch thread each); default: one per core."""
    ray: str | None = None
    """Run the jobs as Ray tasks: on a running cluster (``auto``, or an address such as ``ray://host:10001``),
    or on a Ray instance started here with ``workers`` CPUs (``local``)."""
    storage: Path | None = None
    """With ``--ray``: a directory every node mounts at the same path; jobs write there and the driver copies
    their outputs into ``sweep_dir``. Without it, files travel with the tasks."""
    retries: int = 1
    """Extra attempts of a failing job before it is reported as failed."""
    rebuild_manifest: bool = False
    """Rebuild manifest.json by re-verifying every existing output (a damaged manifest's remedy)."""

    def __post_init__(self) -> None:
        check_int("workers", self.workers, 1)
        check_int("retries", self.retries, 0)
        if self.storage is not None and self.ray is None:
            raise ValueError("storage is only used with --ray")
        if self.base.baselines_from is not None:
            raise ValueError("base.baselines_from cannot be used in a sweep: the sweep trains and shares its baselines")
        if self.base.verify:
            raise ValueError("base.verify checks one run directory: run it on a cell's directory, not in a sweep")
        if self.base.rebuild_manifest:
            raise ValueError("use --rebuild-manifest, not base.rebuild_manifest: a sweep has one manifest")
        both = {key for key, _ in parse_grid(self.grid)} & set(listed_keys(self))
        if both:
            raise ValueError(f"{sorted(both)} both in grid and in settings: give each key in one of them")

    def fingerprint(self) -> dict[str, Any]:
        """What defines the sweep's results (not where or how fast it runs)."""
        return {"grid": list(self.grid), "settings": list(self.settings), "base": self.base.to_dict()}


def _assignment(text: str, where: str, form: str) -> tuple[str, list[Any]]:
    """``KEY=V1,V2`` as ``(key, values)``, the key checked as sweepable; values are JSON (numbers, ``true``,
    ``[0,1]``, ``null``) or plain strings.

    :param text: a grid entry, or one ``KEY=V`` of a listed setting.
    :param where: names the entry in errors (``grid entry 'KEY=...'``).
    :param form: the entry's expected form, for errors.
    """
    key, sep, raw = text.partition("=")
    key = key.strip()
    group = key.split(".")[0]
    if not sep or not raw.strip():
        raise ValueError(f"{where} must look like {form}")
    if not (key in SWEEPABLE_TOP_LEVEL or (group in GROUPS and key.count(".") == 1)):
        allowed = [*SWEEPABLE_TOP_LEVEL, *(f"{g}.<field>" for g in GROUPS)]
        raise ValueError(f"{where}: key {key!r} cannot be swept; allowed: {allowed}")
    try:
        values = json.loads(f"[{raw}]")
    except json.JSONDecodeError:
        values = [v.strip() for v in raw.split(",")]
    return key, values


def parse_grid(grid: tuple[str, ...]) -> list[tuple[str, list[Any]]]:
    """``KEY=V1,V2`` entries as ``(key, values)``; values are JSON (numbers, ``true``, ``[0,1]``) or plain strings."""
    parsed = []
    for entry in grid:
        key, values = _assignment(entry, f"grid entry {entry!r}", "KEY=V1,V2,...")
        if len(set(map(json.dumps, values))) != len(values):
            raise ValueError(f"grid entry {entry!r} repeats a value")
        parsed.append((key, values))
    keys = [key for key, _ in parsed]
    if len(set(keys)) != len(keys):
        raise ValueError(f"grid sweeps a key twice: {keys}")
    return parsed


def parse_listed(settings: tuple[str, ...]) -> list[dict[str, Any]]:
    """Listed cells, each ``KEY=V;KEY=V``, as ``{key: value}`` (keys and values as in ``parse_grid``; an empty entry
    is the base itself)."""
    parsed: list[dict[str, Any]] = []
    for entry in settings:
        where = f"listed setting {entry!r}"
        cell: dict[str, Any] = {}
        for part in entry.split(";") if entry.strip() else []:
            key, values = _assignment(part, where, "KEY=V;KEY=V")
            if len(values) != 1:
                raise ValueError(f"{where} gives {key} {len(values)} values; list one cell per entry")
            if key in cell:
                raise ValueError(f"{where} sets {key} twice")
            cell[key] = values[0]
        if cell in parsed:
            raise ValueError(f"{where} repeats an earlier entry")
        parsed.append(cell)
    return parsed


def listed_keys(sweep: SweepConfig) -> list[str]:
    """The keys set by the sweep's listed settings, in order of first appearance."""
    return list(dict.fromkeys(key for cell in parse_listed(sweep.settings) for key in cell))


def setting_value(config: ExperimentConfig, key: str) -> Any:
    """The value of a sweepable ``key`` (``finetune.soo_coef``) in ``config``, as JSON (a tuple as a list).

    :param config: the experiment's settings.
    :param key: a grid or listed-setting key.
    """
    value: Any = config.to_dict()
    for part in key.split("."):
        value = value[part]
    return value


@dataclass(frozen=True)
class Cell:
    """One cell of the sweep: its name, its swept settings and its run (paths relative to the sweep)."""

    name: str
    settings: dict[str, Any]
    """Every swept key's value in this cell: its listed setting's (the base's for a key the entry leaves out), then
    its grid values."""
    config: ExperimentConfig


def _nested(settings: dict[str, Any]) -> dict[str, Any]:
    mapping: dict[str, Any] = {}
    for key, value in settings.items():
        group, _, name = key.partition(".")
        if name:
            mapping.setdefault(group, {})[name] = value
        else:
            mapping[key] = value
    return mapping


def cells(sweep: SweepConfig) -> list[Cell]:
    """Every cell of the sweep (each listed setting at every combination of the grid), resolved (``--base.quick``
    applied), with directories relative to the sweep. A cell is named by the values its listed setting and the grid
    give (``soo_distance=mse,soo_coef=0.1``; ``base`` if none).

    :raise ValueError: a cell's settings are invalid, or two cells are the same run.
    """
    grid = parse_grid(sweep.grid)
    listed = parse_listed(sweep.settings) or [{}]
    keys = [*listed_keys(sweep), *(key for key, _ in grid)]
    short = [key.split(".")[-1] for key in keys]
    labels = dict(zip(keys, short if len(set(short)) == len(short) else keys, strict=True))
    result: list[Cell] = []
    runs: dict[ExperimentConfig, str] = {}
    for entry, values in itertools.product(listed, itertools.product(*(values for _, values in grid))):
        chosen = {**entry, **{key: value for (key, _), value in zip(grid, values, strict=True)}}
        name = ",".join(f"{labels[key]}={_label(value)}" for key, value in chosen.items()) or "base"
        try:
            config = from_mapping(_nested(chosen), sweep.base)
        except (TypeError, ValueError) as error:
            raise ValueError(f"cell {name}: {error}") from None
        if config in runs:
            raise ValueError(f"cells {runs[config]} and {name} are the same run")
        runs[config] = name
        settings = {key: setting_value(config, key) for key in keys}
        config = dataclasses.replace(
            config.resolved(),
            run_dir=Path("cells") / name,
            baselines_from=Path("baselines") / baseline_fingerprint(config),
            resume=True,
            workers=sweep.workers,
            retries=sweep.retries,
        )
        result.append(Cell(name, settings, config))
    return result


def _label(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def prepare_sweep_dir(sweep: SweepConfig, root: Path, grid: list[Cell]) -> None:
    """Record the sweep's settings and every cell's; refuse a cell whose directory holds other settings.

    :raise DamagedFileError: a cell's ``config.json`` cannot be read.
    """
    root.mkdir(parents=True, exist_ok=True)
    write_json_atomic(root / "sweep.json", sweep.fingerprint())
    for cell in grid:
        try:
            prepare_run_dir(cell.config, root / cell.config.run_dir)
        except DamagedFileError:
            raise
        except ValueError as error:
            raise ValueError(f"cell {cell.name}: {error}; use another --sweep-dir") from None
        assert cell.config.baselines_from is not None
        write_json_atomic(root / cell.config.baselines_from / "settings.json", baseline_settings(cell.config))


def sweep_tasks(grid: list[Cell]) -> dict[str, list[Task]]:
    """Every cell's tasks (cells share their baselines' tasks: the runner runs a repeated key once)."""
    return {cell.name: experiment_tasks(cell.config, train_baselines=True) for cell in grid}


def unfinished_cells(cell_tasks: dict[str, list[Task]], bad: set[str]) -> dict[str, list[str]]:
    """Cells with failed or blocked jobs (``bad`` task keys), and those jobs."""
    unfinished = {name: [task.key for task in tasks if task.key in bad] for name, tasks in cell_tasks.items()}
    return {name: jobs for name, jobs in unfinished.items() if jobs}


def sweep_from_mapping(data: dict[str, Any], base: SweepConfig | None = None) -> SweepConfig:
    """A sweep from a (TOML or recipe) mapping: top-level sweep settings, a ``[base]`` table of experiment
    settings, ``grid`` as a list of ``KEY=V1,V2`` strings or a table of lists (``[grid.finetune]``), and
    ``settings`` as a list of ``KEY=V;KEY=V`` strings or of tables (``[[settings]]`` with ``finetune.soo_coef = 0.1``).
    """
    base = base or SweepConfig()
    special = {key: data[key] for key in ("grid", "settings") if key in data}
    base = replace_from(base, {k: v for k, v in data.items() if k not in special}, label="sweep setting")
    changes: dict[str, Any] = {}
    for key, value in special.items():
        if key == "grid":
            changes[key] = tuple(value) if isinstance(value, list) else tuple(_grid_entries(value))
        elif key == "settings":
            if not isinstance(value, list):
                raise ValueError(f"settings must be a list of KEY=V;KEY=V strings or of tables, got {value!r}")
            changes[key] = tuple(entry if isinstance(entry, str) else _listed_entry(entry) for entry in value)
    return dataclasses.replace(base, **changes)


def _grid_entries(table: dict[str, Any]) -> list[str]:
    return [f"{key}=" + ",".join(json.dumps(v) for v in values) for key, values in flat_settings(table).items()]


def _listed_entry(table: dict[str, Any]) -> str:
    return ";".join(f"{key}={json.dumps(value)}" for key, value in flat_settings(table).items())
