"""One process per run directory: an exclusive lock held while a run or sweep works in it."""

from __future__ import annotations

import fcntl
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOCK_NAME = ".lock"


class RunDirectoryBusyError(RuntimeError):
    """Another live process holds the run directory."""


class RunDirectoryError(ValueError):
    """A run directory that cannot be made or written in; the message names it and the remedy."""


def _create(directory: Path) -> None:
    """Make ``directory`` (and its parents).

    :raise RunDirectoryError: it is a file, or below one, or cannot be made.
    """
    if directory.exists() and not directory.is_dir():
        raise RunDirectoryError(f"{directory} is a file, not a directory; choose another directory")
    file = next((parent for parent in directory.parents if parent.is_file()), None)
    if file is not None:
        raise RunDirectoryError(f"{directory} cannot be a directory: {file} is a file; choose another directory")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise RunDirectoryError(f"cannot make {directory} ({error.strerror}); choose another directory") from None


@contextmanager
def run_dir_lock(directory: Path) -> Iterator[None]:
    """Hold ``directory``'s lock for the duration of the block; fail at once if another process holds it.

    The lock is an OS file lock (``flock``) on ``directory/.lock``, which records its holder (pid, host,
    start time). The OS releases it when its process ends, however it ends, so a lock left by a process
    that is gone is simply taken over.

    :raise RunDirectoryBusyError: naming the holder, if a live process holds the lock.
    :raise RunDirectoryError: ``directory`` is a file, below one, or cannot be written in.
    """
    _create(directory)
    path = directory / LOCK_NAME
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as error:
        raise RunDirectoryError(
            f"cannot write in {directory} ({error.strerror}); make it writable or choose another directory"
        ) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = path.read_text().strip() or "an unknown process"
        os.close(fd)
        raise RunDirectoryBusyError(
            f"{directory} is in use by {holder}; wait for it to finish or choose another directory"
        ) from None
    try:
        os.ftruncate(fd, 0)
        started = time.strftime("%Y-%m-%d %H:%M:%S")
        os.write(fd, f"process {os.getpid()} on {socket.gethostname()} (since {started})\n".encode())
        yield
    finally:
        os.ftruncate(fd, 0)
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
