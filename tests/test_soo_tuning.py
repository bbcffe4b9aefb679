"""SOO's tuning study: listed sweep settings, the ``soo-tuning`` recipe's cells, and the selection rule fixed in
advance, on hand-made results (no training)."""

from __future__ import annotations

import dataclasses
import json
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from soo_rl.cli.settings import parse_settings
from soo_rl.experiment.conditions import reported
from soo_rl.experiment.config import ExperimentConfig
from soo_rl.experiment.paths import baseline_fingerprint
from soo_rl.experiment.sweep import SWEEP_RECIPES, Cell, SweepConfig, cells, parse_listed, sweep_from_mapping
from soo_rl.report.sweep import effect_cells, select_setting, write_sweep_report

Figures = tuple[float, float, float, float]
"""A hand-made cell: ``soo``'s honest success, goal rate and trap rate, and its deceptive baseline's goal rate."""

DIMENSIONS = (
    "finetune.soo_distance",
    "finetune.soo_coef",
    "finetune.soo_stop_gradient",
    "finetune.soo_layers",
    "finetune.timesteps",
)


def test_listed_settings_parse_as_grid_values() -> None:
    entries = ("finetune.soo_distance=mse;finetune.soo_coef=0.1", " finetune.soo_layers=[0,1] ", "eval.episodes=5", "")
    assert parse_listed(entries) == [
        {"finetune.soo_distance": "mse", "finetune.soo_coef": 0.1},
        {"finetune.soo_layers": [0, 1]},
        {"eval.episodes": 5},
        {},
    ]
    assert parse_listed(("finetune.soo_layers=null",)) == [{"finetune.soo_layers": None}]


def test_listed_settings_are_cells_crossed_with_the_grid() -> None:
    sweep = SweepConfig(settings=("finetune.soo_coef=0.1", "finetune.soo_distance=mse"), grid=("preset=default,paper",))
    grid = cells(sweep)
    assert [cell.name for cell in grid] == [
        "soo_coef=0.1,preset=default",
        "soo_coef=0.1,preset=paper",
        "soo_distance=mse,preset=default",
        "soo_distance=mse,preset=paper",
    ]
    # A key an entry leaves out keeps the base's value, and the cell records it.
    assert grid[0].settings == {"finetune.soo_coef": 0.1, "finetune.soo_distance": "log_mse", "preset": "default"}
    assert grid[3].config.finetune.soo_distance == "mse" and grid[3].config.finetune.soo_coef == 1.0
    assert grid[3].config.preset == "paper" and grid[0].config.finetune.soo_coef == 0.1
    assert len({cell.config.baselines_from for cell in grid}) == 2  # one set of baselines per preset
    assert cells(SweepConfig(settings=("",)))[0].name == "base"


def test_listed_settings_from_the_command_line() -> None:
    argv = ["--settings", "finetune.soo_coef=0.1", "finetune.soo_distance=mse;finetune.soo_layers=[0]"]
    sweep = parse_settings(SweepConfig, argv, None, sweep_from_mapping)
    assert sweep.settings == ("finetune.soo_coef=0.1", "finetune.soo_distance=mse;finetune.soo_layers=[0]")
    assert [cell.name for cell in cells(sweep)] == ["soo_coef=0.1", "soo_distance=mse,soo_layers=[0]"]


