"""CPU work split over threads, one per core, each running torch with a single intra-op thread."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import torch

_POOLS: dict[int, ThreadPoolExecutor] = {}  # kept between calls: one pool per worker count


def single_threaded_pool(workers: int) -> ThreadPoolExecutor:
    """A kept pool of ``workers`` threads whose torch ops each use one intra-op thread.

    On a small CPU, torch's intra-op threads split every small, memory-bound op (norms, pooling, ReLU) and
    wait for each other; two chunks of a pass run side by side instead keep one core and its cache each.
    """
    if workers not in _POOLS:
        _POOLS[workers] = ThreadPoolExecutor(workers, thread_name_prefix="cobra-lab",
                                             initializer=torch.set_num_threads, initargs=(1,))
    return _POOLS[workers]
