"""Helpers shared by the training benchmarks: command-line overrides of PPO settings, the bench's evaluation seeds."""

from __future__ import annotations

import argparse
import ast
import dataclasses
from pathlib import Path
from typing import Any

from agents.hyperparams import PPOSettings

EVAL_SEED_OFFSET = 1_000_003
"""The benchmarks evaluate an agent on episodes seeded ``EVAL_SEED_OFFSET + training seed``: never a training seed,
the report seed or the tuning seed."""


def parse_assignments(items: list[str]) -> dict[str, Any]:
    """Parse ``KEY=VALUE`` strings; values are Python literals where possible, else strings."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep:
            raise SystemExit(f"expected KEY=VALUE, got {item!r}")
        try:
            out[key] = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            out[key] = raw
    return out


def add_training_arguments(parser: argparse.ArgumentParser, max_minutes: float) -> None:
    """``--episodes``, ``--timesteps``, ``--set FIELD=VALUE``, ``--max-minutes`` and ``--out``."""
    parser.add_argument("--episodes", type=int, default=1000, help="evaluation episodes per agent")
    parser.add_argument("--timesteps", type=int, default=None, help="override the settings' total_timesteps")
    parser.add_argument("--set", nargs="*", default=[], metavar="FIELD=VALUE", help="override PPOSettings fields")
    parser.add_argument("--max-minutes", type=float, default=max_minutes, help="training wall-time budget per agent")
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON here")


def ppo_settings(base: PPOSettings, args: argparse.Namespace) -> PPOSettings:
    """``base`` with the ``--set`` and ``--timesteps`` overrides applied."""
    overrides = parse_assignments(args.set)
    if args.timesteps is not None:
        overrides["total_timesteps"] = args.timesteps
    if "net_arch" in overrides:
        overrides["net_arch"] = tuple(overrides["net_arch"])
    return dataclasses.replace(base, **overrides)
