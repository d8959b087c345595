"""The CPU cores shared between the cobra-lab processes computing on one machine.

Torch gives every process one thread per core, so two runs side by side put two threads on each core, and the
threads of each op wait for ones that are not running. A process computing a run registers itself (a file named
by its pid in a per-user folder of the temporary folder) and takes ``cores // computing processes`` threads, never
more than it had when it began computing (a sweep's workers and Ray's tasks start with their share); it takes its
share again before each phase of a run, so runs that started alone give cores back to runs that start later.
Outside a run (``sharing_cores``) nothing changes a caller's thread count: a direct ``loops.distill`` keeps the
threads its caller set.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import torch

from ..locks import pid_alive

_START: dict[str, int] = {}  # the torch threads this process had when its outermost sharing_cores block began


def registry() -> Path:
    """The folder where the computing cobra-lab processes of this user on this machine are registered."""
    return Path(tempfile.gettempdir()) / f"cobra-lab-computing-{os.getuid()}"


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def computing() -> int:
    """How many registered processes are alive (files of processes that died without leaving are removed)."""
    count = 0
    for entry in registry().glob("*"):
        if entry.name.isdigit() and pid_alive(int(entry.name)):
            count += 1
        else:
            with contextlib.suppress(OSError):
                entry.unlink()
    return count


def take_share() -> int:
    """Inside ``sharing_cores``, set this process's torch threads to its share of the cores now (at most what it
    had when the block began); elsewhere change nothing. Returns the threads it has."""
    if "threads" not in _START:
        return torch.get_num_threads()
    threads = max(1, min(_START["threads"], usable_cores() // max(1, computing())))
    if threads != torch.get_num_threads():
        torch.set_num_threads(threads)
    return threads


@contextlib.contextmanager
def sharing_cores() -> Iterator[None]:
    """Inside the block this process counts as computing and takes its share of the cores; after it, it takes
    back the threads it had before. Without a writable temporary folder it runs unregistered."""
    entry = registry() / str(os.getpid())
    if "threads" in _START:  # an outer block of this process registered it and gives the threads back
        yield
        return
    _START["threads"] = torch.get_num_threads()
    try:
        registry().mkdir(parents=True, exist_ok=True)
        entry.touch()
    except OSError:
        entry = None
    take_share()
    try:
        yield
    finally:
        if entry is not None:
            with contextlib.suppress(OSError):
                entry.unlink()
        torch.set_num_threads(_START.pop("threads"))
