"""Distilled images (notebook 07, paper Figure 4): the synthetic images of stored runs, one block per mode."""
from __future__ import annotations

import pandas as pd
import torch
from matplotlib.figure import Figure

from ..data.types import GroupedData
from ..plots import BLANK, CELL_GAP
from ..store import RunDir
from ..synset import SynSet
from .grids import STUDIES, base_grid


@STUDIES.register("07_image_grids")
def grid(profile: str, dataset: str, method: str, modes: list[str], ipc: int, seed: int) -> list[dict]:
    """Figure 4: the distilled sets to show side by side."""
    return [base_grid(profile, [dataset], [method], modes, ipc, seed)]


def distilled_images(done: pd.DataFrame, data: GroupedData) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """The stored distilled set of each finished run, by mode: images [N, 3, H, W] in [0, 1] and labels [N]."""
    synsets = {row["mode"]: SynSet.from_state(RunDir.open(row["run_dir"]).load_synset()) for _, row in done.iterrows()}
    images = {mode: data.denormalize(s.x).expand(-1, 3, -1, -1) for mode, s in synsets.items()}
    return images, {mode: s.y for mode, s in synsets.items()}


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


def colour_spread(images: dict[str, torch.Tensor], labels: dict[str, torch.Tensor]) -> pd.DataFrame:
    """Per mode: how much the distilled images of a class differ in colour, the mean over classes of the root total
    variance of the images' mean colours (RGB in [0, 1]), and its standard error over classes; 0: one colour per
    class (Figure 4's vanilla backgrounds).

    ``images[mode]``: [N, 3, H, W]; ``labels[mode]``: [N]."""
    rows = []
    for mode, x in images.items():
        colours = x.mean(dim=(2, 3))  # [N, 3]
        spreads = torch.stack([colours[labels[mode] == c].var(0, unbiased=False).sum().sqrt()
                               for c in labels[mode].unique()])  # [C]
        error = float(spreads.std() / len(spreads) ** 0.5) if len(spreads) > 1 else 0.0
        rows.append({"mode": mode, "colour_spread": float(spreads.mean()), "colour_spread_se": error})
    return pd.DataFrame(rows)
