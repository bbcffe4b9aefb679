"""The job scheduler: dependencies, retries, failures reported without losing other jobs, resume, backends, progress."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from soo_rl.experiment.graph import Task
from soo_rl.runner.scheduler import (
    ORPHAN_CHECK_SECONDS,
    PRIOR_PACE,
    RUNNING_CAP,
    GraphResult,
    LocalBackend,
    Manifest,
    Progress,
    run_tasks,
)


def write_value(root: Path, name: str, value: int) -> None:
    """Job: write ``value`` to ``name``."""
    (root / name).write_text(str(value))


def add_inputs(root: Path, name: str, inputs: tuple[str, ...]) -> None:
    """Job: write the sum of the numbers in ``inputs`` to ``name``."""
    (root / name).write_text(str(sum(int((root / i).read_text()) for i in inputs)))


def always_fail(root: Path, name: str) -> None:
    """Job: count the attempt, then raise."""
    counter = root / f"{name}.attempts"
    counter.write_text(str(int(counter.read_text()) + 1 if counter.exists() else 1))
    raise RuntimeError(f"job {name} is broken")


def fail_once(root: Path, name: str) -> None:
    """Job: fail on the first attempt (by killing its worker when asked), succeed on the second."""
    marker = root / f"{name}.tried"
    if not marker.exists():
        marker.write_text("1")
        os._exit(1)  # the worker dies: the pool breaks
    (root / name).write_text("1")


def graph() -> list[Task]:
    a = Task("a", write_value, ("a", 1), outputs=("a",))
    b = Task("b", write_value, ("b", 2), outputs=("b",))
    broken = Task("broken", always_fail, ("broken",), outputs=("broken",))
    total = Task("total", add_inputs, ("total", ("a", "b")), deps=("a", "b"), inputs=("a", "b"), outputs=("total",))
    after_broken = Task("after", add_inputs, ("after", ("broken",)), deps=("broken",), outputs=("after",))
    return [a, b, broken, total, after_broken]


@pytest.fixture(scope="module")
def local() -> Iterator[LocalBackend]:
    backend = LocalBackend(Path("."), 2)  # root is passed per run below
    yield backend
    backend.close()


def run(tasks: list[Task], backend: LocalBackend, root: Path, retries: int = 1) -> GraphResult:
    backend.root = root
    return run_tasks(tasks, backend, root, retries=retries)


def test_failing_job_is_retried_then_reported_while_others_complete(tmp_path: Path, local: LocalBackend) -> None:
    result = run(graph(), local, tmp_path, retries=2)
    assert sorted(result.ran) == ["a", "b", "total"] and (tmp_path / "total").read_text() == "3"
    assert list(result.failed) == ["broken"] and "job broken is broken" in result.failed["broken"]
    assert result.blocked == ["after"] and not result.ok
    assert (tmp_path / "broken.attempts").read_text() == "3"  # one try plus two retries
    jobs = json.loads((tmp_path / "manifest.json").read_text())["jobs"]
    assert jobs["broken"]["status"] == "failed" and jobs["broken"]["attempts"] == 3
    assert "RuntimeError: job broken is broken" in jobs["broken"]["error"]
    assert jobs["after"]["status"] == "blocked" and {jobs[k]["status"] for k in "ab"} == {"done"}


def test_rerun_skips_finished_jobs_and_retries_failed_ones(tmp_path: Path, local: LocalBackend) -> None:
    run(graph(), local, tmp_path, retries=0)
    again = run(graph(), local, tmp_path, retries=0)
    assert again.ran == [] and sorted(again.done) == ["a", "b", "total"]
    assert (tmp_path / "broken.attempts").read_text() == "2"  # the failed job got a fresh attempt


def test_killed_worker_is_retried_on_a_fresh_pool(tmp_path: Path, local: LocalBackend) -> None:
    tasks = [Task("dies", fail_once, ("dies",)), Task("a", write_value, ("a", 1)), Task("b", write_value, ("b", 2))]
    result = run(tasks, local, tmp_path, retries=1)
    assert result.ok and sorted(result.ran) == ["a", "b", "dies"]
    assert Manifest(tmp_path / "manifest.json").jobs["dies"]["attempts"] == 2


def test_unknown_dependency_is_an_error(tmp_path: Path, local: LocalBackend) -> None:
    with pytest.raises(ValueError, match=r"depends on tasks not in the graph: \['missing'\]"):
        run([Task("x", write_value, ("x", 1), deps=("missing",))], local, tmp_path)


def test_progress_counts_work_not_jobs() -> None:
    small, large, resumed = (
        Task(key, write_value, cost=cost) for key, cost in (("s", 10.0), ("l", 1000.0), ("r", 90.0))
    )
    progress = Progress([small, large, resumed], finished={"r"})
    assert progress.total == 1100.0 and progress.done == 90.0  # a job finished before counts as initial progress
    progress.start(small, now=0.0)
    progress.start(large, now=0.0)
    # Before any job has finished, running jobs advance at the prior pace, each below its cost.
    assert progress.units(now=0.01) == pytest.approx(90.0 + RUNNING_CAP * 10.0 + 0.01 * PRIOR_PACE)
    progress.stop(small, seconds=2.0)  # a finished job adds its cost, and sets the pace: 5 units/s
    assert progress.done == 100.0 and progress.pace() == 5.0
    assert progress.units(now=10.0) == pytest.approx(100.0 + 10.0 * 5.0)
    progress.stop(large, seconds=None)  # a failed attempt is credited nothing
    assert progress.units(now=10.0) == 100.0
    progress.start(large, now=10.0)
    progress.stop(large, seconds=98.0)
    assert progress.units(now=200.0) == progress.total and progress.pace() == pytest.approx(1010.0 / 100.0)


def test_ray_backend_ships_files_and_reports_failures(tmp_path: Path) -> None:
    ray = pytest.importorskip("ray")
    from soo_rl.runner.ray_backend import RayBackend

    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # this test module is not importable on workers
    backend = RayBackend(tmp_path, None, num_cpus=2)
    try:
        result = run_tasks(graph(), backend, tmp_path, retries=1)
    finally:
        backend.close()
    assert sorted(result.ran) == ["a", "b", "total"] and (tmp_path / "total").read_text() == "3"
    assert list(result.failed) == ["broken"] and result.blocked == ["after"]
    assert not (tmp_path / "broken.attempts").exists()  # it ran in scratch directories on the workers


def test_ray_backend_with_shared_storage_copies_outputs_into_the_run_directory(tmp_path: Path) -> None:
    ray = pytest.importorskip("ray")
    from soo_rl.runner.ray_backend import RayBackend

    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    root, storage = tmp_path / "run", tmp_path / "shared"
    root.mkdir()
    (root / "a").write_text("5")  # made before the sweep used shared storage
    tasks = [
        Task("b", write_value, ("b", 2), outputs=("b",)),
        Task("total", add_inputs, ("total", ("a", "b")), deps=("b",), inputs=("a", "b"), outputs=("total",)),
    ]
    backend = RayBackend(root, None, storage=storage, num_cpus=2)
    try:
        result = run_tasks(tasks, backend, root, retries=0)
    finally:
        backend.close()
    assert result.ok and (root / "total").read_text() == "7" and (storage / "total").read_text() == "7"


def record_pid_and_wait(root: Path, name: str) -> None:
    """Job: write the worker's pid to ``name``, then run for a minute."""
    (root / name).write_text(str(os.getpid()))
    time.sleep(60)


