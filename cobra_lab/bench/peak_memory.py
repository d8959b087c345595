"""Peak memory of one call: the CUDA allocator's peak on a GPU; on the CPU the resident set's high-water mark,
measured in a fresh process so that nothing measured before counts."""
from __future__ import annotations

import gc
import multiprocessing
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import torch

from .timing import synchronize

CLEAR_REFS = Path("/proc/self/clear_refs")


class Peak(NamedTuple):
    """Peak memory of one call (MB): its growth above what was held before the call, and the whole peak."""

    growth_mb: float
    total_mb: float


def cuda_peak_mb(call: Callable[[], object], device: torch.device) -> Peak:
    """Peak CUDA memory allocated during one call: above what was allocated before it, and in all (MB)."""
    synchronize(device)
    torch.cuda.reset_peak_memory_stats(device)
    before = torch.cuda.memory_allocated(device)
    call()
    synchronize(device)
    peak = torch.cuda.max_memory_allocated(device)
    return Peak((peak - before) / 2**20, peak / 2**20)


def proc_status_mb(field: str) -> float:
    """A memory field of /proc/self/status (VmRSS, VmHWM) in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(field)


def rss_peak_mb(call: Callable[[], object]) -> Peak:
    """Peak resident set during one call: its growth and the whole process's peak (MB); the kernel's high-water
    mark is reset just before the call."""
    gc.collect()
    CLEAR_REFS.write_text("5")  # resets VmHWM to the current RSS (Linux >= 4.0)
    before = proc_status_mb("VmRSS")
    call()
    peak = proc_status_mb("VmHWM")
    return Peak(peak - before, peak)


def rss_peak_available() -> bool:
    """Whether this kernel lets ``rss_peak_mb`` reset the high-water mark (Linux's /proc/self/clear_refs)."""
    return CLEAR_REFS.exists()


def in_fresh_process(function: Callable[..., object], *args: object) -> object:
    """``function(*args)`` run in a freshly started Python process, so that no memory this process holds counts;
    ``function`` must be importable and its arguments picklable."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(function, args)
