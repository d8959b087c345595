"""Dataset figures (an image grid per class and group, a count heat map drawn with seaborn in the shared style) and
atomic figure saving; the studies' figures are in ``cobra_lab.studies``.

Figures are built with matplotlib's object API (no pyplot), so no GUI backend is ever touched."""
from __future__ import annotations

import io
import os
from pathlib import Path

import pandas as pd
import seaborn as sns
import torch
from matplotlib.figure import Figure

from .data.types import GroupedData, Split
from .errors import check_choice, check_int
from .figure_style import styled
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


@styled
def count_heatmap(data: GroupedData, split: str = "train") -> Figure:
    """Images per (class, group) of ``split`` as an annotated heat map."""
    counts = _split(data, split).counts(data.num_classes, data.num_groups)  # [C, G] int64
    table = pd.DataFrame(counts.numpy(), index=data.class_names, columns=data.group_names)
    fig = Figure(figsize=(2.5 + 0.7 * data.num_groups, 1.5 + 0.45 * data.num_classes), layout="constrained")
    ax = fig.add_subplot()
    sns.heatmap(table, ax=ax, cmap="viridis", vmin=0, annot=True, fmt="d", annot_kws={"fontsize": 8},
                cbar_kws={"label": "images"})  # from 0: equal counts look equal
    ax.set_xticks(ax.get_xticks(), data.group_names, rotation=45, ha="right")
    ax.tick_params(axis="y", rotation=0)
    ax.set_ylabel("class")
    ax.set_xlabel("group")
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
