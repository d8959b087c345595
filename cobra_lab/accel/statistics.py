"""Per-cell statistics of a batch, computed the fast way for its device: what the methods call.

A method says what it computes (a mean embedding, a cross-entropy gradient); these functions decide how:
chunks of real images, one single-threaded worker per core on the CPU, per-image sums on a GPU, compiled or
eager passes, all from an explicit ``Acceleration``. Each returns what one eager pass over the whole batch
returns, to float rounding, and the same result every time for the same input.
"""
from __future__ import annotations

import contextlib
import copy
import threading
from collections.abc import Callable

import torch
from torch import nn

from .chunks import cell_aligned_chunks
from .compiled import compiled_or_eager, frozen_embedder
from .compiled_gradients import compiled_class_gradients
from .gradients import batch_cell_gradients, image_summed_gradients, run_gradients
from .settings import CPU_CHUNK, Acceleration
from .threads import one_thread, single_threaded_pool


def embedder(net: nn.Module, acceleration: Acceleration,
             chunk: int | None = None) -> Callable[[torch.Tensor], torch.Tensor]:
    """``net.embed`` of a frozen net; compiled (chunks padded to ``chunk`` rows) when ``acceleration`` compiles."""
    return frozen_embedder(net, chunk) if acceleration.compiles() else net.embed


def embeddings(net: nn.Module, x: torch.Tensor, acceleration: Acceleration) -> torch.Tensor:
    """``net.embed(x)`` [N, D] of a frozen net for images x [N, C, H, W], differentiable w.r.t. x."""
    return embedder(net, acceleration)(x)


def cell_means(net: nn.Module, x: torch.Tensor, cell: torch.Tensor, sizes: torch.Tensor,
               acceleration: Acceleration, cpu_chunk: int = CPU_CHUNK) -> torch.Tensor:
    """Mean embedding [K, D] of each cell's images x [R, C, H, W] under the frozen ``net`` (cell [R] in 0..K-1,
    sizes [K] images per cell; an empty cell's mean is 0), without gradients, in chunks of real images."""
    cell = cell.to(x.device)
    chunk = acceleration.chunk(x.device, cpu_chunk)
    embed = embedder(net, acceleration, chunk if chunk < x.shape[0] else None)  # pad short chunks only
    with torch.no_grad():
        sums = None
        for start in range(0, x.shape[0], chunk):
            rows = embed(x[start:start + chunk])  # [r, D]
            if sums is None:
                sums = rows.new_zeros(sizes.numel(), rows.shape[1])  # [K, D]
            sums.index_add_(0, cell[start:start + chunk], rows)
        return sums / sizes.flatten().clamp_min(1).to(sums).unsqueeze(1)


def cell_layer_means(net: nn.Module, x: torch.Tensor, cell: torch.Tensor, sizes: torch.Tensor,
                     acceleration: Acceleration, cpu_chunk: int = CPU_CHUNK) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean of every layer feature (``net.taps``, each flattened, concatenated) [K, D] of each cell's images
    x [R, C, H, W] (cell [R] in 0..K-1, sizes [K]; an empty cell's mean is 0), and each image's embedding [R, E]
    (the last tap), without gradients, in chunks of real images."""
    cell = cell.to(x.device)
    chunk = acceleration.chunk(x.device, cpu_chunk)
    sums, embeddings = None, []
    with torch.no_grad():
        for start in range(0, x.shape[0], chunk):
            taps = [tap.flatten(1) for tap in net.taps(x[start:start + chunk])]  # [[r, D_k] per tap]
            if sums is None:
                sums = taps[0].new_zeros(sizes.numel(), sum(tap.shape[1] for tap in taps))  # [K, D]
            column = 0
            for tap in taps:
                sums[:, column:column + tap.shape[1]].index_add_(0, cell[start:start + chunk], tap)
                column += tap.shape[1]
            embeddings.append(taps[-1])
        return sums / sizes.flatten().clamp_min(1).to(sums).unsqueeze(1), torch.cat(embeddings)


def cell_gradients(net: nn.Module, x: torch.Tensor, cell: torch.Tensor, sizes: torch.Tensor, labels: torch.Tensor,
                   acceleration: Acceleration, cpu_chunk: int = CPU_CHUNK) -> torch.Tensor:
    """Per-cell gradients [K, D] of the mean cross-entropy of each cell's images x [R, C, H, W] w.r.t. the net's
    matched weights (``gradients.matched_layers``, flattened in module order), detached; cell, labels [R],
    sizes [K] images per cell (the net must normalise per image)."""
    order = torch.argsort(cell, stable=True).to(x.device)  # one run per cell, so chunks can keep cells whole
    cell, labels, x = cell.to(x.device)[order], labels.to(x.device)[order], x[order]  # [R], [R], [R, C, H, W]
    sizes = sizes.to(x.device)
    chunks = cell_aligned_chunks(cell, acceleration.chunk(x.device, cpu_chunk))
    # on the CPU the chunks go to one thread per core, each with its own copy of the net (hooks are per module)
    threaded = x.device.type == "cpu" and min(len(chunks), torch.get_num_threads()) > 1
    copies: dict[int, nn.Module] = {}
    every_cell = torch.arange(sizes.numel(), device=x.device)  # [K]

    def chunk_gradients(bounds: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
        thread = threading.get_ident()
        if threaded and thread not in copies:
            copies[thread] = copy.deepcopy(net)
        own = copies[thread] if threaded else net
        start, stop = bounds
        if acceleration.sums_images(x.device):
            return every_cell, image_summed_gradients(own, x[start:stop], cell[start:stop], sizes, labels[start:stop])
        return run_gradients(own, x[start:stop], cell[start:stop], sizes, labels[start:stop], create_graph=False)

    results = single_threaded_pool(torch.get_num_threads()).map(chunk_gradients, chunks) if threaded else \
        map(chunk_gradients, chunks)
    total = None
    # the loss is a sum of per-image terms, so the chunks' rows add up to the whole batch's cell gradients;
    # they are added in chunk order whichever thread computed them, so the sum is deterministic
    with one_thread() if threaded else contextlib.nullcontext():
        for ids, rows in results:
            if total is None:
                total = rows.new_zeros(sizes.numel(), rows.shape[1])  # [K, D]
            total.index_add_(0, ids, rows.detach())
    return total


def class_gradients(net: nn.Module, x: torch.Tensor, classes: int, acceleration: Acceleration) -> torch.Tensor:
    """Each class's mean cross-entropy gradient [classes, D] w.r.t. the net's matched weights, differentiable
    w.r.t. the images x [classes * n, C, H, W] (class k's n images at rows k * n ... k * n + n - 1)."""
    n = x.shape[0] // classes
    cell = torch.arange(classes, device=x.device).repeat_interleave(n)  # [classes * n]
    sizes = torch.full((classes,), n, device=x.device)

    def eager() -> torch.Tensor:
        return batch_cell_gradients(net, x, cell, sizes, cell, create_graph=True)

    if acceleration.compiles():
        return compiled_or_eager(lambda: compiled_class_gradients(net, x.view(classes, n, *x.shape[1:])), eager)
    return eager()
