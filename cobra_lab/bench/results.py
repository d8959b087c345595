"""A benchmark's results file: its measurements with when and where they were taken, written atomically."""
from __future__ import annotations

import os
import platform
from datetime import datetime, timezone
from pathlib import Path

import torch

from ..io import atomic_write_json


def cpu_model() -> str:
    """The CPU's model name as the kernel reports it (Linux), else what ``platform`` knows."""
    cpuinfo = Path("/proc/cpuinfo")
    lines = cpuinfo.read_text().splitlines() if cpuinfo.exists() else []
    return next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")),
                platform.processor())


def machine() -> dict:
    """Where a measurement was taken: CPU count and model, the vector instructions torch's CPU kernels are built
    for (AVX2, AVX512: convolution kernels differ between them), torch threads, load, platform, torch, and the GPU
    if any."""
    return {"cpus": os.cpu_count(), "cpu": cpu_model(), "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "threads": torch.get_num_threads(), "load_average": os.getloadavg()[0],
            "platform": platform.platform(), "torch": torch.__version__,
            "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else None}


def write_results(path: str | os.PathLike, bench: str, measurements: dict) -> Path:
    """Write ``measurements`` of benchmark ``bench`` to ``path`` as JSON, with the UTC time and the machine."""
    record = {"bench": bench, "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
              "machine": machine(), **measurements}
    return atomic_write_json(Path(path), record)
