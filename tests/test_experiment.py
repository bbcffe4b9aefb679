"""End to end: ``train/ppo_soo.py --quick`` artifacts, resume, and bad configs failing at start."""

from __future__ import annotations

import glob
import json
import os
import re
import resource
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from envs.deception.variants import HELD_OUT_VARIANTS
from soo_rl.cli.experiment import main, parse_config
from soo_rl.experiment.conditions import CONDITIONS, DEFAULT_CONDITIONS, FINE_TUNINGS, reported
from soo_rl.experiment.config import ExperimentConfig
from soo_rl.experiment.lock import RunDirectoryBusyError, run_dir_lock
from soo_rl.experiment.pipeline import ANIMATION_COST, EVALUATED_STEP_COST, experiment_tasks
from soo_rl.measurement.evaluation import METRICS
from soo_rl.report.experiment import reproduce_command

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_RUN = reported(DEFAULT_CONDITIONS)
"""Every agent of a run that does not name its conditions."""
SCRIPT = ROOT / "train" / "ppo_soo.py"
QUICK = ["--quick", "--seeds", "0", "1", "--workers", "2", "--red", "learned"]


def run_script(*args: str, **options: Any) -> subprocess.CompletedProcess[str]:
    """Run the script (``options`` for ``subprocess.run``); ``stderr`` comes back with the CLI's box drawing and line
    wrapping removed."""
    done = subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=600, **options)
    done.stderr = " ".join(re.sub(r"[│╭╮╰╯─]", " ", done.stderr).split())
    return done


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run_dir = tmp_path_factory.mktemp("quick") / "run"
    done = run_script(*QUICK, "--run-dir", str(run_dir))
    assert done.returncode == 0, done.stderr[-3000:]
    return run_dir


def copy_run(run_dir: Path, copy: Path) -> Path:
    """A copy of the run directory ``run_dir`` at ``copy``, its config.json naming the copy."""
    subprocess.run(["cp", "-r", str(run_dir), str(copy)], check=True)
    config = json.loads((copy / "config.json").read_text())
    config["run_dir"] = str(copy)
    (copy / "config.json").write_text(json.dumps(config))
    return copy


def scalar_tags(event_dir: Path) -> set[str]:
    events = EventAccumulator(str(event_dir))
    events.Reload()
    return set(events.Tags()["scalars"])


def test_results_json_has_the_documented_form(quick_run: Path) -> None:
    results = json.loads((quick_run / "results.json").read_text())
    assert set(results) >= {"conditions", "detection", "config"}
    assert set(results["conditions"]) == set(DEFAULT_RUN)
    for metrics in results["conditions"].values():
        assert set(metrics) == set(METRICS)
        for entry in metrics.values():
            assert set(entry) == {"mean", "ci", "per_seed"} and len(entry["per_seed"]) == 2 and len(entry["ci"]) == 2
            if entry["mean"] is not None:
                assert entry["ci"][0] <= entry["mean"] + 1e-12 and entry["mean"] <= entry["ci"][1] + 1e-12
    assert {"pairwise_accuracy", "auc", "by_episodes"} <= set(results["detection"])
    assert results["detection"]["by_episodes"]["episodes"] == [1, 10, 100]
    assert results["config"]["seeds"] == [0, 1] and results["config"]["red"] == "learned"
    pairs = results["authors_behaviour"]["pairs"]
    fine_tuned = [name for name in DEFAULT_RUN if name not in ("honest", "deceptive")]
    expected = {"honest vs deceptive"} | {
        f"{name} vs {base}" for name in fine_tuned for base in ("honest", "deceptive")
    }
    assert set(pairs) == expected
    assert all(len(entry["per_seed"]) == 2 and min(entry["per_seed"]) >= 0 for entry in pairs.values())
    assert set(results["generalisation"]) == set(DEFAULT_RUN)
    for row in results["generalisation"].values():
        assert set(row) == set(HELD_OUT_VARIANTS)
        assert all(0.0 <= row[v][rate]["mean"] <= 1.0 for v in row for rate in ("trap_rate", "goal_rate"))


