"""Train a red with PPO against the scripted honest blue and check that it follows blue.

For each seed: ``agents.learned_red.train_red`` (``RED_SETTINGS`` unless overridden) on the ``default``
preset, with one torch thread; then the deterministic policy plays fresh seeded episodes (seeds disjoint
from training) against the scripted honest blue, and so does the scripted red follower on the *same*
episodes (the anchor). Printed per run: follow rate (share of steps with blue within red's radius), goal
rate (share of episodes ending with red within 0.16 of the goal), trap rate, red's return, wall time of
training and pass/fail.

Targets: follow rate > 0.5 and goal rate > 0.5, within ``--max-minutes`` of training wall time.

    python bench/learned_red.py --seeds 0 1 2 3 4 --episodes 1000
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from typing import Any

import numpy as np
import torch
from common import EVAL_SEED_OFFSET, add_training_arguments, ppo_settings

from agents.batch_policy import ModelPolicy
from agents.learned_red import RED_SETTINGS, evaluate_red, train_red
from agents.soo_ppo import SOOPPO
from envs.deception.config import make_config
from envs.deception.scripted import scripted_policy

PRESET = "default"
BLUE = "honest"
MIN_FOLLOW = 0.5
MIN_GOAL = 0.5


def type_of(raw: str) -> Any:
    """``raw`` as an int, float, bool or ``None`` where it reads as one, else the string."""
    for convert in (int, float):
        try:
            return convert(raw)
        except ValueError:
            pass
    return {"True": True, "False": False, "None": None}.get(raw, raw)


def row_text(name: str, seed: int | str, metrics: dict[str, float], wall: float | None, result: str) -> str:
    wall_text = f"{wall:>8.1f}" if wall is not None else f"{'-':>8}"
    return (
        f"{name:<16}{seed!s:>5}{metrics['follow_rate']:>8.3f}{metrics['goal_rate']:>7.3f}{metrics['trap_rate']:>7.3f}"
        f"{metrics['red_return']:>9.1f}{wall_text}  {result}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    add_training_arguments(parser, max_minutes=5.0)
    args = parser.parse_args(argv)

    torch.set_num_threads(1)
    settings = ppo_settings(RED_SETTINGS, args)
    config = make_config(PRESET)
    print(f"settings: {settings}")
    print(f"blue: scripted {BLUE}; preset {PRESET}; {args.episodes} evaluation episodes per agent")
    header = f"{'red':<16}{'seed':>5}{'follow':>8}{'goal':>7}{'trap':>7}{'return':>9}{'wall_s':>8}  result"
    print(header)
    rows: list[dict[str, Any]] = []
    for seed in args.seeds:
        start = time.perf_counter()
        model: SOOPPO = train_red(BLUE, settings, seed=seed)
        wall = time.perf_counter() - start
        eval_seed = EVAL_SEED_OFFSET + seed
        learned = evaluate_red(ModelPolicy(model), BLUE, config, args.episodes, eval_seed)
        anchor = evaluate_red(scripted_policy("red_follower", config), BLUE, config, args.episodes, eval_seed)
        ok = learned["follow_rate"] > MIN_FOLLOW and learned["goal_rate"] > MIN_GOAL and wall <= 60 * args.max_minutes
        rows.append({"seed": seed, "learned": learned, "scripted": anchor, "wall_s": wall, "passed": ok})
        print(row_text("learned (PPO)", seed, learned, wall, "PASS" if ok else "FAIL"))
        print(row_text("scripted follower", seed, anchor, None, "anchor"), flush=True)

    passed = sum(row["passed"] for row in rows)
    means = {key: float(np.mean([row["learned"][key] for row in rows])) for key in ("follow_rate", "goal_rate")}
    print(
        f"\nlearned red: {passed}/{len(rows)} seeds pass (follow > {MIN_FOLLOW}, goal > {MIN_GOAL}, "
        f"<= {args.max_minutes:g} min); mean follow {means['follow_rate']:.3f}, mean goal {means['goal_rate']:.3f}, "
        f"mean wall {np.mean([row['wall_s'] for row in rows]):.1f}s"
    )
    if args.out is not None:
        payload = {"settings": dataclasses.asdict(settings), "preset": PRESET, "episodes": args.episodes, "rows": rows}
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(payload, indent=2))
    return 0 if passed == len(rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
