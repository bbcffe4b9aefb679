"""Texts that quote the code (``--help``, docstrings, durations) are generated from it or checked against it here."""

from __future__ import annotations

from typing import get_args

import pytest

from soo_rl.cli.experiment import parse_config
from soo_rl.experiment.conditions import FINE_TUNINGS, FineTuning
from soo_rl.experiment.config import TRAINING_PRESETS, TrainingPreset


def test_the_preset_and_condition_types_name_exactly_the_registered_ones() -> None:
    assert get_args(TrainingPreset) == TRAINING_PRESETS
    assert get_args(FineTuning) == FINE_TUNINGS


def test_help_lists_every_preset_and_condition(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse_config(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    for name in (*TRAINING_PRESETS, *FINE_TUNINGS):
        assert name in text, f"--help does not list {name}"