def test_a_learned_red_is_trained_per_seed_and_named_in_the_report(quick_run: Path) -> None:
    for seed in (0, 1):
        assert (quick_run / "checkpoints" / f"red_seed{seed}.zip").is_file()
        assert list((quick_run / "tensorboard").glob(f"red_seed{seed}_*"))
    report = (quick_run / "report.md").read_text()
    assert "red: learned (PPO on red's reward" in report
    assert "## Generalisation to held-out variants" in report and "awareness probe" in report
    assert "| condition | " + " | ".join(HELD_OUT_VARIANTS) + " |" in report


def test_baselines_from_another_run_are_reused_with_their_evaluations(quick_run: Path, tmp_path: Path) -> None:
    evals = {p: p.stat().st_mtime_ns for p in quick_run.glob("eval/*/*.json")}
    run_dir = tmp_path / "reuse"
    args = ("--run-dir", str(run_dir), "--baselines-from", str(quick_run), "--conditions", "soo", "--no-gifs")
    done = run_script(*QUICK, *args)
    assert done.returncode == 0, done.stderr[-3000:]
    assert {p.name for p in run_dir.glob("checkpoints/*")} == {"soo_seed0.zip", "soo_seed1.zip"}
    assert {p.name for p in run_dir.glob("eval/*/*.json")} == {"soo_seed0.json", "soo_seed1.json"}
    assert {p: p.stat().st_mtime_ns for p in evals} == evals  # the baselines' evaluations were reused
    assert json.loads((run_dir / "results.json").read_text())["conditions"]["deceptive"]["trap_rate"]["mean"] >= 0


def test_every_artifact_exists(quick_run: Path) -> None:
    for condition in DEFAULT_RUN:
        for seed in (0, 1):
            trained = CONDITIONS[condition].masked_from is None  # a masked control is its agent's checkpoint
            assert (quick_run / "checkpoints" / f"{condition}_seed{seed}.zip").is_file() == trained
        gif = Image.open(quick_run / "gifs" / f"{condition}.gif")
        assert gif.n_frames == 51
    for name in ("rates", "soo_value", "training_curves", "detection"):
        with Image.open(quick_run / "plots" / f"{name}.png") as image:
            image.verify()
    report = (quick_run / "report.md").read_text()
    assert "| soo |" in report and "Does SOO fine-tuning reduce deception?" in report
    assert json.loads((quick_run / "config.json").read_text())["quick"] is True


def test_the_masked_control_is_the_deceptive_baseline_evaluated_blind(quick_run: Path) -> None:
    results = json.loads((quick_run / "results.json").read_text())["conditions"]
    masked, deceptive = results["masked"], results["deceptive"]
    # Same episodes, same checkpoint, red masked at every step: the masked row's trap rate is the blind trap rate.
    assert masked["trap_rate"]["per_seed"] == deceptive["blind_trap_rate"]["per_seed"]
    assert masked["blind_trap_rate"]["per_seed"] == deceptive["blind_trap_rate"]["per_seed"]
    assert masked["soo_value"]["per_seed"] == [0.0, 0.0]  # it cannot tell red's presence from its absence
    assert masked["masked_distance"]["per_seed"] == [0.0, 0.0] and deceptive["masked_distance"]["mean"] > 0
    assert all(value >= 0 for value in results["soo"]["awareness_price"]["per_seed"])


def test_event_files_hold_the_listed_keys(quick_run: Path) -> None:
    board = quick_run / "tensorboard"
    soo = scalar_tags(next(board.glob("soo_seed0_*")))
    assert {
        "train/soo_loss",
        "train/soo_distance",
        "train/kl_ref",
        "eval/trap_rate",
        "eval/goal_rate",
        "eval/soo_value",
    } <= soo
    assert {"rollout/trap_rate", "rollout/goal_rate", "rollout/ep_rew_mean"} <= soo
    honest = scalar_tags(next(board.glob("honest_seed0_*")))
    assert {"eval/trap_rate", "train/value_loss"} <= honest and "train/soo_loss" not in honest
    assert glob.glob(str(board / "deceptive_seed1_*" / "events*"))


