"""Freed CPU memory kept for reuse: glibc's malloc tuned so that tensors of a few MiB stop costing page faults.

By default glibc's malloc returns a large freed block to the system and maps fresh, zeroed pages the next time
a block of that size is asked for; how large "large" is drifts with what the process freed before. A training
step frees and allocates activations of a few MiB over and over, so each eager op and each compiled pass can
pay for page faults, more or fewer from one process to the next (costly in virtual machines). Tuned, blocks
of up to 32 MiB (glibc's largest setting) come from malloc's heap, and up to 256 MiB of freed heap is kept
for the next step. It changes no result, only where freed memory goes; ``COBRA_LAB_KEEP_MEMORY=0`` leaves
malloc as it is.
"""
from __future__ import annotations

import ctypes
import os
import sys

from ..errors import check_choice

M_TRIM_THRESHOLD = -1  # mallopt's parameter numbers (malloc.h)
M_MMAP_THRESHOLD = -3
HEAP_BLOCKS_UP_TO = 32 << 20  # bytes: the largest mmap threshold glibc accepts on 64-bit systems
KEEP_FREED = 256 << 20  # bytes of freed heap kept before malloc returns any to the system

_STATE: dict[str, bool] = {}


def keep_freed_memory() -> bool:
    """Tune glibc's malloc for this process, once (see the module's docstring); whether it is tuned (False
    without glibc's ``mallopt`` or with ``COBRA_LAB_KEEP_MEMORY=0``; another value than 0 or 1 is a UserError)."""
    setting = check_choice("COBRA_LAB_KEEP_MEMORY", os.environ.get("COBRA_LAB_KEEP_MEMORY", "1"), ("0", "1"))
    if "tuned" not in _STATE:
        _STATE["tuned"] = setting == "1" and _mallopt()
    return _STATE["tuned"]


def _mallopt() -> bool:
    """Set both thresholds with glibc's ``mallopt``; False where the C library has none."""
    if not sys.platform.startswith("linux"):
        return False
    mallopt = getattr(ctypes.CDLL(None), "mallopt", None)
    if mallopt is None:
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, HEAP_BLOCKS_UP_TO)) and bool(mallopt(M_TRIM_THRESHOLD, KEEP_FREED))
