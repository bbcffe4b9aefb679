"""How an SOO on the lure's direction (``soo_target="lure"``) changes blue's moves: the mechanism behind a tuning
sweep's goal rates.

For the sweep's baselines and each named cell, over every seed, on the sweep's tuning evaluation episodes, it prints

1. the goal and trap rates by the angle between the goal's and the fake landmark's directions from blue's start;
2. blue's moves split by where the goal lies from blue (towards the fake landmark or away from it, steps outside the
   goal radius): their component along the fake landmark's direction (``agents.soo.lure.LureDirection``, the
   quantity the SOO loss compares), their size across it, their length, and their progress towards the goal.

    python bench/lure_mechanism.py runs/keeping-awareness-lure "soo_coef=10,soo_stop_gradient=false"
"""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch as th
from numpy.typing import NDArray

from agents.batch_policy import ModelPolicy
from agents.soo.lure import LureDirection
from agents.soo_ppo import SOOPPO
from envs.deception.config import make_config
from envs.deception.core import BLUE_INDEX
from envs.deception.layout import blue_layout
from envs.deception.recording import Trajectories, rollout
from envs.deception.scripted import scripted_policy
from soo_rl.measurement.authors import unit_vectors

ANGLE_BINS = (0.0, 30.0, 60.0, 90.0, 180.0)
"""Edges (degrees) of the start-angle bins of the first table."""

MOVE_COLUMNS = ("along fake", "across (size)", "length", "to goal")
"""The second table's quantities, each for the steps with the goal towards and away from the fake landmark."""

FloatArray = NDArray[np.floating[Any]]


def fake_and_goal(obs: FloatArray, lure: LureDirection) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Per observation row: the unit vector to the fake landmark nearest the goal, the unit vector to the goal, and
    the distance to the goal.

    :param obs: ``(..., obs_dim)`` blue observations.
    :param lure: where the goal and the landmarks are in them.
    """
    flat = obs.reshape(-1, obs.shape[-1])
    fake = lure.directions(th.as_tensor(flat, dtype=th.float64))[:, 0].numpy()
    goal, distance = unit_vectors(flat[:, lure.goal].astype(np.float64))
    shape = obs.shape[:-1]
    return fake.reshape(*shape, 2), goal.reshape(*shape, 2), distance.reshape(shape)


def start_angles(obs: FloatArray, lure: LureDirection) -> FloatArray:
    """``(N,)`` degrees between the goal's and the fake landmark's directions in the first observations ``(N, D)``."""
    fake, goal, _ = fake_and_goal(obs, lure)
    return np.degrees(np.arccos(np.clip((fake * goal).sum(axis=-1), -1.0, 1.0)))


def move_split(obs: FloatArray, moves: FloatArray, lure: LureDirection, goal_radius: float) -> FloatArray:
    """``(2, 4)``: ``MOVE_COLUMNS`` averaged over the steps whose goal lies towards the fake landmark (row 0) and away
    from it (row 1), outside ``goal_radius``; NaN where no step falls in a row.

    :param obs: ``(T, N, D)`` the observations blue acted on.
    :param moves: ``(T, N, 2)`` its moves.
    :param lure: where the goal and the landmarks are in the observations.
    :param goal_radius: steps this close to the goal are left out (blue is there).
    """
    fake, goal, distance = fake_and_goal(obs, lure)
    along = (moves * fake).sum(axis=-1)
    across = np.abs(moves[..., 0] * fake[..., 1] - moves[..., 1] * fake[..., 0])
    columns = np.stack([along, across, np.linalg.norm(moves, axis=-1), (moves * goal).sum(axis=-1)], axis=-1)
    towards = (fake * goal).sum(axis=-1) > 0
    outside = distance > goal_radius
    rows = [columns[towards & outside], columns[~towards & outside]]
    return np.stack([row.mean(axis=0) if len(row) else np.full(len(MOVE_COLUMNS), np.nan) for row in rows])


def goal_and_trap_by_angle(angles: FloatArray, at_goal: NDArray[np.bool_], trapped: NDArray[np.bool_]) -> list[str]:
    """One ``goal/trap (n=...)`` cell per ``ANGLE_BINS`` bin (``-`` for an empty bin)."""
    cells = []
    for low, high in itertools.pairwise(ANGLE_BINS):
        inside = (angles >= low) & (angles < high) if high < ANGLE_BINS[-1] else angles >= low
        rates = f"{at_goal[inside].mean():.2f}/{trapped[inside].mean():.2f}" if inside.any() else "-"
        cells.append(f"{rates} (n={inside.sum()})")
    return cells


def agent_rows(name: str, runs: list[Trajectories], lure: LureDirection, goal_radius: float) -> tuple[str, str]:
    """The two tables' rows of one agent played on every seed (``runs``)."""
    angles = np.concatenate([start_angles(traj.blue_obs[0], lure) for traj in runs])
    at_goal = np.concatenate([traj.blue_at_goal for traj in runs])
    trapped = np.concatenate([traj.final_trapped for traj in runs])
    moves = np.mean([move_split(t.blue_obs, t.moves[:, :, BLUE_INDEX], lure, goal_radius) for t in runs], axis=0)
    by_angle = f"| {name} | " + " | ".join(goal_and_trap_by_angle(angles, at_goal, trapped)) + " |"
    return by_angle, f"| {name} | " + " | ".join(f"{value:+.2f}" for value in moves.ravel()) + " |"


def markdown_table(header: list[str], rows: list[str]) -> str:
    """A markdown table whose first column is the agent."""
    return "| agent | " + " | ".join(header) + " |\n|---|" + "---|" * len(header) + "\n" + "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sweep", type=Path, help="a tuning sweep directory (train/sweep.py --sweep-dir)")
    parser.add_argument("cells", nargs="*", help="cell names under SWEEP/cells (their condition's checkpoints)")
    parser.add_argument("--condition", default="soo", help="the cells' condition")
    args = parser.parse_args()
    base = json.loads((args.sweep / "results.json").read_text())["sweep"]["base"]
    config = make_config(base["preset"], reward_mode="deceptive")
    lure = LureDirection.from_layout(blue_layout(config.num_landmarks))
    red = scripted_policy("red_follower", config)
    episodes, seed = base["eval"]["episodes"], base["eval"]["tuning_seed"]
    (baselines,) = (args.sweep / "baselines").iterdir()
    agents = {mode: baselines / "checkpoints" / f"{mode}_seed{{}}.zip" for mode in ("deceptive", "honest")}
    for cell in args.cells:
        agents[cell] = args.sweep / "cells" / cell / "checkpoints" / f"{args.condition}_seed{{}}.zip"
    rows = []
    for name, pattern in agents.items():
        models = [SOOPPO.load(str(pattern).format(training_seed), device="cpu") for training_seed in base["seeds"]]
        runs = [rollout(config, red, ModelPolicy(model), episodes, seed=seed) for model in models]
        rows.append(agent_rows(name, runs, lure, config.goal_radius))
    bins = [f"{low:g}-{high:g} deg" for low, high in itertools.pairwise(ANGLE_BINS)]
    split = [f"{column}, goal {where}" for where in ("towards fake", "away") for column in MOVE_COLUMNS]
    print(f"{base['preset']}, {len(base['seeds'])} seeds, tuning seed {seed}; goal/trap rate by start angle:\n")
    print(markdown_table(bins, [row[0] for row in rows]))
    print("\nblue's moves (mean per step outside the goal radius, over seeds):\n")
    print(markdown_table(split, [row[1] for row in rows]))


if __name__ == "__main__":
    main()