def test_resume_reuses_completed_stages(quick_run: Path, tmp_path: Path) -> None:
    run_dir = copy_run(quick_run, tmp_path / "resumed")
    # Stop "after the baselines": remove everything the later stages produced.
    for pattern in (*(f"checkpoints/{name}_seed*" for name in FINE_TUNINGS), "eval/*/*", "results.json"):
        for path in run_dir.glob(pattern):
            path.unlink()
    corrupted = run_dir / "checkpoints" / "honest_seed0.zip"
    corrupted.write_bytes(os.urandom(1024))  # a damaged checkpoint must not pass the resume
    baselines = {p: p.stat().st_mtime_ns for p in run_dir.glob("checkpoints/*.zip") if p != corrupted}
    assert len(baselines) == 5  # honest, deceptive and red, 2 seeds, but the damaged one
    done = run_script(*QUICK, "--run-dir", str(run_dir), "--resume", "--no-gifs")
    assert done.returncode == 0, done.stderr[-3000:]
    assert (
        f"re-running checkpoints/honest_seed0.zip: {corrupted} differs from manifest.json (size/SHA-256)" in done.stderr
    )
    assert {p: p.stat().st_mtime_ns for p in baselines} == baselines
    assert corrupted.stat().st_size > 1024  # retrained
    assert (run_dir / "checkpoints" / "soo_seed1.zip").is_file() and (run_dir / "results.json").is_file()
    jobs = json.loads((run_dir / "manifest.json").read_text())["jobs"]
    assert jobs["checkpoints/soo_seed1.zip"]["status"] == "done"


def test_the_progress_bar_counts_env_steps_and_evaluation_work() -> None:
    config = ExperimentConfig(seeds=(0,), conditions=("soo",))
    costs = {task.key: task.cost for task in experiment_tasks(config, train_baselines=True)}
    assert costs["runs/default/checkpoints/deceptive_seed0.zip"] == config.ppo.total_timesteps == 2_000_000
    assert costs["runs/default/checkpoints/soo_seed0.zip"] == config.finetune.timesteps == 500_000
    # 1,000 episodes, 1,000 on each held-out variant (long_episodes' are 100 steps), the probe's 2 x 200: 470,000 steps
    evaluations = [cost for key, cost in costs.items() if key.endswith(".json")]
    assert evaluations == [pytest.approx(EVALUATED_STEP_COST * 470_000)] * 4  # honest, deceptive, masked, soo
    assert [cost for key, cost in costs.items() if key.endswith(".gif")] == [ANIMATION_COST] * 4


def test_existing_run_needs_resume_and_same_settings(quick_run: Path) -> None:
    again = run_script(*QUICK, "--run-dir", str(quick_run))
    assert again.returncode != 0 and "already holds a run; pass --resume" in again.stderr
    changed = run_script(*QUICK, "--run-dir", str(quick_run), "--resume", "--finetune.soo-coef", "3")
    assert changed.returncode != 0 and "differ from the run's config.json: ['finetune']" in changed.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--conditions", "soo", "lie_detector"], "invalid choice 'lie_detector' for argument '--conditions'"),
        (["--finetune.timesteps", "-5"], "finetune.timesteps must be an integer >= 0"),
        (["--ppo.total-timesteps", "0"], "total_timesteps must be an integer >= 1"),
        (["--eval.episodes", "0"], "eval.episodes must be an integer >= 1"),
        (["--seeds", "1", "1"], "seeds must be a non-empty tuple of distinct integers"),
        (["--preset", "arena"], "invalid choice 'arena' for argument '--preset'"),
    ],
)
def test_bad_config_fails_at_start(tmp_path: Path, args: list[str], message: str) -> None:
    done = run_script("--run-dir", str(tmp_path / "run"), *args)
    assert done.returncode != 0
    assert message in done.stderr
    assert not (tmp_path / "run").exists()  # nothing was trained or written


