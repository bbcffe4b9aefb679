"""Command lines built from a settings dataclass (tyro), with ``--config FILE.toml`` and named recipes as defaults."""

from __future__ import annotations

import argparse
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import tyro

T = TypeVar("T")


def parse_settings(
    cls: type[T],
    argv: list[str],
    description: str | None,
    from_mapping: Callable[[dict[str, Any], T], T],
    recipes: dict[str, dict[str, Any]] | None = None,
) -> T:
    """Settings from an optional ``--recipe NAME``, then an optional ``--config FILE.toml``, then flags (flags win).

    Bad settings end the program with a message naming the setting, not a traceback.
    """
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--config", type=Path, default=None)
    if recipes:
        pre.add_argument("--recipe", choices=sorted(recipes), default=None)
    known, rest = pre.parse_known_args(argv)
    default = cls()
    try:
        if recipes and known.recipe is not None:
            default = from_mapping(recipes[known.recipe], default)
        if known.config is not None:
            if not known.config.is_file():
                raise SystemExit(f"--config: no such file {known.config}")
            with open(known.config, "rb") as handle:
                default = from_mapping(tomllib.load(handle), default)
    except (ValueError, TypeError) as error:
        raise SystemExit(f"error: {error}") from None
    try:
        return tyro.cli(cls, default=default, args=rest, description=description)
    except (ValueError, TypeError) as error:
        raise SystemExit(f"error: {error}") from None
