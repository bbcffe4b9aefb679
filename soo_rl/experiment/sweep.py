"""Sweeps: a grid of settings x seeds x conditions, every cell one run of the experiment's jobs.

Cells that differ only in what the baselines do not depend on (fine-tuning and evaluation
settings) share their baselines, trained once under ``baselines/<hash>/``; each cell's run lives
under ``cells/<name>/`` with its own report, and the sweep's report sits at the top. Every job is a
task of one graph (``soo_rl.experiment.graph``), run by ``soo_rl.runner`` on a local process pool or on Ray.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from envs.io import write_json_atomic
from envs.validation import check_int
from soo_rl.experiment.conditions import BASELINE_SETTINGS
from soo_rl.experiment.config import ExperimentConfig, from_mapping, reject_unknown
from soo_rl.experiment.graph import DamagedFileError, Task
from soo_rl.experiment.paths import baseline_fingerprint, baseline_settings
from soo_rl.experiment.pipeline import experiment_tasks, prepare_run_dir

GROUPS: tuple[str, ...] = ("ppo", "finetune", "eval")
SWEEPABLE_TOP_LEVEL: tuple[str, ...] = tuple(key for key in BASELINE_SETTINGS if key != "ppo")

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
}


@dataclass(frozen=True)
class SweepConfig:
    """``python train/sweep.py``: the experiment over a grid of settings and seeds, locally or on Ray."""

    sweep_dir: Path = Path("runs/sweep")
    """Where the sweep's cells, shared baselines, manifest and report go; re-running skips finished jobs."""
    grid: tuple[str, ...] = ()
    """Swept settings, each ``KEY=V1,V2,...`` with KEY as in the TOML config (``finetune.soo_coef=0.3,1,3``,
    ``finetune.soo_layers=[0],[1]``, ``preset=default,paper``); the cells are every combination."""
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
        if self.base.rebuild_manifest:
            raise ValueError("use --rebuild-manifest, not base.rebuild_manifest: a sweep has one manifest")
        parse_grid(self.grid)

    def fingerprint(self) -> dict[str, Any]:
        """What defines the sweep's results (not where or how fast it runs)."""
        return {"grid": list(self.grid), "base": self.base.to_dict()}


def parse_grid(grid: tuple[str, ...]) -> list[tuple[str, list[Any]]]:
    """``KEY=V1,V2`` entries as ``(key, values)``; values are JSON (numbers, ``true``, ``[0,1]``) or plain strings."""
    parsed = []
    allowed = [*SWEEPABLE_TOP_LEVEL, *(f"{g}.<field>" for g in GROUPS)]
    for entry in grid:
        key, sep, raw = entry.partition("=")
        key = key.strip()
        group = key.split(".")[0]
        if not sep or not raw.strip():
            raise ValueError(f"grid entry {entry!r} must look like KEY=V1,V2,...")
        if not (key in SWEEPABLE_TOP_LEVEL or (group in GROUPS and key.count(".") == 1)):
            raise ValueError(f"grid key {key!r} cannot be swept; allowed: {allowed}")
        try:
            values = json.loads(f"[{raw}]")
        except json.JSONDecodeError:
            values = [v.strip() for v in raw.split(",")]
        if len(set(map(json.dumps, values))) != len(values):
            raise ValueError(f"grid entry {entry!r} repeats a value")
        parsed.append((key, values))
    keys = [key for key, _ in parsed]
    if len(set(keys)) != len(keys):
        raise ValueError(f"grid sweeps a key twice: {keys}")
    return parsed


@dataclass(frozen=True)
class Cell:
    """One combination of the grid: its name, its swept settings and its run (paths relative to the sweep)."""

    name: str
    settings: dict[str, Any]
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
    """Every cell of the grid, resolved (``--base.quick`` applied), with directories relative to the sweep."""
    grid = parse_grid(sweep.grid)
    short = [key.split(".")[-1] for key, _ in grid]
    labels = short if len(set(short)) == len(short) else [key for key, _ in grid]
    result = []
    for values in itertools.product(*(values for _, values in grid)):
        settings = {key: value for (key, _), value in zip(grid, values, strict=True)}
        name = ",".join(f"{label}={_label(v)}" for label, v in zip(labels, values, strict=True)) or "base"
        try:
            config = from_mapping(_nested(settings), sweep.base).resolved()
        except (TypeError, ValueError) as error:
            raise ValueError(f"grid cell {name}: {error}") from None
        config = dataclasses.replace(
            config,
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
    settings, and ``grid`` as a list of ``KEY=V1,V2`` strings or a table of lists (``[grid.finetune]``)."""
    base = base or SweepConfig()
    reject_unknown(data, SweepConfig, label="sweep setting")
    changes: dict[str, Any] = {}
    for key, value in data.items():
        if key == "base":
            changes[key] = from_mapping(value, base.base)
        elif key == "grid":
            changes[key] = tuple(value) if isinstance(value, list) else tuple(_grid_entries(value))
        elif key in ("sweep_dir", "storage"):
            changes[key] = None if value is None else Path(value)
        else:
            changes[key] = value
    return dataclasses.replace(base, **changes)


def _grid_entries(table: dict[str, Any], prefix: str = "") -> list[str]:
    entries = []
    for key, value in table.items():
        if isinstance(value, dict):
            entries += _grid_entries(value, f"{prefix}{key}.")
        else:
            entries.append(f"{prefix}{key}=" + ",".join(json.dumps(v) for v in value))
    return entries
