"""Run a graph of tasks (``soo_rl.experiment.graph``) on a backend: dependencies, retries, a manifest, progress.

A task is finished when ``manifest.json`` records it as done with its fingerprint and every file it wrote still has
the size and SHA-256 recorded there: re-running a graph (``--resume``) skips finished tasks and runs the others
again, printing one line for each task that had run before, saying why (``Manifest``). The progress bar counts work,
not jobs (``Progress``). Backends: ``LocalBackend`` (a process pool here) and ``soo_rl.runner.ray_backend.RayBackend``.
"""

from __future__ import annotations

import glob
import multiprocessing as mp
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import torch as th
from tqdm.auto import tqdm

from envs.generic.io import sha256_of, write_json_atomic
from soo_rl.experiment.graph import DamagedFileError, Task, read_json, unique_tasks

MANIFEST_NAME = "manifest.json"
REBUILD_REMEDY = "add --rebuild-manifest to the command to re-verify every output and rebuild it"
PRIOR_PACE = 14_000.0
"""Work units per second of one worker before any task of the run has finished: the experiment's unit is a training
env step (``soo_rl.experiment.pipeline``), and a 2M-step baseline took 140 s."""
RUNNING_CAP = 0.95
"""A running task is credited at most this share of its cost until it finishes."""


def execute(fn: Callable[..., None], root: Path, args: tuple[Any, ...]) -> float:
    """Run one task in a worker with one torch thread (workers must not oversubscribe the cores); return seconds."""
    th.set_num_threads(1)
    start = time.perf_counter()
    fn(root, *args)
    return time.perf_counter() - start


ORPHAN_CHECK_SECONDS = 1.0
"""How often a pool worker checks that the process that started it is still alive."""


def exit_with_parent(parent: int) -> None:
    """Pool worker initializer: end this worker once ``parent`` (the driver) is gone, even if the driver was killed
    without a chance to stop its pool (otherwise its workers would train on, unseen, until their task ends)."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(ORPHAN_CHECK_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


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
    """A pool of ``workers`` spawned processes on this machine, one torch thread each; a worker ends itself when the
    driver process is gone (``exit_with_parent``).

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
        context = mp.get_context("spawn")
        return ProcessPoolExecutor(self.capacity, context, initializer=exit_with_parent, initargs=(os.getpid(),))

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


def _last_line(text: str) -> str:
    return text.strip().splitlines()[-1] if text.strip() else ""


def matches(root: Path, patterns: Iterable[str]) -> list[str]:
    """Names of the files and directories the glob ``patterns`` match, sorted: relative to ``root`` (absolute for
    absolute patterns)."""
    return sorted({name for pattern in patterns for name in glob.glob(pattern, root_dir=root)})


def output_names(root: Path, task: Task) -> list[str]:
    """The files ``task`` wrote, named as by ``matches``: its key and the files its output patterns match.

    Directories the patterns match (the TensorBoard runs of a training) are left out: their event files are logs,
    a new attempt writes a new run beside them, and re-running a training because a log changed would waste it.
    """
    return [name for name in matches(root, (glob.escape(task.key), *task.outputs)) if (root / name).is_file()]


def _fingerprint(path: Path) -> dict[str, Any]:
    return {"bytes": path.stat().st_size, "sha256": sha256_of(path)}


def _changed_output(root: Path, name: str, recorded: dict[str, Any]) -> str | None:
    """Why the output ``name`` is not as recorded (missing, or another size/SHA-256), or ``None``."""
    path = root / name
    if not path.is_file():
        return f"{path} is missing"
    if _fingerprint(path) != recorded:
        return f"{path} differs from {MANIFEST_NAME} (size/SHA-256)"
    return None


def changed_outputs(root: Path, outputs: dict[str, dict[str, Any]]) -> Iterator[str]:
    """Each recorded output that is missing or differs from its record (size, SHA-256), said in words."""
    for name, recorded in outputs.items():
        why = _changed_output(root, name, recorded)
        if why is not None:
            yield why


