"""A distillation's checkpoint: what it holds, when it is saved, and resuming from it with the result of an
uninterrupted run. Every loop checkpoints the same way (``loops/skeleton.py``)."""
from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
from tqdm.auto import tqdm

from .integrity import DamagedFile, expect, expect_tensor, move_aside, parse_torch, read_checked, save_torch

CHECKPOINT_SECONDS = 60.0
CHECKPOINT_FRACTION = 0.1


class SaveSchedule:
    """When a loop of ``iterations`` saves: after every tenth of the run or minute, whichever comes first, and never
    after the last iteration (the finished set is stored instead)."""

    def __init__(self, iterations: int) -> None:
        self.iterations = iterations
        self.every = max(1, int(iterations * CHECKPOINT_FRACTION))
        self.last = time.time()

    def due(self, done: int) -> bool:
        """Whether to save after ``done`` iterations."""
        return done < self.iterations and (done % self.every == 0 or time.time() - self.last > CHECKPOINT_SECONDS)

    def saved(self) -> None:
        """Note that a checkpoint was just written."""
        self.last = time.time()


def save_checkpoint(path: Path, tensors: dict[str, torch.Tensor], optimizer: torch.optim.Optimizer,
                    generator: torch.Generator, iteration: int, losses: list[float], seconds: float) -> None:
    """Write the loop's state after ``iteration`` iterations: its learned ``tensors`` by name, the optimiser, the
    generator, the losses so far and the seconds spent (atomically, with its checksum)."""
    save_torch(path, {**{name: tensor.detach().cpu() for name, tensor in tensors.items()},
                      "optimizer": optimizer.state_dict(), "generator": generator.get_state(), "iteration": iteration,
                      "losses": torch.tensor(losses), "seconds": seconds})


def check_checkpoint_state(state: object, shapes: dict[str, tuple[int, ...]], iterations: int,
                           generator_bytes: int) -> None:
    """Raise ``Mismatch`` unless ``state`` is a checkpoint of a loop learning tensors of ``shapes`` (by name),
    stopped after iteration 1..iterations - 1."""
    expect(isinstance(state, dict), "does not hold a checkpoint")
    iteration = state.get("iteration")
    expect(isinstance(iteration, int) and 0 < iteration < iterations,
           f"iteration {iteration!r} is outside 1..{iterations - 1}")
    for name, shape in shapes.items():
        expect_tensor(state, name, shape, floating=True)  # x: [C * ipc, C, H, W]
    expect_tensor(state, "losses", (iteration,), floating=True)
    expect_tensor(state, "generator", (generator_bytes,))
    optimizer = state.get("optimizer")
    expect(isinstance(optimizer, dict) and isinstance(optimizer.get("state"), dict), "optimizer state is missing")
    for entry in optimizer["state"].values():
        buffer = entry.get("momentum_buffer") if isinstance(entry, dict) else None
        expect(buffer is None or (isinstance(buffer, torch.Tensor) and tuple(buffer.shape) in shapes.values()),
               "optimizer momentum does not match the learned tensors")
    seconds = state.get("seconds")
    expect(isinstance(seconds, (int, float)) and seconds >= 0, "seconds is not a time")


def resume_from(checkpoint: Path, optimizer: torch.optim.Optimizer, generator: torch.Generator,
                tensors: dict[str, torch.Tensor], iterations: int,
                log: Callable[[str], None] | None) -> tuple[int, list[float], float]:
    """Load the state in ``checkpoint`` into the optimiser, the generator and each of ``tensors`` (state[name]
    copied into tensors[name]): (iteration, losses, seconds) to go on from, or (0, [], 0.0) when it is absent or
    damaged (then reported and moved aside, the generator untouched)."""
    fresh = generator.get_state()
    shapes = {name: tuple(tensor.shape) for name, tensor in tensors.items()}
    try:
        state = read_checked(checkpoint, parse_torch,
                             lambda state: check_checkpoint_state(state, shapes, iterations, fresh.numel()))
        if state is None:
            return 0, [], 0.0
        try:
            generator.set_state(state["generator"])
            optimizer.load_state_dict(state["optimizer"])
        except (RuntimeError, ValueError, KeyError, TypeError) as error:
            generator.set_state(fresh)
            raise DamagedFile(checkpoint, f"does not fit the optimiser ({error})") from None
    except DamagedFile as damage:
        move_aside(damage, "distilling from the start", log)
        return 0, [], 0.0
    with torch.no_grad():
        for name, tensor in tensors.items():
            tensor.copy_(state[name].to(tensor.device))
    return int(state["iteration"]), state["losses"].tolist(), float(state["seconds"])


def say_resumed(start: int, iterations: int, label: str, progress: bool, log: Callable[[str], None] | None) -> None:
    """When a loop resumed (``start`` > 0): "resumed at iteration k of n" to ``log`` and, with ``progress``, above the
    progress bar labelled ``label``."""
    if not start:
        return
    message = f"resumed at iteration {start} of {iterations}"
    if log is not None:
        log(message)
    if progress:
        tqdm.write(f"{label}: {message}", file=sys.stderr)
