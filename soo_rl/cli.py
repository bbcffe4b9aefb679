"""Command lines built from a settings dataclass (tyro), with ``--config FILE.toml`` and named presets as defaults."""

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
    presets: dict[str, dict[str, Any]] | None = None,
) -> T:
    """Settings from an optional ``--preset NAME``, then an optional ``--config FILE.toml``, then flags (flags win).

    Bad settings end the program with a message naming the setting, not a traceback.
    """
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--config", type=Path, default=None)
    if presets:
        pre.add_argument("--preset", choices=sorted(presets), default=None)
    known, rest = pre.parse_known_args(argv)
    default = cls()
    try:
        if presets and known.preset is not None:
            default = from_mapping(presets[known.preset], default)
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
