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
    except (ValueError, TypeError) as error:
        raise SystemExit(f"error: {error}") from None
    if known.config is not None:
        default = _from_file(known.config, default, from_mapping)
    try:
        return tyro.cli(cls, default=default, args=rest, description=description)
    except (ValueError, TypeError) as error:
        raise SystemExit(f"error: {error}") from None


def _from_file(path: Path, default: T, from_mapping: Callable[[dict[str, Any], T], T]) -> T:
    """``default`` with the settings of the TOML file ``path``; a file that cannot be read or holds bad settings ends
    the program with one line naming it.

    :param path: the ``--config`` file.
    :param default: the settings the file changes.
    :param from_mapping: reads a mapping of settings onto ``default``.
    """
    if not path.is_file():
        raise SystemExit(f"--config: no such file {path}")
    try:
        with open(path, "rb") as handle:
            return from_mapping(tomllib.load(handle), default)
    except (OSError, ValueError, TypeError) as error:  # tomllib.TOMLDecodeError is a ValueError
        raise SystemExit(f"error: {path}: {error}") from None
