"""The skeleton every distillation loop runs on: the seeded starting set, resume, the progress bar, loss reads,
divergence checks, the per-iteration hook and the checkpoint schedule. A loop supplies its optimiser, any learned
tensor besides the images, and one iteration."""
from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import torch
from tqdm.auto import tqdm

from ..accel.cores import take_share
from ..checkpoints import SaveSchedule, resume_from, save_checkpoint, say_resumed
from ..data.types import GroupedData
from ..errors import UserError
from ..sections import RunConfig
from ..synset import SynSet, initial_set

IterationHook = Callable[[int, Callable[[], SynSet]], None]  # (iterations done, the set so far) after each one
Step = Callable[[int], torch.Tensor]  # iteration (from 0) -> its readings [k] on the device, the loss first


def loss_reads_every(device: torch.device) -> int:
    """Iterations between reading the losses back: every one on the CPU; on a GPU 25, since each read waits for
    the device and the host could otherwise queue the next iterations meanwhile."""
    return 1 if device.type == "cpu" else 25


class Skeleton:
    """One distillation's shared machinery. Built before the loop's own parts: it seeds the run's generator and
    draws the starting set from it first, so every loop starts alike; ``run`` then drives the loop's step."""

    def __init__(self, data: GroupedData, config: RunConfig, device: torch.device, label: str) -> None:
        self.generator = torch.Generator().manual_seed(config.seed)
        self.start = initial_set(data, config.ipc, config.distill.init, self.generator)
        self.x = self.start.x.to(device).requires_grad_(True)  # [C * ipc, C, H, W] the images being learned
        self.y = self.start.y.to(device)  # [C * ipc]
        self.iterations = config.distill.iterations
        self.device = device
        self.label = label

    def run(self, optimizer: torch.optim.Optimizer, step: Step, diverged_hint: str,
            readings: tuple[str, ...] = ("loss",), learned: dict[str, torch.Tensor] | None = None,
            checkpoint: Path | None = None, progress: bool = True, log: Callable[[str], None] | None = None,
            on_iteration: IterationHook | None = None) -> SynSet:
        """Call ``step(iteration)`` for every iteration left and return the distilled set.

        ``step`` returns its ``readings`` [k] (the loss first; every one must stay finite, else the run stops with
        a one-line error ending in ``diverged_hint``). With ``checkpoint`` the images, the other ``learned``
        tensors, the optimiser and the generator are saved on ``SaveSchedule``'s schedule and a later call resumes
        from them, with the result of an uninterrupted run. ``on_iteration(done, snapshot)`` is called after each
        iteration (``snapshot()`` returns the set as it stands; nothing is copied unless it is called)."""
        tensors = {"x": self.x, **(learned or {})}
        start, losses, elapsed = 0, [], 0.0
        if checkpoint is not None:
            start, losses, elapsed = resume_from(checkpoint, optimizer, self.generator, tensors, self.iterations, log)
            say_resumed(start, self.iterations, self.label, progress, log)
        began = time.time()
        pending: list[torch.Tensor] = []  # readings of the iterations not yet read back, on the device
        read_every, schedule = loss_reads_every(self.device), SaveSchedule(self.iterations)
        bar = tqdm(range(start, self.iterations), initial=start, total=self.iterations, disable=not progress,
                   desc=self.label, unit="it", leave=False)

        def seconds() -> float:
            return elapsed + time.time() - began

        def snapshot() -> SynSet:
            return replace(self.start, x=self.x.detach().cpu().clone(), losses=list(losses), seconds=seconds())

        def read() -> None:
            """Move the pending readings into ``losses`` (one wait for the device); stop at the first that is not
            finite, since a NaN set would evaluate as a trivially "fair" constant classifier."""
            if not pending:
                return
            rows = torch.stack(pending).tolist()  # [n, k]
            pending.clear()
            for row in rows:
                losses.append(row[0])
                if not all(math.isfinite(value) for value in row):
                    shown = ", ".join(f"{name} {value:.4g}" for name, value in zip(readings, row))
                    raise UserError(f"distillation diverged at iteration {len(losses)} ({shown}); the run is not "
                                    f"stored: {diverged_hint}")
            bar.set_postfix({name: f"{value:.4g}" for name, value in zip(readings, rows[-1])})

        for iteration in bar:
            pending.append(step(iteration))
            done = iteration + 1
            if len(pending) >= read_every or done == self.iterations:
                read()
            if on_iteration is not None:
                read()
                on_iteration(done, snapshot)
            if checkpoint is not None and schedule.due(done):
                read()
                save_checkpoint(checkpoint, tensors, optimizer, self.generator, done, losses, seconds())
                schedule.saved()
                take_share()  # with each checkpoint: runs started meanwhile get their share of the cores
        bar.close()
        return replace(self.start, x=self.x.detach().cpu(), losses=losses, seconds=seconds())
