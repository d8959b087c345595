"""Exclusive locks on the runs and distilled sets of a shared store, so two processes compute each once.

What makes a lock hold across nodes that share a filesystem (NFS, Lustre, CephFS...):

- A lock is a file created with ``O_CREAT | O_EXCL``, which is atomic on local filesystems and on NFS v3 and
  later (fcntl/flock locks are not reliable on every network filesystem, and die with the NFS client).
  It holds the holder's hostname, pid, start time and a random token.
- While it is held, a thread touches the file every ``HEARTBEAT_SECONDS`` (its modification time, set by the
  file server on a network filesystem).
- A waiter takes the lock over when its holder died: on the same host as soon as the pid is gone (or a
  zombie, or reused by a process that started later); from another host when the file's modification time
  has not changed for ``STALE_SECONDS`` as measured by the waiter's own clock, so the nodes' clocks need not
  agree. Hostnames must tell the nodes apart (containers sharing a store need distinct hostnames).
- A take-over goes through a second ``O_EXCL`` file (``<lock>.break``) and removes the lock only if it is
  still the very file judged dead, so two waiters never both take one lock.
"""
from __future__ import annotations

import json
import os
import socket
import sys
import threading
import time
import uuid
from pathlib import Path

from tqdm.auto import tqdm

HEARTBEAT_SECONDS = 10.0
STALE_SECONDS = 120.0
POLL_SECONDS = (0.05, 2.0)  # first and longest pause between attempts


def process_start(pid: int) -> int | None:
    """When process ``pid`` of this host started (clock ticks since boot, from /proc), so a pid reused by a
    later process is told apart; None where /proc cannot tell."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[19])
    except (OSError, IndexError, ValueError):
        return None


def pid_alive(pid: int, start: int | None = None) -> bool:
    """Whether process ``pid`` runs on this host (a zombie counts as dead), and started at ``start`` if given."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return True
    return fields[0] != "Z" and (start is None or fields[19] == str(start))


def _stamp(path: Path) -> tuple[int, int] | None:
    """(inode, mtime in ns) of ``path``, None if it is gone: a change means a new or refreshed lock."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return stat.st_ino, stat.st_mtime_ns


def _create(path: Path, text: str) -> bool:
    """Create ``path`` holding ``text`` if it does not exist; False if it does."""
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return False
    try:
        os.write(fd, text.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    return True


def _holder(path: Path) -> dict | None:
    """The holder recorded in a lock file, None if gone or not yet written."""
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) else None


class _Unchanged:
    """How long, by this process's clock, a file has kept the same stamp."""

    def __init__(self) -> None:
        self.stamp: tuple[int, int] | None = None
        self.since = 0.0

    def seconds(self, stamp: tuple[int, int]) -> float:
        if stamp != self.stamp:
            self.stamp, self.since = stamp, time.monotonic()
        return time.monotonic() - self.since


class FileLock:
    """An exclusive lock held as the file ``path`` (see the module docstring); ``with lock:`` waits for it."""

    def __init__(self, path: str | Path, what: str) -> None:
        self.path = Path(path)
        self.what = what
        self.host = socket.gethostname()
        self.token = uuid.uuid4().hex
        self.waited = False
        self._guard_unchanged = _Unchanged()
        self._stop = threading.Event()
        self._heartbeat: threading.Thread | None = None

    def acquire(self, timeout: float | None = None) -> bool:
        """Take the lock, waiting while a live holder has it; False if ``timeout`` seconds pass first."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        record = json.dumps({"host": self.host, "pid": os.getpid(), "start": process_start(os.getpid()),
                             "token": self.token, "since": time.strftime("%Y-%m-%d %H:%M:%S")})
        began, pause, unchanged = time.monotonic(), POLL_SECONDS[0], _Unchanged()
        while True:
            if _create(self.path, record):
                self._start_heartbeat()
                return True
            stamp = _stamp(self.path)
            if stamp is None:
                continue  # released meanwhile: try again at once
            holder = _holder(self.path)
            if self._dead(holder) or (unchanged.seconds(stamp) > STALE_SECONDS and not self._known_alive(holder)):
                self._break(stamp, holder)
                continue
            if not self.waited:
                self.waited = True
                who = f"{holder['host']} pid {holder['pid']}" if holder else "another process"
                tqdm.write(f"cobra-lab: waiting for {self.what}, being computed by {who}", file=sys.stderr)
            left = None if timeout is None else timeout - (time.monotonic() - began)
            if left is not None and left <= 0:
                return False
            time.sleep(pause if left is None else min(pause, left))
            pause = min(pause * 2, POLL_SECONDS[1])

    def _local(self, holder: dict | None) -> bool:
        """Whether ``holder`` ran on this host, with a pid and process start time to check."""
        return bool(holder) and holder.get("host") == self.host and isinstance(holder.get("pid"), int) \
            and isinstance(holder.get("start"), int)

    def _dead(self, holder: dict | None) -> bool:
        """Whether ``holder`` ran on this host and its process is gone."""
        return self._local(holder) and not pid_alive(holder["pid"], holder["start"])  # type: ignore[index]

    def _known_alive(self, holder: dict | None) -> bool:
        """Whether ``holder`` is a live process of this host (then a missed heartbeat, say of a suspended
        process, does not make its lock stale)."""
        return self._local(holder) and pid_alive(holder["pid"], holder["start"])  # type: ignore[index]

    def _break(self, stamp: tuple[int, int], holder: dict | None) -> None:
        """Remove the dead lock with ``stamp``, unless another waiter is already at it or it changed meanwhile."""
        guard = self.path.with_name(self.path.name + ".break")
        if not _create(guard, json.dumps({"host": self.host, "pid": os.getpid()})):
            guard_stamp = _stamp(guard)
            if guard_stamp is not None and self._guard_unchanged.seconds(guard_stamp) > STALE_SECONDS:
                guard.unlink(missing_ok=True)  # a breaker died within its few lines below
            time.sleep(POLL_SECONDS[0])
            return
        try:
            if _stamp(self.path) == stamp and _holder(self.path) == holder:
                self.path.unlink(missing_ok=True)
        finally:
            guard.unlink(missing_ok=True)

    def _start_heartbeat(self) -> None:
        self._stop.clear()
        self._heartbeat = threading.Thread(target=self._beat, name=f"lock {self.path.name}", daemon=True)
        self._heartbeat.start()

    def _beat(self) -> None:
        """Touch the lock file while it is ours."""
        while not self._stop.wait(HEARTBEAT_SECONDS):
            if not self._owned():
                return
            try:
                os.utime(self.path)
            except OSError:
                return

    def _owned(self) -> bool:
        holder = _holder(self.path)
        return bool(holder) and holder.get("token") == self.token

    def release(self) -> None:
        """Stop the heartbeat and remove the lock file if it is still ours."""
        self._stop.set()
        if self._heartbeat is not None:
            self._heartbeat.join()
            self._heartbeat = None
        if self._owned():
            self.path.unlink(missing_ok=True)

    def __enter__(self) -> "FileLock":
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