def foreign_outputs(root: Path, task: Task, names: Iterable[str], read: Callable[[Path], str | None]) -> Iterator[str]:
    """Each of ``task``'s output files ``names`` that ``read`` cannot read, or that carries the fingerprint of another
    job (``Task.fingerprint``; any for a task without one), said in words."""
    for name in names:
        try:
            found = read(root / name)
        except Exception as error:  # whatever the reader raises: the file cannot be kept
            yield f"{root / name} cannot be read ({_last_line(str(error)) or type(error).__name__})"
            continue
        if task.fingerprint and found != task.fingerprint:
            yield f"{root / name} was made by another job or with other settings (fingerprint {found or 'none'})"


def _is_entry(entry: Any) -> bool:
    """Whether ``entry`` can be a job's record in the manifest: an object, whose outputs (if any) are objects."""
    outputs = entry.get("outputs", {}) if isinstance(entry, dict) else None
    return isinstance(outputs, dict) and all(isinstance(record, dict) for record in outputs.values())


class Manifest:
    """``manifest.json``: every finished job (seconds, attempts, its fingerprint, and the size and SHA-256 of each
    file it wrote, ``output_names``) and every failed one (its error).

    Written atomically after each change, so a killed driver loses nothing that finished. A task that ran before
    counts as finished only if it was recorded with the task's fingerprint (``Task.fingerprint``: its outputs were made
    under the same settings) and each file recorded for it is unchanged; outputs the manifest does not record (a run
    made before outputs were recorded, or a driver killed between a job's end and its record) are not trusted, unless
    the manifest is rebuilt. Keys given as absolute paths lie outside the root (evaluations of another run's
    baselines, ``baselines_from``): that run's own manifest verifies them, so here they count as finished if they
    exist and this manifest does not record them.

    :param path: the file.
    :param rebuild: instead of reading ``path``, rebuild it: an existing output counts only if this function reads
        it without raising (a checkpoint loads, JSON parses) and returns the task's fingerprint (the one the file
        carries; any value for a task without one), and is then recorded. The remedy for a damaged manifest.
    :raise DamagedFileError: ``path`` cannot be read (and ``rebuild`` is not given).
    """

    def __init__(self, path: Path, rebuild: Callable[[Path], str | None] | None = None) -> None:
        self.path = path
        self.rebuild = rebuild
        self.jobs: dict[str, dict[str, Any]] = {}
        if rebuild is None and path.is_file():
            data = read_json(path, REBUILD_REMEDY)
            if not isinstance(data, dict) or not isinstance(data.get("jobs"), dict):
                raise DamagedFileError(path, 'no "jobs" table', REBUILD_REMEDY)
            bad = next((key for key, entry in data["jobs"].items() if not _is_entry(entry)), None)
            if bad is not None:
                raise DamagedFileError(path, f"the entry of {bad} is not an object", REBUILD_REMEDY)
            self.jobs = data["jobs"]

    def record(self, key: str, **entry: Any) -> None:
        """Record ``entry`` as the state of job ``key``."""
        self.jobs[key] = entry
        write_json_atomic(self.path, {"jobs": self.jobs})

    def record_done(self, root: Path, task: Task, **entry: Any) -> None:
        """Record ``task`` as done, with ``entry`` and the size and SHA-256 of each file it wrote."""
        outputs = {name: _fingerprint(root / name) for name in output_names(root, task)}
        self.record(task.key, status="done", **entry, fingerprint=task.fingerprint, outputs=outputs)

    def _recorded_outputs(self, key: str) -> dict[str, Any] | None:
        entry = self.jobs.get(key, {})
        return entry["outputs"] if entry.get("status") == "done" and "outputs" in entry else None

    def ran(self, root: Path, task: Task) -> bool:
        """Whether ``task`` ran before: the manifest records its outputs, or its key exists."""
        return self._recorded_outputs(task.key) is not None or (root / task.key).exists()

    def verify(self, root: Path, task: Task) -> str | None:
        """Why ``task``, which ran before, must run again, or ``None`` if its outputs can be kept."""
        if self.rebuild is not None:
            return self._unreadable(root, task)
        outputs = self._recorded_outputs(task.key)
        if outputs is not None:
            recorded = self.jobs[task.key].get("fingerprint", "")
            if recorded != task.fingerprint:
                return f"{MANIFEST_NAME} records it made with other settings (fingerprint {recorded or 'none'})"
            return next(changed_outputs(root, outputs), None)
        if Path(task.key).is_absolute():
            return None
        return f"{MANIFEST_NAME} does not record its outputs (add --rebuild-manifest to verify and keep them)"

    def _unreadable(self, root: Path, task: Task) -> str | None:
        assert self.rebuild is not None
        return next(foreign_outputs(root, task, output_names(root, task), self.rebuild), None)

    def problems(self, root: Path, task: Task, read: Callable[[Path], str | None]) -> Iterator[str]:
        """Everything that keeps ``task`` from counting as finished with the outputs it recorded, said in words
        (``--verify``): no finished record, a record made with other settings, each recorded output missing or
        changed, and each one that ``read`` cannot read or that carries another job's fingerprint. An output in another
        run directory (an absolute key) is checked by reading it.
        """
        if Path(task.key).is_absolute():
            names = [task.key] if Path(task.key).is_file() else []
            yield from (f"{task.key} is missing",) if not names else foreign_outputs(root, task, names, read)
            return
        outputs = self._recorded_outputs(task.key)
        if outputs is None:
            yield f"{task.key}: {MANIFEST_NAME} records no finished job"
            return
        recorded = self.jobs[task.key].get("fingerprint", "")
        if recorded != task.fingerprint:
            yield f"{task.key}: {MANIFEST_NAME} records it made with other settings (fingerprint {recorded or 'none'})"
        intact = []
        for name, record in outputs.items():
            why = _changed_output(root, name, record)
            if why is None:
                intact.append(name)
            else:
                yield why
        yield from foreign_outputs(root, task, intact, read)


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
        lines = [f"{key}: {_last_line(error)}" for key, error in self.failed.items()]
        return (
            f"{len(self.failed)} job(s) failed, {len(self.blocked)} blocked by them; "
            f"errors in manifest.json. " + "; ".join(lines)
        )


