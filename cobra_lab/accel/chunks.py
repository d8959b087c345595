"""Splitting a batch sorted by cell into chunks: runs of one cell, and chunks that keep runs whole."""
from __future__ import annotations

import torch


def cell_runs(cell: torch.Tensor) -> tuple[list[int], list[int]]:
    """Cell id and length of each run of equal consecutive entries of cell [R]."""
    ids, lengths = torch.unique_consecutive(cell, return_counts=True)
    return ids.tolist(), lengths.tolist()


def cell_aligned_chunks(cell: torch.Tensor, chunk: int) -> list[tuple[int, int]]:
    """(start, stop) chunks of at most ``chunk`` rows of cell [R] that split a run of one cell only when the run
    alone is longer than ``chunk``."""
    chunks, start, stop = [], 0, 0
    for length in cell_runs(cell)[1]:
        while length > 0:
            if stop - start == chunk or (stop > start and stop - start + length > chunk):
                chunks.append((start, stop))
                start = stop
            step = min(length, chunk - (stop - start))
            stop, length = stop + step, length - step
    return chunks + [(start, stop)] if stop > start else chunks
