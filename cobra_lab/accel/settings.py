"""The settings a run gives its fast passes: whether to compile, and how many real images per forward."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .compiled import compilation_failed

CPU_CHUNK = 64  # real images per forward on the CPU when real_chunk is "auto" (chosen with benchmarks/bench_step.py)
WHOLE_BATCH = 1 << 20  # "auto" off the CPU: the whole batch in one forward


@dataclass(frozen=True)
class Acceleration:
    """``compile``: run passes compiled (``distill.compile``); ``real_chunk``: real images per forward,
    or "auto" to choose by device (``distill.real_chunk``). Neither changes what is computed beyond float rounding."""

    compile: bool = False
    real_chunk: int | str = "auto"

    def compiles(self) -> bool:
        """Whether passes run compiled: ``compile`` is on and compiling has not failed in this process (on a GPU
        inductor fuses the norm, ReLU and pooling that otherwise cost most of a step's memory traffic)."""
        return self.compile and not compilation_failed()

    def chunk(self, device: torch.device, cpu_chunk: int = CPU_CHUNK) -> int:
        """Real images per forward: small chunks stay in CPU caches; a GPU takes the whole batch."""
        if self.real_chunk == "auto":
            return cpu_chunk if device.type == "cpu" else WHOLE_BATCH
        return int(self.real_chunk)

    def sums_images(self, device: torch.device) -> bool:
        """Whether real cell gradients are summed from per-image ones (off the CPU: few large kernels) rather than
        from one weight-gradient convolution per run of a cell (CPU: less work)."""
        return device.type != "cpu"