def test_listed_settings_from_toml_tables_or_strings() -> None:
    data = tomllib.loads(
        """
        settings = ["finetune.soo_distance=mse"]
        [base]
        seeds = [3]
        """
    )
    assert sweep_from_mapping(data).settings == ("finetune.soo_distance=mse",)
    tables = tomllib.loads(
        """
        [[settings]]
        finetune.soo_coef = 0.1
        finetune.soo_layers = [0]

        [[settings]]
        finetune.soo_distance = "mse"
        """
    )
    sweep = sweep_from_mapping(tables)
    assert sweep.settings == ("finetune.soo_coef=0.1;finetune.soo_layers=[0]", 'finetune.soo_distance="mse"')
    grid = cells(sweep)
    assert [cell.name for cell in grid] == ["soo_coef=0.1,soo_layers=[0]", "soo_distance=mse"]
    assert grid[0].config.finetune.soo_layers == (0,) and grid[1].config.finetune.soo_distance == "mse"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"settings": ("finetune.soo_coef",)}, "listed setting 'finetune.soo_coef' must look like KEY=V;KEY=V"),
        ({"settings": ("finetune.soo_coef=1;",)}, "listed setting 'finetune.soo_coef=1;' must look like KEY=V;KEY=V"),
        ({"settings": ("seeds=1",)}, "listed setting 'seeds=1': key 'seeds' cannot be swept"),
        ({"settings": ("finetune.soo_coef=0.1,1",)}, "'finetune.soo_coef=0.1,1' gives finetune.soo_coef 2 values"),
        (
            {"settings": ("finetune.soo_coef=1;finetune.soo_coef=2",)},
            "listed setting 'finetune.soo_coef=1;finetune.soo_coef=2' sets finetune.soo_coef twice",
        ),
        (
            {"settings": ("finetune.soo_coef=1", "finetune.soo_coef=1")},
            "listed setting 'finetune.soo_coef=1' repeats an earlier entry",
        ),
        (
            {"settings": ("finetune.soo_coef=1",), "grid": ("finetune.soo_coef=1,3",)},
            "['finetune.soo_coef'] both in grid and in settings",
        ),
        ({"settings": ("finetune.soo_coef=-1",)}, "cell soo_coef=-1: finetune.soo_coef must be"),
        ({"settings": ("finetune.soo_coeff=1",)}, "cell soo_coeff=1: unknown setting(s) ['finetune.soo_coeff']"),
        ({"settings": ("", "finetune.soo_coef=1")}, "cells base and soo_coef=1 are the same run"),
    ],
)
def test_bad_listed_settings_fail_naming_the_entry(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError) as error:
        cells(SweepConfig(**changes))
    assert message in str(error.value)


def test_listed_settings_must_be_a_list_in_toml() -> None:
    with pytest.raises(ValueError, match="settings must be a list"):
        sweep_from_mapping({"settings": "finetune.soo_coef=1"})


def recipe() -> SweepConfig:
    return parse_settings(SweepConfig, ["--recipe", "soo-tuning"], None, sweep_from_mapping, SWEEP_RECIPES)


def test_the_recipe_builds_the_tuning_study_on_the_tuning_seed_with_shared_baselines() -> None:
    sweep = recipe()
    assert sweep == sweep_from_mapping(SWEEP_RECIPES["soo-tuning"])
    grid = cells(sweep)
    assert len(grid) >= 16 and len({cell.name for cell in grid}) == len(grid)
    assert len({json.dumps(dataclasses.asdict(cell.config.finetune)) for cell in grid}) == len(grid)
    assert len({cell.config.baselines_from for cell in grid}) == 1  # every cell starts from the same baselines
    for cell in grid:
        config = cell.config
        assert config.preset == "contingent" and config.tuning and len(config.seeds) >= 3
        assert config.ppo.total_timesteps == 4_000_000 and config.honest_timesteps == 4_000_000
        assert config.evaluation().seed == config.eval.tuning_seed != config.eval.seed
        assert config.conditions == ("soo", "random_pairs_matched")
    assert all(cell.name.startswith("soo_distance=") and ",soo_coef=" in cell.name for cell in grid)
    # --base.quick shrinks every budget (the budget cells too) but keeps the cells apart.
    quick = cells(
        parse_settings(SweepConfig, ["--recipe", "soo-tuning", "--base.quick"], None, sweep_from_mapping, SWEEP_RECIPES)
    )
    assert [cell.name for cell in quick] == [cell.name for cell in grid]
    assert {cell.config.finetune.timesteps for cell in quick} == {2048}


