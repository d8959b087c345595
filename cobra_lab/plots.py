"""Every figure: a dataset's image grid and count heat map, sweep curves, embeddings, distilled sets; atomic saving.

Figures are built with matplotlib's object API (no pyplot), so no GUI backend is ever touched."""
from __future__ import annotations

import io
import os
from pathlib import Path

import pandas as pd
import torch
from matplotlib.figure import Figure

from .data.types import GroupedData, Split
from .errors import check_choice, check_int
from .io import atomic_write_bytes

CELL_GAP = 2  # pixels between grid cells
BLANK = 0.85  # light gray behind the cells, so white images and empty cells stay visible
DPI = 150


def _split(data: GroupedData, split: str) -> Split:
    """The named split of ``data``."""
    return {"train": data.train, "test": data.test}[check_choice("split", split, ("train", "test"))]


def _label_axes(ax, data: GroupedData, row_centres: list[float], col_centres: list[float]) -> None:
    """Class names on the rows, group names on the columns."""
    ax.set_yticks(row_centres, data.class_names)
    ax.set_xticks(col_centres, data.group_names, rotation=45, ha="right")
    ax.set_ylabel("class")
    ax.set_xlabel("group")


def image_grid(data: GroupedData, split: str = "train", per_cell: int = 1, seed: int = 0) -> Figure:
    """Up to ``per_cell`` random images per (class, group) cell: rows = classes, columns = groups; empty cells blank."""
    part = _split(data, split)
    per_cell = check_int("per-cell", per_cell, 1)
    _, height, width = data.image_shape
    cell_h, cell_w = height + CELL_GAP, per_cell * width + CELL_GAP
    canvas = torch.full((data.num_classes * cell_h, data.num_groups * cell_w, 3), BLANK)  # [rows, cols, 3]
    gen = torch.Generator().manual_seed(seed)
    for c in range(data.num_classes):
        for g in range(data.num_groups):
            members = ((part.y == c) & (part.a == g)).nonzero().squeeze(1)
            chosen = members[torch.randperm(len(members), generator=gen)[:per_cell]]
            images = data.denormalize(part.x[chosen]).expand(-1, 3, -1, -1)  # [k, 3, H, W] in [0, 1]
            strip = images.permute(2, 0, 3, 1).reshape(height, len(chosen) * width, 3)  # [H, k * W, 3]
            top, left = c * cell_h, g * cell_w
            canvas[top:top + height, left:left + strip.shape[1]] = strip
    # 0.5 in per image; margins: class names on the left, title and slanted group names above and below
    fig = Figure(figsize=(1.0 + 0.5 * data.num_groups * per_cell, 1.8 + 0.5 * data.num_classes),
                 layout="constrained")
    ax = fig.add_subplot()
    ax.imshow(canvas.numpy(), interpolation="nearest")
    _label_axes(ax, data, [c * cell_h + height / 2 for c in range(data.num_classes)],
                [g * cell_w + per_cell * width / 2 for g in range(data.num_groups)])
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_title(f"{data.name} ({split})")
    return fig


def count_heatmap(data: GroupedData, split: str = "train") -> Figure:
    """Images per (class, group) of ``split`` as an annotated heat map."""
    counts = _split(data, split).counts(data.num_classes, data.num_groups)  # [C, G] int64
    fig = Figure(figsize=(2.5 + 0.7 * data.num_groups, 1.5 + 0.45 * data.num_classes), layout="constrained")
    ax = fig.add_subplot()
    image = ax.imshow(counts.numpy(), cmap="viridis", aspect="auto", vmin=0)  # from 0: equal counts look equal
    threshold = counts.max().item() / 2
    for c in range(data.num_classes):
        for g in range(data.num_groups):
            value = int(counts[c, g])
            ax.text(g, c, str(value), ha="center", va="center", fontsize=8,
                    color="black" if value > threshold else "white")
    _label_axes(ax, data, list(range(data.num_classes)), list(range(data.num_groups)))
    fig.colorbar(image, ax=ax, label="images")
    ax.set_title(f"{data.name} ({split}): images per class and group")
    return fig


