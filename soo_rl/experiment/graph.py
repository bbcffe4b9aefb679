"""The experiment as a graph of tasks: what each job runs, needs, reads and writes.

The experiment builds the graph; ``soo_rl.runner`` runs it. A :class:`Task` is a module-level function
called as ``fn(root, *args)``; every path it reads or writes is relative to ``root`` (the run or sweep
directory), so the same task can run in place on this machine or in a scratch directory on another
node. A task is finished when its ``key`` (its last-written output, relative to ``root``) exists.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Task:
    """One job of a graph.

    :param key: unique name: the path (relative to the root) of the output the task writes last.
    :param fn: module-level function called as ``fn(root, *args)``.
    :param args: picklable arguments.
    :param deps: keys of the tasks that must finish first.
    :param inputs: files (relative to the root) the task reads, shipped to nodes without shared storage.
    :param outputs: glob patterns (relative to the root) of what the task writes, returned from such nodes.
    """

    key: str
    fn: Callable[..., None]
    args: tuple[Any, ...] = ()
    deps: tuple[str, ...] = ()
    inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()


def unique_tasks(tasks: Iterable[Task]) -> list[Task]:
    """Tasks in order, the first of any repeated key kept (cells of a sweep share their baselines)."""
    seen: dict[str, Task] = {}
    for task in tasks:
        seen.setdefault(task.key, task)
    return list(seen.values())
