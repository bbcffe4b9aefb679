"""Run scheduler tasks as Ray tasks on an existing cluster (``pip install soo-rl[ray]``).

Without shared storage a task runs in a scratch directory on its node: the driver sends the files
the task reads and writes back the files it produced, atomically, into the run directory, so the
results land exactly where the local backend puts them. With ``storage`` (a directory every node
mounts at the same path) tasks read and write there directly, and the driver copies each finished
task's outputs into the run directory (nothing to copy when the two are the same directory).
"""

from __future__ import annotations

import glob
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from envs.generic.io import atomic_path
from soo_rl.experiment.graph import Task
from soo_rl.runner.scheduler import Outcome, execute, matches

Files = dict[str, bytes]


def collect(root: Path, patterns: Sequence[str]) -> Files:
    """Every file under ``root`` matched by the glob ``patterns`` (directories are walked), by relative path."""
    files: Files = {}
    for name in matches(root, patterns):
        match = root / name
        for path in sorted(match.rglob("*")) if match.is_dir() else [match]:
            if path.is_file():
                files[str(path.relative_to(root))] = path.read_bytes()
    return files


def write_files(root: Path, files: Files) -> None:
    """Write ``files`` (relative path to bytes) under ``root``, each atomically."""
    for name, data in files.items():
        with atomic_path(root / name) as tmp:
            tmp.write_bytes(data)


def run_shipped(task: Task, inputs: Files) -> tuple[float, Files]:
    """Run ``task`` in a scratch directory holding ``inputs``; return its seconds and its outputs."""
    with tempfile.TemporaryDirectory(prefix="soo-rl-task-") as scratch:
        root = Path(scratch)
        write_files(root, inputs)
        seconds = execute(task.fn, root, task.args)
        return seconds, collect(root, task.outputs)


class RayBackend:
    """Ray tasks of one CPU each, on the cluster at ``address`` (``"auto"``: the one this machine belongs to).

    :param root: the run directory of the driver.
    :param address: passed to ``ray.init``; ``None`` starts a local Ray instance.
    :param storage: a directory shared by every node (same path everywhere), or ``None`` to ship files.
    :param num_cpus: CPUs of a local instance (only when ``address`` is ``None``).
    """

    def __init__(
        self, root: Path, address: str | None, storage: Path | None = None, num_cpus: int | None = None
    ) -> None:
        try:
            import ray
        except ImportError:
            raise ImportError("the Ray backend needs Ray: pip install 'soo-rl[ray]'") from None
        self.ray: Any = ray  # Ray's stubs do not cover the calls used here
        self.root = root
        self.storage = storage
        if storage is not None:
            storage.mkdir(parents=True, exist_ok=True)
        self._started = not self.ray.is_initialized()
        if self._started:
            self.ray.init(address=address, num_cpus=num_cpus, include_dashboard=False, log_to_driver=False)
        self.capacity = max(1, int(self.ray.cluster_resources().get("CPU", 1)))
        self._in_place = self.ray.remote(num_cpus=1, max_retries=0)(execute)
        self._shipped = self.ray.remote(num_cpus=1, max_retries=0)(run_shipped)
        self._tasks: dict[Any, Task] = {}

    def submit(self, task: Task) -> Any:
        if self.storage is not None:
            missing = [name for name in task.inputs if not (self.storage / name).exists()]
            # inputs made before the sweep used storage
            write_files(self.storage, collect(self.root, [glob.escape(name) for name in missing]))
            ref = self._in_place.remote(task.fn, self.storage, task.args)
        else:
            inputs = {name: (self.root / name).read_bytes() for name in task.inputs}
            ref = self._shipped.remote(task, inputs)
        self._tasks[ref] = task
        return ref

    def wait(self, handles: Sequence[Any], timeout: float) -> list[tuple[Any, Outcome]]:
        ready, rest = self.ray.wait(list(handles), num_returns=1, timeout=timeout)
        if ready and rest:  # collect every other task that has finished too
            ready += self.ray.wait(rest, num_returns=len(rest), timeout=0)[0]
        finished: list[tuple[Any, Outcome]] = []
        for ref in ready:
            task = self._tasks.pop(ref)
            try:
                value = self.ray.get(ref)
            except Exception as error:  # the task's own error, or its worker's death
                finished.append((ref, error))
                continue
            if self.storage is None:
                seconds, files = value
                write_files(self.root, files)
            else:
                seconds = value
                if self.storage.resolve() != self.root.resolve():
                    write_files(self.root, collect(self.storage, task.outputs))
            finished.append((ref, seconds))
        return finished

    def close(self) -> None:
        if self._started:
            self.ray.shutdown()
