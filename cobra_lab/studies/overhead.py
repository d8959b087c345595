"""What COBRA costs (notebook 13, paper Appendix J, Tables 13-14): step time and peak memory against vanilla, from
the step benchmark's measurements (``cobra_lab.bench.step``, as benchmarks/bench_step.py ``--json`` writes them),
measured first when nothing is stored."""
from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from ..bench.fake_data import RANDOM
from ..bench.results import write_results
from ..bench.step import measure_all, step_options
from ..errors import UserError
from ..figure_style import MODE_COLOURS, styled
from ..store import default_root
from .overhead_tables import paper_ratios

# one tiny eager step per configuration at the smoke profile: checks the path only
SMOKE_SIZES = {"steps": 1, "warmup": 0, "real_per_class": 4, "width": 8, "images_per_class": 40, "ipc": 2,
               "compile": False}
TABLE_METHODS = ["dc", "dm"]  # the methods the paper's Tables 13 and 14 time


def results_file(profile: str, dataset: str = RANDOM) -> Path:
    """Where the benchmark's measurements for ``profile`` on ``dataset`` are stored (under the results folder)."""
    suffix = "" if dataset == RANDOM else f"-{dataset}"
    return default_root() / "benchmarks" / f"bench_step-{profile}{suffix}.json"


def load_or_run(profile: str, groups: list[int] | None, steps: int = 20, memory: bool = True,
                dataset: str = RANDOM, warmup: int = 3, methods: list[str] | None = None) -> dict:
    """The stored measurements of ``profile`` on ``dataset`` when they were taken with these settings and cover
    ``groups`` (None: the dataset's own number of groups), else a fresh benchmark run's; the paper profile times
    at the paper's sizes (width 128, 256 real images per class), every other at the quick profile's."""
    sizes = SMOKE_SIZES if profile == "smoke" else {"steps": steps, "warmup": warmup}  # others: quick's sizes
    options = step_options("paper" if profile == "paper" else "quick", dataset, groups, memory=memory,
                           methods=methods, **sizes)
    wanted = {key: value for key, value in json.loads(json.dumps(asdict(options))).items() if key != "groups"}
    path = results_file(profile, dataset)
    if path.exists():
        stored = json.loads(path.read_text())
        same = {key: value for key, value in stored["settings"].items() if key != "groups"} == wanted
        if same and set(options.groups) <= {record["groups"] for record in stored["records"]}:
            return stored
    measured = measure_all(options)  # progress lines on stderr
    write_results(path, "bench_step", measured.records())
    return json.loads(path.read_text())


def natural_groups_measurements(profile: str, datasets: list[str], steps: int = 20, warmup: int = 3,
                                memory: bool = True) -> dict[str, dict | str]:
    """Per dataset, the DC and DM measurements at its own number of groups (``load_or_run``), or the one-line
    reason it could not be measured here (its files absent, say)."""
    measured: dict[str, dict | str] = {}
    for dataset in datasets:
        try:
            measured[dataset] = load_or_run(profile, None, steps, memory, dataset, warmup, TABLE_METHODS)
        except UserError as error:
            measured[dataset] = str(error)
    return measured


def overhead_table(measurements: dict) -> pd.DataFrame:
    """Per method, G, implementation and mode: mean step time and its standard deviation (ms), peak memory (MB, the
    whole process's or device's peak) and both as ratios to vanilla's at the same G and implementation."""
    frame = pd.DataFrame(measurements["records"])
    frame["peak_mb"] = frame["peak_total_mb"].astype(float)
    vanilla = frame[frame["mode"] == "vanilla"].set_index(["method", "groups", "implementation"])
    key = pd.MultiIndex.from_frame(frame[["method", "groups", "implementation"]])
    frame["time_ratio"] = frame["mean_seconds"].to_numpy() / vanilla["mean_seconds"].reindex(key).to_numpy()
    frame["memory_ratio"] = frame["peak_mb"].to_numpy() / vanilla["peak_mb"].reindex(key).to_numpy()
    frame["ms"], frame["ms_std"] = frame["mean_seconds"] * 1e3, frame["std_seconds"] * 1e3
    return frame[["method", "implementation", "groups", "mode", "ms", "ms_std", "time_ratio", "peak_mb",
                  "memory_ratio"]]


@styled
def overhead_figure(table: pd.DataFrame) -> Figure:
    """Step time and peak memory relative to vanilla against the number of groups G, per method; our engine
    solid, the reference-style loop dashed, the paper's COBRA (Table 13) dotted grey where it reports the method."""
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
        paper = paper_ratios(method)
        if not paper.empty:
            for row, key in enumerate(("time_ratio", "memory_ratio")):
                axes[row][column].plot(paper["groups"], paper[key], ":", marker="s", color="gray",
                                       label="cobra (paper, Table 13)")
        for row, label in enumerate(("step time / vanilla (mean)", "peak memory / vanilla")):
            axes[row][column].axhline(1.0, color="gray", lw=0.8)
            axes[row][column].set_xlabel("groups G")
            axes[row][column].set_ylabel(label)
            axes[row][column].set_title(method.upper(), fontsize=10)
            axes[row][column].grid(alpha=0.3)
    axes[0][0].legend(fontsize=7)
    return fig
