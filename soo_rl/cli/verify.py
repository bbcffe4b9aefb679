"""``python train/ppo_soo.py --run-dir DIR --verify``: re-check a finished run directory without running anything.

Like ``git fsck`` or ``restic check``: a user can check a run someone sent them. Every job of the run (the task
graph of its own ``config.json``) must be recorded in ``manifest.json`` as finished with the settings' fingerprint;
every file it recorded must still have its size and SHA-256, read whole and carry its job's fingerprint; and
``results.json`` and ``report.md`` must be what the evaluations give.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from soo_rl.experiment.config import ExperimentConfig, from_mapping
from soo_rl.experiment.pipeline import experiment_tasks, read_output, read_settings
from soo_rl.experiment.results import collect_results
from soo_rl.report.experiment import markdown_report
from soo_rl.runner.scheduler import MANIFEST_NAME, Manifest

RESULTS_NAME = "results.json"
REPORT_NAME = "report.md"


def first_difference(found: Any, expected: Any, where: str = "") -> str | None:
    """Where ``found`` and ``expected`` (JSON values) first differ, as a dotted path with both values, or ``None``."""
    if isinstance(found, dict) and isinstance(expected, dict):
        for key in [*expected, *(k for k in found if k not in expected)]:
            path = f"{where}.{key}" if where else str(key)
            if key not in found:
                return f"{path} is missing"
            if key not in expected:
                return f"{path} is not a result of this run"
            difference = first_difference(found[key], expected[key], path)
            if difference is not None:
                return difference
        return None
    if isinstance(found, list) and isinstance(expected, list) and len(found) == len(expected):
        pairs = zip(found, expected, strict=True)
        return next((d for i, (f, e) in enumerate(pairs) if (d := first_difference(f, e, f"{where}[{i}]"))), None)
    if found == expected:
        return None
    return f"{where or 'the file'} is {json.dumps(found)[:80]}, the evaluations give {json.dumps(expected)[:80]}"


def verify_run(run_dir: Path) -> list[str]:
    """Every problem of the finished run in ``run_dir``, one line each: an empty list means the run is whole and its
    results are what its evaluations give.

    :param run_dir: the run directory (it may have been moved: its ``config.json`` is read, not the path in it).
    :raise DamagedFileError: ``config.json`` or ``manifest.json`` cannot be read (nothing else can be checked).
    """
    saved = read_settings(run_dir / "config.json")
    root = run_dir.resolve()
    config = dataclasses.replace(from_mapping(saved), run_dir=root).resolved()
    relative = dataclasses.replace(config, run_dir=Path("."))
    manifest = Manifest(root / MANIFEST_NAME)
    problems = [
        problem
        for task in experiment_tasks(relative, train_baselines=config.baselines_from is None)
        for problem in manifest.problems(root, task, read_output)
    ]
    if problems:  # the results cannot be recomputed from missing or foreign evaluations
        return problems
    return list(_result_problems(root, config, saved["run_dir"]))


def _result_problems(root: Path, config: ExperimentConfig, recorded_dir: str) -> Iterator[str]:
    """What differs between the written results and report and those the evaluations give; ``recorded_dir`` is the
    run directory the results name (where the run was made, wherever it is now)."""
    results_path = root / RESULTS_NAME
    if not results_path.is_file():
        yield f"{results_path} is missing"
        return
    try:
        written = json.loads(results_path.read_text())
    except (ValueError, UnicodeDecodeError) as error:
        yield f"{results_path} cannot be read ({error})"
        return
    expected = json.loads(json.dumps(collect_results(config)))  # as written: tuples become lists
    expected["config"]["run_dir"] = recorded_dir
    difference = first_difference(written, expected)
    if difference is not None:
        yield f"{results_path}: {difference}"
        return
    report_path = root / REPORT_NAME
    if not report_path.is_file() or report_path.read_text() != markdown_report(expected):
        yield f"{report_path} is missing or not the report of {RESULTS_NAME}"