DRIVER = """
import sys, time
from pathlib import Path
from soo_rl.experiment.graph import Task
from soo_rl.runner.scheduler import LocalBackend
from tests.test_scheduler import record_pid_and_wait
backend = LocalBackend(Path(sys.argv[1]), 1)
backend.submit(Task("pid", record_pid_and_wait, ("pid",)))
time.sleep(120)
"""


def test_workers_end_when_the_driver_is_killed(tmp_path: Path) -> None:
    driver = subprocess.Popen([sys.executable, "-c", DRIVER, str(tmp_path)], cwd=Path(__file__).resolve().parents[1])
    try:
        deadline = time.monotonic() + 60
        while not (tmp_path / "pid").is_file() or not (tmp_path / "pid").read_text():
            assert time.monotonic() < deadline, "the worker never started"
            time.sleep(0.2)
        worker = int((tmp_path / "pid").read_text())
        os.kill(worker, 0)  # alive
        driver.kill()  # no chance to stop its pool
        driver.wait()
        deadline = time.monotonic() + 10 * ORPHAN_CHECK_SECONDS
        while pid_alive(worker):
            assert time.monotonic() < deadline, "the worker outlived its driver"
            time.sleep(0.1)
    finally:
        driver.kill()


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists (and is not a zombie)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(") ")[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"
