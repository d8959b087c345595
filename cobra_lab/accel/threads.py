"""CPU work split over threads, one per core, each running torch with a single intra-op thread."""
from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

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


@contextmanager
def one_thread() -> Iterator[None]:
    """Torch ops of the calling thread use one intra-op thread inside the block (then the previous count).

    For the caller's own work while a ``single_threaded_pool`` keeps every core busy: a team of intra-op
    threads started then waits for cores the workers hold, and its spinning slows them.
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
