"""What COBRA costs (notebook 13, paper Appendix J, Tables 13-14): step time and peak memory against vanilla, from
the step benchmark's measurements (``cobra_lab.bench.step``, as benchmarks/bench_step.py ``--json`` writes them),
measured first when nothing is stored."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from ..bench.results import write_results
from ..bench.step import measure_all, step_options
from ..store import default_root
from .figures import MODE_COLOURS

# one tiny eager step per configuration at the smoke profile: checks the path only
SMOKE_SIZES = {"steps": 1, "warmup": 0, "real_per_class": 4, "width": 8, "images_per_class": 40, "ipc": 2,
               "compile": False}


def results_file(profile: str) -> Path:
    """Where the benchmark's measurements for ``profile`` are stored (under the results folder)."""
    return default_root() / "benchmarks" / f"bench_step-{profile}.json"


def load_or_run(profile: str, groups: list[int], steps: int = 20, memory: bool = True) -> dict:
    """The stored measurements of ``profile`` when they cover ``groups``, else a fresh benchmark run's."""
    path = results_file(profile)
    if path.exists():
        stored = json.loads(path.read_text())
        if set(groups) <= {record["groups"] for record in stored["records"]}:
            return stored
    sizes = SMOKE_SIZES if profile == "smoke" else {"steps": steps}  # others: the quick profile's sizes
    measured = measure_all(step_options(groups=groups, memory=memory, **sizes))  # progress lines on stderr
    write_results(path, "bench_step", measured.records())
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


def overhead_figure(table: pd.DataFrame) -> Figure:
    """Step time and peak memory relative to vanilla against the number of groups G, per method; our engine
    solid, the reference-style loop dashed."""
    methods = list(dict.fromkeys(table["method"]))
    fig = Figure(figsize=(4.2 * len(methods), 6.0), layout="constrained")
    axes = fig.subplots(2, len(methods), squeeze=False)
    for column, method in enumerate(methods):
        for (implementation, mode), line in table[table["method"] == method].groupby(["implementation", "mode"]):
            if mode == "vanilla":
                continue
            line = line.sort_values("groups")
            style = "-" if implementation == "ours" else "--"
            for row, key in enumerate(("time_ratio", "memory_ratio")):
                axes[row][column].plot(line["groups"], line[key], style, marker="o", color=MODE_COLOURS[mode],
                                       label=f"{mode} ({implementation})")
        for row, label in enumerate(("step time / vanilla", "peak memory / vanilla")):
            axes[row][column].axhline(1.0, color="gray", lw=0.8)
            axes[row][column].set_xlabel("groups G")
            axes[row][column].set_ylabel(label)
            axes[row][column].set_title(method.upper(), fontsize=10)
            axes[row][column].grid(alpha=0.3)
    axes[0][0].legend(fontsize=7)
    return fig
