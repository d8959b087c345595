"""The SKEW/GAP explorer's figure: one class's group means with vanilla's target and the chosen mode's in a fixed
2-D view, each target's worst-case residual per class on a fixed axis, and one line reading the numbers."""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.transforms import Bbox

from .data.bias import COLOUR_NAMES, PALETTE

# Target markers and bars in colours no group uses (groups of the colour benchmarks take the 10 palette colours,
# other groups the tab10 colours below, which leave out black, brown and grey).
TARGET_STYLES = {"vanilla": ("X", "black"), "cobra": ("*", "#8c564b"), "fairdd": ("D", "#7f7f7f")}
MARKER_AREA = {"X": 320, "*": 600, "D": 220}  # about the same ink for each shape
TARGET_LABELS = {"vanilla": "vanilla target (count-weighted mean)", "cobra": "COBRA target (barycenter)",
                 "fairdd": "FairDD: pulls to each group (lines); they balance here"}
MODE_NAMES = {"vanilla": "vanilla", "cobra": "COBRA", "fairdd": "FairDD"}
GROUP_CYCLE = ("C0", "C1", "C2", "C3", "C4", "C6", "C8", "C9")
RESIDUAL_LABEL = r"worst-case residual $\max_a\,\Vert\Phi_{a|y} - m_y\Vert^2$"
MARGIN = 0.08  # share of each axis range added around the fixed view


@dataclass
class View:
    """The fixed 2-D view of the group means, the axis limits held over the slider range, and the panels' places
    once the first figure is laid out (later figures reuse them: no layout pass on every redraw)."""

    centre: torch.Tensor  # [D]
    basis: torch.Tensor  # [D, 2]
    xlim: tuple[float, float]
    ylim: tuple[float, float]
    residual_top: float
    boxes: list[Bbox] | None = None  # left, right, legend strip in figure coordinates

    def project(self, points: torch.Tensor) -> torch.Tensor:
        """Points [..., D] in the view's two coordinates [..., 2]."""
        return (points - self.centre) @ self.basis

    def include(self, points: torch.Tensor, residual: float) -> None:
        """Widen the limits (never shrink them), with a margin, where ``points`` [N, 2] or a bar of ``residual``
        would fall outside them."""
        low, high = points.min(0).values.tolist(), points.max(0).values.tolist()
        self.xlim = _widen(self.xlim, low[0], high[0])
        self.ylim = _widen(self.ylim, low[1], high[1])
        if residual > self.residual_top:
            self.residual_top = residual * (1 + MARGIN)


def _widen(limits: tuple[float, float], low: float, high: float) -> tuple[float, float]:
    """``limits`` stretched to hold [low, high] plus a margin on each side that had to move."""
    pad = MARGIN * max(high - low, limits[1] - limits[0] if math.isfinite(limits[1] - limits[0]) else 0, 1e-6)
    return (min(limits[0], low - pad) if low < limits[0] else limits[0],
            max(limits[1], high + pad) if high > limits[1] else limits[1])


def diameter_squared(means: torch.Tensor, counts: torch.Tensor) -> float:
    """The largest squared distance between two groups present in one class: no target inside the groups'
    convex hull (vanilla, COBRA, FairDD's balance point) has a larger worst-case residual."""
    gaps = torch.cdist(means, means).pow(2)  # [C, G, G]
    present = (counts > 0).unsqueeze(2) & (counts > 0).unsqueeze(1)  # [C, G, G]
    return float(gaps.masked_fill(~present, 0).max())


def group_colour(group: int, group_names: list[str]) -> tuple[float, ...] | str:
    """The group's own colour where groups are colours, else a tab10 colour no target uses."""
    if tuple(group_names) == COLOUR_NAMES:
        return tuple((PALETTE[group].float() / 255).tolist())
    return GROUP_CYCLE[group % len(GROUP_CYCLE)]


def reading_line(residuals: dict[str, torch.Tensor], mode: str, class_names: list[str]) -> str:
    """One sentence reading the current numbers: the chosen mode's worst case as a share of vanilla's."""
    vanilla = residuals["vanilla"]  # [C]
    if mode == "vanilla":
        worst = int(vanilla.argmax())
        return (f"Vanilla's worst-case residual: mean {vanilla.mean():.1f} over classes, largest {vanilla[worst]:.1f} "
                f"(class {class_names[worst]}); pick COBRA or FairDD to compare.")
    share = residuals[mode] / vanilla.clamp_min(1e-12)  # [C]
    below = residuals[mode] <= vanilla
    where = " (where its pulls balance)" if mode == "fairdd" else ""
    line = (f"{MODE_NAMES[mode]}'s worst case{where}: {share.mean():.2f}× vanilla's (mean over classes), "
            f"at most vanilla's in {int(below.sum())}/{len(vanilla)} classes")
    above = [class_names[c] for c in torch.nonzero(~below).flatten().tolist()]
    if above:
        # Theorem 4.1: where its angle condition holds COBRA's worst case is at most vanilla's, so here it fails:
        # vanilla's shift toward the majority points at COBRA's worst-off group
        line += f"; above in {', '.join(above)}, where Theorem 4.1's angle condition fails"
    return line + "."