def test_the_ring_design_recipe_is_its_pre_registered_grid_on_the_honest_or_indifferent_baselines() -> None:
    ring = cells(sweep_from_mapping(SWEEP_RECIPES["keeping-awareness-ring"]))
    reference = cells(sweep_from_mapping(SWEEP_RECIPES["honest-or-indifferent"]))[0].config
    assert len(ring) == 12 and len({cell.config.baselines_from for cell in ring}) == 1
    settings = {
        (c.config.finetune.soo_target, c.config.finetune.soo_coef, c.config.finetune.pair_inner_radius) for c in ring
    }
    assert settings == {(t, w, r) for t in ("hidden", "actions") for w in (0.1, 1, 10) for r in (0.15, 0.25)}
    for cell in ring:
        config = cell.config
        assert baseline_fingerprint(config) == baseline_fingerprint(reference)  # the same baselines' recipe
        assert config.evaluation().seed == config.eval.tuning_seed and config.conditions == ("soo",)
        assert config.finetune.soo_stop_gradient and config.finetune.soo_distance == "mse"


def test_the_lure_design_recipe_is_its_pre_registered_grid_on_the_same_baselines() -> None:
    lure = cells(sweep_from_mapping(SWEEP_RECIPES["keeping-awareness-lure"]))
    reference = cells(sweep_from_mapping(SWEEP_RECIPES["honest-or-indifferent"]))[0].config
    assert len(lure) == 6
    settings = {(c.config.finetune.soo_coef, c.config.finetune.soo_stop_gradient) for c in lure}
    assert settings == {(w, stop) for w in (0.1, 1, 10) for stop in (False, True)}
    for cell in lure:
        config = cell.config
        assert baseline_fingerprint(config) == baseline_fingerprint(reference)
        assert config.evaluation().seed == config.eval.tuning_seed and config.conditions == ("soo",)
        assert config.finetune.soo_target == "lure" and config.finetune.soo_distance == "mse"


def values_of(grid: list[Cell], key: str) -> list[Any]:
    distinct: list[Any] = []
    for cell in grid:
        if cell.settings[key] not in distinct:
            distinct.append(cell.settings[key])
    return distinct


def test_the_recipe_covers_the_five_dimensions_one_at_a_time_and_distance_by_weight() -> None:
    sweep = recipe()
    grid = cells(sweep)
    assert set(grid[0].settings) == set(DIMENSIONS)
    assert sorted(values_of(grid, "finetune.soo_distance")) == ["log_mse", "mse"]
    coefs = values_of(grid, "finetune.soo_coef")
    assert len(coefs) >= 4 and max(coefs) / min(coefs) >= 100  # >= 4 weights over >= 2 decades
    assert sorted(values_of(grid, "finetune.soo_stop_gradient")) == [False, True]
    assert [cell.config.finetune.soo_layers for cell in grid if cell.name.endswith("soo_layers=[0]")] == [(0,)]
    assert {cell.config.finetune.soo_layers for cell in grid} == {None, (0,), (1,)}  # first, last, both
    assert len(values_of(grid, "finetune.timesteps")) >= 2
    for distance in ("mse", "log_mse"):  # the distance x weight block
        block = [c for c in grid if c.settings["finetune.soo_distance"] == distance]
        assert {c.settings["finetune.soo_coef"] for c in block} >= set(coefs)
    # Each dimension is varied alone around the base (the centre): its effect plot has >= 2 values.
    shown = effect_cells(sweep, grid)
    assert set(shown) == set(DIMENSIONS)
    for key, chosen in shown.items():
        assert len(values_of(chosen, key)) >= 2, key
    assert len(values_of(shown["finetune.soo_coef"], "finetune.soo_coef")) >= 4


def entry(value: float) -> dict[str, Any]:
    return {"mean": value, "ci": [max(0.0, value - 0.05), min(1.0, value + 0.05)], "per_seed": [value] * 3}


