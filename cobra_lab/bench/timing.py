"""Wall times of repeated calls, with queued GPU work waited for."""
from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Hashable

import torch


def synchronize(device: torch.device) -> None:
    """Wait for queued CUDA work, so wall times cover it."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed_call(call: Callable[[], object], device: torch.device) -> float:
    """Seconds one call takes, its queued device work included."""
    synchronize(device)
    start = time.perf_counter()
    call()
    synchronize(device)
    return time.perf_counter() - start


def median_seconds(call: Callable[[], object], steps: int, warmup: int, device: torch.device) -> float:
    """Median wall time of ``steps`` calls after ``warmup`` untimed ones."""
    for _ in range(warmup):
        call()
    return statistics.median(timed_call(call, device) for _ in range(steps))


def interleaved_times(calls: dict[Hashable, Callable[[], object]], count: int, warmup: int,
                      device: torch.device) -> dict[Hashable, list[float]]:
    """Wall times of each call over ``count`` rounds that time every call once, in turn, after ``warmup`` untimed
    rounds; the machine's speed drifting during the run then affects every call alike."""
    for _ in range(warmup):
        for call in calls.values():
            call()
    times: dict[Hashable, list[float]] = {key: [] for key in calls}
    for _ in range(count):
        for key, call in calls.items():
            times[key].append(timed_call(call, device))
    return times
