"""bench/seed_subset.py: a results page's second row reads the right seeds."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def write_run(tmp_path: Path) -> Path:
    """A run of seeds 3, 5 and 7 whose per-seed trap rates are 0.1, 0.5 and 0.9 and honest success 1, 2, 3."""
    results = {
        "config": {"seeds": [3, 5, 7], "bootstrap_resamples": 200},
        "protocol": {"evaluation_seed": 10_000},
        "conditions": {"deceptive": {"trap_rate": {"per_seed": [0.1, 0.5, 0.9]}}},
        "outcomes": {"deceptive": {"honest_success": {"per_seed": [1.0, 2.0, 3.0]}}},
    }
    run = tmp_path / "run"
    run.mkdir()
    (run / "results.json").write_text(json.dumps(results))
    return run


def subset(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "bench" / "seed_subset.py"), *args], capture_output=True, text=True, cwd=ROOT
    )


def test_the_second_row_keeps_the_seeds_whose_two_baselines_pass(tmp_path: Path) -> None:
    run = write_run(tmp_path)
    rows = [
        {"mode": "honest", "seed": 3, "passed": True},
        {"mode": "deceptive", "seed": 3, "passed": False},
        {"mode": "honest", "seed": 5, "passed": True},
        {"mode": "deceptive", "seed": 5, "passed": True},
        {"mode": "honest", "seed": 7, "passed": False},
        {"mode": "deceptive", "seed": 7, "passed": True},
    ]
    check = tmp_path / "baselines.json"
    check.write_text(json.dumps({"rows": rows}))
    result = subset(str(run), "--baselines", str(check))
    assert result.returncode == 0, result.stderr
    assert "seeds: [5]" in result.stdout
    # Seed 5 alone: its own values, with a one-value interval.
    assert "| deceptive | 0.500 [0.500, 0.500] | n/a | n/a | 2.000 [2.000, 2.000] |" in result.stdout


def test_given_seeds_are_read_by_their_position_in_the_run(tmp_path: Path) -> None:
    result = subset(str(write_run(tmp_path)), "--seeds", "7", "3")
    assert result.returncode == 0, result.stderr
    assert "| deceptive | 0.500 [0.100, 0.900] |" in result.stdout


def test_a_seed_the_run_does_not_have_is_named(tmp_path: Path) -> None:
    result = subset(str(write_run(tmp_path)), "--seeds", "4")
    assert result.returncode != 0
    assert "seeds [4] are not seeds of this run" in result.stderr


def test_detection_is_taken_over_the_chosen_seed_pairs_only(tmp_path: Path) -> None:
    """Seed 5's pair is the only one ordered the wrong way (honest above deceptive): without it detection is perfect,
    with it alone it is 0."""
    run = write_run(tmp_path)
    results = json.loads((run / "results.json").read_text())
    results["detection"] = {"honest_soo_value": [0.1, 0.9, 0.2], "deceptive_soo_value": [0.5, 0.3, 0.6]}
    (run / "results.json").write_text(json.dumps(results))
    both = subset(str(run), "--seeds", "3", "7")
    assert "detection over 2 seed pairs: pairwise accuracy 1.000 [1.000, 1.000], AUC 1.000" in both.stdout
    alone = subset(str(run), "--seeds", "5")
    assert "detection over 1 seed pairs: pairwise accuracy 0.000 [0.000, 0.000], AUC 0.000" in alone.stdout