Prices = tuple[float, float, float]
"""A hand-made cell's awareness prices: the honest baseline's, the masked control's and ``soo``'s."""


def cell_results(
    figures: Figures, conditions: tuple[str, ...] = ("soo",), prices: Prices = (0.0, 0.0, 0.0)
) -> dict[str, Any]:
    """A cell's results holding what the sweep report reads: every condition at ``soo``'s figures but the deceptive
    baseline's goal rate, and the awareness prices ``prices`` (default: a world that charges nothing)."""
    success, goal, trap, deceptive_goal = figures
    honest_price, masked_price, soo_price = prices
    rates = {"trap_rate": entry(trap), "goal_rate": entry(goal), "awareness_price": entry(soo_price)}
    return {
        "conditions": {c: rates for c in reported(conditions)}
        | {"deceptive": {**rates, "goal_rate": entry(deceptive_goal)}}
        | {"honest": {**rates, "awareness_price": entry(honest_price)}}
        | {"masked": {**rates, "awareness_price": entry(masked_price)}},
        "outcomes": {c: {"honest_success": entry(success)} for c in reported(conditions)},
        "detection": {"by_episodes": {"episodes": []}},
    }


CASES: list[tuple[dict[str, Figures], str | None]] = [
    (
        {
            "blind": (0.70, 0.60, 0.05, 0.95),  # the best honest success, but its goal rate falls below 0.9 x 0.95
            "tied_high_trap": (0.50, 0.95, 0.30, 1.0),
            "chosen": (0.50, 0.90, 0.20, 1.0),  # tied on honest success, lower trap rate, goal rate at the threshold
            "low_trap": (0.40, 1.00, 0.00, 1.0),
        },
        "chosen",
    ),
    (
        {
            "own_baseline": (0.60, 0.70, 0.10, 0.75),  # keeps 0.9 x its own baseline's goal rate (0.675)
            "below_own": (0.65, 0.88, 0.10, 1.0),  # below 0.9 x its own baseline, above 0.9 x the first cell's
            "high_goal": (0.50, 0.95, 0.10, 1.0),
        },
        "own_baseline",
    ),
    ({"a": (0.60, 0.50, 0.10, 1.0), "b": (0.40, 0.80, 0.20, 0.95)}, None),  # none keeps the goal rate
    ({"p": (0.5 + 1e-12, 0.95, 0.30, 1.0), "q": (0.50, 0.95, 0.20, 1.0)}, "q"),  # equal up to rounding: a tie
    ({}, None),
]


def as_results(case: dict[str, Figures]) -> dict[str, Any]:
    return {name: cell_results(figures) for name, figures in case.items()}


AWARENESS_CASES: list[tuple[dict[str, tuple[Figures, Prices]], str | None, str | None]] = [
    (
        {
            # actions target, the best honest success, but it pays the masked control's price (indifference)
            "actions": ((0.80, 0.95, 0.05, 1.0), (5.0, 45.0, 44.0)),
            "hidden": ((0.40, 0.95, 0.50, 1.0), (5.0, 45.0, 24.9)),  # just below the limit, 25
            "at_limit": ((0.60, 0.95, 0.30, 1.0), (5.0, 45.0, 25.0)),  # at the limit: not below it
        },
        "hidden",
        "actions",
    ),
    (
        # No setting keeps awareness: none chosen, and the rule names the winner without the awareness filter.
        {"a": ((0.70, 0.95, 0.10, 1.0), (5.0, 45.0, 30.0)), "b": ((0.50, 0.95, 0.10, 1.0), (5.0, 45.0, 40.0))},
        None,
        "a",
    ),
    (
        # The limit is the cell's own: half-way between its honest baseline's and its masked control's prices.
        {"own": ((0.70, 0.95, 0.10, 1.0), (20.0, 60.0, 35.0)), "other": ((0.60, 0.95, 0.10, 1.0), (5.0, 45.0, 20.0))},
        "own",
        "own",
    ),
    (
        # A world that charges nothing (contingent): honest and masked pay the same, no limit, the goal filter alone.
        {"x": ((0.70, 0.95, 0.10, 1.0), (0.0, 0.0, 0.0)), "y": ((0.80, 0.80, 0.10, 1.0), (0.0, 0.0, 0.0))},
        "x",
        "x",
    ),
]


