"""Image files decoded to one uint8 array [N, C, S, S], in worker processes, chunk by chunk.

Each worker decodes a chunk of files (converted to grey or RGB, resized to S x S) and sends back one array; the
caller writes it into the output at once, so memory holds the output and a few chunks, never a list of images.
This module imports neither torch nor the data package, so a worker process starts in a fraction of a second."""
from __future__ import annotations

import os
import statistics
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from multiprocessing import get_context

import numpy as np
from PIL import Image
from tqdm.auto import tqdm

from .errors import UserError

CHUNK = 256  # images per task: large enough to amortise a task, small enough to keep memory and the bar moving
MODES = {1: "L", 3: "RGB"}  # channels -> the PIL mode every image is converted to
PROBED = 256  # images whose headers the size and channel defaults look at


@dataclass
class Decoded:
    """The decoded pixels and the PIL modes the files came in."""

    pixels: np.ndarray  # [N, C, S, S] uint8
    modes: set[str] = field(default_factory=set)


def _reason(error: BaseException) -> str:
    """The first line of an exception's message, or its type name when it has none."""
    lines = str(error).strip().splitlines()
    return lines[0][:160] if lines else type(error).__name__


def _decode_chunk(paths: Sequence[str], size: int, channels: int) -> tuple[np.ndarray | None, set[str], str | None]:
    """One chunk: (pixels [n, C, S, S] uint8, the modes met, None), or (None, modes, "<file> (<reason>)") at the
    first file that cannot be decoded."""
    out = np.empty((len(paths), channels, size, size), dtype=np.uint8)
    modes: set[str] = set()
    for i, path in enumerate(paths):
        try:
            with Image.open(path) as image:
                modes.add(image.mode)
                image.draft(MODES[channels], (size, size))  # JPEG: decode at a reduced scale when it can
                pixels = np.asarray(image.convert(MODES[channels]).resize((size, size), Image.Resampling.BILINEAR))
        except Exception as error:  # noqa: BLE001 - PIL raises OSError, SyntaxError, ValueError, zlib errors...
            return None, modes, f"{path} ({_reason(error)})"
        out[i] = pixels.reshape(size, size, channels).transpose(2, 0, 1)
    return out, modes, None


def decode_images(paths: Sequence[str], size: int, channels: int, workers: int | None = None,
                  progress: bool = True, chunk: int = CHUNK) -> Decoded:
    """Every file of ``paths`` as [N, C, size, size] uint8 (grey for one channel, RGB for three), decoded by
    ``workers`` processes (default: one per CPU; one: in this process); a one-line UserError names the first
    file that cannot be read."""
    pixels = np.empty((len(paths), channels, size, size), dtype=np.uint8)  # [N, C, S, S]
    starts = range(0, len(paths), chunk)
    workers = min(workers or os.cpu_count() or 1, len(starts))
    modes: set[str] = set()
    bar = tqdm(total=len(paths), desc="decoding", unit="img", disable=not progress)

    def take(start: int, result: tuple[np.ndarray | None, set[str], str | None]) -> None:
        block, met, failure = result
        if block is None:
            raise UserError(f"cannot read image {failure}; replace or remove it")
        pixels[start:start + len(block)] = block
        modes.update(met)
        bar.update(len(block))

    try:
        if workers <= 1:
            for start in starts:
                take(start, _decode_chunk(paths[start:start + chunk], size, channels))
        else:
            _decode_in_pool(paths, size, channels, workers, chunk, take)
    finally:
        bar.close()
    return Decoded(pixels, modes)


def _decode_in_pool(paths: Sequence[str], size: int, channels: int, workers: int, chunk: int,
                    take: Callable[[int, tuple], None]) -> None:
    """Chunks decoded by a pool of spawned processes, at most two per worker in flight (memory stays bounded),
    each handed to ``take(start, result)`` as it arrives; the first failure cancels the rest."""
    pending = iter(range(0, len(paths), chunk))
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
        running = {}
        try:
            while True:
                while len(running) < 2 * workers and (start := next(pending, None)) is not None:
                    running[pool.submit(_decode_chunk, list(paths[start:start + chunk]), size, channels)] = start
                if not running:
                    return
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    take(running.pop(future), future.result())
        finally:
            for future in running:
                future.cancel()


def probe(paths: Sequence[str]) -> tuple[int, int]:
    """(the median shorter side, 3 if any image is in colour else 1) over an even sample of at most PROBED
    files, read from their headers; a file that cannot be opened is left to the decoding to report."""
    step = max(1, len(paths) // PROBED)
    sides, colour = [], False
    for path in paths[::step][:PROBED]:
        try:
            with Image.open(path) as image:
                sides.append(min(image.size))
                colour = colour or image.mode not in ("1", "L", "LA", "I", "I;16", "F")
        except Exception:  # noqa: BLE001 - reported with its row when the images are decoded
            continue
    if not sides:
        raise UserError(f"none of {min(len(paths), PROBED)} images sampled can be read, e.g. {paths[0]}")
    return int(statistics.median(sides)), 3 if colour else 1
