"""COBRA's cost against vanilla per distillation step (paper Appendix J, Tables 13-14), read from what
benchmarks/bench_step.py writes (``--json``), running it first when nothing is stored."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd

from .paths import repo_root
from .store import default_root

BENCHMARK = repo_root() / "benchmarks" / "bench_step.py"
SMOKE_ARGS = ["--steps", "1", "--warmup", "0", "--real-per-class", "4", "--width", "8", "--images-per-class", "40",
              "--ipc", "2", "--no-compile"]  # one tiny eager step per configuration: checks the path only


def results_file(profile: str) -> Path:
    """Where the benchmark's measurements for ``profile`` are stored (under the results folder)."""
    return default_root() / "benchmarks" / f"bench_step-{profile}.json"


def benchmark_argv(profile: str, groups: list[int], steps: int, memory: bool) -> list[str]:
    """The benchmark's command line: the smoke profile runs one tiny step, others the quick-profile sizes."""
    argv = [sys.executable, str(BENCHMARK), "--groups", *map(str, groups), "--json", str(results_file(profile))]
    argv += SMOKE_ARGS if profile == "smoke" else ["--steps", str(steps)]
    return argv + ([] if memory else ["--no-memory"])


def load_or_run(profile: str, groups: list[int], steps: int = 20, memory: bool = True) -> dict:
    """The stored measurements of ``profile`` when they cover ``groups``, else a fresh benchmark run's."""
    path = results_file(profile)
    if path.exists():
        stored = json.loads(path.read_text())
        if set(groups) <= {record["groups"] for record in stored["records"]}:
            return stored
    subprocess.run(benchmark_argv(profile, groups, steps, memory), check=True, stdout=subprocess.DEVNULL)
    return json.loads(path.read_text())


def overhead_table(measurements: dict) -> pd.DataFrame:
    """Per method, G and mode: step time (ms), peak memory (MB) and both as ratios to vanilla, for our engine
    and for the reference-style loop."""
    frame = pd.DataFrame(measurements["records"])
    vanilla = frame[frame["mode"] == "vanilla"].set_index(["method", "groups", "implementation"])
    key = pd.MultiIndex.from_frame(frame[["method", "groups", "implementation"]])
    frame["time_ratio"] = frame["seconds"].to_numpy() / vanilla["seconds"].reindex(key).to_numpy()
    frame["memory_ratio"] = frame["peak_mb"].astype(float).to_numpy() / \
        vanilla["peak_mb"].astype(float).reindex(key).to_numpy()
    frame["ms"] = frame["seconds"] * 1e3
    return frame[["method", "implementation", "groups", "mode", "ms", "time_ratio", "peak_mb", "memory_ratio"]]
