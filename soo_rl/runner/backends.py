"""Choose where a graph's tasks run."""

from __future__ import annotations

from pathlib import Path

from soo_rl.runner.ray_backend import RayBackend
from soo_rl.runner.scheduler import Backend, LocalBackend


def make_backend(root: Path, workers: int, ray: str | None = None, storage: Path | None = None) -> Backend:
    """The local process pool of ``workers``, or Ray when ``ray`` is set.

    :param root: the run or sweep directory the tasks' paths are relative to.
    :param workers: local worker processes, or the CPUs of a Ray instance started here (``ray="local"``).
    :param ray: ``None`` (local pool), ``"local"`` (start Ray here), ``"auto"`` or an address (join a cluster).
    :param storage: with Ray: a directory every node mounts at the same path.
    """
    if ray is None:
        return LocalBackend(root, workers)
    if ray == "local":
        return RayBackend(root, None, storage, num_cpus=workers)
    return RayBackend(root, ray, storage)
