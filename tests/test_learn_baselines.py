"""bench/learn_baselines.py --budgets: one training run evaluated at several budgets is the same run as training to
each budget from the start."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MEASURED = ("trap_rate", "lure_trap_rate", "goal_rate", "honest_return", "blind_trap_rate", "timesteps")


def learn_baselines(tmp_path: Path, name: str, *args: str) -> list[dict[str, Any]]:
    out = tmp_path / f"{name}.json"
    command = [sys.executable, str(ROOT / "bench" / "learn_baselines.py"), "--modes", "deceptive", "--seeds", "3"]
    command += ["--episodes", "20", "--out", str(out), *args]
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    rows: list[dict[str, Any]] = json.loads(out.read_text())["rows"]
    return rows


def test_an_evaluation_between_budgets_leaves_the_training_run_unchanged(tmp_path: Path) -> None:
    staged = learn_baselines(tmp_path, "staged", "--budgets", "8192", "16384")
    straight = learn_baselines(tmp_path, "straight", "--timesteps", "16384")
    assert [row["budget"] for row in staged] == [8192, 16384]
    assert {key: staged[1][key] for key in MEASURED} == {key: straight[0][key] for key in MEASURED}
    # The first stage is an earlier policy, not the same one evaluated twice.
    assert staged[0]["honest_return"] != staged[1]["honest_return"]


def test_red_settings_reach_the_co_learning_red_and_need_one(tmp_path: Path) -> None:
    """``--red-set`` changes a co-learning red's learning (so blue's run too) and is refused without one."""
    base = ("--red", "co-learning", "--timesteps", "8192")
    default_red = learn_baselines(tmp_path, "default_red", *base)
    slow_red = learn_baselines(tmp_path, "slow_red", *base, "--red-set", "learning_rate=1e-6")
    assert default_red[0]["honest_return"] != slow_red[0]["honest_return"]
    command = [sys.executable, str(ROOT / "bench" / "learn_baselines.py"), "--red-set", "learning_rate=1e-4"]
    refused = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    assert refused.returncode == 2 and "need --red co-learning" in refused.stderr