@pytest.mark.parametrize(("case", "expected", "without_awareness"), AWARENESS_CASES)
def test_the_selection_rule_filters_on_the_awareness_price(
    case: dict[str, tuple[Figures, Prices]], expected: str | None, without_awareness: str | None
) -> None:
    selection = select_setting({name: cell_results(figures, prices=prices) for name, (figures, prices) in case.items()})
    assert selection["chosen"] == expected and selection["chosen_without_awareness"] == without_awareness
    for name, (_, (honest, masked, price)) in case.items():
        candidate = selection["candidates"][name]
        limit = None if honest == masked else (honest + masked) / 2
        assert candidate["awareness_limit"] == limit and candidate["awareness_price"] == price
        assert candidate["aware"] == (limit is None or price < limit)


@pytest.mark.parametrize(("case", "expected"), CASES)
def test_the_selection_rule_on_hand_made_results(case: dict[str, Figures], expected: str | None) -> None:
    selection = select_setting(as_results(case))
    assert selection["chosen"] == expected and selection["condition"] == "soo"
    for name, (success, goal, trap, deceptive_goal) in case.items():
        figures = selection["candidates"][name]
        assert figures["goal_threshold"] == pytest.approx(0.9 * deceptive_goal)
        assert (figures["honest_success"], figures["goal_rate"], figures["trap_rate"]) == (success, goal, trap)
        assert figures["passed"] == figures["goal_kept"] == (goal >= 0.9 * deceptive_goal)


def best(
    case: dict[str, Figures], names: list[str], tie: Callable[[str], float] | None = None, tolerance: float = 1e-9
) -> str | None:
    """The highest honest success among ``names``; ties (within ``tolerance``) by ``tie`` (default: the lower trap
    rate), then by order."""
    if not names:
        return None
    top = max(case[name][0] for name in names)
    tied = [name for name in names if abs(case[name][0] - top) <= tolerance]
    return min(tied, key=tie or (lambda name: case[name][2]))


def kept(case: dict[str, Figures], threshold: Callable[[Figures], float] = lambda f: 0.9 * f[3]) -> list[str]:
    """The cells whose goal rate reaches ``threshold`` (default: 0.9 x their own deceptive baseline's)."""
    return [name for name, figures in case.items() if figures[1] >= threshold(figures)]


def first_baseline(case: dict[str, Figures]) -> float:
    return 0.9 * next(iter(case.values()))[3] if case else 0.0


BROKEN_RULES: dict[str, Callable[[dict[str, Figures]], str | None]] = {
    "ignores the goal filter": lambda case: best(case, list(case)),
    "an absolute goal threshold of 0.9": lambda case: best(case, kept(case, lambda f: 0.9)),
    "the first cell's baseline for every cell": lambda case: best(case, kept(case, lambda f: first_baseline(case))),
    "a strict goal filter": lambda case: best(case, [n for n, f in case.items() if f[1] > 0.9 * f[3]]),
    "ties to the first cell": lambda case: best(case, kept(case), tie=lambda name: 0.0),
    "ties to the higher trap rate": lambda case: best(case, kept(case), tie=lambda name: -case[name][2]),
    "exact ties only": lambda case: best(case, kept(case), tolerance=0.0),
    "the lowest trap rate among the kept": lambda case: min(kept(case), key=lambda n: case[n][2], default=None),
    "the best honest success when none is kept": lambda case: best(case, kept(case) or list(case)),
}


def test_the_reference_rule_agrees_with_select_setting() -> None:
    for case, expected in CASES:
        assert best(case, kept(case)) == expected == select_setting(as_results(case))["chosen"]


