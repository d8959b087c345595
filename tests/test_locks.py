"""Store locks: a live holder is waited for, a dead one (same host: pid gone; other host: no heartbeat) is
taken over, and the heartbeat keeps a live lock from looking dead."""
from __future__ import annotations

import json
import multiprocessing
import os
import threading
import time
from pathlib import Path

import pytest

from cobra_lab import locks
from cobra_lab.locks import FileLock


def _hold(path: str, held, release) -> None:
    lock = FileLock(path, "test")
    lock.acquire()
    held.set()
    release.wait(60)
    lock.release()


def _hold_and_die(path: str, held) -> None:
    FileLock(path, "test").acquire()
    held.set()
    time.sleep(60)  # killed meanwhile, without releasing


def test_a_held_lock_is_waited_for_then_taken(tmp_path: Path, capfd: pytest.CaptureFixture) -> None:
    context = multiprocessing.get_context("spawn")
    held, release = context.Event(), context.Event()
    holder = context.Process(target=_hold, args=(str(tmp_path / ".lock"), held, release))
    holder.start()
    assert held.wait(60)
    lock = FileLock(tmp_path / ".lock", "run x")
    assert not lock.acquire(timeout=0.3)
    err = capfd.readouterr().err.strip().splitlines()
    assert err == [f"cobra-lab: waiting for run x, being computed by {lock.host} pid {holder.pid}"]
    release.set()
    assert lock.acquire(timeout=60)
    holder.join(60)
    assert json.loads((tmp_path / ".lock").read_text())["token"] == lock.token
    lock.release()
    assert not (tmp_path / ".lock").exists()


def test_a_lock_whose_holder_was_killed_is_taken_over(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    held = context.Event()
    holder = context.Process(target=_hold_and_die, args=(str(tmp_path / ".lock"), held))
    holder.start()
    assert held.wait(60)
    holder.kill()
    holder.join(60)
    lock = FileLock(tmp_path / ".lock", "run x")
    assert lock.acquire(timeout=30)  # the pid is gone: no need to wait for the heartbeat to go stale
    lock.release()


def write_foreign_lock(path: Path) -> None:
    path.write_text(json.dumps({"host": "another-node", "pid": os.getpid(), "token": "theirs"}))


def test_a_lock_from_another_node_is_taken_over_when_its_heartbeat_stops(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(locks, "STALE_SECONDS", 0.5)
    write_foreign_lock(tmp_path / ".lock")
    lock = FileLock(tmp_path / ".lock", "run x")
    assert lock.acquire(timeout=30)
    assert json.loads((tmp_path / ".lock").read_text())["token"] == lock.token
    lock.release()


def test_a_lock_from_another_node_with_a_heartbeat_is_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(locks, "STALE_SECONDS", 0.5)
    path = tmp_path / ".lock"
    write_foreign_lock(path)
    beating = threading.Event()

    def heartbeat() -> None:
        while not beating.wait(0.05):
            os.utime(path, ns=(time.time_ns(), time.time_ns()))

    thread = threading.Thread(target=heartbeat)
    thread.start()
    try:
        assert not FileLock(path, "run x").acquire(timeout=2.0)  # four stale periods
    finally:
        beating.set()
        thread.join()
    assert json.loads(path.read_text())["token"] == "theirs"


def test_the_holder_touches_its_lock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(locks, "HEARTBEAT_SECONDS", 0.05)
    lock = FileLock(tmp_path / ".lock", "run x")
    assert lock.acquire(timeout=1)
    os.utime(tmp_path / ".lock", ns=(0, 0))
    deadline = time.monotonic() + 10
    while (tmp_path / ".lock").stat().st_mtime_ns == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert (tmp_path / ".lock").stat().st_mtime_ns != 0
    lock.release()
    assert not (tmp_path / ".lock").exists()


def test_release_leaves_a_lock_that_is_not_ours(tmp_path: Path) -> None:
    lock = FileLock(tmp_path / ".lock", "run x")
    assert lock.acquire(timeout=1)
    write_foreign_lock(tmp_path / ".lock")  # taken over meanwhile (judged dead)
    lock.release()
    assert json.loads((tmp_path / ".lock").read_text())["token"] == "theirs"


def write_local_lock(path: Path, start: int | None) -> None:
    path.write_text(json.dumps({"host": FileLock(path, "").host, "pid": os.getpid(), "start": start,
                                "token": "mine"}))


@pytest.mark.skipif(locks.process_start(os.getpid()) is None, reason="needs /proc to tell processes apart")
def test_a_reused_pid_does_not_keep_a_dead_lock(tmp_path: Path) -> None:
    write_local_lock(tmp_path / ".lock", locks.process_start(os.getpid()) - 1)  # this pid, an earlier process
    assert FileLock(tmp_path / ".lock", "run x").acquire(timeout=30)


@pytest.mark.skipif(locks.process_start(os.getpid()) is None, reason="needs /proc to tell processes apart")
def test_a_live_local_holder_keeps_its_lock_without_a_heartbeat(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(locks, "STALE_SECONDS", 0.2)  # a suspended holder (Ctrl-Z) misses its heartbeats
    write_local_lock(tmp_path / ".lock", locks.process_start(os.getpid()))
    assert not FileLock(tmp_path / ".lock", "run x").acquire(timeout=1.0)