def test_missing_baseline_checkpoint_fails_at_start(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    done = run_script("--run-dir", str(tmp_path / "run"), "--baselines-from", str(tmp_path / "empty"))
    assert done.returncode != 0 and "missing checkpoint(s)" in done.stderr and "honest_seed0.zip" in done.stderr
    assert not (tmp_path / "run").exists()


def test_config_file_sets_defaults_and_flags_override(tmp_path: Path) -> None:
    path = tmp_path / "exp.toml"
    path.write_text('seeds = [3, 4]\npreset = "paper"\n[finetune]\nsoo_coef = 2.5\nsoo_distance = "log_mse"\n')
    config = parse_config(["--config", str(path), "--seeds", "5"])
    assert config.seeds == (5,) and config.preset == "paper"
    assert config.finetune.soo_coef == 2.5 and config.finetune.soo_distance == "log_mse"
    path.write_text("[finetune]\nsoo_coeff = 2.5\n")
    with pytest.raises(SystemExit, match=r"unknown setting\(s\) \['finetune.soo_coeff'\]"):
        parse_config(["--config", str(path)])


def test_a_busy_run_directory_stops_a_second_run_at_once(quick_run: Path) -> None:
    # Regression: two runs started on one directory both ran every job, writing over each other.
    with run_dir_lock(quick_run):
        done = run_script(*QUICK, "--run-dir", str(quick_run), "--resume")
    assert done.returncode != 0
    assert f"is in use by process {os.getpid()}" in done.stderr and "Traceback" not in done.stderr


def test_a_stale_lock_is_taken_over(quick_run: Path, tmp_path: Path) -> None:
    (quick_run / ".lock").write_text("process 999999 on a machine long gone\n")  # no process holds it
    with run_dir_lock(quick_run):
        assert "process " + str(os.getpid()) in (quick_run / ".lock").read_text()
    # A second holder (here the same process, through another open file) is refused.
    with run_dir_lock(quick_run), pytest.raises(RunDirectoryBusyError, match="is in use by"), run_dir_lock(quick_run):
        pass


@pytest.mark.parametrize("content", [b"not a zip", b"PK\x03\x04 truncated"])
def test_render_turns_an_unreadable_checkpoint_into_one_line(tmp_path: Path, content: bytes) -> None:
    bad = tmp_path / "blue.zip"
    bad.write_bytes(content)
    for target in (bad, tmp_path / "missing.zip"):
        done = subprocess.run(
            [sys.executable, str(ROOT / "train" / "render.py"), str(target), "--out", str(tmp_path / "x.gif")],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode != 0 and "Traceback" not in done.stderr
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error:") and str(target) in lines[0], done.stderr


def test_render_writes_an_animation_of_a_checkpoint(quick_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "soo.gif"
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "train" / "render.py"),
            str(quick_run / "checkpoints/soo_seed0.zip"),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert Image.open(out).n_frames == 51


@pytest.mark.parametrize(
    "argv",
    [
        ["--run-dir", "runs/a"],
        ["--run-dir", "runs/b", "--preset", "contingent", "--seeds", "3", "4", "--ppo.total-timesteps", "4000000"],
        ["--run-dir", "runs/c", "--no-gifs", "--quick", "--finetune.soo-layers", "0", "--finetune.pair-radius", "0.1"],
        ["--run-dir", "runs/d", "--tuning", "--conditions", "soo", "anchor_only", "--eval.episodes", "50"],
    ],
)
def test_the_reports_command_reproduces_every_setting(argv: list[str]) -> None:
    config = parse_config(argv)
    command = reproduce_command(config)
    assert command.startswith("python train/ppo_soo.py ")
    assert parse_config(command.split()[2:]).to_dict() == config.to_dict()


@pytest.mark.parametrize(
    ("toml", "key", "expected"),
    [
        ('tuning = "false"\n', "tuning = 'false'", "a boolean (true or false)"),
        ('quick = "no"\n', "quick = 'no'", "a boolean (true or false)"),
        ("ppo = 5\n", "ppo = 5", "a table of settings ([ppo])"),
        ('seeds = "zero"\n', "seeds = 'zero'", "a list of integers"),
        ("seeds = [0, 1.5]\n", "seeds[1] = 1.5", "an integer"),
        ('[finetune]\nsoo_coef = "2"\n', "finetune.soo_coef = '2'", "a number"),
        ("[eval]\nepisodes = true\n", "eval.episodes = True", "an integer"),
    ],
)
def test_a_config_file_value_of_the_wrong_type_is_refused_in_one_line(
    tmp_path: Path, toml: str, key: str, expected: str
) -> None:
    path = tmp_path / "exp.toml"
    path.write_text(toml)
    with pytest.raises(SystemExit) as stop:
        parse_config(["--config", str(path)])
    assert str(stop.value) == f"error: {path}: {key} must be {expected}"


def test_a_config_file_that_is_not_toml_is_named(tmp_path: Path) -> None:
    path = tmp_path / "exp.toml"
    path.write_text("seeds = [0,\n")
    with pytest.raises(SystemExit) as stop:
        parse_config(["--config", str(path)])
    message = str(stop.value)
    assert message.startswith(f"error: {path}: ") and "\n" not in message


def test_quick_names_the_budget_flags_it_replaces(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ran: list[ExperimentConfig] = []
    monkeypatch.setattr("soo_rl.cli.experiment.run_experiment", ran.append)
    main(["--quick", "--finetune.timesteps", "0", "--eval.episodes", "7", "--ppo.n-envs", "16"])
    lines = capsys.readouterr().err.splitlines()
    assert lines == ["--quick replaced finetune.timesteps=0, eval.episodes=7 by its tiny budgets"]
    assert ran[0].resolved().finetune.timesteps == 2048
    main(["--quick"])  # nothing given: nothing to say
    assert capsys.readouterr().err == ""


def test_a_failed_write_of_results_json_is_one_line_and_loses_nothing(quick_run: Path, tmp_path: Path) -> None:
    run_dir = copy_run(quick_run, tmp_path / "full")
    before = (run_dir / "results.json").read_bytes()
    limit = 16_000  # bytes a file may grow to (``ulimit -f``): config.json fits, results.json does not
    assert len(before) > limit

    def limit_file_size() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    done = run_script(*QUICK, "--run-dir", str(run_dir), "--resume", "--no-gifs", preexec_fn=limit_file_size)
    assert done.returncode != 0 and "Traceback" not in done.stderr, done.stderr[-3000:]
    assert f"error: cannot write {run_dir / 'results.json'} (File too large); make room" in done.stderr
    assert (run_dir / "results.json").read_bytes() == before


def test_a_checkpoint_of_another_agent_is_made_again_when_the_manifest_is_rebuilt(
    quick_run: Path, tmp_path: Path
) -> None:
    run_dir = copy_run(quick_run, tmp_path / "swapped")
    checkpoints = run_dir / "checkpoints"
    (checkpoints / "soo_seed0.zip").write_bytes((checkpoints / "anchor_only_seed0.zip").read_bytes())
    (run_dir / "manifest.json").write_text('{"jobs": {')
    kept = {p: p.stat().st_mtime_ns for p in checkpoints.glob("*.zip") if p.name != "soo_seed0.zip"}
    done = run_script(*QUICK, "--run-dir", str(run_dir), "--resume", "--rebuild-manifest", "--no-gifs")
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"re-running checkpoints/soo_seed0.zip: {run_dir.resolve() / 'checkpoints/soo_seed0.zip'} was made by" in (
        done.stderr
    )
    assert {p: p.stat().st_mtime_ns for p in kept} == kept
    assert (checkpoints / "soo_seed0.zip").read_bytes() != (checkpoints / "anchor_only_seed0.zip").read_bytes()


def test_a_run_resumed_with_other_settings_after_deleting_config_json_reuses_nothing_they_change(
    quick_run: Path, tmp_path: Path
) -> None:
    run_dir = copy_run(quick_run, tmp_path / "relabelled")
    (run_dir / "config.json").unlink()
    baselines = {p: p.stat().st_mtime_ns for p in run_dir.glob("checkpoints/*.zip") if "soo" not in p.name}
    args = ("--run-dir", str(run_dir), "--resume", "--conditions", "soo", "--no-gifs", "--finetune.soo-coef", "2.0")
    done = run_script(*QUICK, *args)
    assert done.returncode == 0, done.stderr[-3000:]
    for seed in (0, 1):
        assert f"re-running checkpoints/soo_seed{seed}.zip: manifest.json records it made with other settings" in (
            done.stderr
        )
    assert {p: p.stat().st_mtime_ns for p in baselines} == baselines
    assert json.loads((run_dir / "results.json").read_text())["config"]["finetune"]["soo_coef"] == 2.0


def test_a_quick_report_says_it_is_a_smoke_test(quick_run: Path) -> None:
    from soo_rl.report.experiment import QUICK_NOTE, markdown_report

    assert (quick_run / "report.md").read_text().startswith("# SOO-RL experiment report\n\n" + QUICK_NOTE)
    results = json.loads((quick_run / "results.json").read_text())
    results["config"]["quick"] = False
    assert QUICK_NOTE not in markdown_report(results)


def verify(run_dir: Path) -> subprocess.CompletedProcess[str]:
    """``--verify`` on ``run_dir``, with stdout's lines as they are (``run_script`` joins stderr's)."""
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--run-dir", str(run_dir), "--verify"],
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_verify_passes_a_finished_run_that_was_moved(quick_run: Path, tmp_path: Path) -> None:
    sent = tmp_path / "sent"
    subprocess.run(["cp", "-r", str(quick_run), str(sent)], check=True)  # config.json still names the old place
    done = verify(sent)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines() == [
        f"{sent}: every job finished with the run's settings, every output intact, results.json and report.md as the "
        "evaluations give"
    ]


def test_verify_names_each_problem_of_a_tampered_run_in_one_line(quick_run: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "tampered"
    subprocess.run(["cp", "-r", str(quick_run), str(run_dir)], check=True)
    root = run_dir.resolve()
    checkpoints = root / "checkpoints"
    manifest = json.loads((root / "manifest.json").read_text())
    # A consistent forgery: anchor-only's checkpoint as soo's, with the manifest's size and hash updated to match.
    (checkpoints / "soo_seed0.zip").write_bytes((checkpoints / "anchor_only_seed0.zip").read_bytes())
    manifest["jobs"]["checkpoints/soo_seed0.zip"]["outputs"]["checkpoints/soo_seed0.zip"] = manifest["jobs"][
        "checkpoints/anchor_only_seed0.zip"
    ]["outputs"]["checkpoints/anchor_only_seed0.zip"]
    (root / "manifest.json").write_text(json.dumps(manifest))
    (evaluation,) = root.glob("eval/*/honest_seed1.json")
    evaluation.unlink()
    done = verify(run_dir)
    assert done.returncode == 1
    assert done.stdout.splitlines() == [
        f"{checkpoints / 'soo_seed0.zip'} was made by another job or with other settings (fingerprint "
        f"{manifest['jobs']['checkpoints/anchor_only_seed0.zip']['fingerprint']})",
        f"{evaluation} is missing",
    ]
    assert done.stderr.strip() == f"error: {run_dir}: 2 problem(s) found by --verify"


def test_verify_recomputes_the_results_and_names_the_first_that_differs(quick_run: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "edited"
    subprocess.run(["cp", "-r", str(quick_run), str(run_dir)], check=True)
    results = json.loads((run_dir / "results.json").read_text())
    true_rate = results["conditions"]["soo"]["trap_rate"]["mean"]
    results["conditions"]["soo"]["trap_rate"]["mean"] = true_rate / 2 + 0.01
    (run_dir / "results.json").write_text(json.dumps(results))
    done = verify(run_dir)
    assert done.returncode == 1
    assert done.stdout.splitlines() == [
        f"{run_dir.resolve() / 'results.json'}: conditions.soo.trap_rate.mean is {true_rate / 2 + 0.01}, the "
        f"evaluations give {true_rate}"
    ]


def test_verify_names_a_setting_changed_after_the_run(quick_run: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "relabelled"
    subprocess.run(["cp", "-r", str(quick_run), str(run_dir)], check=True)
    config = json.loads((run_dir / "config.json").read_text())
    config["finetune"]["soo_coef"] = 2.0
    (run_dir / "config.json").write_text(json.dumps(config))
    done = verify(run_dir)
    assert done.returncode == 1
    jobs = json.loads((run_dir / "manifest.json").read_text())["jobs"]
    soo_lines = [line for line in done.stdout.splitlines() if line.startswith("checkpoints/soo_seed")]
    assert soo_lines == [
        f"{key}: manifest.json records it made with other settings (fingerprint {jobs[key]['fingerprint']})"
        for key in ("checkpoints/soo_seed0.zip", "checkpoints/soo_seed1.zip")
    ]
