"""On-disk cache of built tensors: read when intact (checksum and keys), else rebuilt and written, checked."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import torch

from ..errors import warn
from ..integrity import DamagedFile, expect, move_aside, parse_torch, read_checked, save_torch
from ..locks import FileLock


def _read(path: Path, keys: tuple[str, ...], repair: bool) -> dict[str, torch.Tensor] | None:
    """The tensors stored at ``path``, or None if absent or damaged (with ``repair``: reported and moved aside)."""
    def check(stored: object) -> None:
        expect(isinstance(stored, dict), "does not hold a mapping of tensors")
        missing = [key for key in keys if not isinstance(stored.get(key), torch.Tensor)]  # type: ignore[union-attr]
        expect(not missing, f"lacks {', '.join(missing)}")

    try:
        return read_checked(path, parse_torch, check)
    except DamagedFile as damage:
        if repair:
            move_aside(damage, "rebuilding the data cache")
        return None


def _warn_uncached(path: Path, error: OSError) -> None:
    """One warning line: the data cache at ``path`` could not be written (why), and the run goes on without it."""
    warn(f"could not write the data cache {path} ({error.strerror or error}); continuing without it")


def cached(path: Path, keys: Iterable[str], build: Callable[[], dict[str, torch.Tensor]],
           enabled: bool = True) -> dict[str, torch.Tensor]:
    """``build()``'s tensors, read from ``path`` when an intact copy is there, else built and saved there
    (under a lock, so processes sharing the cache build each file once)."""
    keys = tuple(keys)
    stored = _read(path, keys, repair=False) if enabled else None
    if stored is not None:
        return stored
    if not enabled:
        return build()
    lock = FileLock(path.with_name(path.name + ".lock"), f"data cache {path.name}")
    try:
        lock.acquire()
    except OSError as err:
        _warn_uncached(path, err)
        return build()
    try:
        stored = _read(path, keys, repair=True)
        if stored is not None:
            return stored
        tensors = build()
        try:
            save_torch(path, tensors)
        except OSError as err:
            _warn_uncached(path, err)
        return tensors
    finally:
        lock.release()