def explorer_figure(means: torch.Tensor, counts: torch.Tensor, goals: dict[str, torch.Tensor],
                    residuals: dict[str, torch.Tensor], mode: str, view: View, shown_class: int,
                    class_names: list[str], group_names: list[str], title: str) -> Figure:
    """Left: the shown class's group means (area ~ images) with vanilla's target and ``mode``'s; right: each
    class's worst-case residual of both; below: the legend and the reading line.

    means [C, G, D], counts [C, G], goals and residuals: mode -> [C, D] and [C]."""
    c = shown_class
    shown = ("vanilla",) if mode == "vanilla" else ("vanilla", mode)
    fig = Figure(figsize=(11, 6.0), layout=None if view.boxes else "constrained")
    grid = fig.add_gridspec(2, 2, width_ratios=[1, 1.25], height_ratios=[1, 0.2])
    left, right, strip = fig.add_subplot(grid[0, 0]), fig.add_subplot(grid[0, 1]), fig.add_subplot(grid[1, :])
    for ax, box in zip((left, right, strip), view.boxes or ()):
        ax.set_position(box)
    present = torch.nonzero(counts[c] > 0).flatten().tolist()
    xy = view.project(means[c])  # [G, 2]
    share = counts[c].float() / counts[c].sum()  # [G]
    if mode == "fairdd":
        pull = view.project(goals["fairdd"][c])  # [2]
        for g in present:
            left.plot([pull[0], xy[g, 0]], [pull[1], xy[g, 1]], color=TARGET_STYLES["fairdd"][1], lw=0.8, zorder=1)
    handles = []
    for g in present:
        colour = group_colour(g, group_names)
        left.scatter(*xy[g], s=float(30 + 700 * share[g]), color=colour, edgecolors="k", linewidths=0.7, zorder=2)
        handles.append(Line2D([], [], ls="", marker="o", markersize=8, markerfacecolor=colour, markeredgecolor="k",
                              label=f"{group_names[g]} ({int(counts[c, g])})"))
    for name in shown:
        marker, colour = TARGET_STYLES[name]
        point = view.project(goals[name][c])  # [2]
        left.scatter(*point, s=MARKER_AREA[marker], marker=marker, color=colour, edgecolors="white", linewidths=1.2,
                     zorder=3)
        handles.append(Line2D([], [], ls="", marker=marker, markersize=MARKER_AREA[marker] ** 0.5 * 0.75,
                              markerfacecolor=colour, markeredgecolor="white", label=TARGET_LABELS[name]))
    left.set_xlim(view.xlim)
    left.set_ylim(view.ylim)
    left.set_xticks([])
    left.set_yticks([])
    left.set_xlabel("fixed direction 1 of the embedded group means")
    left.set_ylabel("fixed direction 2")
    left.set_title(f"class {class_names[c]}: group means (area ∝ images), targets", fontsize=11)
    x = torch.arange(len(class_names)).float()
    width = 0.8 / len(shown)
    for k, name in enumerate(shown):
        right.bar(x + (k - (len(shown) - 1) / 2) * width, residuals[name].numpy(), width=width,
                  color=TARGET_STYLES[name][1], label=f"{MODE_NAMES[name]}: mean {residuals[name].mean():.1f}")
    right.set_xticks(x.tolist(), class_names, rotation=45 if max(map(len, class_names)) > 2 else 0, ha="right"
                     if max(map(len, class_names)) > 2 else "center")
    right.get_xticklabels()[c].set_fontweight("bold")
    right.set_xlim(-0.6, len(class_names) - 0.4)
    right.set_ylim(0, view.residual_top)
    right.set_xlabel("class (bold: the one on the left)")
    right.set_ylabel(RESIDUAL_LABEL)
    right.set_title("each target's worst-off group, per class (lower is fairer)", fontsize=11)
    right.legend(fontsize=10, loc="upper right")
    right.grid(axis="y", alpha=0.3)
    strip.axis("off")  # the legends of the groups and of the targets, then the reading line under them
    groups = strip.legend(handles=handles[:len(present)], loc="upper left", ncol=5, fontsize=10, frameon=False,
                          borderaxespad=0, columnspacing=1.0, handletextpad=0.3)
    strip.add_artist(groups)
    strip.legend(handles=handles[len(present):], loc="upper right", fontsize=10, frameon=False, borderaxespad=0)
    line = reading_line(residuals, mode, class_names)
    strip.text(0.5, 0.0, line, ha="center", va="bottom", fontsize=min(10.5, 1450 / len(line)),
               transform=strip.transAxes, in_layout=False)  # as wide as the figure: kept out of the layout
    fig.suptitle(title, fontsize=12)
    return fig


def keep_layout(fig: Figure, view: View) -> None:
    """Remember where the layout engine put ``fig``'s panels (after it was drawn), for the figures to come."""
    if view.boxes is None:
        view.boxes = [ax.get_position() for ax in fig.axes]
