"""cobra-lab processes computing on one machine share its cores: each takes cores // (computing processes) torch
threads, never more than it started with, and takes back its own when it stops computing."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from cobra_lab.accel import cores


@pytest.fixture
def registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty registry of computing processes, and this process's thread count put back after the test."""
    monkeypatch.setattr(cores, "registry", lambda: tmp_path)
    monkeypatch.setattr(cores, "usable_cores", lambda: 4)
    threads = torch.get_num_threads()
    torch.set_num_threads(4)  # what the process has when it begins computing
    yield tmp_path
    torch.set_num_threads(threads)


def _dead_pid() -> int:
    """The pid of a process that has exited."""
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(done.stdout)


def test_a_process_takes_its_share_while_computing_and_its_own_threads_after(registry: Path) -> None:
    (registry / str(os.getppid())).touch()  # another process computing
    (registry / str(_dead_pid())).touch()  # one that died without leaving
    with cores.sharing_cores():
        assert torch.get_num_threads() == 2 and cores.computing() == 2
        (registry / "1").touch()  # a third starts (pid 1 is alive): the next share is a third of the cores
        assert cores.take_share() == 1 and torch.get_num_threads() == 1
        with cores.sharing_cores():  # a nested run keeps the registration of the outer one
            pass
        assert (registry / str(os.getpid())).exists()
    assert torch.get_num_threads() == 4 and not (registry / str(os.getpid())).exists()
    assert sorted(path.name for path in registry.iterdir()) == sorted(["1", str(os.getppid())])


def test_a_process_never_takes_more_threads_than_it_started_with(registry: Path) -> None:
    torch.set_num_threads(1)  # a sweep worker given one core
    with cores.sharing_cores():
        assert torch.get_num_threads() == 1


def test_outside_a_run_the_callers_threads_stay(registry: Path) -> None:
    with cores.sharing_cores():  # a run earlier in this process, begun with 4 threads
        pass
    torch.set_num_threads(1)  # a caller pinning its threads, then distilling directly
    assert cores.take_share() == 1 and torch.get_num_threads() == 1