class Progress:
    """The work done, in task costs, for the progress bar: finished tasks count in full, running ones by estimate.

    Jobs report nothing while they run (that would need a channel from spawned pool processes and Ray workers back
    to the driver), so a running task is credited with its elapsed time times the pace of the tasks finished in this
    run (their costs over their seconds; ``PRIOR_PACE`` until one has finished), at most ``RUNNING_CAP`` of its cost.
    When it finishes its credit becomes its cost; when it fails, nothing. With costs proportional to run time, the
    bar moves and its ETA holds from the first minute on, not only once whole jobs finish; until the first job ends
    it assumes ``PRIOR_PACE`` (on a slower machine the cap keeps the first estimates from running far ahead).

    :param graph: every task of the run.
    :param finished: keys of the tasks finished before this run: their costs are the initial progress.
    """

    def __init__(self, graph: Sequence[Task], finished: set[str]) -> None:
        self.total = sum(task.cost for task in graph)
        self.done = sum(task.cost for task in graph if task.key in finished)
        self._ran_cost = 0.0
        self._ran_seconds = 0.0
        self._running: dict[str, tuple[Task, float]] = {}

    def start(self, task: Task, now: float) -> None:
        """``task`` starts at time ``now`` (seconds, any monotonic clock)."""
        self._running[task.key] = (task, now)

    def stop(self, task: Task, seconds: float | None) -> None:
        """``task`` finished after running ``seconds``, or failed (``None``)."""
        del self._running[task.key]
        if seconds is not None:
            self.done += task.cost
            self._ran_cost += task.cost
            self._ran_seconds += seconds

    def pace(self) -> float:
        """Work units per second of one worker: observed on the tasks finished in this run, else ``PRIOR_PACE``."""
        return self._ran_cost / self._ran_seconds if self._ran_seconds > 0 else PRIOR_PACE

    def units(self, now: float) -> float:
        """Work done at time ``now``: finished tasks, plus the running tasks' estimated shares."""
        pace = self.pace()
        running = (min(RUNNING_CAP * task.cost, (now - start) * pace) for task, start in self._running.values())
        return self.done + sum(running)