def figure_bytes(figure: Figure, fmt: str = "png", dpi: int = DPI) -> bytes:
    """``figure`` encoded in ``fmt`` (png, pdf, svg, ...)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format=fmt, dpi=dpi)
    return buffer.getvalue()


def save_figure(figure: Figure, path: str | os.PathLike) -> Path:
    """Write ``figure`` to ``path`` atomically, in the format its suffix names (.png, .pdf, .svg, ...)."""
    path = Path(path)
    return atomic_write_bytes(path, figure_bytes(figure, path.suffix.lower().lstrip(".")))


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


def embedding_figure(panels: dict[str, dict], class_names: list[str], group_names: list[str]) -> Figure:
    """Two rows (coloured by class, by group) and one column per mode of 2-D embeddings; kNN purities in titles.

    Each panel: {"xy": [N, 2], "y": [N], "a": [N], "class_purity": float, "group_purity": float}.
    """
    fig = Figure(figsize=(3.6 * len(panels), 7.4), layout="constrained")
    axes = fig.subplots(2, len(panels), squeeze=False)
    for column, (mode, panel) in enumerate(panels.items()):
        for row, (key, names, purity) in enumerate((("y", class_names, "class_purity"),
                                                    ("a", group_names, "group_purity"))):
            ax = axes[row][column]
            labels = panel[key]
            ax.scatter(panel["xy"][:, 0], panel["xy"][:, 1], c=labels, cmap="tab10", vmin=-0.5, vmax=9.5, s=4,
                       linewidths=0)
            ax.set_xticks([])
            ax.set_yticks([])
            what = "class" if key == "y" else "group"
            ax.set_title(f"{mode}: by {what}\nkNN {what} purity {panel[purity]:.2f}", fontsize=9)
    return fig


def synset_figure(images: dict[str, torch.Tensor], labels: dict[str, torch.Tensor], class_names: list[str],
                  per_class: int) -> Figure:
    """Distilled images side by side, one block per mode: rows = classes, up to ``per_class`` images each.

    ``images[mode]``: [N, 3, H, W] in [0, 1]; ``labels[mode]``: [N].
    """
    fig = Figure(figsize=(0.45 * per_class * len(images) + 1.5, 0.5 * len(class_names) + 0.8), layout="constrained")
    axes = fig.subplots(1, len(images), squeeze=False)[0]
    for ax, mode in zip(axes, images):
        x, y = images[mode], labels[mode]
        _, _, height, width = x.shape
        canvas = torch.full((len(class_names) * (height + CELL_GAP), per_class * (width + CELL_GAP), 3), BLANK)
        for c in range(len(class_names)):
            members = x[y == c][:per_class]  # [k, 3, H, W]
            for k, image in enumerate(members):
                top, left = c * (height + CELL_GAP), k * (width + CELL_GAP)
                canvas[top:top + height, left:left + width] = image.permute(1, 2, 0)
        ax.imshow(canvas.numpy(), interpolation="nearest")
        ax.set_yticks([c * (height + CELL_GAP) + height / 2 for c in range(len(class_names))],
                      class_names if ax is axes[0] else [""] * len(class_names))
        ax.set_xticks([])
        ax.tick_params(length=0)
        ax.set_title(mode)
    return fig


def no_results_figure(message: str = "no finished runs: see the table of failed runs") -> Figure:
    """A small figure that says there is nothing to draw (where every run of a grid failed)."""
    fig = Figure(figsize=(4.0, 1.2), layout="constrained")
    ax = fig.subplots()
    ax.text(0.5, 0.5, message, ha="center", va="center")
    ax.set_axis_off()
    return fig


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
    fig = Figure(figsize=(1.2 + 0.35 * len(variants) * max(1, len(settings)), 5.5), layout="constrained")
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
    axes[0].legend(fontsize=8, ncol=min(4, len(variants)))
    return fig


def residual_figure(tables: dict[tuple[str, str], pd.DataFrame]) -> Figure:
    """Per distilled set, each class's worst-case residual of the vanilla target and of COBRA's barycenter."""
    fig = Figure(figsize=(4.2 * len(tables), 3.8), layout="constrained")
    axes = fig.subplots(1, len(tables), squeeze=False)[0]
    for ax, ((method, mode), table) in zip(axes, tables.items()):
        x = torch.arange(len(table)).float()
        for offset, target in ((-0.2, "vanilla"), (0.2, "cobra")):
            ax.bar(x + offset, table[f"maxres_{target}"], width=0.4, color=MODE_COLOURS[target],
                   label=f"{target} target")
        ax.set_xticks(x.tolist(), table["class"], rotation=60, ha="right", fontsize=7)
        ax.set_title(f"{method.upper()} {mode} set", fontsize=10)
        ax.set_ylabel("max_a ||Φ_a − m||²")
    axes[0].legend(fontsize=8)
    return fig


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