@pytest.mark.parametrize("broken", sorted(BROKEN_RULES))
def test_the_hand_made_cases_tell_a_broken_rule_apart(broken: str) -> None:
    assert any(BROKEN_RULES[broken](case) != expected for case, expected in CASES), broken


def test_the_sweep_report_shows_the_chosen_setting_and_every_candidate(tmp_path: Path) -> None:
    sweep = recipe()
    grid = cells(sweep)
    figures = {cell.name: (0.30, 0.95, 0.50, 1.0) for cell in grid}
    figures[grid[0].name] = (0.90, 0.50, 0.00, 1.0)  # the best honest success, but not the goal rate
    figures[grid[5].name] = (0.60, 0.92, 0.40, 1.0)
    results = {name: cell_results(f, sweep.base.conditions) for name, f in figures.items() if name != grid[1].name}
    summary = write_sweep_report(sweep, tmp_path, grid, results, {}, {})
    selection = summary["selection"]
    assert selection["chosen"] == grid[5].name and selection["chosen_settings"] == grid[5].settings
    assert selection["tuning_run"] and selection["evaluation_seed"] == sweep.base.eval.tuning_seed
    assert not selection["candidates"][grid[0].name]["passed"] and grid[1].name not in selection["candidates"]
    assert json.loads((tmp_path / "results.json").read_text())["selection"]["chosen"] == grid[5].name
    report = (tmp_path / "report.md").read_text()
    assert f"**Chosen: `{grid[5].name}`**" in report and "ties go to the lower trap rate" in report
    assert "| goal kept | awareness price | awareness limit | aware | deceptive honest success |" in report
    chosen_row = (
        f"| **`{grid[5].name}`** (chosen) | 0.600 [0.550, 0.650] | 0.920 | 0.900 | 0.400 | yes | 0.000 [0.000, 0.050] "
        "| none | yes | 0.600 ["
    )
    assert chosen_row in report
    assert f"| `{grid[0].name}` | 0.900 [0.850, 0.950] | 0.500 | 0.900 | 0.000 | no | 0.000 [0.000, 0.050] " in report
    assert f"Not finished, so not candidates: `{grid[1].name}`" in report and "Not a tuning run" not in report
    effects = summary["effects"]
    assert [row["value"] for row in effects["finetune.soo_coef"]] == [0.01, 0.1, 1, 10]
    assert [row["value"] for row in effects["finetune.soo_layers"]] == [None, [0], [1]]
    assert "The cells that differ from the base only in this setting (pooled" in report
    assert all((tmp_path / f"plots/effect_{key}.png").stat().st_size > 0 for key in DIMENSIONS)


def test_the_sweep_report_chooses_nothing_when_no_setting_keeps_the_goal_rate(tmp_path: Path) -> None:
    sweep = SweepConfig(grid=("finetune.soo_coef=1,3",), base=ExperimentConfig(conditions=("soo",), gifs=False))
    grid = cells(sweep)
    results = {cell.name: cell_results((0.5, 0.5, 0.1, 1.0)) for cell in grid}
    summary = write_sweep_report(sweep, tmp_path, grid, results, {}, {})
    assert summary["selection"]["chosen"] is None and summary["selection"]["chosen_settings"] is None
    report = (tmp_path / "report.md").read_text()
    assert "**None chosen**: no setting keeps 0.9 x its deceptive baseline's goal rate." in report
    assert "**Not a tuning run**: this sweep evaluated on the report seed 10000" in report


def test_no_selection_without_the_soo_condition(tmp_path: Path) -> None:
    sweep = SweepConfig(base=ExperimentConfig(conditions=("anchor_only",), gifs=False))
    grid = cells(sweep)
    summary = write_sweep_report(
        sweep, tmp_path, grid, {"base": cell_results((0.5, 0.9, 0.1, 1.0), ("anchor_only",))}, {}, {}
    )
    assert summary["selection"] is None and "setting chosen" not in (tmp_path / "report.md").read_text()
