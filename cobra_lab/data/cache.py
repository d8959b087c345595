"""On-disk cache of built tensors: read when intact, else rebuilt and written atomically."""
from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable
from pathlib import Path

import torch

from ..io import atomic_torch_save, torch_load


def _read(path: Path, keys: Iterable[str]) -> dict[str, torch.Tensor] | None:
    """The tensors stored at ``path``, or None if it is absent, unreadable or lacks one of ``keys``."""
    if not path.is_file():
        return None
    try:
        stored = torch_load(path)
    except Exception:  # truncated or corrupt file (zip, pickle, EOF errors...): treat as absent
        return None
    if not isinstance(stored, dict) or any(not isinstance(stored.get(key), torch.Tensor) for key in keys):
        return None
    return stored


def cached(path: Path, keys: Iterable[str], build: Callable[[], dict[str, torch.Tensor]],
           enabled: bool = True) -> dict[str, torch.Tensor]:
    """``build()``'s tensors, read from ``path`` when an intact copy is there, else built and saved there."""
    keys = tuple(keys)
    stored = _read(path, keys) if enabled else None
    if stored is not None:
        return stored
    tensors = build()
    if enabled:
        try:
            atomic_torch_save(path, tensors)
        except OSError as err:
            warnings.warn(f"could not write the data cache {path} ({err}); continuing without it", stacklevel=2)
    return tensors
