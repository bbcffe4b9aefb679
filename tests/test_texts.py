"""Texts that quote the code (``--help``, docstrings, durations) are generated from it or checked against it here."""

from __future__ import annotations

import re
from pathlib import Path
from typing import get_args

import pytest

from soo_rl.cli.experiment import MAIN_JOB_TIME, USAGE, parse_config
from soo_rl.cli.sweep import USAGE as SWEEP_USAGE
from soo_rl.experiment.conditions import FINE_TUNINGS, FineTuning
from soo_rl.experiment.config import World
from soo_rl.experiment.sweep import RECIPE_SUMMARIES, SWEEP_RECIPES
from soo_rl.experiment.worlds import WORLDS


def test_the_preset_and_condition_types_name_exactly_the_registered_ones() -> None:
    assert get_args(World) == tuple(WORLDS)
    assert get_args(FineTuning) == FINE_TUNINGS


def test_help_lists_every_preset_and_condition(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse_config(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    for name in (*WORLDS, *FINE_TUNINGS):
        assert name in text, f"--help does not list {name}"


def test_the_sweep_help_lists_every_recipe() -> None:
    assert list(RECIPE_SUMMARIES) == list(SWEEP_RECIPES)
    for name in SWEEP_RECIPES:
        assert f"--recipe {name} " in SWEEP_USAGE, f"train/sweep.py --help does not list the recipe {name}"


DURATION = re.compile(r"\d+\s*(?:minutes|min)\b")


def test_the_main_jobs_duration_is_quoted_from_one_place() -> None:
    assert MAIN_JOB_TIME in USAGE
    root = Path(__file__).resolve().parents[1]
    quoting = [root / "train" / "ppo_soo.py", root / "README.md", root / "docs" / "getting-started.md"]
    for path in quoting:
        for line in path.read_text().splitlines():
            assert not ("ppo_soo.py" in line and DURATION.search(line)), f"{path.name} quotes a duration: {line}"
    assert not DURATION.search((root / "docs" / "getting-started.md").read_text().split("## Run the tests")[0])


CITATION = re.compile(r"`*(README(?:\.md)?|docs/[\w/.-]+\.md)`*[,;:]?\s+\"([^\"]+)\"")
"""A code text citing a section of the README or of a docs page: ``docs/soo.md, "Controls that can succeed"``."""


def headings(page: Path) -> set[str]:
    """The page's section titles, as a reader sees them (no backticks, no ``{#anchor}``)."""
    titles = re.findall(r"^#+ (.+?)(?: \{#[\w-]+\})?$", page.read_text(), re.MULTILINE)
    return {" ".join(title.replace("`", "").split()) for title in titles}


def test_the_code_cites_sections_that_exist() -> None:
    """``--help`` texts, docstrings and comments that point to a section name one the page has."""
    root = Path(__file__).resolve().parents[1]
    sources = [
        path for folder in ("agents", "envs", "soo_rl", "train", "bench") for path in (root / folder).rglob("*.py")
    ]
    cited = 0
    for path in sources:
        for page, section in CITATION.findall(path.read_text()):
            target = root / ("README.md" if page.startswith("README") else page)
            assert target.is_file(), f"{path.relative_to(root)} cites {page}, which does not exist"
            title = " ".join(section.split())
            assert title in headings(target), f"{path.relative_to(root)} cites {page}, {title!r}: no such section"
            cited += 1
    assert cited >= 3


NUMBERS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


def test_the_readme_counts_the_worlds_and_variants_of_the_code() -> None:
    from envs.deception.config import TRAINING_PRESETS
    from envs.deception.variants import HELD_OUT_VARIANTS

    text = " ".join((Path(__file__).resolve().parents[1] / "README.md").read_text().split())
    assert f"{NUMBERS[len(TRAINING_PRESETS)]} training worlds" in text, (
        f"README: {len(TRAINING_PRESETS)} training worlds"
    )
    assert f"{NUMBERS[len(HELD_OUT_VARIANTS)]} held-out variants" in text, f"README: {len(HELD_OUT_VARIANTS)} variants"
