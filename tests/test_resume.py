"""A resume that verifies: outputs checked against their recorded size and SHA-256, damaged files named."""

from __future__ import annotations

import glob
import json
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import imageio.v2 as imageio
import numpy as np
import pytest

from agents.soo_ppo import CheckpointError
from soo_rl.cli.experiment import main
from soo_rl.experiment.config import ExperimentConfig
from soo_rl.experiment.graph import DamagedFileError, Task
from soo_rl.experiment.pipeline import prepare_run_dir, read_output
from soo_rl.runner.scheduler import GraphResult, Manifest, Outcome, run_tasks

CHECKPOINT = "checkpoints/honest_seed0.zip"
EVALUATION = "eval/honest_seed0.json"


def train(root: Path, name: str) -> None:
    """Job: write a stand-in checkpoint (JSON, so ``read_json_file`` can verify it) and a log directory."""
    (root / "tensorboard" / "honest_seed0_1").mkdir(parents=True, exist_ok=True)
    (root / "tensorboard" / "honest_seed0_1" / "events").write_text("log")
    (root / name).parent.mkdir(parents=True, exist_ok=True)
    (root / name).write_text(json.dumps({"weights": [1, 2, 3]}))


def evaluate(root: Path, checkpoint: str, name: str) -> None:
    """Job: write the number of weights of ``checkpoint`` as an evaluation."""
    (root / name).parent.mkdir(parents=True, exist_ok=True)
    (root / name).write_text(json.dumps({"weights": len(json.loads((root / checkpoint).read_text())["weights"])}))


def read_json_file(path: Path) -> None:
    """The tests' stand-in for ``pipeline.read_output``: every fake output is JSON."""
    json.loads(path.read_text())


class InlineBackend:
    """Runs each task in this process when it is submitted (no worker processes: fast and deterministic)."""

    capacity = 1

    def __init__(self, root: Path) -> None:
        self.root = root
        self._outcomes: dict[int, Outcome] = {}

    def submit(self, task: Task) -> int:
        handle = len(self._outcomes)
        start = time.perf_counter()
        try:
            task.fn(self.root, *task.args)
            self._outcomes[handle] = time.perf_counter() - start
        except Exception as error:
            self._outcomes[handle] = error
        return handle

    def wait(self, handles: Sequence[int], timeout: float) -> list[tuple[int, Outcome]]:
        return [(handle, self._outcomes[handle]) for handle in handles]

    def close(self) -> None:
        pass


def graph() -> list[Task]:
    board = "tensorboard/honest_seed0_*"
    trained = Task(CHECKPOINT, train, (CHECKPOINT,), outputs=(board, CHECKPOINT), cost=1000.0)
    evaluated = Task(EVALUATION, evaluate, (CHECKPOINT, EVALUATION), (CHECKPOINT,), (CHECKPOINT,), (EVALUATION,))
    return [trained, evaluated]


def run(root: Path, rebuild: Any = None) -> GraphResult:
    return run_tasks(graph(), InlineBackend(root), root, retries=0, manifest=Manifest(root / "manifest.json", rebuild))


def rerun_lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return [line for line in capsys.readouterr().err.splitlines() if line.startswith("re-running")]


