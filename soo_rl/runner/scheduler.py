"""Run a graph of tasks (``soo_rl.experiment.graph``) on a backend: dependencies, retries, a manifest, progress.

A task is finished when its ``key`` (its last-written output, relative to the root) exists: re-running
a graph skips finished tasks. Backends: ``LocalBackend`` (a process pool here) and
``soo_rl.runner.ray_backend.RayBackend``.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import torch as th
from tqdm.auto import tqdm

from envs.io import write_json_atomic
from soo_rl.experiment.graph import Task, unique_tasks

MANIFEST_NAME = "manifest.json"


def execute(fn: Callable[..., None], root: Path, args: tuple[Any, ...]) -> float:
    """Run one task in a worker with one torch thread (workers must not oversubscribe the cores); return seconds."""
    th.set_num_threads(1)
    start = time.perf_counter()
    fn(root, *args)
    return time.perf_counter() - start


Outcome = float | BaseException
"""What a finished task gave back: its run time in seconds, or the error it raised."""


class Backend(Protocol):
    """Where tasks run."""

    capacity: int
    """Tasks that can run at once."""

    def submit(self, task: Task) -> Any:
        """Start ``task``; return a handle."""

    def wait(self, handles: Sequence[Any], timeout: float) -> list[tuple[Any, Outcome]]:
        """Handles finished within ``timeout`` seconds, with their outcomes."""

    def close(self) -> None:
        """Stop the workers."""


class LocalBackend:
    """A pool of ``workers`` spawned processes on this machine, one torch thread each.

    A worker that dies (killed, out of memory) breaks the whole pool: the tasks running at that
    moment fail (and are retried by the scheduler) and a fresh pool takes the next tasks.
    """

    def __init__(self, root: Path, workers: int) -> None:
        self.root = root
        self.capacity = workers
        self._generation = 0
        self._pool = self._new_pool()
        self._born: dict[Future[float], int] = {}

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(self.capacity, mp_context=mp.get_context("spawn"))

    def submit(self, task: Task) -> Future[float]:
        future = self._pool.submit(execute, task.fn, self.root, task.args)
        self._born[future] = self._generation
        return future

    def wait(self, handles: Sequence[Future[float]], timeout: float) -> list[tuple[Future[float], Outcome]]:
        done, _ = wait(handles, timeout=timeout, return_when=FIRST_COMPLETED)
        finished: list[tuple[Future[float], Outcome]] = []
        for future in done:
            error = future.exception()
            if isinstance(error, BrokenProcessPool) and self._born.get(future) == self._generation:
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._generation += 1
                self._pool = self._new_pool()
            self._born.pop(future, None)
            finished.append((future, error if error is not None else future.result()))
        return finished

    def close(self) -> None:
        self._pool.shutdown(cancel_futures=True)


class Manifest:
    """``manifest.json``: every finished job (seconds, attempts) and every failed one (its error).

    Written atomically after each change, so a killed driver loses nothing that finished.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.jobs: dict[str, dict[str, Any]] = {}
        if path.is_file():
            self.jobs = json.loads(path.read_text())["jobs"]

    def record(self, key: str, **entry: Any) -> None:
        self.jobs[key] = entry
        write_json_atomic(self.path, {"jobs": self.jobs})


@dataclass
class GraphResult:
    """What a run of a task graph did."""

    done: list[str] = field(default_factory=list)
    """Tasks finished in this run or an earlier one."""
    ran: list[str] = field(default_factory=list)
    """Tasks that ran (and finished) in this run."""
    failed: dict[str, str] = field(default_factory=dict)
    """Tasks that failed on every attempt, with their last error."""
    blocked: list[str] = field(default_factory=list)
    """Tasks not run because a task they depend on failed."""

    @property
    def ok(self) -> bool:
        """Every task finished."""
        return not self.failed and not self.blocked

    def failure_message(self) -> str:
        """One paragraph naming the failed tasks (and how many they blocked), with the last line of each error."""
        lines = [f"{key}: {error.strip().splitlines()[-1]}" for key, error in self.failed.items()]
        return (
            f"{len(self.failed)} job(s) failed, {len(self.blocked)} blocked by them; "
            f"errors in manifest.json. " + "; ".join(lines)
        )


def run_tasks(
    tasks: Iterable[Task],
    backend: Backend,
    root: Path,
    retries: int = 1,
    manifest: Manifest | None = None,
    desc: str = "jobs",
) -> GraphResult:
    """Run every unfinished task once its dependencies have finished, up to ``backend.capacity`` at a time.

    :param tasks: the graph, in the order tasks should start when several are ready.
    :param backend: where tasks run.
    :param root: the directory task keys are relative to.
    :param retries: extra attempts of a task that raised (or whose worker died) before it counts as failed.
    :param manifest: where finished and failed tasks are recorded (``root / manifest.json`` by default).
    :param desc: label of the progress bar.
    """
    graph = unique_tasks(tasks)
    keys = {task.key for task in graph}
    for task in graph:
        unknown = [dep for dep in task.deps if dep not in keys]
        if unknown:
            raise ValueError(f"task {task.key} depends on tasks not in the graph: {unknown}")
    manifest = manifest or Manifest(root / MANIFEST_NAME)
    result = GraphResult(done=[task.key for task in graph if (root / task.key).exists()])
    finished = set(result.done)
    waiting = [task for task in graph if task.key not in finished]
    attempts: dict[str, int] = {}
    running: dict[Any, Task] = {}
    with tqdm(total=len(graph), initial=len(finished), desc=desc, unit="job", dynamic_ncols=True) as bar:
        while waiting or running:
            for task in list(waiting):
                if len(running) >= backend.capacity:
                    break
                if all(dep in finished for dep in task.deps):
                    waiting.remove(task)
                    running[backend.submit(task)] = task
            bar.set_postfix(running=len(running), failed=len(result.failed), refresh=False)
            if not running:  # what still waits depends on a failed task
                for task in waiting:
                    result.blocked.append(task.key)
                    manifest.record(task.key, status="blocked", deps=list(task.deps))
                break
            for handle, outcome in backend.wait(list(running), timeout=0.5):
                task = running.pop(handle)
                attempts[task.key] = attempts.get(task.key, 0) + 1
                if isinstance(outcome, BaseException):
                    if attempts[task.key] <= retries:
                        waiting.insert(0, task)
                        continue
                    error = "".join(traceback.format_exception(outcome))
                    result.failed[task.key] = error
                    manifest.record(task.key, status="failed", attempts=attempts[task.key], error=error)
                else:
                    finished.add(task.key)
                    result.done.append(task.key)
                    result.ran.append(task.key)
                    manifest.record(task.key, status="done", attempts=attempts[task.key], seconds=round(outcome, 3))
                bar.update(0 if isinstance(outcome, BaseException) else 1)
        bar.set_postfix(running=0, failed=len(result.failed), blocked=len(result.blocked))
    return result