def resumed(graph: Sequence[Task], manifest: Manifest, root: Path) -> set[str]:
    """Keys of the tasks finished in an earlier run: verified by ``manifest``, and every dependency finished too
    (a dependency that runs again changes what the task would make).

    Prints one line for each other task that ran before, saying why it runs again. When the manifest is being
    rebuilt, records each finished task's outputs.
    """
    by_key = {task.key: task for task in graph}
    stale: dict[str, bool] = {}

    def must_run(task: Task) -> bool:
        if task.key not in stale:
            ran = manifest.ran(root, task)
            why = manifest.verify(root, task) if ran else None
            if ran and why is None:
                rerun = (dep for dep in task.deps if must_run(by_key[dep]))
                why = next((f"it depends on {dep}, which runs again" for dep in rerun), None)
            if ran and why is not None:
                print(f"re-running {task.key}: {why}", file=sys.stderr)
            stale[task.key] = not ran or why is not None
        return stale[task.key]

    finished = {task.key for task in graph if not must_run(task)}
    if manifest.rebuild is not None:
        for task in graph:
            if task.key in finished:
                manifest.record_done(root, task, rebuilt=True)
    return finished


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
    :param desc: label of the progress bar, which counts work (``Progress``) and shows running, failed and blocked
        jobs.
    """
    graph = unique_tasks(tasks)
    keys = {task.key for task in graph}
    for task in graph:
        unknown = [dep for dep in task.deps if dep not in keys]
        if unknown:
            raise ValueError(f"task {task.key} depends on tasks not in the graph: {unknown}")
    manifest = manifest or Manifest(root / MANIFEST_NAME)
    finished = resumed(graph, manifest, root)
    result = GraphResult(done=[task.key for task in graph if task.key in finished])
    waiting = [task for task in graph if task.key not in finished]
    attempts: dict[str, int] = {}
    running: dict[Any, Task] = {}
    progress = Progress(graph, finished)
    with tqdm(
        total=progress.total,
        initial=progress.done,
        desc=desc,
        unit="step",
        unit_scale=True,
        smoothing=0,
        dynamic_ncols=True,
    ) as bar:
        while waiting or running:
            for task in list(waiting):
                if len(running) >= backend.capacity:
                    break
                if all(dep in finished for dep in task.deps):
                    waiting.remove(task)
                    running[backend.submit(task)] = task
                    progress.start(task, time.monotonic())
            if not running:  # what still waits depends on a failed task
                for task in waiting:
                    result.blocked.append(task.key)
                    manifest.record(task.key, status="blocked", deps=list(task.deps))
                break
            for handle, outcome in backend.wait(list(running), timeout=0.5):
                task = running.pop(handle)
                attempts[task.key] = attempts.get(task.key, 0) + 1
                if isinstance(outcome, BaseException):
                    progress.stop(task, None)
                    if attempts[task.key] <= retries:
                        waiting.insert(0, task)
                        continue
                    error = "".join(traceback.format_exception(outcome))
                    result.failed[task.key] = error
                    manifest.record(task.key, status="failed", attempts=attempts[task.key], error=error)
                else:
                    progress.stop(task, outcome)
                    finished.add(task.key)
                    result.done.append(task.key)
                    result.ran.append(task.key)
                    manifest.record_done(root, task, attempts=attempts[task.key], seconds=round(outcome, 3))
            bar.n = progress.units(time.monotonic())
            bar.set_postfix(running=len(running), failed=len(result.failed))
        bar.set_postfix(running=0, failed=len(result.failed), blocked=len(result.blocked))
    return result
