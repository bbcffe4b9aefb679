"""Sweeps: a 2-seed x 2-condition grid on the local pool and on Ray, resume, settings, bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from soo_rl.cli.settings import parse_settings
from soo_rl.cli.sweep import run_sweep
from soo_rl.experiment.config import ExperimentConfig
from soo_rl.experiment.graph import DamagedFileError
from soo_rl.experiment.sweep import SWEEP_RECIPES, SweepConfig, cells, parse_grid, sweep_from_mapping

ROOT = Path(__file__).resolve().parents[1]
SWEEP = ["--grid", "finetune.soo_coef=1,3", "--base.seeds", "0", "1", "--base.conditions", "soo", "anchor_only"]
QUICK = [*SWEEP, "--base.quick", "--workers", "2"]


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, str(ROOT / "train" / "sweep.py"), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def local_sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    sweep_dir = tmp_path_factory.mktemp("sweep") / "local"
    done = run_cli(*QUICK, "--sweep-dir", str(sweep_dir))
    assert done.returncode == 0, done.stderr[-3000:]
    return sweep_dir


def eval_summaries(sweep_dir: Path) -> dict[str, str]:
    return {str(p.relative_to(sweep_dir)): p.read_text() for p in sorted(sweep_dir.glob("**/eval/*/*.json"))}


def test_every_job_finishes_and_the_manifest_lists_it(local_sweep: Path) -> None:
    jobs = json.loads((local_sweep / "manifest.json").read_text())["jobs"]
    # 2 seeds: 4 baselines shared by both cells, 2 cells x 2 conditions x 2 seeds fine-tunings, and the evaluations
    # (the baselines' and the masked controls' shared by both cells).
    trainings = [key for key in jobs if key.endswith(".zip")]
    assert len([k for k in trainings if k.startswith("baselines/")]) == 4
    assert len([k for k in trainings if k.startswith("cells/")]) == 8
    assert len(jobs) == 4 + 8 + 4 + 2 + 8 and {job["status"] for job in jobs.values()} == {"done"}
    assert {p.name for p in (local_sweep / "cells").iterdir()} == {"soo_coef=1", "soo_coef=3"}


def test_aggregate_report_covers_every_cell_and_the_swept_setting(local_sweep: Path) -> None:
    results = json.loads((local_sweep / "results.json").read_text())
    assert set(results["cells"]) == {"soo_coef=1", "soo_coef=3"} and results["failed"] == {}
    effect = results["effects"]["finetune.soo_coef"]
    assert [row["value"] for row in effect] == [1, 3] and "soo/trap_rate" in effect[0]
    report = (local_sweep / "report.md").read_text()
    assert "Effect of `finetune.soo_coef`" in report and "cells/soo_coef=3/report.md" in report
    assert (local_sweep / "plots" / "effect_finetune.soo_coef.png").stat().st_size > 0
    assert (local_sweep / "cells" / "soo_coef=1" / "plots" / "detection.png").is_file()


def test_rerunning_the_sweep_does_no_work_even_after_rebuilding_a_damaged_manifest(local_sweep: Path) -> None:
    before = {p: p.stat().st_mtime_ns for p in local_sweep.glob("**/checkpoints/*.zip")}
    summaries = eval_summaries(local_sweep)
    manifest = local_sweep / "manifest.json"
    manifest.write_text(manifest.read_text()[:200])
    with pytest.raises(DamagedFileError, match=r"manifest\.json is damaged .*add --rebuild-manifest to the command"):
        run_sweep(parse_settings(SweepConfig, [*QUICK, "--sweep-dir", str(local_sweep)], None, sweep_from_mapping))
    done = run_cli(*QUICK, "--sweep-dir", str(local_sweep), "--rebuild-manifest")
    assert done.returncode == 0, done.stderr[-3000:]
    assert {p: p.stat().st_mtime_ns for p in before} == before and eval_summaries(local_sweep) == summaries
    jobs = json.loads(manifest.read_text())["jobs"]  # every output was read (checkpoints loaded) and recorded again
    assert len(jobs) == 26 and all(job["rebuilt"] and job["outputs"] for job in jobs.values())


def test_ray_backend_gives_identical_results(local_sweep: Path, tmp_path: Path) -> None:
    pytest.importorskip("ray")
    done = run_cli(*QUICK, "--ray", "local", "--sweep-dir", str(tmp_path / "ray"))
    assert done.returncode == 0, done.stderr[-3000:]
    ray_summaries = eval_summaries(tmp_path / "ray")
    assert len(ray_summaries) == 14 and ray_summaries == eval_summaries(local_sweep)


def test_cells_share_baselines_unless_a_baseline_setting_is_swept() -> None:
    shared = cells(SweepConfig(grid=("finetune.soo_coef=1,3",)))
    assert len({cell.config.baselines_from for cell in shared}) == 1
    split = cells(SweepConfig(grid=("preset=default,paper", "finetune.soo_distance=mse,log_mse")))
    assert [cell.name for cell in split] == [
        "preset=default,soo_distance=mse",
        "preset=default,soo_distance=log_mse",
        "preset=paper,soo_distance=mse",
        "preset=paper,soo_distance=log_mse",
    ]
    assert len({cell.config.baselines_from for cell in split}) == 2
    assert split[3].config.preset == "paper" and split[3].config.finetune.soo_distance == "log_mse"


def test_grid_values_parse_as_json_or_strings() -> None:
    assert parse_grid(("finetune.soo_layers=[0],[0,1]", "finetune.soo_distance=mse,log_mse")) == [
        ("finetune.soo_layers", [[0], [0, 1]]),
        ("finetune.soo_distance", ["mse", "log_mse"]),
    ]
    assert cells(SweepConfig(grid=("finetune.soo_layers=[0],[1]",)))[1].config.finetune.soo_layers == (1,)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"grid": ("seeds=0,1",)}, "grid entry 'seeds=0,1': key 'seeds' cannot be swept"),
        ({"grid": ("finetune.soo_coef",)}, "must look like KEY=V1,V2"),
        ({"grid": ("finetune.soo_coef=1,1",)}, "repeats a value"),
        ({"grid": ("finetune.soo_coef=1,-2",)}, "cell soo_coef=-2: finetune.soo_coef must be"),
        ({"grid": ("finetune.soo_coeff=1",)}, "unknown setting(s) ['finetune.soo_coeff']"),
        ({"workers": 0}, "workers must be an integer >= 1"),
        ({"storage": Path("/shared")}, "storage is only used with --ray"),
        ({"base": ExperimentConfig(baselines_from=Path("runs/x"))}, "base.baselines_from cannot be used"),
        ({"base": ExperimentConfig(rebuild_manifest=True)}, "use --rebuild-manifest, not base.rebuild_manifest"),
    ],
)
def test_bad_sweeps_fail_with_a_named_setting(changes: dict, message: str) -> None:
    with pytest.raises(ValueError) as error:
        cells(SweepConfig(**changes))
    assert message in str(error.value)


def test_bad_sweep_fails_at_start_from_the_command_line(tmp_path: Path) -> None:
    done = run_cli("--grid", "ppo.learning_rate=0", "--sweep-dir", str(tmp_path / "s"))
    assert done.returncode != 0 and "learning_rate" in done.stderr and not (tmp_path / "s").exists()


def test_a_cell_directory_with_other_settings_is_refused(local_sweep: Path) -> None:
    sweep = SweepConfig(sweep_dir=local_sweep, grid=("finetune.soo_coef=1,3",), base=ExperimentConfig(seeds=(5,)))
    with pytest.raises(ValueError, match=r"cell soo_coef=1: .*differ from the run's config\.json: \[.*'seeds'"):
        run_sweep(sweep)


def test_toml_and_the_detection_preset() -> None:
    sweep = sweep_from_mapping({"grid": {"finetune": {"soo_coef": [0.5, 2]}}, "base": {"seeds": [3, 4]}})
    assert sweep.grid == ("finetune.soo_coef=0.5,2",) and sweep.base.seeds == (3, 4)
    detection = sweep_from_mapping(SWEEP_RECIPES["detection"])
    assert len(detection.base.seeds) == 100 and detection.base.eval.episodes == 1500 and detection.base.conditions == ()
    with pytest.raises(ValueError, match=r"unknown sweep setting\(s\) \['grid_'\]"):
        sweep_from_mapping({"grid_": []})


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"workers": "2"}, "workers = '2' must be an integer"),
        ({"base": {"tuning": "false"}}, "base.tuning = 'false' must be a boolean (true or false)"),
        ({"base": 3}, "base = 3 must be a table of settings ([base])"),
    ],
)
def test_a_sweep_setting_of_the_wrong_type_is_refused(data: dict, message: str) -> None:
    with pytest.raises(ValueError) as error:
        sweep_from_mapping(data)
    assert str(error.value) == message


def test_more_seeds_extend_a_sweep(local_sweep: Path, tmp_path: Path) -> None:
    sweep_dir = tmp_path / "extended"
    subprocess.run(["cp", "-r", str(local_sweep), str(sweep_dir)], check=True)
    before = {p: p.stat().st_mtime_ns for p in sweep_dir.glob("**/checkpoints/*.zip")}
    done = run_cli(*QUICK, "--base.seeds", "0", "1", "2", "--sweep-dir", str(sweep_dir))
    assert done.returncode == 0, done.stderr[-3000:]
    assert {p: p.stat().st_mtime_ns for p in before} == before  # the first two seeds were not retrained
    results = json.loads((sweep_dir / "results.json").read_text())
    assert len(results["cells"]["soo_coef=3"]["results"]["conditions"]["soo"]["trap_rate"]["per_seed"]) == 3


def test_a_quick_sweeps_report_says_it_is_a_smoke_test(local_sweep: Path) -> None:
    from soo_rl.report.experiment import QUICK_NOTE

    assert (local_sweep / "report.md").read_text().startswith("# SOO-RL sweep report\n\n" + QUICK_NOTE)
    assert QUICK_NOTE in (local_sweep / "cells" / "soo_coef=3" / "report.md").read_text()
