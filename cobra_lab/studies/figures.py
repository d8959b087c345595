"""Figures several studies share: sweep curves with error bands, grouped result bars, and an empty-grid notice.

Built with matplotlib's object API (no pyplot), so no GUI backend is ever touched."""
from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

MODE_COLOURS = {"vanilla": "tab:red", "fairdd": "tab:orange", "cobra": "tab:blue", "full": "black"}
METHOD_STYLES = {"dm": "-", "dc": "--"}
METRIC_LABELS = {"eod_max": "EOD (max) ↓", "eod_mean": "EOD (mean) ↓", "acc": "Acc ↑"}


def sweep_figure(panels: dict[str, pd.DataFrame], metric: str = "eod_max") -> Figure:
    """One column per swept knob (aggregated results varying it), rows EOD and Acc; a line per (method, mode),
    FULL in black, a band of +- one std."""
    fig = Figure(figsize=(4.2 * len(panels), 6.0), layout="constrained")
    axes = fig.subplots(2, len(panels), squeeze=False)
    for column, (knob, agg) in enumerate(panels.items()):
        for (method, mode), line in agg.groupby(["method", "mode"], sort=False):
            line = line.sort_values(knob)
            label = "FULL" if method == "full" else f"{method.upper()} {mode}"
            for row, key in enumerate((metric, "acc")):
                ax = axes[row][column]
                x, y, err = line[knob].to_numpy(float), line[key].to_numpy(float), line[f"{key}_std"].to_numpy(float)
                ax.plot(x, y, METHOD_STYLES.get(method, "-"), marker="o", color=MODE_COLOURS.get(mode, "gray"),
                        label=label)
                ax.fill_between(x, y - err, y + err, color=MODE_COLOURS.get(mode, "gray"), alpha=0.15)
        for row, key in enumerate((metric, "acc")):
            axes[row][column].set_xlabel(knob.upper() if knob in ("skew", "gap") else knob)
            axes[row][column].set_ylabel(METRIC_LABELS.get(key, key))
            axes[row][column].grid(alpha=0.3)
    axes[0][0].legend(fontsize=8)
    return fig


def no_results_figure(message: str = "no finished runs: see the table of failed runs") -> Figure:
    """A small figure that says there is nothing to draw (where every run of a grid failed)."""
    fig = Figure(figsize=(4.0, 1.2), layout="constrained")
    ax = fig.subplots()
    ax.text(0.5, 0.5, message, ha="center", va="center")
    ax.set_axis_off()
    return fig


MIN_BARS_WIDTH = 4.5  # inches: one setting still leaves room for the axis labels and a legend row
LEGEND_ENTRY_WIDTH = 1.4  # inches one legend entry takes at font size 8


def results_bars(agg: pd.DataFrame, metric: str = "eod_max", by: str | None = None) -> Figure:
    """EOD (top) and Acc (bottom) as grouped bars: one group per value of ``by`` (default: dataset and IPC), one
    bar per (method, mode), FULL included; whiskers +- one std."""
    if agg.empty:
        return no_results_figure()
    if by is None:
        labels = [f"{d}\nIPC {i}" if not pd.isna(i) else None for d, i in zip(agg["dataset"], agg["ipc"])]
    else:
        labels = [str(value) for value in agg[by]]
    agg = agg.assign(_setting=labels)
    settings = [label for label in dict.fromkeys(labels) if label is not None]
    variants = list(dict.fromkeys(zip(agg["method"], agg["mode"])))
    width_in = max(MIN_BARS_WIDTH, 1.2 + 0.35 * len(variants) * max(1, len(settings)))
    fig = Figure(figsize=(width_in, 5.5), layout="constrained")
    axes = fig.subplots(2, 1, sharex=True)
    width = 0.8 / len(variants)
    for k, (method, mode) in enumerate(variants):
        rows = agg[(agg["method"] == method) & (agg["mode"] == mode)]
        for s, setting in enumerate(settings):
            match = rows[rows["_setting"] == setting]
            if match.empty and method == "full" and by is None:  # FULL has no IPC: the same bar in every group
                match = rows[rows["dataset"] == setting.split("\n")[0]]
            if match.empty:
                continue
            for ax, key in zip(axes, (metric, "acc")):
                ax.bar(s + (k - (len(variants) - 1) / 2) * width, match[key].iloc[0], width,
                       yerr=match[f"{key}_std"].iloc[0], color=MODE_COLOURS.get(mode.split("/")[0], "gray"),
                       hatch="//" if method == "dc" else None, edgecolor="white", alpha=1.0 - 0.12 * (k % 4),
                       label=("FULL" if method == "full" else f"{method.upper()} {mode}") if s == 0 else None)
    for ax, key in zip(axes, (metric, "acc")):
        ax.set_ylabel(METRIC_LABELS.get(key, key))
        ax.grid(axis="y", alpha=0.3)
    axes[1].set_xticks(range(len(settings)), settings)
    fig.legend(*axes[0].get_legend_handles_labels(), fontsize=8, loc="outside upper center",
               ncol=min(4, len(variants), int(width_in // LEGEND_ENTRY_WIDTH)))
    return fig