@pytest.fixture
def finished(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """A run directory where both jobs finished."""
    assert run(tmp_path).ok
    capsys.readouterr()
    return tmp_path


def test_the_manifest_records_each_output_file_with_size_and_sha256(finished: Path) -> None:
    jobs = json.loads((finished / "manifest.json").read_text())["jobs"]
    outputs = jobs[CHECKPOINT]["outputs"]
    assert list(outputs) == [CHECKPOINT]  # the TensorBoard directory is not recorded
    assert outputs[CHECKPOINT]["bytes"] == (finished / CHECKPOINT).stat().st_size
    assert len(outputs[CHECKPOINT]["sha256"]) == 64 and list(jobs[EVALUATION]["outputs"]) == [EVALUATION]


def test_paths_with_glob_characters_are_recorded(tmp_path: Path) -> None:
    key = "cells/soo_layers=[0]/checkpoints/soo_seed0.zip"  # a sweep cell's name may hold brackets
    task = Task(key, train, (key,), outputs=(glob.escape(key),))
    assert run_tasks([task], InlineBackend(tmp_path), tmp_path).ok
    assert list(json.loads((tmp_path / "manifest.json").read_text())["jobs"][key]["outputs"]) == [key]


def test_an_intact_run_is_not_run_again(finished: Path, capsys: pytest.CaptureFixture[str]) -> None:
    again = run(finished)
    assert again.ran == [] and again.done == [CHECKPOINT, EVALUATION] and rerun_lines(capsys) == []


def test_a_corrupted_checkpoint_is_run_again_with_what_depends_on_it(
    finished: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (finished / CHECKPOINT).write_bytes(np.random.default_rng(0).bytes(1024))
    again = run(finished)
    assert again.ran == [CHECKPOINT, EVALUATION]
    assert rerun_lines(capsys) == [
        f"re-running {CHECKPOINT}: {finished / CHECKPOINT} differs from manifest.json (size/SHA-256)",
        f"re-running {EVALUATION}: it depends on {CHECKPOINT}, which runs again",
    ]
    assert run(finished).ran == []  # the new checkpoint was recorded


def test_a_missing_evaluation_file_runs_its_job_again(finished: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (finished / EVALUATION).unlink()
    assert run(finished).ran == [EVALUATION]
    assert rerun_lines(capsys) == [f"re-running {EVALUATION}: {finished / EVALUATION} is missing"]


def test_outputs_the_manifest_does_not_record_are_run_again(finished: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (finished / "manifest.json").unlink()  # as in a run made before the manifest recorded outputs
    assert run(finished).ran == [CHECKPOINT, EVALUATION]
    lines = rerun_lines(capsys)
    assert lines[0] == (
        f"re-running {CHECKPOINT}: manifest.json does not record its outputs "
        "(add --rebuild-manifest to verify and keep them)"
    )
    assert len(lines) == 2


def test_a_truncated_manifest_is_named_with_its_remedy_and_rebuilding_recovers(
    finished: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = finished / "manifest.json"
    manifest.write_text(manifest.read_text()[:150])
    with pytest.raises(DamagedFileError) as error:
        run(finished)
    assert str(error.value).startswith(f"{manifest} is damaged (")
    assert str(error.value).endswith("add --rebuild-manifest to the command to re-verify every output and rebuild it")
    rebuilt = run(finished, rebuild=read_json_file)
    assert rebuilt.ran == [] and rerun_lines(capsys) == []
    jobs = json.loads(manifest.read_text())["jobs"]
    assert jobs[CHECKPOINT]["rebuilt"] is True and list(jobs[CHECKPOINT]["outputs"]) == [CHECKPOINT]
    assert run(finished).ran == []  # the rebuilt manifest verifies the outputs


def test_rebuilding_runs_again_what_cannot_be_read(finished: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (finished / EVALUATION).write_text('{"weights": ')
    assert run(finished, rebuild=read_json_file).ran == [EVALUATION]
    [line] = rerun_lines(capsys)
    assert line.startswith(f"re-running {EVALUATION}: {finished / EVALUATION} cannot be read (Expecting value")


def test_outputs_in_another_run_directory_are_that_runs_to_verify(tmp_path: Path) -> None:
    other = tmp_path / "baselines" / "eval.json"
    other.parent.mkdir()
    other.write_text("{}")  # another run's evaluation: its own manifest records it, this one does not
    task = Task(str(other), evaluate, (CHECKPOINT, str(other)))
    result = run_tasks([task], InlineBackend(tmp_path), tmp_path / "run", manifest=Manifest(tmp_path / "m.json"))
    assert result.ran == [] and result.done == [str(other)]


def test_the_experiment_names_a_damaged_manifest_or_config_in_one_line(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    prepare_run_dir(ExperimentConfig(run_dir=run_dir, quick=True).resolved())
    (run_dir / "manifest.json").write_text('{"jobs": {"checkpoints/honest_seed0.zip": {"status": "do')
    args = ["--run-dir", str(run_dir), "--quick", "--resume"]
    with pytest.raises(SystemExit) as stop:
        main(args)
    message = str(stop.value)
    assert message.startswith(f"error: {run_dir.resolve() / 'manifest.json'} is damaged (Unterminated string")
    assert "--rebuild-manifest" in message and "\n" not in message
    (run_dir / "config.json").write_text('{"seeds": [0, ')
    with pytest.raises(SystemExit) as stop:
        main(args)
    message = str(stop.value)
    assert message.startswith(f"error: {run_dir / 'config.json'} is damaged (")
    assert "delete it and resume with the settings the run was started with" in message and "\n" not in message


def test_read_output_reads_every_kind_of_output_whole(tmp_path: Path) -> None:
    np.savez(tmp_path / "a.npz", soo_sum=np.arange(3.0))
    imageio.mimsave(tmp_path / "a.gif", [np.zeros((4, 4, 3), np.uint8)] * 2)
    (tmp_path / "a.json").write_text("{}")
    for name in ("a.npz", "a.gif", "a.json"):
        read_output(tmp_path / name)
        data = (tmp_path / name).read_bytes()
        (tmp_path / name).write_bytes(data[: len(data) // 2])
        with pytest.raises(Exception):  # noqa: B017 - each reader raises its own error
            read_output(tmp_path / name)
    (tmp_path / "a.zip").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(CheckpointError, match="cannot read checkpoint"):
        read_output(tmp_path / "a.zip")


def one_line_error(args: list[str]) -> str:
    """The message ``main(args)`` ends with; it must be one line."""
    with pytest.raises(SystemExit) as stop:
        main(args)
    message = str(stop.value)
    assert message.startswith("error: ") and "\n" not in message
    return message


@pytest.fixture
def started(tmp_path: Path) -> Path:
    """A run directory whose run was started (its config.json written) with ``--quick``."""
    run_dir = tmp_path / "run"
    prepare_run_dir(ExperimentConfig(run_dir=run_dir, quick=True).resolved())
    return run_dir


@pytest.mark.parametrize(("content", "reason"), [("[]", "not an object of settings"), ("{}", "it holds no settings")])
def test_a_config_json_that_is_not_an_object_of_settings_is_damaged(started: Path, content: str, reason: str) -> None:
    (started / "config.json").write_text(content)
    message = one_line_error(["--run-dir", str(started), "--quick", "--resume"])
    assert message.startswith(f"error: {started / 'config.json'} is damaged ({reason}); ")
    assert "delete it and resume with the settings the run was started with" in message


def test_a_manifest_entry_that_is_not_an_object_is_damaged(started: Path) -> None:
    (started / "manifest.json").write_text('{"jobs": {"checkpoints/honest_seed0.zip": 5}}')
    message = one_line_error(["--run-dir", str(started), "--quick", "--resume"])
    manifest = started.resolve() / "manifest.json"
    assert message == (
        f"error: {manifest} is damaged (the entry of checkpoints/honest_seed0.zip is not an object); "
        "add --rebuild-manifest to the command to re-verify every output and rebuild it"
    )


def test_a_run_directory_that_is_a_file_or_below_one_is_named(tmp_path: Path) -> None:
    file = tmp_path / "notes.txt"
    file.write_text("mine")
    message = one_line_error(["--run-dir", str(file), "--quick"])
    assert message == f"error: {file} is a file, not a directory; choose another directory"
    message = one_line_error(["--run-dir", str(file / "run"), "--quick"])
    assert message == f"error: {file / 'run'} cannot be a directory: {file} is a file; choose another directory"
    assert file.read_text() == "mine"


@contextmanager
def immutable(directory: Path) -> Iterator[Path]:
    """``directory`` made unwritable (``chattr +i``: root writes through permissions), writable again after."""
    if subprocess.run(["chattr", "+i", str(directory)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not available here")
    try:
        yield directory
    finally:
        subprocess.run(["chattr", "-i", str(directory)], check=True)


def test_a_read_only_run_directory_is_named_with_the_remedy(started: Path, tmp_path: Path) -> None:
    before = (started / "config.json").read_text()
    (started / ".lock").touch()  # as a run leaves it
    with immutable(started):
        message = one_line_error(["--run-dir", str(started), "--quick", "--resume"])
    assert message.startswith(f"error: cannot write {started / 'config.json'} (Operation not permitted); ")
    assert message.endswith("then run the same command again with --resume: finished jobs are kept")
    assert (started / "config.json").read_text() == before
    (tmp_path / "empty").mkdir()
    with immutable(tmp_path / "empty"):
        message = one_line_error(["--run-dir", str(tmp_path / "empty"), "--quick"])
    assert message == (
        f"error: cannot write in {tmp_path / 'empty'} (Operation not permitted); "
        "make it writable or choose another directory"
    )


def train_as(root: Path, name: str, job: str) -> None:
    """Job: write a stand-in checkpoint that carries the fingerprint ``job``."""
    (root / name).parent.mkdir(parents=True, exist_ok=True)
    (root / name).write_text(json.dumps({"weights": [1], "fingerprint": job}))


def carried_fingerprint(path: Path) -> str | None:
    """The tests' stand-in for ``pipeline.read_output``: the fingerprint a fake output carries."""
    return json.loads(path.read_text()).get("fingerprint")


def owned_graph(soo_coef: float = 1.0) -> list[Task]:
    """Two trainings, each with the fingerprint of its settings."""
    jobs = {"anchor_only": "a-1", "soo": f"s-{soo_coef}"}
    return [
        Task(f"{n}.json", train_as, (f"{n}.json", job), outputs=(f"{n}.json",), fingerprint=job)
        for n, job in jobs.items()
    ]


def run_owned(root: Path, graph: list[Task], rebuild: Any = None) -> GraphResult:
    return run_tasks(graph, InlineBackend(root), root, retries=0, manifest=Manifest(root / "manifest.json", rebuild))


def test_an_output_made_with_other_settings_is_made_again(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_owned(tmp_path, owned_graph()).ok
    capsys.readouterr()
    assert run_owned(tmp_path, owned_graph(soo_coef=2.0)).ran == ["soo.json"]
    assert rerun_lines(capsys) == [
        "re-running soo.json: manifest.json records it made with other settings (fingerprint s-1.0)"
    ]
    assert carried_fingerprint(tmp_path / "soo.json") == "s-2.0"


def test_rebuilding_the_manifest_makes_again_an_output_of_another_job(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_owned(tmp_path, owned_graph()).ok
    (tmp_path / "soo.json").write_bytes((tmp_path / "anchor_only.json").read_bytes())  # a valid file, not soo's
    (tmp_path / "manifest.json").write_text("{")
    capsys.readouterr()
    assert run_owned(tmp_path, owned_graph(), rebuild=carried_fingerprint).ran == ["soo.json"]
    assert rerun_lines(capsys) == [
        f"re-running soo.json: {tmp_path / 'soo.json'} was made by another job or with other settings (fingerprint a-1)"
    ]
    assert carried_fingerprint(tmp_path / "soo.json") == "s-1.0"
