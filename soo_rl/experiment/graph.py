"""The experiment as a graph of tasks: what each job runs, needs, reads, writes and costs.

The experiment builds the graph; ``soo_rl.runner`` runs it. A :class:`Task` is a module-level function
called as ``fn(root, *args)``; every path it reads or writes is relative to ``root`` (the run or sweep
directory), so the same task can run in place on this machine or in a scratch directory on another
node. A task is finished when the runner's manifest records it as done and its outputs are still as
recorded (``soo_rl.runner.scheduler.Manifest``). Files of a run that cannot be read raise a
:class:`DamagedFileError` naming the file and the remedy.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Task:
    """One job of a graph.

    :param key: unique name: the path (relative to the root) of the output the task writes last.
    :param fn: module-level function called as ``fn(root, *args)``.
    :param args: picklable arguments.
    :param deps: keys of the tasks that must finish first.
    :param inputs: files (relative to the root) the task reads, shipped to nodes without shared storage.
    :param outputs: glob patterns (relative to the root) of what the task writes, returned from such nodes and
        recorded in the manifest; a path in a pattern is escaped (``glob.escape``: a sweep cell may be ``x=[0]``).
    :param cost: the task's work, which the progress bar counts (the experiment's unit: one training env step).
    :param fingerprint: whose its outputs are: a hash of what they depend on (settings, and the jobs it reads from).
        The manifest records it; an output recorded with, or carrying, another fingerprint is not reused.
    """

    key: str
    fn: Callable[..., None]
    args: tuple[Any, ...] = ()
    deps: tuple[str, ...] = ()
    inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    cost: float = 1.0
    fingerprint: str = ""


def unique_tasks(tasks: Iterable[Task]) -> list[Task]:
    """Tasks in order, the first of any repeated key kept (cells of a sweep share their baselines)."""
    seen: dict[str, Task] = {}
    for task in tasks:
        seen.setdefault(task.key, task)
    return list(seen.values())


class DamagedFileError(ValueError):
    """A file of a run that cannot be read; the message names it, the reason and the remedy.

    :param path: the file.
    :param reason: what is wrong with it.
    :param remedy: what the user can do about it.
    """

    def __init__(self, path: Path, reason: str, remedy: str) -> None:
        super().__init__(f"{path} is damaged ({reason}); {remedy}")


def read_json(path: Path, remedy: str) -> Any:
    """The JSON content of ``path``.

    :param path: the file.
    :param remedy: what the user can do if it does not parse.
    :raise DamagedFileError: ``path`` is not valid JSON.
    """
    try:
        return json.loads(path.read_text())
    except ValueError as error:  # JSONDecodeError, UnicodeDecodeError
        raise DamagedFileError(path, str(error), remedy) from None
